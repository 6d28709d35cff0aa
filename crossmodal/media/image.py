"""Image probing and decoding with Pillow (plus libheif for HEIC, LibRaw for camera RAW): EXIF or
HEIF orientation, RGB, the capture date, and a decompression-bomb guard."""

from __future__ import annotations

import contextlib
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import MediaError

# Pillow warns above ~89 Mpx and raises at twice that; we refuse anything above this many pixels.
MAX_PIXELS = 120_000_000
_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_DATETIME = 0x0132
_EXIF_IFD = 0x8769


_HEIF_READY = False


def _register_heif() -> None:
    """libheif's Pillow opener, registered once and only when a HEIF file is met (it costs an
    import). It applies the HEIF rotation and mirroring and clears the EXIF orientation, so
    exif_transpose never turns a HEIC picture twice."""
    global _HEIF_READY
    if not _HEIF_READY:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _HEIF_READY = True


def _kind(path: Path) -> str | None:
    from .sniff import sniff_head

    with open(path, "rb") as handle:
        found = sniff_head(handle.read(512), path.suffix.lower())
    return found[1] if found and found[0] == "image" else None


def _sniffed(path: Path) -> str | None:
    try:
        return _kind(path)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc


def _open(path: Path, kind: str | None):  # type: ignore[no-untyped-def]
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if kind == "heif" or (kind == "avif" and not _pillow_avif()):
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise MediaError(f"image too large (decompression bomb guard): {exc}") from exc
    except Image.DecompressionBombWarning as exc:
        raise MediaError(f"image too large (decompression bomb guard): {exc}") from exc
    except Exception as exc:  # Pillow raises many types for bad data
        raise MediaError(f"not a readable image: {exc}") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise MediaError(f"image too large: {width}x{height} pixels exceeds {MAX_PIXELS}")
    return image


def _pillow_avif() -> bool:
    from PIL import features

    return bool(features.check("avif"))


def exif_date(exif) -> str | None:  # type: ignore[no-untyped-def]
    """DateTimeOriginal (else DateTime) of a Pillow Exif object, as ISO 8601."""
    try:
        raw = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
    except Exception:
        return None
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def image_exif_date(image) -> str | None:  # type: ignore[no-untyped-def]
    """The capture date of an opened picture, or None."""
    try:
        return exif_date(image.getexif())
    except Exception:
        return None


def probe_image(path: Path) -> dict[str, Any]:
    """Metadata for the catalog, after checking that the image decodes."""
    kind = _sniffed(path)
    if kind == "raw":
        from .raw import probe_raw

        return probe_raw(path, MAX_PIXELS)
    image = _open(path, kind)
    try:
        meta: dict[str, Any] = {
            "format": image.format,
            "width": image.size[0],
            "height": image.size[1],
            "mode": image.mode,
        }
        taken = image_exif_date(image)
        if taken:
            meta["exif_date"] = taken
        if getattr(image, "n_frames", 1) > 1:
            meta["frames"] = image.n_frames
        # A cheap full decode at a reduced size: catches truncated files without paying full cost.
        image.draft("RGB", (256, 256))
        image.load()
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"image does not decode: {exc}") from exc
    finally:
        image.close()
    return meta


def load_image(path: Path, min_side: int = 224):  # type: ignore[no-untyped-def]
    """Decode to an RGB PIL image, oriented by EXIF, using JPEG draft mode for big photos."""
    from PIL import ImageOps

    kind = _sniffed(path)
    if kind == "raw":
        from .raw import raw_image

        return raw_image(path, min_side, MAX_PIXELS)
    image = _open(path, kind)
    try:
        # Draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale: far less work for big photos.
        # For HEIF it picks an embedded thumbnail at least this big (phones store 320x240), a
        # scaled copy with the same rotation: a 12 Mpx HEIC costs ~0.5 s to decode whole.
        heif = image.format in ("HEIF", "AVIF")
        image.draft("RGB", (min_side, min_side) if heif else (min_side * 2, min_side * 2))
        with contextlib.suppress(Exception):  # unreadable EXIF: the picture is shown as stored
            image = ImageOps.exif_transpose(image)
        if image.mode != "RGB":
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                from PIL import Image

                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image)
            image = image.convert("RGB")
        image.load()
        return image
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"image does not decode: {exc}") from exc


def thumbnail(path: Path, width: int, height: int, seconds: float | None = None):  # type: ignore[no-untyped-def]
    """An RGB picture that fits width x height pixels, for previews and pages; with `seconds`,
    the frame a video shows then. None when the file does not decode: a preview is never an
    error."""
    try:
        if seconds is not None:
            from .video import frame_at

            image = frame_at(path, seconds)
        else:
            image = load_image(path)
    except Exception:
        return None
    image = image.convert("RGB")
    image.thumbnail((width, height))
    return image
