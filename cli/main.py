"""Typer front end. Every command: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from crossmodal.errors import CrossmodalError

from . import render

app = typer.Typer(
    name="crossmodal",
    help="Index local images, text and audio; search and recommend across them, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store folder (default: $CROSSMODAL_STORE or $XDG_DATA_HOME/crossmodal).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Library errors become one line on stderr and their exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CrossmodalError as exc:
            render.stderr.print(f"crossmodal: error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            render.stderr.print("crossmodal: interrupted", markup=False)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("CROSSMODAL_DEBUG"):
                raise
            render.stderr.print(
                f"crossmodal: internal error: {type(exc).__name__}: {exc} "
                "(set CROSSMODAL_DEBUG=1 for a traceback)",
                markup=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("{task.description:>7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=render.stderr,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield report


def _open_store(store: Path | None):  # type: ignore[no-untyped-def]
    from crossmodal.store import Store

    return Store.open(store)


def _summary_line(summary: Any) -> str:
    ingest, embed = summary.ingest, summary.embed
    embedded = sum(embed.embedded.values())
    return (
        f"{ingest.scanned} scanned: {ingest.added} added, {ingest.changed} changed, "
        f"{ingest.moved} moved, {ingest.deleted} deleted, {ingest.unchanged} unchanged, "
        f"{summary.failed} failed, {ingest.unsupported} unsupported; "
        f"{embedded} vectors embedded; " + ", ".join(f"{r.space} {r.size}" for r in summary.index)
    )


# ------------------------------------------------------------------------------------------------
@app.command()
@handle_errors
def update(
    paths: Annotated[list[Path], typer.Argument(help="Folders or files to index.")],
    store: StoreOption = None,
    json_output: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No output unless a file failed.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's lock.")] = 0.0,
) -> None:
    """Ingest, embed and index in one go: the command for cron."""
    from crossmodal.pipeline import check_roots
    from crossmodal.pipeline import update as run_update
    from crossmodal.store import Store

    check_roots(paths)
    opened = Store.open_or_create(store)
    with progress_reporter(not quiet and not json_output) as progress:
        summary = run_update(opened, paths, progress=progress, wait_seconds=wait)
    if json_output:
        render.print_json({"store": str(opened.root), **summary.to_dict()})
        return
    if not quiet or summary.failed:
        render.stdout.print(f"update: {_summary_line(summary)}", markup=False)
    for path, reason in summary.ingest.failures + summary.embed.failures:
        render.stderr.print(f"  failed: {path}: {reason}", markup=False)


@app.command()
@handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Folders or files to scan.")],
    store: StoreOption = None,
    json_output: JsonOption = False,
) -> None:
    """Scan folders into the catalog (new, changed, moved, deleted and undecodable files)."""
    from dataclasses import asdict

    from crossmodal.pipeline import check_roots
    from crossmodal.pipeline import ingest as run_ingest
    from crossmodal.store import Store

    check_roots(paths)
    opened = Store.open_or_create(store)
    with opened.write_lock(), progress_reporter(not json_output) as progress:
        summary = run_ingest(opened, paths, progress)
    if json_output:
        render.print_json(asdict(summary))
        return
    render.stdout.print(
        f"ingest: {summary.scanned} scanned: {summary.added} added, {summary.changed} changed, "
        f"{summary.moved} moved, {summary.deleted} deleted, {summary.unchanged} unchanged, "
        f"{summary.failed} failed, {summary.unsupported} unsupported",
        markup=False,
    )
    for path, reason in summary.failures:
        render.stderr.print(f"  failed: {path}: {reason}", markup=False)


@app.command()
@handle_errors
def embed(
    store: StoreOption = None,
    model: Annotated[str | None, typer.Option(help="Encoder set (default: the store's).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Embed every catalogued item that lacks a vector."""
    from dataclasses import asdict

    from crossmodal.pipeline import embed as run_embed

    opened = _open_store(store)
    with opened.write_lock(), progress_reporter(not json_output) as progress:
        summary = run_embed(opened, progress=progress, model=model)
    if json_output:
        render.print_json(asdict(summary))
        return
    counts = ", ".join(f"{space} {n}" for space, n in summary.embedded.items()) or "nothing new"
    render.stdout.print(f"embed: {counts}; {summary.failed} failed", markup=False)
    for path, reason in summary.failures:
        render.stderr.print(f"  failed: {path}: {reason}", markup=False)


@app.command("index")
@handle_errors
def index_command(store: StoreOption = None, json_output: JsonOption = False) -> None:
    """Bring each space's HNSW index in line with the stored vectors (never re-embeds)."""
    from dataclasses import asdict

    from crossmodal.pipeline import index as run_index

    opened = _open_store(store)
    with opened.write_lock():
        reports = run_index(opened)
    if json_output:
        render.print_json({"index": [asdict(report) for report in reports]})
        return
    for r in reports:
        action = "rebuilt" if r.rebuilt else "updated"
        render.stdout.print(
            f"index {r.space}: {action}, {r.size} live, +{r.added} -{r.deleted}", markup=False
        )


