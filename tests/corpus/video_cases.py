"""Corpus cases for video (issue 19): damaged, empty, black, sound-only, unknown-codec, rotated,
variable-frame-rate, many-track and subtitled files. Called by make_corpus.py (which owns `add`
and the manifest). The 10-hour video is made at test time (tests/test_video.py): too big here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent.parent / "sample_data"

Add = Callable[..., None]


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 10,
    codec: str = "mpeg4",
    container: str | None = None,
    audio_tracks: int = 0,
    seconds_of_sound: float = 1.0,
    options: dict[str, str] | None = None,
) -> None:
    """A clip of the given RGB frames (uint8 arrays), with `audio_tracks` short tone tracks."""
    with av.open(str(path), "w", format=container) as out:
        video = out.add_stream(codec, rate=fps, options=options or {})
        height, width = frames[0].shape[:2] if frames else (64, 64)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        sounds = [out.add_stream("aac", rate=16000, layout="mono") for _ in range(audio_tracks)]
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                out.mux(packet)
        if not frames:
            out.start_encoding()  # the header with its track, and no frame
        for packet in video.encode(None):
            out.mux(packet)
        for number, stream in enumerate(sounds):
            samples = int(16000 * seconds_of_sound)
            tone = 0.2 * np.sin(2 * np.pi * (200 + 40 * number) * np.arange(samples) / 16000)
            frame = av.AudioFrame.from_ndarray(
                tone.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = 16000
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000)
            for chunk in resampler.resample(frame):
                for packet in stream.encode(chunk):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)


def _noise_frames(count: int, seed: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return [np.roll(base, shift, axis=1) for shift in range(count)]


def _bytes(build: Callable[[Path], None], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"clip{suffix}"
        build(path)
        return path.read_bytes()


def remux(source: Path, target: Path, container: str) -> None:
    """The same packets in another container (no re-encoding)."""
    with av.open(str(source)) as given, av.open(str(target), "w", format=container) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in given.streams.audio}
        for packet in given.demux(*given.streams.audio):
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)


def with_ttml_track(source: Path, target: Path) -> None:
    """`source` with a TTML subtitle track (stpp), which FFmpeg reads but cannot decode: muxed
    by the ffmpeg command."""
    import subprocess

    srt = target.with_suffix(".srt")
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nA caption in TTML\n")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-i", str(srt), "-map", "0", "-map",
         "1", "-c", "copy", "-c:s", "ttml", str(target)],
        check=True,
    )  # fmt: skip


def unknown_codec_avi() -> bytes:
    """An AVI whose video FourCC names no codec FFmpeg knows ('ZZZZ' in strh and strf)."""
    data = bytearray(
        _bytes(lambda p: write_video(p, _noise_frames(10, 3), container="avi"), ".avi")
    )
    for tag in (b"FMP4", b"XVID", b"DIVX", b"DX50"):
        data = bytearray(bytes(data).replace(tag, b"ZZZZ"))
    return bytes(data)


def make(add: Add) -> None:
    holiday = (SAMPLES / "video" / "holiday.mp4").read_bytes()
    add(
        "video/holiday.mp4",
        holiday,
        "video",
        "valid H.264/AAC MP4 with four scenes and speech",
        "sample_data/video/holiday.mp4 (copied)",
    )
    add(
        "video/truncated_no_moov.mp4",
        holiday[: int(len(holiday) * 0.4)],
        "failed",
        "real MP4 cut to 40% (its moov atom is at the end): no track table",
        "sample_data/video/holiday.mp4 (first 40% of the bytes)",
    )
    add(
        "video/sound_only.mp4",
        _bytes(lambda p: remux(SAMPLES / "phone" / "Recording_001.m4a", p, "mp4"), ".mp4"),
        "audio",
        "an MP4 (brand isom, as cameras write) with no video stream, only AAC: indexed as audio",
        "sample_data/phone/Recording_001.m4a (remuxed into MP4)",
    )
    add(
        "video/unknown_codec.avi",
        unknown_codec_avi(),
        "failed",
        "an AVI whose only video track has an unknown codec (FourCC 'ZZZZ')",
    )
    add(
        "video/zero_frames.mkv",
        _bytes(lambda p: write_video(p, []), ".mkv"),
        "failed",
        "a Matroska file with a video track and no frames: 0 seconds (an MP4 muxer drops such a track)",
    )
    add(
        "video/all_black.mp4",
        _bytes(lambda p: write_video(p, [np.zeros((48, 64, 3), np.uint8)] * 30), ".mp4"),
        "failed",
        "3 s of black frames: nothing to see, so no vector",
    )
    add(
        "video/phone_rotated_vfr.mp4",
        (SAMPLES / "phone" / "VID_0003.mp4").read_bytes(),
        "video",
        "a phone clip stored sideways with a display matrix (-90 degrees), variable frame rate",
        "sample_data/phone/VID_0003.mp4 (copied)",
    )
    add(
        "video/twenty_audio_tracks.mkv",
        _bytes(lambda p: write_video(p, _noise_frames(20, 5), audio_tracks=20), ".mkv"),
        "video",
        "an MKV with one video track and 20 audio tracks: the default (first) one is heard",
    )
    add(
        "video/ttml_track.mp4",
        _bytes(lambda p: with_ttml_track(SAMPLES / "phone" / "VID_0001.mp4", p), ".mp4"),
        "video",
        "an MP4 with a TTML subtitle track FFmpeg has no decoder for: the video is still read",
        "sample_data/phone/VID_0001.mp4 (a TTML track muxed in by the ffmpeg command)",
    )
    add(
        "video/subtitled.mkv",
        (SAMPLES / "video" / "garden.mkv").read_bytes(),
        "video",
        "VP9/Opus in Matroska with an SRT subtitle track: the subtitles are its words",
        "sample_data/video/garden.mkv (copied)",
    )
