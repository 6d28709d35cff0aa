"""The builtin models on ONNX Runtime: the same vectors as PyTorch, exported once per store, and
a fresh process that finds the export in the store runs without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crossmodal.encoders import builtin, image_input, onnx_runtime
from crossmodal.encoders.builtin import BuiltinEncoderSet
from crossmodal.encoders.minilm_batched import amx_bf16
from crossmodal.errors import EncoderError, UserError
from crossmodal.media.image import load_image

# sample_data beside tests/, or above it (mutation testing runs a copy of tests/ deeper)
ROOT = next(
    folder
    for folder in Path(__file__).resolve().parents
    if (folder / "sample_data" / "images").is_dir()
)
PHOTOS = sorted(
    p for p in (ROOT / "sample_data" / "images").iterdir() if p.suffix in {".jpg", ".png"}
)


def _runtime(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(onnx_runtime.RUNTIME_ENV, name)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def both(cache: Path) -> tuple[BuiltinEncoderSet, BuiltinEncoderSet]:
    """(PyTorch, ONNX Runtime) builtin sets sharing one cache."""
    saved = os.environ.get(onnx_runtime.RUNTIME_ENV)
    try:
        os.environ[onnx_runtime.RUNTIME_ENV] = "torch"
        torch_set = BuiltinEncoderSet(cache_dir=cache)
        assert torch_set.runtime() == "torch"
        os.environ[onnx_runtime.RUNTIME_ENV] = "onnx"
        onnx_set = BuiltinEncoderSet(cache_dir=cache)
        assert onnx_set.runtime() == "onnx"
    finally:
        if saved is None:
            os.environ.pop(onnx_runtime.RUNTIME_ENV, None)
        else:
            os.environ[onnx_runtime.RUNTIME_ENV] = saved
    return torch_set, onnx_set


def _torchvision(image: Image.Image, padded: bool):  # type: ignore[no-untyped-def]
    from torchvision import transforms as T

    normalize = T.Compose([T.ToTensor(), T.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])])
    if padded:
        return normalize(image_input.letterbox(image, 224)).numpy()
    crop = T.Compose(
        [T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), normalize]
    )
    return crop(image).numpy()


@pytest.mark.parametrize("size", [(300, 100), (100, 300), (224, 224), (225, 613), (1201, 799)])
def test_prepare_equals_the_torchvision_transforms_bit_for_bit(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    photo = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    cut_out = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(cut_out).ellipse((5, 5, size[0] - 5, size[1] - 5), fill=(20, 120, 200))
    assert np.array_equal(image_input.prepare(photo, "auto"), _torchvision(photo, False))
    assert np.array_equal(image_input.prepare(cut_out, "auto"), _torchvision(cut_out, True))
    assert np.array_equal(image_input.prepare(photo, "pad"), _torchvision(photo, True))
    assert np.array_equal(image_input.prepare(cut_out, "crop"), _torchvision(cut_out, False))
    prepared = image_input.prepare(photo)
    assert image_input.prepare(prepared) is prepared  # a worker's array passes through


def test_image_vectors_match_pytorch(both: tuple[BuiltinEncoderSet, BuiltinEncoderSet]) -> None:
    torch_set, onnx_set = both
    images = [load_image(path) for path in PHOTOS]
    expected = torch_set.encode("image", images)
    got = onnx_set.encode("image", images)
    assert set(got) == set(expected) == {"builtin-semantic", "builtin-visual"}
    for space in expected:
        cosine = (expected[space] * got[space]).sum(axis=1)
        assert cosine.min() >= 0.999999, (space, cosine.min())
        assert np.abs(expected[space] - got[space]).max() < 1e-4, space
    # prepared in a worker or not, the same input
    prepared = [onnx_set.prepare("image", image) for image in images]
    again = onnx_set.encode("image", prepared)
    assert np.array_equal(again["builtin-visual"], got["builtin-visual"])
    names = [name for name, _ in onnx_set.top_classes(images[0], 3)]
    assert names == [name for name, _ in torch_set.top_classes(images[0], 3)]


def test_text_vectors_match_sentence_transformers(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet],
) -> None:
    torch_set, onnx_set = both
    # Mixed lengths in one batch (padding must not leak into the mean), past 256 word pieces,
    # and more than the light model's 16, so the batched ONNX path runs.
    sentences = [
        "a cat",
        "A dog on a beach, in winter!",
        "Zürich café naïve 日本語 🎉",
        "the telephone is ringing " * 80,
        *[f"note {i}: " + "buy milk and bread " * (i % 7 + 1) for i in range(40)],
    ]
    expected = torch_set.text_model().encode(sentences, normalize_embeddings=True)
    got = onnx_set.batched_text_model(precise=True).encode(sentences)
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(onnx_set._encode_sentences(sentences) - expected).max() < 1e-5


def test_the_export_is_cached_in_the_store_and_reused(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, onnx_set = both
    onnx_set.image_runner()
    files = sorted((cache / "onnx").glob("efficientnet-lite0-*.onnx"))
    assert len(files) == 1 and files[0].stat().st_size > 10_000_000

    def no_export(*_: object) -> None:
        raise AssertionError("exported again although the store has the graph")

    monkeypatch.setattr(onnx_runtime, "export_image_model", no_export)
    _runtime(monkeypatch, "onnx")
    fresh = BuiltinEncoderSet(cache_dir=cache)
    image = load_image(PHOTOS[0])
    assert np.allclose(
        fresh.encode("image", [image])["builtin-visual"],
        onnx_set.encode("image", [image])["builtin-visual"],
    )


def test_a_garbled_cached_graph_is_exported_again(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch_set, _ = both
    digest = "0" * 64
    bad = (
        tmp_path / "onnx" / f"efficientnet-lite0-{digest[:16]}-r{onnx_runtime.EXPORT_REVISION}.onnx"
    )
    bad.parent.mkdir()
    bad.write_bytes(b"\x08\x07garbage, cut short")
    calls = []

    def export(handle):  # type: ignore[no-untyped-def]
        calls.append(1)
        onnx_runtime.export_image_model(torch_set.image_model(), handle)

    session = onnx_runtime.open_session(tmp_path, "efficientnet-lite0", digest, export, 1)
    assert calls == [1] and bad.stat().st_size > 10_000_000
    pooled, probabilities = onnx_runtime.OnnxImageModel(session).run(
        np.zeros((1, 3, 224, 224), np.float32)
    )
    assert pooled.shape == (1, 1280) and np.isclose(probabilities.sum(), 1.0, atol=1e-4)


def test_a_read_only_store_still_runs_even_with_a_garbled_graph(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing can be written or removed (a read-only store, as a user other than root sees
    it): the graph is exported into memory, the garbled file is neither trusted nor fatal."""
    torch_set, _ = both
    digest = "1" * 64
    bad = onnx_runtime.graph_file(tmp_path, "efficientnet-lite0", digest)
    bad.parent.mkdir()
    bad.write_bytes(b"garbled")

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnx_runtime, "atomic_write_bytes", refuse)
    monkeypatch.setattr(Path, "unlink", refuse)
    session = onnx_runtime.open_session(
        tmp_path,
        "efficientnet-lite0",
        digest,
        lambda handle: onnx_runtime.export_image_model(torch_set.image_model(), handle),
        1,
    )
    pooled, _ = onnx_runtime.OnnxImageModel(session).run(np.zeros((1, 3, 224, 224), np.float32))
    assert pooled.shape == (1, 1280)
    assert bad.read_bytes() == b"garbled"  # untouched, and nothing else written
    assert sorted(p.name for p in bad.parent.iterdir()) == [bad.name]
    monkeypatch.undo()
    fresh = onnx_runtime.cached_graph(tmp_path / "other", "x", digest, lambda h: h.write(b"g"))
    assert fresh == b"g"  # where it can write, the cache keeps the graph
    assert onnx_runtime.graph_file(tmp_path / "other", "x", digest).read_bytes() == b"g"


