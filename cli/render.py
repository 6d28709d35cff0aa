"""Output: rich tables for people, one JSON object (or one per line) for scripts."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from crossmodal.query import Hit

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _detail(hit: Hit) -> str:
    meta = hit.item.meta
    if hit.item.modality == "text":
        if hit.passage:  # a long document: the passage that matched, not its beginning
            return f"[chars {hit.passage['start']}-{hit.passage['end']}] {hit.passage['text'][:70]}"
        return str(meta.get("snippet", ""))[:80]
    if hit.item.modality == "audio":
        duration = f"{meta['duration']:.1f}s " if meta.get("duration") else ""
        spoken = meta.get("transcript")
        if spoken:
            return f'{duration}says "{spoken[:70]}"'
        return duration + (hit.item.text_side or "")[:60]
    if hit.item.modality == "image":
        return f"{meta.get('width')}x{meta.get('height')} {meta.get('format', '')}"
    return ""


def display_path(path: str) -> str:
    """Paths under the current folder are shown relative to it; JSON always has absolute ones."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def hits_table(title: str, hits: list[Hit]) -> None:
    if not hits:
        stdout.print(f"[dim]{title}: no results[/dim]")
        return
    fused_order = any(a.score < b.score for a, b in zip(hits, hits[1:], strict=False))
    if fused_order:  # lists merged or CSLS-ranked: the order is not the best cosine's
        title += "  (ordered by fusion and hubness reduction; score = best cosine)"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("type")
    table.add_column("path", overflow="fold")
    table.add_column("spaces", style="dim")
    table.add_column("detail", style="dim", overflow="fold")
    explained = any(hit.because for hit in hits)
    if explained:
        table.add_column("because", overflow="fold")
    for rank, hit in enumerate(hits, 1):
        short_spaces = ",".join(space.removeprefix("builtin-") for space in hit.spaces)
        cells = [
            str(rank),
            f"{hit.score:.3f}",
            hit.item.modality or "?",
            display_path(hit.item.path),
            short_spaces,
            _detail(hit),
        ]
        if explained:
            because = hit.because or ""
            cells.append(because if not because.startswith("/") else display_path(because))
        table.add_row(*cells)
    stdout.print(table)


EVAL_COLUMNS = ("recall@1", "recall@5", "recall@10", "hit@5", "mrr", "ndcg@10")


def eval_table(report: dict[str, Any], verbose: bool = False) -> None:
    """Per kind and overall: each metric with its chance level beside it."""
    table = Table(title="retrieval quality (chance in brackets)", title_justify="left")
    table.add_column("kind")
    table.add_column("n", justify="right")
    for column in EVAL_COLUMNS:
        table.add_column(column, justify="right")
    kinds = sorted(report["kinds"].items(), key=lambda item: (item[0] == "overall", item[0]))
    for kind, row in kinds:
        cells = [f"{row[c]:.3f} [dim]({row['chance_' + c]:.3f})[/dim]" for c in EVAL_COLUMNS]
        table.add_row(kind, str(row["queries"]), *cells, end_section=kind != "overall")
    stdout.print(table)
    if verbose:
        for row in report["queries"]:
            if row["metrics"]["mrr"] < 1:
                rank = row["first_relevant_rank"]
                where = f"first relevant at {rank}" if rank else "no relevant result"
                top = ", ".join(display_path(p) for p in row["top"])
                stdout.print(f"  {row['id']}: {where}; top: {top}", markup=False)
