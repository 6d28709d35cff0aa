"""What a store holds, for `crossmodal stats`: read-only, no model, no lock."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .catalog import Catalog
from .spaces.hnsw import index_file
from .store import Store


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")


def store_stats(store: Store) -> dict[str, Any]:
    """Items per modality and status, spaces (vectors, index size on disk), what was read from
    the files (transcripts, words in pictures, passages), failures and the last update."""
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        with catalog.read_snapshot():
            counts = catalog.counts()
            vectors = catalog.spaces_with_vectors()
            spaces = {}
            for space, count in sorted(vectors.items()):
                state = catalog.index_state(space)
                path = index_file(store.index_dir, space, state.generation) if state else None
                spaces[space] = {
                    "vectors": count,
                    "indexed": (state.n_labels - state.n_deleted) if state else 0,
                    "index_bytes": path.stat().st_size if path and path.is_file() else 0,
                }
            derived = catalog.derived_counts()
            last = catalog.last_run("update")
            roots = catalog.roots()
            failures = [(item.path, item.error) for item in catalog.failures()]
    finally:
        catalog.close()
    return {
        "store": str(store.root),
        "encoder_set": store.settings.encoder_set,
        "models": store.settings.model_names(),
        "options": {
            "ocr": bool(store.option("ocr", False)),
            "vectors": str(store.option("vectors", "hnswlib")),
        },
        "roots": roots,
        "items": counts.get("ok", {}),
        "deleted": sum(counts.get("deleted", {}).values()),
        "failed": len(failures),
        "failures": [{"path": path, "reason": reason} for path, reason in failures],
        "spaces": spaces,
        "read": {
            "transcripts": derived[0],
            "pictures_with_words": derived[1],
            "passages": derived[2],
            "video_parts": derived[3],
        },
        "last_update": _iso(last),
    }
