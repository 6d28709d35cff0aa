"""Output: rich tables for people, one JSON object (or one per line) for scripts."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the library loads when a command runs, not for --help
    from crossmodal.query import Hit


class _Console(Console):
    """A console that lets a closed pipe reach the CLI's error handler (exit 141, silently)
    instead of rich's own `SystemExit(1)`."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


stdout = _Console(highlight=False, soft_wrap=True)
stderr = _Console(stderr=True, highlight=False, soft_wrap=True)


def silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush of what
    is still buffered cannot fail again (the recipe of Python's note on SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's capture)
        pass


def _json_line(payload: dict[str, Any]) -> str:
    """One line of JSON; a lone surrogate (a query file whose name is not UTF-8) is written as
    its JSON escape instead of failing to encode."""
    line = json.dumps(payload, ensure_ascii=False, default=str)
    return line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n"


def print_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(_json_line(payload))
    sys.stdout.flush()


FORMATS = ("table", "json", "ndjson", "paths", "paths0", "tsv", "timestamps")


def _tsv_field(path: str) -> bytes:
    """A path's real bytes for a tsv cell, escaped as PostgreSQL's COPY text format does:
    backslash, tab, newline and carriage return become \\\\, \\t, \\n, \\r; every other byte
    (a name that is not UTF-8 too) is written as it is."""
    raw = os.fsencode(path)
    for byte, escaped in ((b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r")):
        raw = raw.replace(byte, escaped)
    return raw


def shown(text: str) -> str:
    """Text that is safe and readable on a terminal: a name that is not UTF-8 (held with
    surrogate escapes) in the catalog's readable form (`caf\\xff.png`), and control characters
    escaped (`\\x1b`, `\\n`), so a file name, tag or document cannot move the cursor, clear the
    screen, set the window title or forge a link. Every string that came from a file goes
    through here before a terminal; JSON, tsv and paths keep the exact bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = os.fsencode(text).decode("utf-8", "backslashreplace")
    from crossmodal.outputs import one_line

    return one_line(text)


def print_hits(
    fmt: str, title: str, header: dict[str, Any], hits: list[Hit], preview: str | None = None
) -> None:
    """Results in one of FORMATS: a table for people; for scripts one JSON object (`header`
    plus "results"), one JSON object per result (ndjson), one path per line (paths, raw bytes,
    for xargs) or after each a NUL byte (paths0, for xargs -0: any name survives), or
    tab-separated rank, score, modality, path with a header line (tsv, the path's raw bytes with
    COPY text escapes), or path, start and end seconds tab-separated (timestamps: a video's
    matched scene, for `mpv --start` or `ffmpeg -ss`; other results span 0 to their length)."""
    if fmt == "table":
        hits_table(title, hits, preview)
        return
    if fmt == "json":
        print_json({**header, "results": [hit.to_dict(r) for r, hit in enumerate(hits, 1)]})
        return
    out = sys.stdout.buffer
    if fmt == "ndjson":
        for rank, hit in enumerate(hits, 1):
            out.write(_json_line(hit.to_dict(rank)).encode())
    elif fmt == "timestamps":
        for hit in hits:
            start, end = hit.span or (0.0, float(hit.item.meta.get("duration") or 0.0))
            out.write(_tsv_field(hit.item.fs_path) + f"\t{start:g}\t{end:g}\n".encode())
    elif fmt in ("paths", "paths0"):
        end = b"\n" if fmt == "paths" else b"\0"
        for hit in hits:
            out.write(os.fsencode(hit.item.fs_path) + end)
    else:
        out.write(b"rank\tscore\tmodality\tpath\n")
        for rank, hit in enumerate(hits, 1):
            row = f"{rank}\t{hit.score:.4f}\t{hit.item.modality}\t".encode()
            out.write(row + _tsv_field(hit.item.fs_path) + b"\n")
    out.flush()


def _detail(hit: Hit) -> str:
    meta = hit.item.meta
    if hit.item.modality == "text":
        if hit.passage:  # a long document: the passage that matched, not its beginning
            where = hit.passage.get("where") or f"chars {hit.passage['start']}-{hit.passage['end']}"
            return f"[{where}] {hit.passage['text'][:70]}"
        return str(meta.get("snippet", ""))[:80]
    if hit.item.modality == "audio":
        duration = f"{meta['duration']:.1f}s " if meta.get("duration") else ""
        spoken = meta.get("transcript")
        if spoken:
            return f'{duration}says "{spoken[:70]}"'
        return duration + (hit.item.text_side or "")[:60]
    if hit.item.modality == "image":
        return f"{meta.get('width')}x{meta.get('height')} {meta.get('format', '')}"
    if hit.item.modality == "video":
        from crossmodal.query import clock

        about = f"{meta.get('width')}x{meta.get('height')} {meta.get('codec', '')} "
        about += clock(float(meta.get("duration") or 0))
        words = (hit.passage or {}).get("text")
        return about + (f' says "{words[:70]}"' if words else "")
    return ""


def display_path(path: str) -> str:
    """Paths under the current folder are shown relative to it; JSON always has absolute ones."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


PREVIEW_CELLS = 16  # thumbnail width in terminal columns (half blocks: 2 pixel rows per line)


def _score_cell(score: float) -> Text:
    """The score and a small bar (8 steps of 1/8 per cell, 4 cells for cosine 1.0)."""
    eighths = max(0, min(32, round(score * 32)))
    bar = "█" * (eighths // 8) + ("▏▎▍▌▋▊▉"[eighths % 8 - 1] if eighths % 8 else "")
    return Text(f"{score:.3f} ") + Text(bar.ljust(4), style="cyan")


def _path_cell(hit: Hit) -> Text:
    """The path, a clickable file:// link in terminals that support hyperlinks."""
    uri = Path(hit.item.fs_path).resolve().as_uri() if hit.item.fs_path.startswith("/") else None
    at = f" @ {hit.passage['where']}" if hit.span and hit.passage else ""
    return Text(shown(display_path(hit.item.path)) + at, style=Style(link=uri) if uri else "")


def hits_table(title: str, hits: list[Hit], preview: str | None = None) -> None:
    """Rank, score with a bar, modality, path (a hyperlink), spaces, detail; with `preview`,
    a thumbnail of each image: half blocks in the table, or terminal image protocols below."""
    title = shown(title)
    if not hits:
        stdout.print(Text(f"{title}: no results", style="dim"))
        return
    fused_order = any(a.score < b.score for a, b in zip(hits, hits[1:], strict=False))
    if fused_order:  # lists merged or CSLS-ranked: the order is not the best cosine's
        title += "  (ranked by 'fused', the fusion's value; cosine = best similarity)"
    if preview in ("kitty", "iterm", "sixel"):
        _protocol_previews(title, hits, preview)
        return
    table = Table(title=Text(title), title_justify="left", show_lines=preview == "blocks")
    table.add_column("#", justify="right")
    if preview == "blocks":
        table.add_column("preview", no_wrap=True)
    if fused_order:
        table.add_column("fused", justify="right", no_wrap=True)
    table.add_column("cosine" if fused_order else "score", justify="left", no_wrap=True)
    table.add_column("type")
    table.add_column("path", overflow="fold")
    table.add_column("spaces", style="dim")
    table.add_column("detail", style="dim", overflow="fold")
    explained = any(hit.because for hit in hits)
    if explained:
        table.add_column("because", overflow="fold")
    for rank, hit in enumerate(hits, 1):
        short_spaces = ",".join(space.removeprefix("builtin-") for space in hit.spaces)
        cells: list[Text] = [Text(str(rank))]  # Text, never markup: "[/x]" in a name is no tag
        if preview == "blocks":
            cells.append(_block_thumbnail(hit))
        if fused_order:
            cells.append(Text(f"{hit.fused:.4g}"))
        cells += [
            _score_cell(hit.score),
            Text(hit.item.modality or "?"),
            _path_cell(hit),
            Text(short_spaces),
            Text(shown(_detail(hit))),
        ]
        if explained:
            because = hit.because or ""
            because = because if not because.startswith("/") else display_path(because)
            cells.append(Text(shown(because)))
        table.add_row(*cells)
    stdout.print(table)


def _block_thumbnail(hit: Hit) -> Text:
    from .preview import half_blocks, thumbnail

    if hit.item.modality not in ("image", "video"):
        return Text("")
    image = thumbnail(hit.item.fs_path, PREVIEW_CELLS, PREVIEW_CELLS, _frame_time(hit))
    return half_blocks(image) if image is not None else Text("(unreadable)", style="dim")


def _frame_time(hit: Hit) -> float | None:
    """Where a video's preview frame is taken: the middle of its matched scene."""
    if hit.item.modality != "video":
        return None
    start, end = hit.span or (0.0, float(hit.item.meta.get("duration") or 0.0) / 5)
    return (start + end) / 2


def _protocol_previews(title: str, hits: list[Hit], protocol: str) -> None:
    """Terminal image protocols cannot sit inside a table: one result per line, its picture
    under it."""
    from . import preview

    stdout.print(shown(title), markup=False)
    for rank, hit in enumerate(hits, 1):
        line = Text(f"{rank:>3} ") + _score_cell(hit.score) + Text(f" {hit.item.modality} ")
        stdout.print(line + _path_cell(hit) + Text(f"  {shown(_detail(hit))}", style="dim"))
        if hit.item.modality not in ("image", "video"):
            continue
        image = preview.thumbnail(
            hit.item.fs_path, PREVIEW_CELLS * 8, PREVIEW_CELLS * 8, _frame_time(hit)
        )
        if image is None:
            continue
        if protocol == "kitty":
            sequence = preview.kitty(image, PREVIEW_CELLS)
        elif protocol == "iterm":
            sequence = preview.iterm(image, PREVIEW_CELLS)
        else:
            sequence = preview.sixel(image)
        stdout.file.write(sequence + "\n")
        stdout.file.flush()


def stats_table(report: dict[str, Any]) -> None:
    items = ", ".join(f"{n} {modality}" for modality, n in sorted(report["items"].items()))
    read = report["read"]
    lines = [
        f"store        {report['store']} (models {', '.join(report['models'])}"
        + (", ocr on)" if report["options"]["ocr"] else ")"),
        f"items        {items or 'none'}; {report['deleted']} deleted, {report['failed']} failed",
        f"read         {read['transcripts']} transcripts, {read['pictures_with_words']} pictures "
        f"with words, {read['passages']} passages, {read['video_parts']} video scenes and words",
        f"last update  {report['last_update'] or 'never'}",
        "folders      " + (", ".join(report["roots"]) or "none"),
    ]
    for line in lines:
        stdout.print(shown(line), markup=False)
    table = Table(title="spaces", title_justify="left")
    for column in ("space", "vectors", "indexed", "index size"):
        table.add_column(column, justify="left" if column == "space" else "right")
    for space, row in report["spaces"].items():
        size = row["index_bytes"]
        size_text = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
        table.add_row(space, str(row["vectors"]), str(row["indexed"]), size_text)
    stdout.print(table)
    for failure in report["failures"][:20]:
        stderr.print(shown(f"  failed: {failure['path']}: {failure['reason']}"), markup=False)


def models_table(rows: list[dict[str, Any]], store: str | None, show_all: bool) -> None:
    """One row per (model, space): what a user can type after --model, and what it gives."""
    title = Text("models" + (f" (store {store})" if store else ""))
    table = Table(title=title, title_justify="left")
    for column in ("model", "space", "modalities", "dim", "weights", "store"):
        table.add_column(column, justify="right" if column == "dim" else "left", overflow="fold")
    for row in rows:
        name = row["name"] + (" (default)" if row["default"] else "")
        weights = row["weights"] + (f": {row['where']}" if row["where"] else "")
        mark = "yes" if row["in_store"] else ""
        spaces = row["spaces"] or [{"name": "", "modalities": [], "dim": row.get("dim", "")}]
        for number, space in enumerate(spaces):
            first = number == 0
            table.add_row(
                Text(name if first else ""),
                Text(space["name"]),
                Text(",".join(space["modalities"])),
                Text(str(space["dim"])),
                Text(weights if first else ""),
                Text(mark if first else ""),
            )
    stdout.print(table)
    stdout.print(
        "names: builtin | openclip:ARCH/TAG | openclip:ARCH --checkpoint FILE | st:NAME_OR_PATH"
        " | plug-ins (PREFIX:...)",
        markup=False,
    )
    if not show_all:
        stdout.print(
            "open_clip weights not on this machine are not listed: crossmodal models --all",
            markup=False,
        )


EVAL_COLUMNS = ("recall@1", "recall@5", "recall@10", "hit@5", "mrr", "ndcg@10")


def eval_table(report: dict[str, Any], verbose: bool = False) -> None:
    """Per kind and overall: each metric with its chance level beside it."""
    table = Table(
        title="retrieval quality (chance in brackets; under MRR the half-width of its 95 % bootstrap interval)",
        title_justify="left",
    )
    table.add_column("kind")
    table.add_column("n", justify="right")
    for column in EVAL_COLUMNS:
        table.add_column(column, justify="right")
    kinds = sorted(report["kinds"].items(), key=lambda item: (item[0] == "overall", item[0]))
    for kind, row in kinds:
        cells = [f"{row[c]:.3f} [dim]({row['chance_' + c]:.3f})[/dim]" for c in EVAL_COLUMNS]
        low, high = row["ci95"]["mrr"]
        cells[EVAL_COLUMNS.index("mrr")] += f"\n±{(high - low) / 2:.3f}"
        table.add_row(kind, str(row["queries"]), *cells, end_section=kind != "overall")
    stdout.print(table)
    if verbose:
        for row in report["queries"]:
            if row["metrics"]["mrr"] < 1:
                rank = row["first_relevant_rank"]
                where = f"first relevant at {rank}" if rank else "no relevant result"
                top = ", ".join(display_path(p) for p in row["top"])
                stdout.print(shown(f"  {row['id']}: {where}; top: {top}"), markup=False)
