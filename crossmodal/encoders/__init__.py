"""Encoders: the contract (base class and capability protocols), the registry of encoder sets,
and the builtin offline set."""

from .base import DocumentEncoder, EncoderSet, SpaceSpec, TextReader, Transcriber, l2_normalize
from .plugin import as_encoder_set
from .registry import (
    available_encoder_sets,
    load_encoder_set,
    register_encoder_set,
    unregister_encoder_set,
)

__all__ = [
    "DocumentEncoder",
    "EncoderSet",
    "SpaceSpec",
    "TextReader",
    "Transcriber",
    "as_encoder_set",
    "available_encoder_sets",
    "l2_normalize",
    "load_encoder_set",
    "register_encoder_set",
    "unregister_encoder_set",
]
