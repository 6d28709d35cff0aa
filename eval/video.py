"""The video part of the public eval: clips assembled from the eval's own photographs (one 5 s
scene per photo, a slow zoom on each) with the eval's spoken words (KTuberling's recordings) in
their sound tracks, and labelled queries that name the scene a result must point at.

    python eval/video.py            # needs eval/media (python eval/build.py) and PyAV

writes eval/video_media/vid_NNNNN.mp4 (git-ignored; rebuilt in about a minute),
eval/video_manifest.jsonl (which photo and word is where) and eval/video_queries.jsonl:
- text->video: a label of the eval's text->image queries ("a canyon"); relevant: the scenes
  whose photo that query counts as relevant;
- image->video: another picture with that label (a held-out photo when the label has two, else
  a drawing, clip art or emoji the same query counts as relevant); relevant: the same scenes;
- speech->video: a word said in one scene's sound track ("bridge"), chosen among words that name
  no photo of the set; relevant: that scene only.
A result is a hit when it is the right video and its time span overlaps the labelled scene's.
Labels come from the eval's labels (queries.jsonl, manifest.jsonl), never from crossmodal.
"""

from __future__ import annotations

import argparse
import json
import random
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENE_SECONDS = 5.0
SCENES_PER_VIDEO = 4
SIZE = (640, 360)
FPS = 15
SEED = 19


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plan(manifest: list[dict], queries: list[dict]) -> tuple[list[list[str]], dict, dict, list]:
    """(videos as lists of photo paths, photo -> labels, label -> pictures, spoken words)."""
    style = {"media/" + row["file"]: row["style"] for row in manifest}
    labels: dict[str, list[str]] = {}  # photo -> text->image query texts
    pictures: dict[str, list[str]] = {}  # label -> every relevant picture
    for query in queries:
        if query["kind"] != "text->image":
            continue
        pictures[query["query"]] = list(query["relevant"])
        for path in query["relevant"]:
            if style.get(path) == "photo":
                labels.setdefault(path, []).append(query["query"])
    rng = random.Random(SEED)
    photos = sorted(labels)
    # One held-out photo per label that has two or more: the image->video query.
    held: set[str] = set()
    for label in sorted(pictures):
        shots = sorted(p for p in pictures[label] if style.get(p) == "photo")
        if len(shots) >= 2:
            held.add(rng.choice(shots))
    scenes = [p for p in photos if p not in held]
    rng.shuffle(scenes)
    videos: list[list[str]] = []
    for photo in scenes:  # scenes of one video never share a label
        for video in videos:
            taken = {label for other in video for label in labels[other]}
            if len(video) < SCENES_PER_VIDEO and not taken & set(labels[photo]):
                video.append(photo)
                break
        else:
            videos.append([photo])
    named = {label.split(" ", 1)[-1] for label in pictures}
    spoken = [
        row
        for row in manifest
        if row["style"] == "speech" and row.get("phrase") and row["phrase"] not in named
    ]
    rng.shuffle(spoken)
    return videos, labels, pictures, spoken


def _frames(photo: Path, steps: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    picture = Image.open(photo).convert("RGB")
    width, height = SIZE
    scale = max(2 * width / picture.width, 2 * height / picture.height)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    left, top = (picture.width - 2 * width) // 2, (picture.height - 2 * height) // 2
    picture = picture.crop((left, top, left + 2 * width, top + 2 * height))
    for step in range(steps):
        shrink = 0.2 * step / max(steps - 1, 1)
        dx, dy = int(2 * width * shrink / 2), int(2 * height * shrink / 2)
        yield picture.crop((dx, dy, 2 * width - dx, 2 * height - dy)).resize(SIZE)


def write_video(target: Path, photos: list[Path], words: list[tuple[float, Path]]) -> None:
    import av
    import numpy as np

    from crossmodal.media.audio import load_audio

    rate = 16000
    seconds = SCENE_SECONDS * len(photos)
    track = np.zeros(int(seconds * rate), dtype=np.float32)
    for start, sound in words:
        said = load_audio(sound, sample_rate=rate)
        at = int(start * rate)
        piece = said[: len(track) - at]
        track[at : at + len(piece)] += piece
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "30"})
        video.width, video.height, video.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        video.time_base = Fraction(1, FPS)
        audio = out.add_stream("aac", rate=rate, layout="mono")
        index = 0
        for photo in photos:
            for picture in _frames(photo, int(SCENE_SECONDS * FPS)):
                frame = av.VideoFrame.from_image(picture)
                frame.pts = index
                index += 1
                for packet in video.encode(frame):
                    out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        frame = av.AudioFrame.from_ndarray(
            np.clip(track, -1, 1)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        for chunk in resampler.resample(frame):
            for packet in audio.encode(chunk):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def build(out: Path, labels_only: bool = False) -> dict[str, int]:
    manifest = _load(HERE / "manifest.jsonl")
    queries = _load(HERE / "queries.jsonl")
    videos, labels, pictures, spoken = plan(manifest, queries)
    rows, asked = [], []
    scene_of: dict[str, tuple[str, float, float]] = {}
    words = iter(spoken)
    for number, photos in enumerate(videos, 1):
        name = f"video_media/vid_{number:05d}.mp4"
        said = []
        for index, photo in enumerate(photos):
            start = index * SCENE_SECONDS
            scene_of[photo] = (name, start, start + SCENE_SECONDS)
            rows.append({"file": name, "start": start, "end": start + SCENE_SECONDS,
                         "photo": photo, "labels": labels[photo]})  # fmt: skip
            if index in (1, 3):  # a word said a second into the second and fourth scenes
                word = next(words, None)
                if word is not None:
                    said.append((start + 1.0, "media/" + word["file"]))
                    rows[-1]["said"] = word["phrase"]
                    asked.append(
                        {"kind": "speech->video", "query": word["phrase"],
                         "relevant": [{"path": name, "start": start, "end": start + SCENE_SECONDS}]}
                    )  # fmt: skip
        if not labels_only:
            (out / Path(name).name).parent.mkdir(parents=True, exist_ok=True)
            write_video(out / Path(name).name, [HERE / p for p in photos], [(t, HERE / s) for t, s in said])  # fmt: skip
    in_videos = set(scene_of)
    for label in sorted(pictures):
        scenes = [scene_of[p] for p in pictures[label] if p in in_videos]
        if not scenes:
            continue
        relevant = [{"path": n, "start": a, "end": b} for n, a, b in scenes]
        asked.append({"kind": "text->video", "query": label, "relevant": relevant})
        style = {"media/" + row["file"]: row["style"] for row in manifest}
        others = [p for p in pictures[label] if p not in in_videos]
        others.sort(key=lambda p: (style.get(p) != "photo", p))  # a held-out photo first
        if others:
            asked.append({"kind": "image->video", "query": {"image": others[0]},
                          "relevant": relevant, "query_style": style.get(others[0])})  # fmt: skip
    lines = []
    for number, query in enumerate(asked, 1):
        lines.append(json.dumps({"id": f"{query['kind']}-{number:04d}", "type": "video", **query}))
    (HERE / "video_queries.jsonl").write_text("\n".join(lines) + "\n")
    (HERE / "video_manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    kinds: dict[str, int] = {}
    for query in asked:
        kinds[query["kind"]] = kinds.get(query["kind"], 0) + 1
    return {"videos": len(videos), "scenes": len(rows), **kinds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "video_media")
    parser.add_argument("--labels-only", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.out, args.labels_only)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
