"""Video through PyAV (its wheels bundle FFmpeg's libraries): what a clip is (duration, size,
frame rate, codec, rotation, capture date, tracks), its scenes, and the words in its subtitles.

Only keyframes are decoded (`skip_frame = NONKEY`), straight to thumbnail size: encoders put
a keyframe at most scene cuts (x264's scenecut) and every few seconds besides, so the keyframes
show where the scenes change without decoding the frames between them (a minute of 1080p H.264
decodes in about 0.19 s of keyframes against 6.3 s for every frame, bench/RESULTS.md). A clip
whose keyframes are sparser than MAX_SEGMENT gets frames in between by seeking."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from .av_audio import _duration as _seconds
from .av_audio import _reason

# Segment lengths in seconds: a cut closer than MIN_SEGMENT to the last one is not a new scene
# (a flash, a quick pan); a scene longer than MAX_SEGMENT is cut into pieces of that length.
MIN_SEGMENT = 2.0
MAX_SEGMENT = 20.0
# How much of a video is read, by default: the first 3 hours (the store option video_hours).
DEFAULT_HOURS = 3.0
# Thumbnails for the encoders: the long side in pixels (the image models read 224-260).
THUMB_SIDE = 320
# Scene cut: the mean absolute difference of two keyframes' small HSV thumbnails, on a 0-255
# scale (PySceneDetect's content detector, whose default is 27 for consecutive frames; keyframes
# lie seconds apart, so the bar is higher).
CUT_THRESHOLD = 40.0
# Keyframes closer than this (seconds) to the last one kept are skipped: all-intra codecs.
KEYFRAME_GAP = 0.5
HISTOGRAM_THRESHOLD = 0.5
# A frame darker than this mean luma (0-255) with little contrast shows nothing.
BLACK_LUMA = 12.0
SPEECH_RATE = 16000


@dataclass(frozen=True)
class Segment:
    """A scene: its time span in seconds and its representative frame (None when black)."""

    start: float
    end: float
    frame: Any  # a PIL image, or None


def open_video(path: Path):  # type: ignore[no-untyped-def]
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise MediaError(f"cannot read: {exc.strerror}") from exc
    except Exception as exc:  # av.error.InvalidDataError and friends: no moov atom, cut short
        raise MediaError(f"not a readable video file: {_reason(exc)}") from exc


def video_stream(container):  # type: ignore[no-untyped-def]
    """The main picture track: the default one, else the first (a cover picture is not one)."""
    import av

    streams = [
        s
        for s in container.streams.video
        if not (s.disposition & av.stream.Disposition.attached_pic)
    ]
    if not streams:
        return None
    for stream in streams:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return streams[0]


def _captured(container, stream) -> str | None:  # type: ignore[no-untyped-def]
    """The capture date a camera or phone wrote (QuickTime/MP4 creation_time, Apple's
    creationdate), as local ISO time; None when absent or a placeholder (1970, 1904)."""
    tags = {**dict(stream.metadata), **dict(container.metadata)}
    for key in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        raw = str(tags.get(key) or "").strip()
        if not raw:
            continue
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.year > 1971:
            return (when.astimezone() if when.tzinfo else when).replace(tzinfo=None).isoformat()
    return None


def _rotation(stream, first_frame) -> int:  # type: ignore[no-untyped-def]
    """Clockwise degrees a player turns the picture (a phone held upright)."""
    angle = getattr(first_frame, "rotation", 0) if first_frame is not None else 0
    if not angle:
        try:
            angle = int(float(stream.metadata.get("rotate", 0)))
        except ValueError:
            angle = 0
    # PyAV reports the display matrix's counter-clockwise angle; players turn clockwise.
    return int(-angle) % 360


def _container_name(container) -> str:  # type: ignore[no-untyped-def]
    """MP4 or MOV (FFmpeg names the family 'mov,mp4,m4a,3gp,...'), MATROSKA, WEBM, AVI..."""
    names = container.format.name.split(",")
    if names[0] == "mov":
        brand = str(container.metadata.get("major_brand", "")).strip()
        return "MOV" if brand in ("qt", "") else ("3GP" if brand.startswith("3g") else "MP4")
    if names[0] == "matroska" and "webm" in str(container.metadata.get("doctype", "")).lower():
        return "WEBM"
    return names[0].upper()


def probe_video(path: Path) -> tuple[dict[str, Any], str | None]:
    """(metadata, text side) after decoding the first keyframe. A file without a picture track
    is an error here: the sniffer sends sound-only containers to the audio reader."""
    container = open_video(path)
    with container:
        stream = video_stream(container)
        if stream is None:
            raise MediaError("no video track in this file")
        codec = stream.codec_context
        if codec is None or not codec.name:
            raise MediaError("the video codec is not one FFmpeg decodes")
        first = None
        try:
            codec.skip_frame = "NONKEY"
            for frame in container.decode(stream):
                first = frame
                break
        except Exception as exc:
            raise MediaError(f"video does not decode: {_reason(exc)}") from exc
        if first is None:
            raise MediaError("the video has no frames")
        duration = _seconds(container, stream)
        if not duration or duration <= 0:
            raise MediaError("the video is 0 seconds long")
        rotation = _rotation(stream, first)
        width, height = int(first.width), int(first.height)
        if rotation in (90, 270):
            width, height = height, width
        rate = stream.average_rate or stream.guessed_rate
        audio = container.streams.audio
        subtitle_streams = [s for s in container.streams.subtitles if _text_subtitles(s)]
        meta: dict[str, Any] = {
            "format": f"{_container_name(container)}/{codec.name}",
            "duration": round(duration, 3),
            "width": width,
            "height": height,
            "fps": round(float(rate), 3) if rate else None,
            "codec": codec.name,
            **({"rotation": rotation} if rotation else {}),
            "audio_tracks": len(audio),
        }
        captured = _captured(container, stream)
        if captured:
            meta["captured"] = captured
        tags = {k.lower(): " ".join(str(v).split()) for k, v in container.metadata.items() if v}
        words = [tags[k] for k in ("title", "comment", "description") if tags.get(k)]
    cues = read_subtitles(path) if subtitle_streams else []
    if cues:
        meta["subtitles"] = cues
    # The text side holds the tags only: subtitles and speech become timed parts, and a copy of
    # them in the text side would be each part's nearest neighbour, which CSLS punishes.
    side = ". ".join(words) if words else None
    return meta, side


def _text_subtitles(stream) -> bool:  # type: ignore[no-untyped-def]
    """A subtitle track of words (a bitmap track, TTML or teletext without a decoder is not)."""
    name = getattr(stream.codec_context, "name", None) or ""
    return name in ("subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text")


def _cue_text(rect) -> str:  # type: ignore[no-untyped-def]
    """Plain words of one subtitle: ASS events carry 8 fields before the text, and markup."""
    import re

    raw = getattr(rect, "dialogue", None) or getattr(rect, "text", None) or b""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw:
        ass = getattr(rect, "ass", None) or b""
        raw = ass.decode("utf-8", "replace") if isinstance(ass, bytes) else str(ass)
        raw = raw.split(",", 8)[-1] if raw.count(",") >= 8 else raw
    raw = re.sub(r"\{[^}]*\}|<[^>]*>", "", raw).replace("\\N", " ").replace("\\n", " ")
    return " ".join(raw.split())


def read_subtitles(path: Path, limit: int = 2000) -> list[list[Any]]:
    """[[start, end, text], ...] of the first text subtitle track (bitmap subtitles are not
    read); only that track's packets are demuxed, no picture is decoded."""
    container = open_video(path)
    cues: list[list[Any]] = []
    with container:
        streams = [s for s in container.streams.subtitles if _text_subtitles(s)]
        if not streams:
            return []
        stream = streams[0]
        picture = video_stream(container)
        zero = origin(container, picture) if picture is not None else 0.0
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                start = float(packet.pts * packet.time_base) - zero
                length = float(packet.duration * packet.time_base) if packet.duration else 2.0
                for decoded in packet.decode():
                    # PyAV 18 yields each subtitle; older versions a set holding them.
                    rects = getattr(decoded, "rects", None)
                    for rect in rects if rects is not None else [decoded]:
                        text = _cue_text(rect)
                        if text:
                            cues.append([round(start, 3), round(start + length, 3), text])
                if len(cues) >= limit:
                    break
        except Exception:
            pass  # subtitles cut short: the cues read so far
    return cues


