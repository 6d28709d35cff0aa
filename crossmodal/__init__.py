"""crossmodal: index local images, text and audio; search and recommend across them, offline.

The library face is `Store` (crossmodal/library.py): `with Store.open(path) as store:` then
`store.update(paths)`, `store.search("a cat", type="image")`, `store.recommend(like=[...])`.
It is imported on first use, so `import crossmodal` (and `crossmodal --help`) stays cheap."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# ONNX Runtime (the builtin models, Whisper's voice detector) keeps a telemetry device id and an
# event database in ~/.cache/Microsoft/DeveloperTools unless this is set before it is imported:
# nothing may be written outside the store, and nothing may call out (found by test_e2e).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
__all__ = ["Hit", "Query", "Recommendation", "Store", "UpdateSummary", "__version__"]

if TYPE_CHECKING:
    from .library import Recommendation, Store
    from .pipeline.summaries import UpdateSummary
    from .query import Hit, Query

_LAZY = {
    "Store": "library",
    "Recommendation": "library",
    "Hit": "query",
    "Query": "query",
    "UpdateSummary": "pipeline.summaries",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'crossmodal' has no attribute {name!r}")
