"""Camera RAW files through LibRaw (rawpy): the embedded preview JPEG when it is large enough,
which costs a JPEG decode; demosaicing at half size only when there is none."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import MediaError

# LibRaw's flip code -> the PIL transpose that shows the picture upright.
_FLIP_TO_TRANSPOSE = {3: "ROTATE_180", 5: "ROTATE_90", 6: "ROTATE_270"}


def _imread(path: Path):  # type: ignore[no-untyped-def]
    import rawpy

    try:
        return rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError as exc:
        raise MediaError("RAW file from an unknown camera or not a RAW file (LibRaw)") from exc
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, rawpy.LibRawError):
            raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
        raise MediaError(f"RAW file does not decode: {exc}") from exc


def _preview(raw, draft: int = 448) -> Any:  # type: ignore[no-untyped-def]
    """The embedded preview as a PIL image (a JPEG one decoded at reduced size, at least
    `draft` px), or None when the file has none."""
    import rawpy
    from PIL import Image

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            image = Image.open(io.BytesIO(thumb.data))
            image.draft("RGB", (draft, draft))  # libjpeg's reduced-size decode
            image.load()
        except Exception:
            return None
        return image
    return Image.fromarray(thumb.data).convert("RGB")


def _upright(image, raw):  # type: ignore[no-untyped-def]
    """A preview is stored as the sensor saw it; LibRaw's flip says how the camera was held.
    A preview JPEG with its own EXIF orientation is turned by that instead."""
    from PIL import Image, ImageOps

    if image.getexif().get(0x0112, 1) != 1:
        return ImageOps.exif_transpose(image)
    name = _FLIP_TO_TRANSPOSE.get(raw.sizes.flip)
    return image.transpose(getattr(Image.Transpose, name)) if name else image


def raw_image(path: Path, min_side: int, max_pixels: int):  # type: ignore[no-untyped-def]
    """An upright RGB picture of a RAW file, its shorter side at least `min_side` when possible."""
    from PIL import Image

    with _imread(path) as raw:
        sizes = raw.sizes
        if sizes.raw_width * sizes.raw_height > max_pixels:
            raise MediaError(f"image too large: {sizes.raw_width}x{sizes.raw_height} pixels")
        preview = _preview(raw, 2 * min_side)
        if preview is not None and min(preview.size) >= min_side:
            return _upright(preview, raw).convert("RGB")
        try:
            import rawpy

            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
        except rawpy.LibRawError as exc:
            if preview is not None:
                return _upright(preview, raw).convert("RGB")
            raise MediaError(f"RAW file does not decode: {exc}") from exc
        return Image.fromarray(rgb)


def probe_raw(path: Path, max_pixels: int) -> dict[str, Any]:
    """Size, camera and capture date of a RAW file, after checking that LibRaw reads it."""
    import rawpy

    with _imread(path) as raw:
        sizes = raw.sizes
        if sizes.width <= 0 or sizes.height <= 0:
            raise MediaError("RAW file holds no picture")
        if sizes.raw_width * sizes.raw_height > max_pixels:
            raise MediaError(f"image too large: {sizes.raw_width}x{sizes.raw_height} pixels")
        width, height = sizes.width, sizes.height
        if sizes.flip in (5, 6):
            width, height = height, width
        preview = _preview(raw, 256)
        meta: dict[str, Any] = {"format": "RAW", "width": width, "height": height, "mode": "RGB"}
        meta["raw_preview"] = bool(preview is not None)
        if preview is None:
            try:
                raw.unpack()
            except rawpy.LibRawError as exc:
                raise MediaError(f"RAW file does not decode: {exc}") from exc
    from .image import image_exif_date

    taken = tiff_exif_date(path) or (image_exif_date(preview) if preview is not None else None)
    if taken:
        meta["exif_date"] = taken
    return meta


def tiff_exif_date(path: Path) -> str | None:
    """The capture date from a TIFF-structured RAW's own EXIF (CR2, NEF, ARW, DNG...)."""
    from PIL import Image

    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
        if head[:4] not in (b"II*\x00", b"MM\x00*"):
            return None
        exif = Image.Exif()
        exif.load(head)
    except Exception:
        return None
    from .image import exif_date

    return exif_date(exif)