# -- scenes --------------------------------------------------------------------------------
def _thumb(frame, rotation: int):  # type: ignore[no-untyped-def]
    """An RGB picture of at most THUMB_SIDE pixels on its long side, turned upright; FFmpeg's
    scaler makes it straight from the decoded planes (no full-size RGB copy)."""
    scale = THUMB_SIDE / max(frame.width, frame.height, 1)
    width = max(2, int(round(frame.width * min(scale, 1.0))))
    height = max(2, int(round(frame.height * min(scale, 1.0))))
    picture = frame.reformat(width=width, height=height, format="rgb24").to_image()
    if rotation:
        picture = picture.rotate(-rotation, expand=True)
    return picture


def signature(picture) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A 32x18 HSV thumbnail: what the scene detector compares."""
    return np.asarray(picture.convert("HSV").resize((32, 18)), dtype=np.float32)


def is_black(picture) -> bool:  # type: ignore[no-untyped-def]
    luma = np.asarray(picture.convert("L").resize((64, 36)), dtype=np.float32)
    return float(luma.mean()) < BLACK_LUMA and float(luma.std()) < BLACK_LUMA


def _histogram(sig: np.ndarray) -> np.ndarray:
    """Colours (16 hue bins, and one for the unsaturated) and brightness (8 bins), each summing
    to 1: what a pan or a zoom within a scene hardly changes and a cut does."""
    saturated = (sig[..., 1] > 40) & (sig[..., 2] > 40)
    hue = np.bincount((sig[..., 0][saturated] / 16).astype(int).clip(0, 15), minlength=16)
    colours = np.append(hue, (~saturated).sum()) / sig[..., 0].size
    brightness = np.bincount((sig[..., 2] / 32).astype(int).clip(0, 7).ravel(), minlength=8)
    return np.concatenate([colours, brightness / sig[..., 2].size])


def cut_between(a: np.ndarray, b: np.ndarray) -> bool:
    """A scene change between two frames: their pixels differ (mean absolute HSV difference
    above CUT_THRESHOLD; hue is circular and counts where both are saturated), or their colours
    and brightness do (half the L1 distance of their histograms, per part, above
    HISTOGRAM_THRESHOLD: a red scene after a blue one differs in hue alone)."""
    hue = np.abs(a[..., 0] - b[..., 0])
    hue = np.minimum(hue, 256 - hue)
    hue = np.where((a[..., 1] > 40) & (b[..., 1] > 40), hue, 0.0)
    delta = (hue.mean() + np.abs(a[..., 1:] - b[..., 1:]).mean(axis=(0, 1)).sum()) / 3
    if delta > CUT_THRESHOLD:
        return True
    distance = np.abs(_histogram(a) - _histogram(b))
    return bool(max(distance[:17].sum(), distance[17:].sum()) / 2 > HISTOGRAM_THRESHOLD)


def origin(container, stream) -> float:  # type: ignore[no-untyped-def]
    """Seconds of the stream's first timestamp: every time crossmodal reports counts from it
    (an MPEG-TS clip starts at 1.48 s, a player shows 0:00)."""
    if stream.start_time is not None and stream.time_base:
        return max(0.0, float(stream.start_time * stream.time_base))
    return max(0.0, (container.start_time or 0) / 1_000_000)


def decodable(stream) -> None:  # type: ignore[no-untyped-def]
    if stream.codec_context is None or not stream.codec_context.name:
        raise MediaError("the video codec is not one FFmpeg decodes")


def picture_track(container):  # type: ignore[no-untyped-def]
    """(the picture track, its first timestamp in seconds), or MediaError when there is no
    track FFmpeg can decode."""
    stream = video_stream(container)
    if stream is None:
        raise MediaError("no video track in this file")
    decodable(stream)
    return stream, origin(container, stream)


def _keyframes(container, stream, zero: float, limit: float) -> Iterator[tuple[float, Any]]:  # type: ignore[no-untyped-def]
    """(seconds from `zero`, frame) of the keyframes before `limit`, in order, at most one per
    KEYFRAME_GAP. Packets are demuxed and only the chosen keyframes' are decoded: the others
    are never decoded at all, so a codec whose every frame is a keyframe (MJPEG, ProRes) costs
    two decodes a second, not thirty."""
    stream.codec_context.skip_frame = "NONKEY"
    chosen = -math.inf
    last = -math.inf
    for packet in container.demux(stream):
        if packet.size:
            if not packet.is_keyframe or packet.pts is None or packet.time_base is None:
                continue
            at = float(packet.pts * packet.time_base) - zero
            if at >= limit:
                break
            if at < chosen + KEYFRAME_GAP:
                continue  # too close to the last one (or a repeated timestamp)
            chosen = at
        for frame in packet.decode():  # the empty packet at the end flushes the decoder
            if frame.time is None or frame.time - zero <= last:
                continue
            when = frame.time - zero
            if when >= limit:
                return
            last = when
            yield max(when, 0.0), frame


def _between(path: Path, stream_index: int, zero: float, times: list[float]):  # type: ignore[no-untyped-def]
    """Frames at the given seconds, in one pass: a seek to the keyframe before the first, then
    decoding forward (every frame of the gap once, never once per wanted time)."""
    if not times:
        return
    container = open_video(path)
    with container:
        stream = container.streams[stream_index]
        pending = list(times)
        try:
            container.seek(
                int((pending[0] + zero) / stream.time_base), stream=stream, backward=True
            )
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                while pending and frame.time - zero >= pending[0]:
                    yield pending.pop(0), frame
                if not pending:
                    return
        except Exception:
            return  # data missing there (a file cut short): the frames found so far


def _end_time(path: Path, stream_index: int, zero: float, limit: float) -> float | None:
    """Where the picture track really ends (before `limit`): the end of its last packet,
    demuxed (not decoded) from the keyframe before `limit`. A file cut short ends there,
    whatever its header says."""
    container = open_video(path)
    with container:
        stream = container.streams[stream_index]
        end = None
        try:
            container.seek(int((limit + zero) / stream.time_base), stream=stream, backward=True)
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                end = max(
                    end or 0.0, float((packet.pts + (packet.duration or 0)) * packet.time_base)
                )
        except Exception:
            pass
    return None if end is None else min(limit, max(0.0, end - zero))


def segments(path: Path, max_seconds: float = DEFAULT_HOURS * 3600) -> Iterator[Segment]:
    """The scenes of the first `max_seconds` of a video, in order. Each scene runs from one
    cut (or from a MAX_SEGMENT piece) to the next; its frame is its middle keyframe that is
    not black (None when every one is). Memory stays flat: only the current scene's
    thumbnails are held."""
    container = open_video(path)
    with container:
        stream, zero = picture_track(container)
        duration = _seconds(container, stream) or 0.0
        limit = min(duration, max_seconds) if duration else max_seconds
        rotation = None
        scene: list[tuple[float, Any]] = []  # (seconds, thumbnail) of the current scene
        previous: np.ndarray | None = None
        start = 0.0
        try:
            for when, frame in _with_gaps(path, container, stream, zero, limit):
                if rotation is None:
                    rotation = _rotation(stream, frame)
                picture = _thumb(frame, rotation)
                sig = signature(picture)
                long_enough = when - start >= MIN_SEGMENT
                cut = previous is not None and long_enough and cut_between(previous, sig)
                if scene and not cut and when - start > MAX_SEGMENT and len(scene) > 1:
                    # Too long with this frame: the piece ends at the frame before it.
                    kept = scene.pop()
                    yield Segment(round(start, 3), round(kept[0], 3), _representative(scene))
                    scene, start = [kept], kept[0]
                if scene and (cut or when - start >= MAX_SEGMENT):
                    yield Segment(round(start, 3), round(when, 3), _representative(scene))
                    scene, start = [], when
                scene.append((when, picture))
                previous = sig
        except MediaError:
            raise
        except Exception as exc:
            if not scene and start == 0.0:
                raise MediaError(f"video does not decode: {_reason(exc)}") from exc
            # A file cut short: the scenes up to the damage.
        if scene:
            end = _end_time(path, stream.index, zero, limit) if limit else None
            end = max(end or 0.0, scene[-1][0])
            yield Segment(round(start, 3), round(end, 3), _representative(scene))


def _with_gaps(path: Path, container, stream, zero: float, limit: float):  # type: ignore[no-untyped-def]
    """Keyframes, with the gaps longer than MAX_SEGMENT/2 filled (sparse keyframes: screen
    recordings, some cameras) by a frame every MAX_SEGMENT/2, decoded in one pass per gap: a
    scene can then always end within MAX_SEGMENT."""
    last = 0.0
    step = MAX_SEGMENT / 2
    for when, frame in _keyframes(container, stream, zero, limit):
        if when - last > step:
            wanted = [float(t) for t in np.arange(last + step, when - 1.0, step)]
            yield from _between(path, stream.index, zero, wanted)
        yield when, frame
        last = when
    if limit - last > step:
        wanted = [float(t) for t in np.arange(last + step, limit - 1.0, step)]
        yield from _between(path, stream.index, zero, wanted)


def _representative(scene: list[tuple[float, Any]]):  # type: ignore[no-untyped-def]
    """The middle frame of a scene that is not black, else None."""
    middle = len(scene) // 2
    for index in sorted(range(len(scene)), key=lambda i: abs(i - middle)):
        if not is_black(scene[index][1]):
            return scene[index][1]
    return None


def frame_at(path: Path, seconds: float):  # type: ignore[no-untyped-def]
    """The picture a player shows at `seconds`, upright and thumbnail-sized (previews, pages)."""
    container = open_video(path)
    with container:
        stream, zero = picture_track(container)
        rotation = None
        try:
            if seconds > 0:
                target = int((seconds + zero) / stream.time_base)
                container.seek(target, stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                if rotation is None:
                    rotation = _rotation(stream, frame)
                chosen = frame
                if frame.time is None or frame.time - zero >= seconds:
                    break
        except Exception as exc:
            raise MediaError(f"video does not decode: {_reason(exc)}") from exc
        if chosen is None:
            raise MediaError("the video has no frames")
        return _thumb(chosen, rotation or 0)


def speech_windows(
    path: Path, max_seconds: float, window: float = 600.0
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds on the picture's clock, mono 16 kHz samples) of the default sound
    track, `window` seconds at a time, up to `max_seconds`: an hour-long track is never held
    whole."""
    import av

    from .av_audio import _open, _stream

    container = _open(path)
    with container:
        stream = _stream(container)
        picture = video_stream(container)
        lead = origin(container, stream) - (origin(container, picture) if picture else 0.0)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SPEECH_RATE)
        size = int(window * SPEECH_RATE)
        wanted = int(max_seconds * SPEECH_RATE)
        pieces: list[np.ndarray] = []
        held = offset = 0
        try:
            for frame in container.decode(stream):
                frame.pts = None  # timestamps of broken files must not stall the resampler
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    held += pieces[-1].size
                while held >= size and offset < wanted:
                    chunk = np.concatenate(pieces)
                    yield lead + offset / SPEECH_RATE, chunk[: min(size, wanted - offset)]
                    pieces, held = [chunk[size:]], chunk.size - size
                    offset += size
                if offset >= wanted:
                    return
        except Exception:
            pass  # a sound track cut short: what was read
        if held and offset < wanted:
            yield lead + offset / SPEECH_RATE, np.concatenate(pieces)[: wanted - offset]