def test_a_new_export_replaces_the_graphs_of_other_weights(tmp_path: Path) -> None:
    old = onnx_runtime.cached_graph(tmp_path, "model", "a" * 64, lambda h: h.write(b"old"))
    other = onnx_runtime.cached_graph(tmp_path, "other", "a" * 64, lambda h: h.write(b"x"))
    new = onnx_runtime.cached_graph(tmp_path, "model", "b" * 64, lambda h: h.write(b"new"))
    assert old == b"old" and other == b"x" and new == b"new"
    names = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert names == [f"model-{'b' * 16}-r1.onnx", f"other-{'a' * 16}-r1.onnx"]


def test_an_exporter_failure_is_one_line(tmp_path: Path) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("Unsupported: ONNX export of operator foo\nat line 3")

    with pytest.raises(EncoderError) as caught:
        onnx_runtime.cached_graph(tmp_path, "model", "c" * 64, broken)
    assert str(caught.value) == (
        "cannot export model to ONNX: Unsupported: ONNX export of operator foo "
        "(install onnx, or set CROSSMODAL_RUNTIME=torch)"
    )


def test_pictures_are_prepared_in_the_decode_workers(tmp_path: Path) -> None:
    """The pipeline hands the encoder what its prepare() made, off the main thread."""
    import threading

    from crossmodal.catalog.items import Item
    from crossmodal.pipeline.embed import Job, prefetched

    photo = tmp_path / PHOTOS[0].name
    photo.write_bytes(PHOTOS[0].read_bytes())
    threads: list[str] = []

    class Preparing(BuiltinEncoderSet):
        def prepare(self, modality: str, value: object) -> object:
            threads.append(threading.current_thread().name)
            return super().prepare(modality, value)

    item = Item(1, str(photo), "image", 1, 1, "h", None, None, {}, "ok", None)
    out = list(prefetched([Job(item, "image", "h")], Preparing(), 2))
    assert len(out) == 1 and out[0][2] is None
    assert isinstance(out[0][1], np.ndarray) and out[0][1].shape == (3, 224, 224)
    assert threads and threads[0] != threading.main_thread().name


