"""builtin-multilingual's ImageNet class names in other languages (issue 21): the shipped lists are
whole and in model order, they join the English prompt, and they bring a picture's class vector
nearer a query in their language."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from crossmodal.encoders import multilingual
from crossmodal.errors import EncoderError

SCRIPT = {
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "de": re.compile(r"[A-Za-zÄÖÜäöüß]"),
    "es": re.compile(r"[A-Za-zÁÉÍÓÚÑáéíóúñü]"),
}
# (class index, English, a name each list must give it): a list shifted by one class fails
ANCHORS = {
    "zh": [(1, "goldfish", "金鱼"), (388, "giant panda", "大熊猫"), (779, "school bus", "校车")],
    "ja": [(1, "goldfish", "金魚"), (388, "giant panda", "ジャイアントパンダ"), (855, "thimble", "指ぬき"),
           (7, "rooster", "雄鶏"), (897, "washing machine", "洗濯機")],
    "de": [(1, "goldfish", "Goldfisch"), (388, "giant panda", "Großer Panda"), (779, "school bus", "Schulbus")],
    "es": [(1, "goldfish", "pez dorado"), (388, "giant panda", "panda gigante"), (855, "thimble", "dedal")],
    "ru": [(1, "goldfish", "золотая рыбка"), (388, "giant panda", "большая панда"), (779, "school bus", "школьный автобус")],
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(ANCHORS))
def test_each_list_names_every_class_in_its_own_script_and_in_model_order(language: str) -> None:
    from crossmodal.encoders.builtin import imagenet_class_names

    names = multilingual.class_names_in(language)
    assert len(names) == len(imagenet_class_names()) == 1000
    assert all(group and all(isinstance(n, str) and n.strip() for n in group) for group in names)
    in_script = sum(1 for group in names if all(SCRIPT[language].search(n) for n in group))
    assert in_script >= 990, in_script
    english = imagenet_class_names()
    for index, word, name in ANCHORS[language]:
        assert english[index] == word
        assert name in names[index], (index, names[index])


def test_the_class_prompts_are_the_english_one_and_each_language_s_names() -> None:
    prompts = multilingual.multilingual_class_prompts()
    assert len(prompts) == 1000
    assert prompts[1][0] == "a photo of a goldfish."
    assert "一张金鱼的照片。" in prompts[1] and "金魚の写真。" in prompts[1]
    assert {"Ein Foto: Goldfisch.", "Una foto de pez dorado.", "Фотография: золотая рыбка."} <= set(
        prompts[1]
    )
    assert len(prompts[1]) == 1 + sum(
        len(multilingual.class_names_in(lang)[1]) for lang in multilingual.CLASS_NAME_LANGUAGES
    )
    # builtin's own prompts are not changed by it (a fresh list each call)
    from crossmodal.encoders.builtin import class_prompts

    assert class_prompts()[1] == ["a photo of a goldfish."]


def test_the_languages_are_in_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = multilingual.MultilingualEncoderSet()
    with_names = encoder.fingerprint
    assert "/classes-" + "+".join(multilingual.CLASS_NAME_LANGUAGES) + "/" in with_names
    monkeypatch.setattr(multilingual, "CLASS_NAME_LANGUAGES", ())
    assert encoder.fingerprint != with_names
    assert "/classes-" not in encoder.fingerprint


def test_an_unknown_language_is_a_one_line_error() -> None:
    with pytest.raises(EncoderError, match="no ImageNet class names in xx"):
        multilingual.class_names_in("xx")


def _names_file(path: Path, classes: dict[str, list[list[str]]]) -> None:
    import json

    path.write_text(json.dumps({"source": "test", "classes": classes}), encoding="utf-8")


def test_a_language_in_both_files_gets_both_lists_names_in_file_order_each_once(
    tmp_path: Path,
) -> None:
    first, second = multilingual.CLASS_NAME_FILES
    _names_file(tmp_path / first, {"ja": [["コック"], ["金魚"]], "zh": [["公鸡"], ["金鱼"]]})
    _names_file(
        tmp_path / second, {"ja": [["雄鶏", "コック"], ["金魚"]], "de": [["Hahn"], ["Goldfisch"]]}
    )
    assert multilingual.class_names_in("ja", tmp_path) == [["コック", "雄鶏"], ["金魚"]]
    assert multilingual.class_names_in("zh", tmp_path) == [["公鸡"], ["金鱼"]]
    assert multilingual.class_names_in("de", tmp_path) == [["Hahn"], ["Goldfisch"]]
    # a name twice in one list counts once
    _names_file(tmp_path / first, {"ja": [["コック", "コック"], ["金魚"]]})
    assert multilingual.class_names_in("ja", tmp_path) == [["コック", "雄鶏"], ["金魚"]]
    (tmp_path / first).unlink()
    assert multilingual.class_names_in("ja", tmp_path) == [["雄鶏", "コック"], ["金魚"]]


def test_names_a_later_file_calls_wrong_leave_the_class(tmp_path: Path) -> None:
    import json

    first, second = multilingual.CLASS_NAME_FILES
    _names_file(tmp_path / first, {"ja": [["コック", "雄鶏"], ["金魚"], ["凧"]]})
    (tmp_path / second).write_text(
        json.dumps(
            {
                "classes": {"ja": [["雄鶏"], ["金魚"], ["トビ"]]},
                "wrong": {"ja": {"0": ["コック"], "2": ["凧", "not there"]}},
            }
        ),
        encoding="utf-8",
    )
    assert multilingual.class_names_in("ja", tmp_path) == [["雄鶏"], ["金魚"], ["トビ"]]


def test_the_shipped_wrong_names_are_clip_benchmark_s_and_leave_every_class_a_name() -> None:
    """Each name the written file calls wrong is one clip-benchmark gives that class (a typo
    there would leave the slip in), and none is left after the merge."""
    import json

    folder = Path(multilingual.__file__).with_name("data")
    first, second = (
        json.loads((folder / n).read_text(encoding="utf-8")) for n in multilingual.CLASS_NAME_FILES
    )
    wrong = second["wrong"]["ja"]
    assert len(wrong) >= 50
    merged = multilingual.class_names_in("ja")
    for index, names in wrong.items():
        for name in names:
            assert name in first["classes"]["ja"][int(index)], (index, name)
            assert name not in merged[int(index)], (index, name)
        assert merged[int(index)], index
    assert "コック" not in merged[7] and "雄鶏" in merged[7]


def test_lists_of_different_lengths_or_a_broken_file_are_one_line_errors(tmp_path: Path) -> None:
    first, second = multilingual.CLASS_NAME_FILES
    _names_file(tmp_path / first, {"ja": [["コック"], ["金魚"]]})
    _names_file(tmp_path / second, {"ja": [["雄鶏"]]})
    with pytest.raises(EncoderError, match="has 1 classes in ja, not 2"):
        multilingual.class_names_in("ja", tmp_path)
    (tmp_path / second).write_text("{not json", encoding="utf-8")
    with pytest.raises(EncoderError, match="cannot read the ImageNet class names"):
        multilingual.class_names_in("ja", tmp_path)
    _names_file(tmp_path / second, {"ja": [["雄鶏"], ["金魚"]]})
    text = (tmp_path / second).read_text(encoding="utf-8")
    (tmp_path / second).write_text(text[:-1] + ', "wrong": {"ja": ["コック"]}}', encoding="utf-8")
    with pytest.raises(EncoderError, match="cannot read the ImageNet class names"):
        multilingual.class_names_in("ja", tmp_path)


def test_names_bring_the_class_nearer_a_query_in_their_language() -> None:
    """Real E5: over 30 classes, a query in each language scores its own class higher with the
    names than with the English prompt alone (on average: a German or Spanish word is often near
    the English one already), and finds it first among the 30 more often."""
    encoder = multilingual.MultilingualEncoderSet()
    e5 = encoder.e5()
    picked = list(range(0, 1000, 34))[:30]
    all_prompts = multilingual.multilingual_class_prompts()
    english = e5.passages([all_prompts[i][0] for i in picked])
    mixed = np.stack([e5.passages(all_prompts[i]).mean(axis=0) for i in picked])
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    for language in multilingual.CLASS_NAME_LANGUAGES:
        words = [multilingual.class_names_in(language)[i][0] for i in picked]
        queries = e5.queries(words)
        own = np.arange(len(picked))
        gain = (queries * mixed).sum(axis=1) - (queries * english).sum(axis=1)
        assert gain.mean() > 0.01 and (gain > 0).mean() >= 0.6, (language, gain)
        first_mixed = int((np.argmax(queries @ mixed.T, axis=1) == own).sum())
        first_english = int((np.argmax(queries @ english.T, axis=1) == own).sum())
        assert first_mixed >= first_english + 5, (language, first_mixed, first_english)


def test_the_class_matrix_is_made_from_the_multilingual_prompts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, list[list[str]]]] = []

    def record(self, kind, per_row):  # type: ignore[no-untyped-def]
        seen.append((kind, per_row))
        return np.zeros((len(per_row), 384), dtype=np.float32)

    monkeypatch.setattr(multilingual.MultilingualEncoderSet, "_prompt_matrix", record)
    # without the shipped matrix (class_matrix_file.py) the prompts are embedded
    from crossmodal.encoders import class_matrix_file

    monkeypatch.setattr(class_matrix_file, "ABOUT_FILE", class_matrix_file.DATA / "absent.json")
    assert multilingual.MultilingualEncoderSet().class_matrix().shape == (1000, 384)
    assert seen == [("conse-classes", multilingual.multilingual_class_prompts())]
