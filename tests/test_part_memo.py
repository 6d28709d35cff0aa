"""query_vectors.PartVectors' memo: bounded (a long-running server answers millions of queries)
and keyed by a query file's size and mtime (a file edited since is embedded again). Real store,
the small fake encoder set."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from crossmodal import query_vectors
from crossmodal.pipeline import update
from crossmodal.query import QueryPart
from crossmodal.search import SearchEngine
from crossmodal.store import Store
from tests.conftest import write_image


def test_the_memo_is_bounded(fake_store: Store, collection: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    update(fake_store, [collection])
    monkeypatch.setattr(query_vectors, "MEMO_ENTRIES", 8)
    parts = SearchEngine(fake_store, cache_queries=False).parts
    first = parts.embed(QueryPart("text", "word0"))
    for number in range(1, 30):
        parts.embed(QueryPart("text", f"word{number}"))
    assert len(parts._vectors) == 8
    assert (
        parts.embed(QueryPart("text", "word0"))["fake-semantic"].tolist()
        == first["fake-semantic"].tolist()
    )
    # the most recently used stay: word29 is still remembered, word0 came back last
    assert ("text", "word29") in parts._vectors and ("text", "word0") in parts._vectors


def test_an_edited_query_file_is_embedded_again(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    update(fake_store, [collection])
    parts = SearchEngine(fake_store, cache_queries=False).parts
    query = write_image(tmp_path / "q.png", "red")
    red = parts.embed(QueryPart("image", str(query)))["fake-visual"]
    assert parts.embed(QueryPart("image", str(query)))["fake-visual"] is red  # remembered
    write_image(query, "blue", size=(65, 48))
    stat = query.stat()
    os.utime(query, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    blue = parts.embed(QueryPart("image", str(query)))["fake-visual"]
    assert not np.allclose(red, blue)
    assert np.argmax(blue) == 2 and np.argmax(red) == 0
