"""The parts of the builtin picture vector beside the top classes: the WordNet hierarchy over the
ImageNet classes, and how a picture is framed for the classifier."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crossmodal.encoders import builtin, image_input
from crossmodal.encoders.hierarchy import ancestor_mass, ancestors


def _class(name: str) -> int:
    return builtin.imagenet_class_names().index(name)


def test_the_hierarchy_groups_imagenet_leaves_under_their_wordnet_ancestors() -> None:
    names, member = ancestors()
    assert member.shape == (len(names), 1000)
    bird = member[names.index("bird")]
    assert bird[_class("goldfinch")] == 1 and bird[_class("bald eagle")] == 1
    assert bird[_class("tabby cat")] == 0 and bird[_class("banana")] == 0
    instrument = member[names.index("musical instrument")]
    assert instrument[_class("violin")] == 1 and instrument[_class("acoustic guitar")] == 1
    # too general to name what people ask for; every group holds 2 .. MAX classes
    assert "entity" not in names and "object" not in names
    assert member.sum(axis=1).min() >= 2 and member.sum(axis=1).max() <= 400


def test_an_ancestor_gets_the_probability_of_the_classes_under_it() -> None:
    names, member = ancestors()
    probabilities = np.zeros((1, 1000), dtype=np.float32)
    probabilities[0, _class("goldfinch")] = 0.5
    probabilities[0, _class("house finch")] = 0.3
    probabilities[0, _class("banana")] = 0.2
    mass = ancestor_mass(probabilities, member)[0]
    assert mass[names.index("bird")] == pytest.approx(0.8)
    assert mass[names.index("fruit")] == pytest.approx(0.2)
    assert mass[names.index("dog")] == 0.0


def test_with_the_hierarchy_a_bird_picture_lies_nearer_to_a_bird(monkeypatch, tmp_path) -> None:
    """A picture whose classes are small songbirds: its vector moves towards "a bird" when the
    ancestors join it, and the top classes still decide which bird."""
    encoder = builtin.BuiltinEncoderSet(cache_dir=tmp_path)
    probabilities = np.full((1, 1000), 0.1 / 997, dtype=np.float32)
    for name, p in (("goldfinch", 0.5), ("house finch", 0.25), ("junco", 0.15)):
        probabilities[0, _class(name)] = p
    query = encoder.encode_texts(["a bird", "a goldfinch"])
    monkeypatch.setattr(builtin, "HIERARCHY_WEIGHT", 0.0)
    plain = encoder.conse(probabilities)[0]
    monkeypatch.setattr(builtin, "HIERARCHY_WEIGHT", 1.0)
    tree = encoder.conse(probabilities)[0]
    assert float(tree @ query[0]) > float(plain @ query[0]) + 0.05
    assert float(tree @ query[1]) > 0.5
    assert np.linalg.norm(tree) == pytest.approx(1.0, abs=1e-5)
    assert "/H1x400" in encoder.fingerprint  # stored vectors say how they were made
    monkeypatch.setattr(builtin, "HIERARCHY_WEIGHT", 0.0)
    assert "/H" not in encoder.fingerprint


def test_cut_outs_are_letterboxed_whole_and_photos_centre_cropped() -> None:
    """A wide object on a plain backdrop keeps its ends; a photograph gets the ImageNet crop."""
    cut_out = Image.new("RGB", (300, 100), (255, 255, 255))
    ImageDraw.Draw(cut_out).rectangle((5, 30, 295, 70), fill=(200, 20, 30))
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (100, 300, 3), dtype=np.uint8))
    assert image_input.plain_backdrop(cut_out) and not image_input.plain_backdrop(photo)
    boxed = np.asarray(image_input.letterbox(cut_out, 224))
    assert boxed.shape == (224, 224, 3)
    assert tuple(boxed[112, 4]) != (255, 255, 255)  # the red bar reaches the left edge
    assert tuple(boxed[5, 112]) == (255, 255, 255)  # white bands above and below
    encoder = builtin.BuiltinEncoderSet()
    cropped = encoder.transform()(photo)
    padded = encoder.transform()(cut_out)
    assert cropped.shape == padded.shape == (3, 224, 224)
    # the photo was cropped, not padded: no white band (1.0 after normalisation) at its top
    assert float(cropped[:, :10].mean()) < 0.9 and float(padded[:, :10].mean()) > 0.99