@app.command()
@handle_errors
def search(
    query: Annotated[
        str | None, typer.Argument(help="Text, or a path to an image/audio/text file.")
    ] = None,
    text: Annotated[
        list[str] | None, typer.Option("--text", help="Text part (repeatable).")
    ] = None,
    image: Annotated[list[Path] | None, typer.Option(help="Image file part (repeatable).")] = None,
    audio: Annotated[list[Path] | None, typer.Option(help="Audio file part (repeatable).")] = None,
    not_: Annotated[
        list[str] | None, typer.Option("--not", help="Text to steer away from (repeatable).")
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="Weights of the text,image,audio parts, e.g. 1,0.5,1.")
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Result modality: image|text|audio|all (default: media for a text query, all otherwise).",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Number of results.")] = 10,
    min_score: Annotated[
        float | None, typer.Option(help="Drop results below this cosine similarity.")
    ] = None,
    batch: Annotated[
        str | None, typer.Option(help="JSON-lines requests from FILE ('-' for stdin).")
    ] = None,
    store: StoreOption = None,
    json_output: JsonOption = False,
) -> None:
    """Search the store by text, image, audio, or a mix of them."""
    from crossmodal.errors import UserError
    from crossmodal.query import SearchEngine, build_query, parse_weights

    if batch is None and query is None and not (text or image or audio):
        raise UserError("give a QUERY, --text, --image, --audio, or --batch FILE")
    opened = _open_store(store)
    engine = SearchEngine(opened)
    try:
        if batch is not None:
            _run_batch(engine, batch)
            return
        parsed = build_query(
            query,
            texts=text,
            images=[str(p) for p in image or []],
            audios=[str(p) for p in audio or []],
            negatives=not_,
            weights=parse_weights(weights),
            type=type_,
            k=k,
            min_score=min_score,
        )
        hits = engine.search(parsed)
    finally:
        engine.close()
    if json_output:
        render.print_json(
            {"query": parsed.describe(), "results": [h.to_dict(r) for r, h in enumerate(hits, 1)]}
        )
    else:
        title = " + ".join(
            f"{p.modality}:{Path(p.value).name if p.modality != 'text' else p.value}"
            + (f" x{p.weight:g}" if p.weight != 1 else "")
            for p in parsed.parts
        )
        render.hits_table(title, hits)


def _run_batch(engine: Any, source: str) -> None:
    """One JSON request per line in, one JSON result per line out; a bad line gets an error
    object and the batch goes on."""
    from crossmodal.errors import UserError
    from crossmodal.query import query_from_request

    if source == "-":
        stream = sys.stdin
    else:
        try:
            stream = open(source, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UserError(f"cannot read batch file {source}: {exc.strerror}") from exc
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            request_id: Any = number
            try:
                request = json.loads(line)
                if isinstance(request, dict):
                    request_id = request.get("id", number)
                hits = engine.search(query_from_request(request))
                payload = {
                    "id": request_id,
                    "results": [h.to_dict(r) for r, h in enumerate(hits, 1)],
                }
            except (CrossmodalError, ValueError) as exc:
                payload = {"id": request_id, "error": str(exc)}
            render.print_json(payload)


@app.command()
@handle_errors
def recommend(
    like: Annotated[list[str] | None, typer.Option("--like", help="An item you like.")] = None,
    history: Annotated[
        Path | None, typer.Option(help="File of paths you saw, one per line, newest last.")
    ] = None,
    prefer: Annotated[
        list[str] | None, typer.Option(help="Text describing what you want more of.")
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="Only recommend this modality: image|text|audio.")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Number of recommendations.")] = 10,
    store: StoreOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recommend items like the ones you liked or saw, never the same ones again."""
    from crossmodal.query import SearchEngine
    from crossmodal.recommend import read_history
    from crossmodal.recommend import recommend as run_recommend

    opened = _open_store(store)
    engine = SearchEngine(opened)
    try:
        seen = read_history(history) if history else []
        hits, profile = run_recommend(
            engine, like or [], history=seen, prefer=prefer, type=type_, k=k
        )
    finally:
        engine.close()
    if json_output:
        render.print_json(
            {"profile": profile, "results": [h.to_dict(r) for r, h in enumerate(hits, 1)]}
        )
        return
    render.hits_table("recommended", hits)
    for raw in profile["history_unknown"]:
        render.stderr.print(f"  not in store (ignored): {raw}", markup=False)


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
