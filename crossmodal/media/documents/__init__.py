"""Documents: each format's reader turns a file into one `Document` (text plus where each part
came from). Readers never execute, fetch or write anything; every size is capped."""

from .base import MAX_TEXT_CHARS, Document, locate
from .read import read_document

__all__ = ["MAX_TEXT_CHARS", "Document", "locate", "read_document"]
