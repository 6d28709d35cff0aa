"""Sound in containers libsndfile does not read (M4A/AAC/ALAC, Opus and Vorbis in WebM/Matroska,
WMA, AMR, 3GP, CAF, raw AAC), through PyAV, whose wheels bundle FFmpeg's libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError


def _open(path: Path):  # type: ignore[no-untyped-def]
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError as exc:
        raise MediaError(f"cannot read: {exc.strerror}") from exc
    except PermissionError as exc:
        raise MediaError(f"cannot read: {exc.strerror}") from exc
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise MediaError(f"not a readable audio file: {_reason(exc)}") from exc
    if not container.streams.audio:
        container.close()
        raise MediaError("no audio track in this file")
    return container


def _reason(exc: BaseException) -> str:
    """FFmpeg's message without the file name it repeats."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:200]


def _stream(container):  # type: ignore[no-untyped-def]
    """The default audio track (a file can hold 20): FFmpeg's choice, else the first."""
    audio = container.streams.audio
    for stream in audio:
        if stream.disposition & 1:  # AV_DISPOSITION_DEFAULT
            return stream
    return audio[0]


def _duration(container, stream) -> float | None:  # type: ignore[no-untyped-def]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def av_tags(path: Path) -> dict[str, str]:
    """Container tags (title, artist, album...) as FFmpeg reads them, lower-case keys."""
    try:
        container = _open(path)
    except MediaError:
        return {}
    with container:
        merged = {**dict(container.metadata), **dict(_stream(container).metadata)}
    return {key.lower(): " ".join(str(value).split()) for key, value in merged.items() if value}


def probe_av(path: Path) -> dict[str, Any]:
    """Format, duration, rate and channels, after decoding the first frames of the track."""
    container = _open(path)
    with container:
        stream = _stream(container)
        codec = stream.codec_context
        rate = int(codec.sample_rate or 0)
        channels = int(codec.channels or 0)
        duration = _duration(container, stream)
        try:
            frames = 0
            for frame in container.decode(stream):
                frames += frame.samples
                if frames >= max(rate, 1):
                    break
        except Exception as exc:
            raise MediaError(f"audio does not decode: {_reason(exc)}") from exc
        if frames == 0:
            raise MediaError("audio file has no samples")
        if duration is None:
            duration = frames / rate if rate else None
        return {
            "format": f"{container.format.name.split(',')[0].upper()}/{codec.name}",
            "duration": round(duration, 3) if duration else None,
            "sample_rate": rate,
            "channels": channels,
            **(
                {"tracks": len(container.streams.audio)} if len(container.streams.audio) > 1 else {}
            ),
        }


def load_av(path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """Mono float32 samples at `sample_rate`, at most `max_seconds` long."""
    import av

    container = _open(path)
    wanted = int(max_seconds * sample_rate)
    pieces: list[np.ndarray] = []
    have = 0
    with container:
        stream = _stream(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # timestamps of broken files must not stall the resampler
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    have += pieces[-1].size
                if have >= wanted:
                    break
            else:
                for out in resampler.resample(None):
                    pieces.append(out.to_ndarray().reshape(-1))
        except Exception as exc:
            if not pieces:
                raise MediaError(f"audio does not decode: {_reason(exc)}") from exc
            # A file cut short decodes up to the damage, as libsndfile does for WAV.
    if not pieces:
        raise MediaError("audio file has no samples")
    mono = np.concatenate(pieces)[:wanted]
    if not np.all(np.isfinite(mono)):
        mono = np.clip(np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    return np.ascontiguousarray(mono, dtype=np.float32)