def test_auto_falls_back_to_pytorch_without_an_exporter(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch_set, _ = both

    def missing(*_: object) -> None:
        raise ImportError("No module named 'onnx'")

    monkeypatch.setattr(onnx_runtime, "export_image_model", missing)
    image = load_image(PHOTOS[1])
    _runtime(monkeypatch, "auto")
    auto = BuiltinEncoderSet(cache_dir=tmp_path)
    vectors = auto.encode("image", [image])["builtin-visual"]
    assert np.allclose(vectors, torch_set.encode("image", [image])["builtin-visual"], atol=1e-5)
    _runtime(monkeypatch, "onnx")  # asked for by name: a clear error, not a silent switch
    with pytest.raises(EncoderError, match="cannot export efficientnet-lite0 to ONNX"):
        BuiltinEncoderSet(cache_dir=tmp_path).encode("image", [image])


def test_an_unknown_runtime_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _runtime(monkeypatch, "tensorrt")
    with pytest.raises(
        UserError, match="CROSSMODAL_RUNTIME must be one of auto, onnx, bf16, torch"
    ):
        BuiltinEncoderSet().runtime()


def test_a_second_update_imports_no_torch(tmp_path: Path) -> None:
    """Once the store holds the exported graphs and the class matrix, indexing photos and
    documents loads neither torch nor sentence-transformers (~10 s of imports before)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in PHOTOS[:3]:
        (photos / path.name).write_bytes(path.read_bytes())
    long_text = "\n\n".join(
        f"Paragraph {i} about a dog on a beach in winter. " * 9 for i in range(30)
    )
    (photos / "notes.txt").write_text(long_text)
    store = tmp_path / "store"
    probe = (
        "import sys\n"
        "from cli.main import app\n"
        "try:\n"
        "    app(['update', sys.argv[1], '--store', sys.argv[2], '--json'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop(onnx_runtime.RUNTIME_ENV, None)
    run = [sys.executable, "-c", probe, str(photos), str(store)]
    first = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name.split("-r")[0][:-17] for p in (store / "cache" / "onnx").iterdir()) == [
        "all-minilm-l6-v2",
        "efficientnet-lite0",
    ]
    for path in PHOTOS[3:6]:
        (photos / path.name).write_bytes(path.read_bytes())
    (photos / "more.txt").write_text(long_text.replace("dog", "cat"))
    second = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().endswith("NO-TORCH"), second.stdout[-300:]
    assert first.stderr == "" and second.stderr == ""  # the export printed nothing
    assert '"embedded"' in second.stdout and '"builtin-visual": 3' in second.stdout


@pytest.mark.skipif(not amx_bf16(), reason="this CPU has no AMX bfloat16 tiles")
def test_bfloat16_passages_match_float32(
    both: tuple[BuiltinEncoderSet, BuiltinEncoderSet], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an AMX CPU, CROSSMODAL_RUNTIME=bf16 embeds a large call's passages in bfloat16 (3x
    float32): the same vectors to cosine >= 0.9999; the ConSE class matrix and small calls stay
    float32. auto keeps float32 (memory)."""
    torch_set, _ = both
    _runtime(monkeypatch, "auto")
    assert BuiltinEncoderSet(cache_dir=cache).text_route() == "onnx"
    _runtime(monkeypatch, "bf16")
    auto = BuiltinEncoderSet(cache_dir=cache)
    assert auto.runtime() == "onnx" and auto.text_route() == "bf16"
    passages = [
        f"Passage {i}. "
        + "The ferry leaves the harbour at dawn and crosses to the island. " * (i % 9 + 1)
        for i in range(builtin.BF16_MIN_SENTENCES)
    ]
    expected = torch_set.text_model().encode(passages, normalize_embeddings=True)
    small = auto._encode_sentences(passages[:40])
    assert True not in auto._batched_text  # 40 sentences: float32 ONNX, no torch for them
    assert np.abs(small - expected[:40]).max() < 1e-5
    got = auto._encode_sentences(passages)
    assert True in auto._batched_text
    assert (got * expected).sum(axis=1).min() >= 0.9999
    assert np.abs(got - expected).max() > 1e-6  # it really ran in bfloat16
    precise = auto._encode_sentences(passages[:256], precise=True)
    assert np.abs(precise - expected).max() < 1e-5
    # the call's size decides, not what ran before: a small call stays float32
    assert np.abs(auto._encode_sentences(passages[:40]) - expected[:40]).max() < 1e-5


def test_a_warm_set_embeds_queries_on_onnx(cache: Path) -> None:
    """warm() (what a server calls once): every text after it runs on ONNX Runtime, and a query
    gets the vector the numpy route gives a cold process, to float rounding."""
    cold = BuiltinEncoderSet(cache_dir=cache)
    query = ["a wet dog and a bell by the river"]
    numpy_vector = cold.encode("text", query)["builtin-semantic"]
    assert cold._light_text_model is not None and not cold._batched_text
    warm = BuiltinEncoderSet(cache_dir=cache)
    warm.warm()
    assert warm._batched_text and warm._image_runner is not None
    onnx_vector = warm.encode("text", query)["builtin-semantic"]
    assert warm._light_text_model is None  # the numpy model was never needed
    assert np.abs(onnx_vector - numpy_vector).max() < 1e-5
