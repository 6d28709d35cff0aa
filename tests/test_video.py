"""Video (issue 19): scenes from keyframes, their vectors as parts, sound and words, results at
the right second in every output, pages that play from the scene, and what a run leaves when it
stops in the middle of a video. Real PyAV decoding of clips written here; the fake encoder set
(tests/conftest.py) maps a frame to the word of its colour and a 440 Hz tone to speech."""

from __future__ import annotations

import json
import re
import sqlite3
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from crossmodal.catalog import Catalog
from crossmodal.catalog.migrations import migrate
from crossmodal.encoders.video import ahead, group_words
from crossmodal.evaluate import evaluate, load_queries
from crossmodal.gallery import results_page, store_page
from crossmodal.media import video as video_media
from crossmodal.pipeline import update
from crossmodal.query import build_query, clock, time_span
from crossmodal.search import SearchEngine
from crossmodal.store import Store


def _sample_data() -> Path:
    """sample_data beside tests/, or above it (mutation testing runs a copy of tests/ deeper)."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "sample_data" / "video" / "holiday.mp4").is_file():
            return folder / "sample_data"
    raise FileNotFoundError("sample_data/video/holiday.mp4")


SAMPLE = _sample_data()
HOLIDAY = SAMPLE / "video" / "holiday.mp4"
runner = CliRunner()
COLOURS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220)}


def coloured_clip(
    path: Path,
    scenes: list[tuple[str, float]],
    fps: int = 10,
    tone: float | None = None,
    gop: int = 10,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A clip of plain-coloured scenes (with a little texture) and, with `tone`, a sine track."""
    rng = np.random.default_rng(1)
    seconds = sum(length for _, length in scenes)
    with av.open(str(path), "w") as out:
        out.metadata.update(metadata or {})
        stream = out.add_stream("mpeg4", rate=fps, options={"g": str(gop)})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.time_base = Fraction(1, fps)
        sound = out.add_stream("aac", rate=8000, layout="mono") if tone else None
        index = 0
        for colour, length in scenes:
            for _ in range(int(length * fps)):
                pixels = np.empty((64, 96, 3), np.uint8)
                pixels[:] = COLOURS[colour]
                pixels += rng.integers(0, 12, pixels.shape, dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = index
                index += 1
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            samples = 0.3 * np.sin(2 * np.pi * tone * np.arange(int(seconds * 8000)) / 8000)
            frame = av.AudioFrame.from_ndarray(
                samples.astype(np.float32)[None, :], format="flt", layout="mono"
            )
            frame.sample_rate = 8000
            for chunk in av.AudioResampler(format="fltp", layout="mono", rate=8000).resample(frame):
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return path


# -- media: scenes, frames, metadata ----------------------------------------------------------
def test_scenes_are_cut_where_the_photos_change() -> None:
    scenes = list(video_media.segments(HOLIDAY))
    assert [(s.start, s.end) for s in scenes] == [(0, 6), (6, 12), (12, 18), (18, 24)]
    assert all(s.frame is not None and max(s.frame.size) == video_media.THUMB_SIDE for s in scenes)


def test_a_scene_without_cuts_is_cut_into_pieces_and_sparse_keyframes_are_sought(
    tmp_path: Path,
) -> None:
    # 50 s of one colour, a keyframe every 30 s: pieces of at most MAX_SEGMENT, by seeking.
    clip = coloured_clip(tmp_path / "still.mp4", [("blue", 50.0)], fps=5, gop=150)
    scenes = list(video_media.segments(clip))
    assert scenes[0].start == 0 and scenes[-1].end == pytest.approx(50, abs=0.3)
    assert all(b.start == a.end for a, b in zip(scenes, scenes[1:], strict=False))
    assert all(s.end - s.start <= video_media.MAX_SEGMENT + 1e-6 for s in scenes)
    assert len(scenes) >= 3 and all(s.frame is not None for s in scenes)


def test_short_cuts_are_merged_and_a_cap_bounds_the_read(tmp_path: Path) -> None:
    clip = coloured_clip(
        tmp_path / "flash.mp4", [("red", 4.0), ("green", 0.5), ("blue", 4.0)], gop=5
    )
    starts = [s.start for s in video_media.segments(clip)]
    assert starts[0] == 0 and all(
        b - a >= video_media.MIN_SEGMENT for a, b in zip(starts, starts[1:], strict=False)
    )
    capped = list(video_media.segments(clip, max_seconds=3.0))
    assert capped[-1].end == pytest.approx(3.0) and all(s.start < 3.0 for s in capped)


def test_black_and_cut_tests() -> None:
    black = Image.new("RGB", (64, 36))
    grey = Image.new("RGB", (64, 36), (90, 90, 90))
    assert video_media.is_black(black) and not video_media.is_black(grey)
    red = video_media.signature(Image.new("RGB", (64, 36), COLOURS["red"]))
    blue = video_media.signature(Image.new("RGB", (64, 36), COLOURS["blue"]))
    assert video_media.cut_between(red, blue) and not video_media.cut_between(red, red.copy())


def test_probe_reads_what_a_clip_is(tmp_path: Path) -> None:
    meta, side = video_media.probe_video(SAMPLE / "phone" / "VID_0003.mp4")
    assert meta["rotation"] == 90 and (meta["width"], meta["height"]) == (360, 640)
    assert meta["codec"] == "h264" and meta["audio_tracks"] == 1 and side is None
    upright = video_media.frame_at(SAMPLE / "phone" / "VID_0003.mp4", 1.0)
    assert upright.height > upright.width  # turned as a player shows it
    clip = coloured_clip(
        tmp_path / "dated.mp4",
        [("red", 2.0)],
        metadata={"creation_time": "2024-06-01T18:30:00.000000Z", "title": "Beach day"},
    )
    meta, side = video_media.probe_video(clip)
    assert meta["captured"].startswith("2024-06-0") and side == "Beach day"
    meta, side = video_media.probe_video(SAMPLE / "video" / "garden.mkv")
    assert meta["subtitles"][0] == [0.5, 4.5, "The red dahlia opened this morning."]
    assert side is None  # words are timed parts, not the text side


def test_words_are_grouped_by_length_and_pauses() -> None:
    cues = [[0, 2, "one"], [2.5, 4, "two"], [9, 10, "three"], [10.5, 30, "four"], [31, 32, "five"]]
    assert group_words(cues) == [
        (0, 4, "one two"),
        (9, 10, "three"),
        (10.5, 30, "four"),
        (31, 32, "five"),
    ]
    assert group_words(cues, seconds=100, pause=100) == [(0, 32, "one two three four five")]


def test_ahead_hands_on_errors_and_stops_when_abandoned() -> None:
    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("damaged")

    with pytest.raises(ValueError, match="damaged"):
        list(ahead(broken()))
    produced = []

    def endless():  # type: ignore[no-untyped-def]
        for n in range(10_000):
            produced.append(n)
            yield n

    reader = ahead(endless(), size=4)
    assert next(reader) == 0
    reader.close()
    assert len(produced) < 20  # stopped after the window, not run to the end


def test_clock_and_spans() -> None:
    assert clock(42.7) == "0:42" and clock(3723) == "1:02:03"
    assert time_span(42.0, 56.2) == "0:42\u20130:57"


# -- pipeline and search with the fake encoder ----------------------------------------------
@pytest.fixture
def video_store(tmp_path: Path) -> tuple[Store, Path]:
    root = tmp_path / "clips"
    root.mkdir()
    coloured_clip(root / "walk.mp4", [("red", 4.0), ("green", 4.0), ("blue", 4.0)], tone=440.0)
    coloured_clip(root / "silent.mkv", [("blue", 3.0)])
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    summary = update(store, [root])
    assert summary.failed == 0, summary.to_dict()
    return store, root


def test_a_video_is_an_item_with_scene_parts_sound_and_words(video_store: tuple) -> None:
    store, root = video_store
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        walk = catalog.item_by_path(str((root / "walk.mp4").resolve()))
        silent = catalog.item_by_path(str((root / "silent.mkv").resolve()))
        assert walk.modality == "video" and walk.meta["scenes"] == 3
        parts, matrix = catalog.parts_of("fake-semantic", walk.content_hash)
        frames = [(p["start"], p["end"]) for p in parts if p["modality"] == "image"]
        assert frames == [(0, 4), (4, 8), (8, 12)] and matrix.shape[0] == len(parts)
        spoken = [p for p in parts if p["modality"] == "text"]
        assert spoken and spoken[0]["text"] == "hello from the harbour ferry"
        assert walk.text_side is None and walk.meta["transcript"] == "hello from the harbour ferry"
        assert catalog.vector_for_key("fake-audio", walk.content_hash) is not None
        # A video without sound: no audio vector, noted so it is not retried.
        assert catalog.vector_for_key("fake-audio", silent.content_hash) is None
        assert silent.meta["no_vector"] == ["fake-audio"]
    finally:
        catalog.close()


def test_text_and_image_find_the_scene(video_store: tuple, tmp_path: Path) -> None:
    store, root = video_store
    engine = SearchEngine(store)
    hits = engine.search(build_query("a green picture", type="video"))
    assert hits[0].item.path.endswith("walk.mp4") and hits[0].span == (4, 8)
    assert hits[0].to_dict(1)["start"] == 4 and hits[0].passage["where"] == "0:04\u20130:08"
    said = engine.search(build_query("harbour ferry", type="video"))
    assert said[0].item.path.endswith("walk.mp4") and said[0].passage["modality"] == "text"
    red = Image.new("RGB", (64, 64), COLOURS["red"])
    red.save(tmp_path / "red.png")
    found = engine.search(build_query(str(tmp_path / "red.png"), type="video"))
    assert found[0].item.path.endswith("walk.mp4") and found[0].span == (0, 4)
    # A video as the query: the other video (blue) and its own scenes' colours.
    by_video = engine.search(build_query(str(root / "walk.mp4"), type="video"))
    assert [h.item.path for h in by_video] == [str((root / "silent.mkv").resolve())]
    # A video that is not in the store is decoded and encoded as the query.
    outside = tmp_path / "copy.mp4"
    outside.write_bytes((root / "walk.mp4").read_bytes())
    fresh = engine.search(build_query(str(outside), type="video"))
    assert fresh[0].item.path == str((root / "walk.mp4").resolve()) and fresh[0].score > 0.99
    engine.close()


def test_filters_and_types_reach_videos(video_store: tuple) -> None:
    store, _ = video_store
    engine = SearchEngine(store)
    long_only = engine.search(
        build_query("a blue picture", type="video", filters=_filters(min_duration=10))
    )
    assert [Path(h.item.path).name for h in long_only] == ["walk.mp4"]
    default = engine.search(build_query("a blue picture"))  # text: media, videos included
    assert {h.item.modality for h in default} == {"video"}
    engine.close()


def _filters(**kwargs):  # type: ignore[no-untyped-def]
    from crossmodal.filters import parse_filters

    return parse_filters(**kwargs)


def test_outputs_carry_the_time(video_store: tuple) -> None:
    store, root = video_store
    args = ["search", "a green picture", "--type", "video", "--store", str(store.root), "-k", "1"]
    stamps = runner.invoke(app, [*args, "--format", "timestamps"])
    assert stamps.exit_code == 0 and stamps.stdout == f"{(root / 'walk.mp4').resolve()}\t4\t8\n"
    paths = runner.invoke(app, [*args, "--format", "paths"])
    assert paths.stdout == f"{(root / 'walk.mp4').resolve()}\n"
    answer = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["results"][0]
    assert (answer["start"], answer["end"]) == (4, 8)
    assert "subtitles" not in answer["meta"] and "speech" not in answer["meta"]
    table = runner.invoke(app, [*args, "--format", "table"])
    assert "walk.mp4@0:04\u20130:08" in "".join(table.stdout.replace("│", "").split())


def test_recommend_likes_and_dislikes_videos(video_store: tuple) -> None:
    store, root = video_store
    walk = str(root / "walk.mp4")
    liked = runner.invoke(app, ["recommend", "--like", walk, "--store", str(store.root), "--json"])
    assert liked.exit_code == 0, liked.stdout
    results = json.loads(liked.stdout)["results"]
    assert results and results[0]["path"].endswith("silent.mkv")
    assert (results[0]["start"], results[0]["end"]) == (0, 3)  # recommend names the scene too
    disliked = runner.invoke(
        app,
        ["recommend", "--prefer", "a blue picture", "--dislike", walk, "--store",
         str(store.root), "--json"],
    )  # fmt: skip
    assert walk not in [r["path"] for r in json.loads(disliked.stdout)["results"]]
    history = root.parent / "seen.txt"
    history.write_text(walk + "\n")
    seen = runner.invoke(
        app, ["recommend", "--history", str(history), "--store", str(store.root), "--json"]
    )
    assert seen.exit_code == 0, seen.stdout
    paths = [r["path"] for r in json.loads(seen.stdout)["results"]]
    assert paths and paths[0].endswith("silent.mkv") and str(Path(walk).resolve()) not in paths


def test_a_no_op_update_decodes_no_video(video_store: tuple, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, root = video_store

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a video was opened")

    monkeypatch.setattr(av, "open", refuse)
    summary = update(Store.open(store.root), [root])
    assert summary.ingest.unchanged == 2 and not summary.embed.embedded and summary.failed == 0


def test_a_run_stopped_inside_a_video_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clips"
    root.mkdir()
    coloured_clip(root / "walk.mp4", [("red", 3.0), ("green", 3.0)], tone=440.0)
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    import crossmodal.pipeline.video as stage

    def killed(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # what a kill leaves: the job stops after its scenes were read

    monkeypatch.setattr(stage, "encode_sound", killed)
    with pytest.raises(KeyboardInterrupt):
        update(store, [root])
    catalog = Catalog(store.catalog_path, readonly=True)
    assert catalog.conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 0
    catalog.close()
    monkeypatch.undo()
    summary = update(Store.open(store.root), [root])
    assert summary.failed == 0 and summary.embed.embedded
    catalog = Catalog(store.catalog_path, readonly=True)
    assert catalog.conn.execute("SELECT count(*) FROM passages").fetchone()[0] > 0
    catalog.close()


def test_pages_show_the_scene_and_play_from_it(video_store: tuple) -> None:
    store, root = video_store
    engine = SearchEngine(store)
    query = build_query("a green picture", type="video", k=1)
    page = results_page(query.describe(), engine.search(query))
    engine.close()
    assert '<video controls preload="metadata"' in page and "walk.mp4#t=4,8" in page
    assert 'poster="data:image/jpeg;base64,' in page
    overview = store_page(store)
    assert overview.count("<video") == 2 and "videos (2)" in overview


def test_pages_play_from_the_scene_in_a_headless_browser(tmp_path: Path) -> None:
    from tests.test_gallery import chromium

    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    update(store, [SAMPLE / "video"])
    engine = SearchEngine(store)
    hits = engine.search(build_query(str(SAMPLE / "images" / "rocket_launch.jpg"), type="video"))
    engine.close()
    holiday = next(hit for hit in hits if hit.item.path.endswith("holiday.mp4"))
    start = holiday.span[0]
    page = tmp_path / "results.html"
    probe = """<script>
    const video = document.querySelector('video');
    video.addEventListener('loadedmetadata', () => document.body.setAttribute(
      'data-probe', JSON.stringify({t: video.currentTime, w: video.videoWidth})));
    </script>"""
    html = results_page({"parts": []}, [holiday]).replace("</body>", probe + "</body>")
    page.write_text(html)
    dumped = chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    found = json.loads(
        dumped.stdout.split('data-probe="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    )
    assert found == {"t": start, "w": 1280}


# -- evaluation of scenes, and the catalog's migration ---------------------------------------
def test_a_labelled_scene_counts_only_where_the_result_overlaps_it(video_store: tuple) -> None:
    store, root = video_store
    queries = root.parent / "queries.jsonl"
    walk = "clips/walk.mp4"
    queries.write_text(
        "\n".join(
            json.dumps(line)
            for line in (
                {
                    "id": "g",
                    "query": "a green picture",
                    "type": "video",
                    "relevant": [{"path": walk, "start": 4, "end": 8}],
                },
                {
                    "id": "r",
                    "query": "a green picture",
                    "type": "video",
                    "relevant": [{"path": walk, "start": 0, "end": 3.5}],
                },
            )
        )  # fmt: skip
    )
    labelled = load_queries(queries)
    assert labelled[0].hit(str((root / "walk.mp4").resolve()), (4.0, 8.0))
    assert not labelled[1].hit(str((root / "walk.mp4").resolve()), (4.0, 8.0))
    report = evaluate(SearchEngine(store), labelled)
    rows = {row["id"]: row for row in report["queries"]}
    assert rows["g"]["first_relevant_rank"] == 1 and rows["r"]["first_relevant_rank"] is None
    # Chance counts scenes: 4 of them (3 + 1) in the pool.
    assert rows["g"]["metrics"]["chance_mrr"] == pytest.approx(1 / 4 * (1 + 1 / 2 + 1 / 3 + 1 / 4))
    bad = root.parent / "bad.jsonl"
    bad.write_text(json.dumps({"query": "x", "type": "video", "relevant": [{"path": walk}]}))
    from crossmodal.errors import UserError

    with pytest.raises(UserError, match="relevant scene"):
        load_queries(bad)


def test_a_version_3_catalog_gains_part_modalities(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    migrate(conn, target=3)
    conn.execute("INSERT INTO passages VALUES ('h#0', 'h', 0, 0, 10, 'first words')")
    migrate(conn)
    assert conn.execute("SELECT modality FROM passages").fetchall() == [("text",)]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    conn.close()


def test_a_copied_video_reuses_its_scenes_and_words(video_store: tuple, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, root = video_store
    (root / "copy.mp4").write_bytes((root / "walk.mp4").read_bytes())
    import crossmodal.pipeline.video as stage

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the copy was decoded again")

    monkeypatch.setattr(stage, "encode_scenes", never)
    summary = update(Store.open(store.root), [root])
    assert summary.failed == 0 and summary.ingest.duplicates == 1
    engine = SearchEngine(Store.open(store.root))
    hits = engine.search(build_query("a green picture", type="video"))
    copy = next(hit for hit in hits if hit.item.path.endswith("copy.mp4"))
    assert copy.span == (4, 8) and copy.item.meta["transcript"] == "hello from the harbour ferry"
    engine.close()


def test_a_model_of_words_only_reads_a_videos_words(video_store: tuple, register_fake) -> None:  # type: ignore[no-untyped-def]
    from crossmodal.encoders import EncoderSet, SpaceSpec, l2_normalize
    from tests.conftest import words_vector

    class WordsOnly(EncoderSet):
        name = "words"
        spaces = {"words-text": SpaceSpec("words-text", 64, frozenset({"text"}))}

        def encode(self, modality, inputs):  # type: ignore[no-untyped-def]
            assert modality == "text", modality
            return {"words-text": l2_normalize(np.stack([words_vector(t) for t in inputs]))}

    register_fake("words", WordsOnly)
    store, root = video_store
    summary = update(Store.open(store.root), model="words")
    assert summary.failed == 0
    catalog = Catalog(store.catalog_path, readonly=True)
    walk = catalog.item_by_path(str((root / "walk.mp4").resolve()))
    parts, _ = catalog.parts_of("words-text", walk.content_hash)
    catalog.close()
    assert [(p["n"], p["modality"], p["text"]) for p in parts] == [
        (0, "text", "hello from the harbour ferry")
    ]


def test_preview_shows_the_scene_frame(video_store: tuple, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from rich.console import Console

    from cli import render

    store, _ = video_store
    engine = SearchEngine(store)
    hits = engine.search(build_query("a green picture", type="video", k=1))
    engine.close()
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=160)
    monkeypatch.setattr(render, "stdout", console)
    render.hits_table("a green picture", hits, "blocks")
    out = console.file.getvalue()
    # Half blocks coloured green (the scene at 4-8 s), not red (the first scene).
    colours = [tuple(map(int, m)) for m in re.findall(r"38;2;(\d+);(\d+);(\d+)", out)]
    assert colours and all(g > r and g > b for r, g, b in colours)


def test_a_video_part_from_the_flag_and_a_batch_line(video_store: tuple) -> None:
    store, root = video_store
    walk = str(root / "walk.mp4")
    flag = runner.invoke(
        app, ["search", "--video", walk, "--type", "video", "--store", str(store.root), "--json"]
    )
    assert flag.exit_code == 0, flag.stdout
    assert [Path(r["path"]).name for r in json.loads(flag.stdout)["results"]] == ["silent.mkv"]
    line = json.dumps({"id": "v", "video": walk, "type": "video"})
    batch = runner.invoke(
        app, ["search", "--batch", "-", "--store", str(store.root)], input=line + "\n"
    )
    answer = json.loads(batch.stdout)
    assert answer["id"] == "v" and answer["results"][0]["path"].endswith("silent.mkv")
    wrong = runner.invoke(
        app, ["search", "--video", str(root.parent / "x.png"), "--store", str(store.root)]
    )
    assert wrong.exit_code == 1


# -- the decoding details, one by one ---------------------------------------------------------
class _Rect:
    def __init__(self, dialogue=None, text=None, ass=None) -> None:  # type: ignore[no-untyped-def]
        self.dialogue, self.text, self.ass = dialogue, text, ass


def test_subtitle_words_lose_their_markup() -> None:
    assert video_media._cue_text(_Rect(dialogue=b"<i>Hello</i>  there")) == "Hello there"
    assert video_media._cue_text(_Rect(text="{\\an8}Top\\Nline")) == "Top line"
    ass = b"0,0,Default,,0,0,0,,{\\i1}Said\\nquietly{\\i0}"
    assert video_media._cue_text(_Rect(ass=ass)) == "Said quietly"
    assert video_media._cue_text(_Rect(ass="no fields here")) == "no fields here"
    assert video_media._cue_text(_Rect()) == ""


def test_which_subtitle_tracks_are_words() -> None:
    class Stream:
        def __init__(self, name):  # type: ignore[no-untyped-def]
            self.codec_context = None if name is None else type("C", (), {"name": name})()

    assert [video_media._text_subtitles(Stream(n)) for n in ("subrip", "ass", "mov_text")] == [
        True,
        True,
        True,
    ]
    assert not any(video_media._text_subtitles(Stream(n)) for n in ("dvd_subtitle", "", None))


def test_subtitles_are_read_with_their_times_and_a_limit() -> None:
    garden = SAMPLE / "video" / "garden.mkv"
    assert video_media.read_subtitles(garden) == [
        [0.5, 4.5, "The red dahlia opened this morning."],
        [5.5, 9.5, "And the lawn needs mowing again."],
    ]
    assert len(video_media.read_subtitles(garden, limit=1)) == 1
    assert video_media.read_subtitles(HOLIDAY) == []


def test_histograms_count_colours_and_brightness() -> None:
    red = video_media._histogram(video_media.signature(Image.new("RGB", (64, 36), (230, 0, 0))))
    grey = video_media._histogram(video_media.signature(Image.new("RGB", (64, 36), (128,) * 3)))
    assert len(red) == 25 and red[0] == pytest.approx(1.0) and red[16] == 0
    assert grey[16] == pytest.approx(1.0) and grey[:16].sum() == 0
    assert red[17:].sum() == pytest.approx(1.0) and grey[17:].sum() == pytest.approx(1.0)
    assert red[17 + 7] == pytest.approx(1.0) and grey[17 + 4] == pytest.approx(1.0)
    dark = video_media._histogram(video_media.signature(Image.new("RGB", (64, 36), (0, 0, 30))))
    assert dark[16] == pytest.approx(1.0)  # too dark to have a colour


def test_frames_between_sparse_keyframes_come_in_order(tmp_path: Path) -> None:
    clip = coloured_clip(tmp_path / "two.mp4", [("red", 15.0), ("blue", 15.0)], fps=5, gop=150)
    pairs = list(video_media._between(clip, 0, 0.0, [5.0, 20.0, 29.0]))
    assert [when for when, _ in pairs] == [5.0, 20.0, 29.0]
    assert all(frame.time >= when for when, frame in pairs)
    colours = [np.asarray(frame.to_image()).reshape(-1, 3).mean(axis=0) for _, frame in pairs]
    assert colours[0][0] > colours[0][2] and colours[1][2] > colours[1][0]
    assert list(video_media._between(clip, 0, 0.0, [])) == []
    assert [w for w, _ in video_media._between(clip, 0, 0.0, [10.0, 99.0])] == [10.0]


def test_frame_at_shows_the_scene_then() -> None:
    scenes = list(video_media.segments(HOLIDAY))
    for seconds, index in ((0.0, 0), (9.0, 1), (15.0, 2)):
        shown = np.asarray(video_media.frame_at(HOLIDAY, seconds), dtype=np.float32)
        own = np.asarray(scenes[index].frame, dtype=np.float32)
        other = np.asarray(scenes[(index + 1) % 4].frame, dtype=np.float32)
        assert shown.shape == own.shape
        assert np.abs(shown - own).mean() < np.abs(shown - other).mean()


def test_speech_windows_are_cut_to_the_window_and_the_cap(tmp_path: Path) -> None:
    clip = coloured_clip(tmp_path / "talk.mp4", [("red", 8.0)], tone=440.0)
    windows = list(video_media.speech_windows(clip, 7.0, window=3.0))
    assert [round(offset, 2) for offset, _ in windows] == [0.0, 3.0, 6.0]
    assert [len(wave) for _, wave in windows] == [48000, 48000, 16000]
    whole = list(video_media.speech_windows(clip, 100.0, window=3.0))
    assert sum(len(w) for _, w in whole) == pytest.approx(8 * 16000, abs=4000)  # AAC padding
    assert all(w.dtype == np.float32 and np.abs(w).max() > 0.1 for _, w in whole)


def test_probe_names_the_container_and_reads_the_clip() -> None:
    cases = {
        HOLIDAY: ("MP4/h264", 1280, 720, 30.0, 24.0),
        SAMPLE / "video" / "garden.mkv": ("MATROSKA/vp9", 640, 360, 25.0, 10.0),
        SAMPLE / "phone" / "VID_0002.mov": ("MOV/mpeg4", 320, 240, 10.0, 2.0),
        SAMPLE / "phone" / "VID_0001.mp4": ("MP4/mpeg4", 320, 240, 10.0, 2.0),
    }
    for path, (fmt, width, height, fps, seconds) in cases.items():
        meta, _ = video_media.probe_video(path)
        assert (meta["format"], meta["width"], meta["height"], meta["fps"]) == (
            fmt,
            width,
            height,
            fps,
        ), path
        assert meta["duration"] == pytest.approx(seconds, abs=0.05) and meta["audio_tracks"] == 1
        assert meta["codec"] == fmt.split("/")[1] and "rotation" not in meta


def test_capture_dates_from_container_tags() -> None:
    class Tagged:
        def __init__(self, **tags):  # type: ignore[no-untyped-def]
            self.metadata = tags

    def captured(**tags):  # type: ignore[no-untyped-def]
        return video_media._captured(Tagged(**tags), Tagged())

    assert captured(creation_time="2024-06-01T18:30:00") == "2024-06-01T18:30:00"
    utc = captured(creation_time="2024-06-01T18:30:00.000000Z")
    assert utc is not None and utc.startswith("2024-06-0")
    apple = captured(**{"com.apple.quicktime.creationdate": "2023-07-14T10:11:12", "date": "x"})
    assert apple == "2023-07-14T10:11:12"
    assert captured(creation_time="1970-01-01T00:00:00.000000Z") is None  # a placeholder
    assert captured(creation_time="1904-01-01T00:00:00") is None
    assert captured(date="not a date") is None and captured() is None
    assert captured(date="", creation_time="2020-02-02T02:02:02") == "2020-02-02T02:02:02"


def test_words_written_down_again_replace_their_parts(video_store: tuple, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import FakeEncoderSet

    store, root = video_store
    monkeypatch.setattr(FakeEncoderSet, "transcriber_id", "fake-asr/2")
    monkeypatch.setattr(FakeEncoderSet, "SPOKEN", "goodbye from the quay")
    assert update(Store.open(store.root), [root]).failed == 0
    catalog = Catalog(store.catalog_path, readonly=True)
    walk = catalog.item_by_path(str((root / "walk.mp4").resolve()))
    texts = [
        p["text"] for p in catalog.parts_of("fake-semantic", walk.content_hash)[0] if p["text"]
    ]
    rows = catalog.conn.execute(
        "SELECT count(*) FROM passages WHERE owner = ? AND modality = 'text'", (walk.content_hash,)
    ).fetchone()[0]
    catalog.close()
    assert texts == ["goodbye from the quay"] and rows == 1
    assert walk.meta["transcriber"] == "fake-asr/2"


def test_a_silent_video_touched_or_copied_is_not_decoded_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    import crossmodal.pipeline.video as stage

    root = tmp_path / "clips"
    root.mkdir()
    clip = coloured_clip(root / "quiet.mp4", [("green", 3.0)])
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    update(store, [root])
    os.utime(clip, (1_700_000_000, 1_700_000_000))
    (root / "copy.mp4").write_bytes(clip.read_bytes())

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("decoded again")

    monkeypatch.setattr(stage, "encode_scenes", never)
    summary = update(Store.open(store.root), [root])
    assert summary.failed == 0 and summary.ingest.changed == 1 and summary.ingest.duplicates == 1


def test_a_video_cut_short_ends_where_its_pictures_do(tmp_path: Path) -> None:
    whole = coloured_clip(tmp_path / "whole.mkv", [("red", 6.0), ("blue", 6.0)], gop=10)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    scenes = list(video_media.segments(cut))
    assert scenes and scenes[-1].end < 9.0  # the header says 12 s; the pictures stop near 6
