"""Self-contained HTML pages: a result list (`--html FILE`) and a whole-store overview
(`crossmodal gallery`). Thumbnails are embedded as small JPEG data URIs; sounds play from their
local files (file:// links); the page loads nothing from a network and runs no script."""

from __future__ import annotations

import base64
import errno
import html
import io
import os
import stat
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .catalog import Catalog, Item, catalog_path
from .fsutil import atomic_write_with, open_special_for_writing
from .outputs import PAGE_MARK
from .query import Hit
from .store import Store

THUMB_PIXELS = 240
PER_MODALITY_MAX = 1000  # an overview of a huge store shows this many per modality, and says so
FAILURES_MAX = 1000  # ... and this many failed files

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;width:250px}
.card img{max-width:240px;max-height:240px;display:block;margin:auto}
.card audio{width:100%}
.card video{max-width:240px;display:block;margin:auto}
.meta{color:#666;font-size:12px;word-break:break-all}
.score{font-weight:600}.bar{height:4px;background:#3a7;border-radius:2px;margin:4px 0}
.text{white-space:pre-wrap;font-size:13px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.query{background:#fff;border:1px solid #bbb;border-radius:6px;padding:12px;margin-bottom:16px}
"""


def thumbnail_uri(
    path: str, pixels: int = THUMB_PIXELS, seconds: float | None = None
) -> str | None:
    """A small JPEG of an image file (or of a video's frame at `seconds`) as a data URI, or None
    when it does not decode."""
    from .media.image import thumbnail

    image = thumbnail(Path(path), pixels, pixels, seconds)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def shown(path: str) -> str:
    """A path as the page shows it: a name that is not UTF-8 (held with surrogate escapes) in
    the catalog's readable form (`caf\\xff.png`), so the page is always valid UTF-8."""
    return catalog_path(path)[0]


def _uri(path: str) -> str:
    return Path(path).resolve().as_uri()  # percent-encodes the raw bytes: the link opens the file


def _media(path: str, modality: str | None, span: tuple[float, float] | None = None) -> str:
    """What represents a file on the page: a thumbnail, a player, or nothing (text). A video
    plays from its matched scene: a media fragment `#t=start,end` on its file:// URL, with the
    scene's frame as the poster."""
    if modality == "video":
        start, end = span or (0.0, 0.0)
        poster = thumbnail_uri(path, seconds=(start + end) / 2)
        fragment = f"#t={start:g},{end:g}" if span else ""
        return (
            '<video controls preload="metadata" width="240"'
            + (f' poster="{poster}"' if poster else "")
            + f' src="{html.escape(_uri(path) + fragment)}"></video>'
        )
    if modality == "image":
        uri = thumbnail_uri(path)
        if uri is None:
            return '<div class="meta">(picture does not decode)</div>'
        return f'<img src="{uri}" alt="{html.escape(Path(shown(path)).name)}">'
    if modality == "audio":
        return f'<audio controls preload="none" src="{html.escape(_uri(path))}"></audio>'
    return ""


def _words(item: Item, passage: dict[str, Any] | None = None) -> str:
    meta = item.meta
    if passage:
        where = passage.get("where") or f"chars {passage['start']}-{passage['end']}"
        return f"[{where}] {passage['text'][:400]}"
    if item.modality == "text":
        return str(meta.get("snippet", ""))[:400]
    if item.modality == "video":
        from .query import clock

        spoken = meta.get("transcript")
        about = f"{meta.get('width')}x{meta.get('height')} {meta.get('codec', '')}, "
        return (
            about
            + clock(float(meta.get("duration") or 0))
            + (f'. Says "{spoken[:300]}"' if spoken else "")
        )
    if item.modality == "audio":
        duration = f"{meta['duration']:.1f} s. " if meta.get("duration") else ""
        spoken = meta.get("transcript")
        return duration + (f'says "{spoken}"' if spoken else (item.text_side or ""))
    words = meta.get("ocr_text")
    size = f"{meta.get('width')}x{meta.get('height')} {meta.get('format', '')}"
    return size + (f' — reads "{words}"' if words else "")


def _card(
    item: Item,
    extra: str = "",
    passage: dict[str, Any] | None = None,
    span: tuple[float, float] | None = None,
) -> str:
    name = html.escape(Path(item.path).name)
    link = html.escape(_uri(item.fs_path))
    return (
        f'<div class="card">{extra}{_media(item.fs_path, item.modality, span)}'
        f'<div><a href="{link}">{name}</a></div>'
        f'<div class="meta">{html.escape(item.path)}</div>'
        f'<div class="text">{html.escape(_words(item, passage))}</div></div>'
    )


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{PAGE_MARK}"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def results_page(query: dict[str, Any], hits: list[Hit]) -> str:
    """The query (its text, its image or sound) and the ranked results."""
    parts = []
    for part in query.get("parts", []):
        value = str(part["value"])
        weight = f" (weight {part['weight']:g})" if part.get("weight", 1) != 1 else ""
        if part["modality"] == "text":
            parts.append(f"<div>text: <b>{html.escape(value)}</b>{weight}</div>")
        else:
            parts.append(f"<div>{part['modality']}: {html.escape(shown(value))}{weight}</div>")
            parts.append(_media(value, part["modality"]))
    cards = []
    fused_order = any(a.score < b.score for a, b in zip(hits, hits[1:], strict=False))
    for rank, hit in enumerate(hits, 1):
        width = max(0, min(100, round(hit.score * 100)))
        # The list is ranked by `fused`; the cosine is shown beside it, labelled.
        ranked_by = f"fused {hit.fused:.4g} · " if fused_order else ""
        head = (
            f'<div><span class="score">#{rank} {ranked_by}cosine {hit.score:.3f}</span> '
            f'<span class="meta">{html.escape(", ".join(hit.spaces))}</span></div>'
            f'<div class="bar" style="width:{width}%"></div>'
        )
        cards.append(_card(hit.item, head, hit.passage, hit.span))
    body = (
        "<h1>crossmodal results</h1>"
        f'<div class="query">{"".join(parts)}</div>'
        f'<div class="grid">{"".join(cards) or "<p>no results</p>"}</div>'
    )
    return _page("crossmodal results", body)


def _section(title: str, items: Iterable[Item], total: int) -> str:
    cards = [_card(item) for item in items]
    more = total - len(cards)
    note = f'<p class="meta">{more} more not shown</p>' if more > 0 else ""
    return f'<h2>{html.escape(title)} ({total})</h2><div class="grid">{"".join(cards)}</div>{note}'


def store_page(store: Store) -> str:
    """Every modality of the store (up to PER_MODALITY_MAX each) and its failures (up to
    FAILURES_MAX)."""
    catalog = Catalog(store.catalog_path, readonly=True)
    try:
        with catalog.read_snapshot():
            counts = catalog.counts().get("ok", {})
            sections = []
            for modality in ("image", "video", "audio", "text"):
                items = []
                for item in catalog.items(modality=modality):
                    if len(items) >= PER_MODALITY_MAX:
                        break
                    items.append(item)
                sections.append(_section(f"{modality}s", items, counts.get(modality, 0)))
            failures = catalog.failures()
    finally:
        catalog.close()
    rows = "".join(
        f"<tr><td>{html.escape(item.path)}</td><td>{html.escape(item.error or '')}</td></tr>"
        for item in failures[:FAILURES_MAX]
    )
    more = len(failures) - FAILURES_MAX
    note = f'<p class="meta">{more} more not shown</p>' if more > 0 else ""
    failed = (
        f"<h2>failed ({len(failures)})</h2><table><tr><th>file</th><th>reason</th></tr>{rows}"
        f"</table>{note}"
        if failures
        else "<h2>failed (0)</h2>"
    )
    made = datetime.now(tz=timezone.utc).isoformat(timespec="seconds")
    body = (
        f"<h1>crossmodal store {html.escape(shown(str(store.root)))}</h1>"
        f'<p class="meta">made {made}</p>{"".join(sections)}{failed}'
    )
    return _page(f"crossmodal store {shown(store.root.name)}", body)


def write_page(target: Path, page: str) -> None:
    """Write a page as UTF-8 through a temporary file renamed over `target`: a failure leaves
    the old file (or none), never a truncated one. The file gets the mode a plain write would
    (0666 less the umask, or the mode of the file it replaces). A terminal, pipe or other
    non-regular file (`--html /dev/stdout`) is written directly. Raises OSError."""
    data = page.encode("utf-8", "backslashreplace")  # lone surrogates cannot make it fail
    target = Path(target)
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        with os.fdopen(open_special_for_writing(target), "wb") as handle:
            handle.write(data)
        return
    if not target.parent.is_dir():  # the user's folder is never created for them
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(target.parent))
    if existing is not None:
        mode = stat.S_IMODE(existing.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask

    def fill(tmp: Path) -> None:
        tmp.write_bytes(data)
        os.chmod(tmp, mode)

    atomic_write_with(target, fill)
