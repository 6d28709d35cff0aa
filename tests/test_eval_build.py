"""The labelling rules of the large public eval (eval/build.py): pure functions, no downloads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parent.parent / "eval" / "build.py"


@pytest.fixture(scope="module")
def build():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("eval_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_build"] = module
    spec.loader.exec_module(module)
    module.COMPOUNDS.update({"hot dog", "teddy bear", "pickup truck", "bell pepper"})
    module.HEADED.update({"pickup truck", "bell pepper"})
    yield module
    sys.modules.pop("eval_build", None)


VOCABULARY = {
    "dog",
    "bear",
    "truck",
    "pepper",
    "bell",
    "boot",
    "woman",
    "lemur",
    "ring",
    "shirt",
    "apple",
    "cherry",
    "ice cream",
    "ice",
    "cat",
}


@pytest.mark.parametrize(
    ("name", "nouns"),
    [
        ("hot dog", set()),  # a compound whose head is not what it is
        ("teddy bear", set()),
        ("pickup truck", {"truck"}),  # its head is among its hypernyms
        ("bell pepper", {"pepper"}),  # and the modifier names nothing
        ("woman's boot", {"boot"}),  # a possessive names no object
        ("ring-tailed lemur", {"lemur"}),  # nor a hyphenated modifier
        ("t-shirt", {"shirt"}),  # a hyphenated head does
        ("red apples", {"apple"}),  # plurals meet the vocabulary's singular
        ("cherries", {"cherry"}),
        ("soft ice cream", {"ice cream"}),  # a two-word entry wins over its words
        ("blackCat", {"cat"}),  # camelCase file names split
    ],
)
def test_a_name_labels_the_objects_it_names(build, name: str, nouns: set[str]) -> None:
    assert build.name_nouns(name, VOCABULARY) == nouns


def test_queries_read_as_english(build) -> None:
    assert build.article("apple") == "an apple" and build.article("dog") == "a dog"
    assert build.article("uniform") == "a uniform" and build.article("scissors") == "scissors"


def _entry(build, nouns: set[str], folder: str | None):  # type: ignore[no-untyped-def]
    return build.Entry(
        "image", "x", "x", "clipart", set(nouns), {f"openclipart:{folder}"} if folder else set()
    )


def test_a_category_takes_a_noun_only_when_most_of_its_pictures_are_filed_there(build) -> None:
    where = {"openclipart": ["animals/fish"]}
    fish = [_entry(build, {"shark"}, "animals/fish") for _ in range(3)]
    stray = _entry(build, {"apple"}, "animals/fish")  # one golden apple filed as a fish
    apples = [_entry(build, {"apple"}, "food/fruit") for _ in range(5)]
    drawn_shark = _entry(build, {"shark"}, None)  # a shark drawn elsewhere: still a sea animal
    members = build.category_members([*fish, stray, *apples, drawn_shark], where)
    assert drawn_shark in members and stray in members
    assert not any(apple in members for apple in apples)
    # a noun needs two filed pictures to pull others in
    lone = [_entry(build, {"seal"}, "animals/fish"), _entry(build, {"seal"}, None)]
    assert build.category_members(lone, where) == lone[:1]


def test_debian_copyright_gives_each_file_its_licence(build, tmp_path: Path) -> None:
    copyright_file = tmp_path / "copyright"
    copyright_file.write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: MIT\n\n"
        "Files: etc/samples/a.flac\n etc/samples/b.flac\nCopyright: x\nLicense: CC0\n"
    )
    licences = build.debian_file_licences(copyright_file)
    assert licences == {"*": "MIT", "a.flac": "CC0", "b.flac": "CC0"}
