"""Scanning, sniffing, decoding and preprocessing of media files, one module per modality."""

from .sniff import MODALITIES, sniff_modality

__all__ = ["MODALITIES", "sniff_modality"]
