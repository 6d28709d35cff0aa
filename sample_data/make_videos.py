"""Build sample_data/video/ and the rotated phone clip: short videos assembled from sample_data's
real photos (a slow zoom on each, one scene per photo) and real sounds, with FFmpeg's encoders as
PyAV bundles them (H.264, VP9, AAC, Opus) and FFmpeg's command line for the subtitle track.

    .venv/bin/python sample_data/make_videos.py

Needs the ffmpeg command (apt-get install ffmpeg) for the subtitles only. The outputs are
committed (see SOURCES.md).
"""

from __future__ import annotations

import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from make_formats import _mux_sound  # the same writer as the phone clips (sample_data/)
from PIL import Image

OUT = Path(__file__).resolve().parent
VIDEO = OUT / "video"
PHONE = OUT / "phone"


def _photo(name: str, size: tuple[int, int]) -> Image.Image:
    """A photo cropped to the frame's aspect ratio (centre) at twice the frame size."""
    picture = Image.open(OUT / "images" / name).convert("RGB")
    width, height = size
    scale = max(2 * width / picture.width, 2 * height / picture.height)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    left, top = (picture.width - 2 * width) // 2, (picture.height - 2 * height) // 2
    return picture.crop((left, top, left + 2 * width, top + 2 * height))


def _zoom(picture: Image.Image, size: tuple[int, int], step: int, steps: int) -> Image.Image:
    """Frame `step` of a slow zoom (Ken Burns): from the whole picture to its middle 80 %."""
    width, height = picture.size
    shrink = 0.2 * step / max(steps - 1, 1)
    dx, dy = int(width * shrink / 2), int(height * shrink / 2)
    return picture.crop((dx, dy, width - dx, height - dy)).resize(size, Image.BILINEAR)


def _sound(name: str) -> tuple[np.ndarray, int]:
    data, rate = sf.read(OUT / "audio" / name, dtype="float32")
    return (data.mean(axis=1) if data.ndim > 1 else data), rate


def _track(seconds: float, rate: int, placed: list[tuple[float, str]]) -> np.ndarray:
    """A sound track of `seconds`: quiet, with sample sounds placed at their start times."""
    track = np.zeros(int(seconds * rate), dtype=np.float32)
    for start, name in placed:
        data, own = _sound(name)
        if own != rate:
            import soxr

            data = soxr.resample(data, own, rate).astype(np.float32)
        at = int(start * rate)
        piece = data[: len(track) - at]
        track[at : at + len(piece)] += piece
    return np.clip(track, -1.0, 1.0)


def build(
    target: Path,
    scenes: list[tuple[str, float]],
    sounds: list[tuple[float, str]],
    size: tuple[int, int] = (1280, 720),
    codec: str = "libx264",
    audio_codec: str = "aac",
    fps: int = 30,
    rotation: int = 0,
    variable: bool = False,
    options: dict[str, str] | None = None,
) -> None:
    """One video: each (photo, seconds) a scene; `variable` gives it a phone's uneven frame
    times (variable frame rate); `rotation` stores it sideways with a display matrix."""
    rate = 48000 if audio_codec == "libopus" else 44100
    seconds = sum(length for _, length in scenes)
    stored = (size[1], size[0]) if rotation in (90, 270) else size
    with av.open(str(target), "w") as out:
        video = out.add_stream(codec, rate=fps, options=options or {})
        video.width, video.height, video.pix_fmt = stored[0], stored[1], "yuv420p"
        video.time_base = Fraction(1, 90000 if variable else fps * 1000)
        video.codec_context.time_base = video.time_base  # frame times kept as given (VFR)
        if rotation:
            # The display matrix a phone writes (counter-clockwise degrees): players turn the
            # sideways picture upright.
            video.set_display_rotation(-rotation)
        audio = out.add_stream(audio_codec, rate=rate, layout="mono")
        clock = 0.0
        rng = np.random.default_rng(7)
        for photo, length in scenes:
            picture = _photo(photo, size)
            steps = int(length * fps)
            for step in range(steps):
                frame_image = _zoom(picture, size, step, steps)
                if rotation:
                    frame_image = frame_image.rotate(rotation, expand=True)
                frame = av.VideoFrame.from_image(frame_image)
                frame.pts = int(clock / float(video.time_base))
                frame.time_base = video.time_base
                for packet in video.encode(frame):
                    out.mux(packet)
                clock += (1 / fps) * (float(rng.uniform(0.6, 1.4)) if variable else 1.0)
        for packet in video.encode(None):
            out.mux(packet)
        _mux_sound(out, audio, _track(seconds, rate, sounds), rate)


def with_subtitles(video: Path, cues: list[tuple[float, float, str]], target: Path) -> None:
    """`video` with an SRT subtitle track, muxed by the ffmpeg command (PyAV cannot write one)."""

    def stamp(seconds: float) -> str:
        whole = int(seconds)
        return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d},{int(seconds * 1000) % 1000:03d}"

    with tempfile.TemporaryDirectory() as tmp:
        srt = Path(tmp) / "cues.srt"
        srt.write_text(
            "\n".join(
                f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n"
                for n, (a, b, text) in enumerate(cues, 1)
            )
        )
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(video), "-i", str(srt), "-map", "0",
             "-map", "1", "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=eng",
             str(target)],
            check=True,
        )  # fmt: skip


def main() -> None:
    VIDEO.mkdir(exist_ok=True)
    # Four scenes, H.264 and AAC as a phone records them; a spoken sentence in the third scene.
    build(
        VIDEO / "holiday.mp4",
        [
            ("coffee_cup.webp", 6.0),
            ("rocket_launch.jpg", 6.0),
            ("cat_chelsea.png", 6.0),
            ("motorcycle_left.jpg", 6.0),
        ],
        [(0.5, "whiff.wav"), (12.5, "speech_weather.flac"), (19.0, "car_door.wav")],
        options={"preset": "veryfast", "crf": "30"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "garden.mkv"
        build(
            plain,
            [("dahlia_flower.jpg", 5.0), ("grass.png", 5.0)],
            [(1.0, "bell.oga")],
            size=(640, 360),
            codec="libvpx-vp9",
            audio_codec="libopus",
            fps=25,
            options={"crf": "40", "b": "0", "deadline": "realtime", "cpu-used": "8"},
        )
        with_subtitles(
            plain,
            [
                (0.5, 4.5, "The red dahlia opened this morning."),
                (5.5, 9.5, "And the lawn needs mowing again."),
            ],
            VIDEO / "garden.mkv",
        )
    # A phone held upright: stored sideways with a display matrix, at a variable frame rate.
    build(
        PHONE / "VID_0003.mp4",
        [("china_pagoda.jpg", 4.0)],
        [(0.2, "camera-shutter.oga")],
        size=(360, 640),
        rotation=90,
        variable=True,
        options={"preset": "veryfast", "crf": "32"},
    )


if __name__ == "__main__":
    main()
