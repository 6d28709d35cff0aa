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
import threading
from pathlib import Path

from ..catalog import Item

THUMB_SIZES = (128, 256, 512)
THUMB_MODALITIES = ("image", "video")
THUMB_AT_ONCE = 2  # pictures decoded for thumbnails at once (a 100-megapixel PNG is 1 GB)
THUMB_WAIT_SECONDS = 20.0
_decoding = threading.BoundedSemaphore(THUMB_AT_ONCE)


class ThumbnailsBusy(Exception):
    """Every decoding slot stayed taken for THUMB_WAIT_SECONDS."""


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
    # mtime can be set by anyone (touch -r); the inode change time and the device cannot
    if item.ctime_ns is not None and info.st_ctime_ns != item.ctime_ns:
        return None
    if item.dev is not None and info.st_dev != item.dev:
        return None
    return path


def download_name(path: Path) -> str:
    """A file name for Content-Disposition: a name that is not UTF-8 keeps its readable part."""
    return os.fsencode(path.name).decode("utf-8", "replace")


def thumbnail_key(item: Item, size: int, seconds: float | None) -> str:
    base = item.content_hash or f"item{item.id}-{item.size}-{item.mtime_ns}"
    at = "" if seconds is None else f"-t{seconds:.1f}"
    return f"{base}-{size}{at}.jpg"


def thumbnail_jpeg(
    item: Item, size: int, cache_dir: Path, seconds: float | None = None
) -> bytes | None:
    """A JPEG that fits size x size (a video's frame at `seconds`, in whole seconds within its
    length, else a tenth of the way in), from the cache or made now and cached; None when the
    item has no picture. ThumbnailsBusy when no decoding slot frees in time."""
    from ..media.image import thumbnail

    path = indexed_file(item)
    if path is None or item.modality not in THUMB_MODALITIES:
        return None
    if item.modality == "video":
        duration = float(item.meta.get("duration") or 0.0)
        if seconds is None:
            seconds = min(duration * 0.1, 5.0)
        seconds = float(max(0, min(int(seconds), int(duration))))  # a bounded set of frames
    else:
        seconds = None  # a picture has one thumbnail per size
    folder = cache_dir / "thumbs"
    cached = folder / thumbnail_key(item, size, seconds)
    with contextlib.suppress(OSError):
        return cached.read_bytes()
    if not _decoding.acquire(timeout=THUMB_WAIT_SECONDS):
        raise ThumbnailsBusy(f"{THUMB_AT_ONCE} thumbnails are being made already; try again")
    try:
        image = thumbnail(path, size, size, seconds)
        if image is None:
            return None
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=82)
        data = buffer.getvalue()
    finally:
        _decoding.release()
    with contextlib.suppress(OSError):  # a read-only store serves it uncached
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, cached)
    return data
