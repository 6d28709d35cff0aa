"""Documents encoded passage by passage, for any sentence encoder with a short window (builtin's
MiniLM, `st:` models); the passages themselves come from crossmodal.media.text."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UserError
from .base import DocumentVectors, Span, l2_normalize


def documents_by_passages(
    texts: list[str], encode_sentences: Callable[[list[str]], np.ndarray], space: str
) -> DocumentVectors:
    """Each document's vector is the mean of its passages'; documents of several passages also
    return their spans and passage vectors (the pipeline stores them, search scores by the
    best)."""
    from ..media.text import passage_spans  # documents only: a search loads none

    pieces: list[str] = []
    owners: list[int] = []
    spans: list[list[Span]] = []
    for index, text in enumerate(texts):
        if not text or not text.strip():
            raise UserError("empty text cannot be embedded")
        own = passage_spans(text)
        spans.append(own if len(own) > 1 else [])
        for _, _, piece in own:
            pieces.append(piece)
            owners.append(index)
    vectors = encode_sentences(pieces)
    owner_index = np.asarray(owners)
    if len(pieces) == len(texts):
        documents = vectors
    else:
        summed = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(summed, owner_index, vectors)
        documents = l2_normalize(summed)
    per_document = [
        vectors[owner_index == index] if spans[index] else vectors[:0]
        for index in range(len(texts))
    ]
    return {space: documents}, spans, {space: per_document}
