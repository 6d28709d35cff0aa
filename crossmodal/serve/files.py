"""The files a server may send: only what the store indexed, by item id, as it was indexed.

A path never comes from the request. An item's file is sent only while it is the regular file
the catalog describes (same size and modification time, after symlinks): a file replaced since
by a symlink to something never indexed, a FIFO or a device is refused like an unknown id.
Thumbnails are cached in the store's cache folder (the one thing, with the query cache, a
server writes), keyed by content, so a moved photo keeps its thumbnail.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from pathlib import Path

from ..catalog import Item

THUMB_SIZES = (128, 256, 512)
THUMB_MODALITIES = ("image", "video")


def indexed_file(item: Item | None) -> Path | None:
    """The item's file when it is still what was indexed, else None."""
    if item is None or item.status != "ok":
        return None
    path = Path(item.fs_path)
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size != item.size:
        return None
    if item.mtime_ns and info.st_mtime_ns != item.mtime_ns:
        return None
    return path


def thumbnail_key(item: Item, size: int, seconds: float | None) -> str:
    base = item.content_hash or f"item{item.id}-{item.size}-{item.mtime_ns}"
    at = "" if seconds is None else f"-t{seconds:.1f}"
    return f"{base}-{size}{at}.jpg"


def thumbnail_jpeg(
    item: Item, size: int, cache_dir: Path, seconds: float | None = None
) -> bytes | None:
    """A JPEG that fits size x size (a video's frame at `seconds`, else a tenth of the way
    in), from the cache or made now and cached; None when the item has no picture."""
    from ..media.image import thumbnail

    path = indexed_file(item)
    if path is None or item.modality not in THUMB_MODALITIES:
        return None
    if item.modality == "video" and seconds is None:
        duration = float(item.meta.get("duration") or 0.0)
        seconds = round(min(duration * 0.1, 5.0), 1)
    folder = cache_dir / "thumbs"
    cached = folder / thumbnail_key(item, size, seconds)
    with contextlib.suppress(OSError):
        return cached.read_bytes()
    image = thumbnail(path, size, size, seconds)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=82)
    data = buffer.getvalue()
    with contextlib.suppress(OSError):  # a read-only store serves it uncached
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, cached)
    return data
