"""Bring a space's backend in line with the catalog, through the backend interface only."""

from __future__ import annotations

from ..catalog import Catalog
from .backend import IndexReport, VectorBackend

REBUILD_DELETED_SHARE = 0.25


def rebuild(catalog: Catalog, backend: VectorBackend) -> IndexReport:
    """Start over with the space's live vectors only."""
    live = sorted(catalog.live_vector_ids(backend.space))
    backend.rebuild(live)
    backend.commit(None)
    return IndexReport(backend.space, len(live), 0, 0, True, len(live))


def sync(catalog: Catalog, backend: VectorBackend) -> IndexReport:
    """Add new live vectors, delete dead ones, restore revived ones; rebuild when the copy is not
    what the catalog says it holds, or (for a backend that marks deletions instead of removing
    them, as hnswlib does) when the deleted share passes REBUILD_DELETED_SHARE."""
    members = backend.members()
    if members is None:
        return rebuild(catalog, backend)
    live = catalog.live_vector_ids(backend.space)
    to_add = sorted(live - members.keys())
    to_delete = {v for v, dead in members.items() if not dead and v not in live}
    to_restore = {v for v, dead in members.items() if dead and v in live}
    total = len(members) + len(to_add)
    deleted = sum(members.values()) - len(to_restore) + len(to_delete)
    marks = getattr(backend, "marks_deletions", True)  # a real delete leaves nothing to rebuild
    if marks and total and deleted / total > REBUILD_DELETED_SHARE:
        return rebuild(catalog, backend)
    if not (to_add or to_delete or to_restore):
        backend.tidy()
        return IndexReport(backend.space, 0, 0, 0, False, total - deleted)
    backend.add(to_add)
    backend.restore(to_restore)
    backend.delete(to_delete)
    backend.commit(set(to_add) | to_delete | to_restore)
    return IndexReport(
        backend.space, len(to_add), len(to_delete), len(to_restore), False, total - deleted
    )
