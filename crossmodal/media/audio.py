"""Audio probing and decoding: libsndfile (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF) via soundfile,
where it is fastest, and FFmpeg via PyAV for the rest (M4A, WebM, WMA, AMR...); tags via mutagen;
mono, resampled with soxr, and capped in length so a one-hour file costs a bounded amount."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError

SAMPLE_RATE = 22050
MAX_SECONDS = 180.0
SIDECAR_SUFFIXES = (".txt", ".lrc")
_TAG_FIELDS = ("title", "artist", "album", "genre", "comment", "description", "lyrics")
_LRC_TIMESTAMP = re.compile(r"\[[0-9:.]+\]")
# Formats (as sniffed) that libsndfile decodes; every other audio format goes through FFmpeg.
SNDFILE_FORMATS = {"wav", "flac", "ogg", "mp3", "aiff"}


def _through_ffmpeg(path: Path) -> bool:
    from .sniff import audio_format

    try:
        found = audio_format(path)
    except OSError:
        return False  # the libsndfile path reports the read error
    return found is not None and found not in SNDFILE_FORMATS


def _info(path: Path):  # type: ignore[no-untyped-def]
    import soundfile as sf

    try:
        return sf.info(os.fsencode(path))  # bytes: a name that is not UTF-8 opens too
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise MediaError(f"not a readable audio file: {exc}") from exc


def _libsndfile_tags(path: Path) -> dict[str, str]:
    """RIFF INFO tags of WAV files, which mutagen does not read."""
    import soundfile as sf

    try:
        with sf.SoundFile(os.fsencode(path)) as handle:
            metadata = handle.copy_metadata()
    except Exception:
        return {}
    return {name: str(metadata[name]).strip() for name in _TAG_FIELDS if metadata.get(name)}


def _tags(path: Path) -> dict[str, str]:
    """Title, artist and similar tags from any container mutagen or libsndfile knows."""
    try:
        import mutagen

        tagged = mutagen.File(str(path), easy=True)
    except Exception:
        tagged = None
    if tagged is None or not tagged.tags:
        if _through_ffmpeg(path):
            from .av_audio import av_tags

            return {k: v for k, v in av_tags(path).items() if k in _TAG_FIELDS}
        return _libsndfile_tags(path)
    found: dict[str, str] = {}
    for name in _TAG_FIELDS:
        try:
            values = tagged.tags.get(name)
        except Exception:
            values = None
        if values:
            text = " ".join(str(v) for v in values) if isinstance(values, list) else str(values)
            if text.strip():
                found[name] = text.strip()
    return found


def _sidecar_text(path: Path) -> str | None:
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if sidecar.is_file():
            try:
                with open(sidecar, "rb") as handle:  # capped: a sidecar can be a 20 GB file
                    raw = handle.read(80_000)
                text = raw.decode("utf-8", errors="ignore")[:20_000]
            except OSError:
                continue
            if suffix == ".lrc":
                text = _LRC_TIMESTAMP.sub(" ", text)
            text = " ".join(text.split())
            if text:
                return text
    return None


def name_words(path: Path) -> str:
    """'dog_bark-02.wav' -> 'dog bark': untagged sound effects are usually named for what they are."""
    words = re.split(r"[\W_]+", path.stem)
    return " ".join(word for word in words if word and not word.isdigit())


def audio_text_side(path: Path, tags: dict[str, str]) -> str | None:
    """The words that describe a clip: its tags and sidecar transcript, else its file name."""
    parts = [tags[name] for name in _TAG_FIELDS if name in tags]
    sidecar = _sidecar_text(path)
    if sidecar:
        parts.append(sidecar)
    if "title" not in tags:
        parts.insert(0, name_words(path))
    text = ". ".join(part.strip().rstrip(".") for part in parts if part.strip())
    return text or None


def with_transcript(side: str | None, old: str | None, new: str) -> str | None:
    """A clip's text side with its transcript replaced: the words that describe it (name, tags,
    sidecar), then what is said in it."""
    base = side or ""
    stored = old.strip().rstrip(".") if old else ""  # how a text side holds it
    if stored and base.endswith(stored):
        base = base[: -len(stored)].rstrip().removesuffix(".").rstrip()
    text = ". ".join(part.strip().rstrip(".") for part in (base, new) if part and part.strip())
    return text or None


def _duration(path: Path, info: Any) -> float:
    """Seconds of sound. libsndfile estimates an MP3 without a Xing header from the file size,
    counting an ID3 cover picture as sound (a 50 MB cover before 7.4 s read as 12,567 s):
    for MP3 the length comes from mutagen, which reads the frames behind the tag."""
    seconds = info.frames / info.samplerate
    if str(info.format).upper() == "MP3":
        try:
            from mutagen.mp3 import MP3

            length = float(MP3(str(path)).info.length)
        except Exception:
            return seconds
        if 0 < length < seconds:
            return length
    return seconds


def probe_audio(path: Path) -> tuple[dict[str, Any], str | None]:
    if _through_ffmpeg(path):
        from .av_audio import probe_av

        meta = probe_av(path)
        tags = _tags(path)
        if tags:
            meta["tags"] = tags
        return meta, audio_text_side(path, tags)
    info = _info(path)
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaError("audio file has no samples")
    meta: dict[str, Any] = {
        "format": info.format,
        "duration": round(_duration(path, info), 3),
        "sample_rate": info.samplerate,
        "channels": info.channels,
    }
    tags = _tags(path)
    if tags:
        meta["tags"] = tags
    return meta, audio_text_side(path, tags)


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE, max_seconds: float = MAX_SECONDS):
    """Mono float32 samples at `sample_rate`, at most `max_seconds` long."""
    import soundfile as sf

    if _through_ffmpeg(path):
        from .av_audio import load_av

        return load_av(path, sample_rate, max_seconds)

    try:
        with sf.SoundFile(os.fsencode(path)) as handle:
            native_rate = handle.samplerate
            frames = int(min(handle.frames, max_seconds * native_rate))
            data = handle.read(frames, dtype="float32", always_2d=True)
    except Exception as exc:
        raise MediaError(f"audio does not decode: {exc}") from exc
    if data.size == 0:
        raise MediaError("audio file has no samples")
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        # Float files can hold NaN or infinity; treat them as silence / full scale.
        mono = np.clip(np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    if native_rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, native_rate, sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)
