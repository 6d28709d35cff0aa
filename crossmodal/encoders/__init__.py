"""Encoders: the protocol, the registry of encoder sets, and the builtin offline set."""

from .base import EncoderSet, SpaceSpec, l2_normalize
from .registry import available_encoder_sets, load_encoder_set, register_encoder_set

__all__ = [
    "EncoderSet",
    "SpaceSpec",
    "available_encoder_sets",
    "l2_normalize",
    "load_encoder_set",
    "register_encoder_set",
]
