"""Spaces: a `Space` is one space's spec, its vector backend and its catalog lookups; searches
and recommendations go through it. Backends sit behind one interface (backend.py): hnswlib is
the default (hnsw.py); `sync` keeps any backend in line with the catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nothing is imported here: a search loads only what it uses
    from .backend import IndexReport, VectorBackend

__all__ = ["IndexReport", "VectorBackend"]
