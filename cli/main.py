"""Typer front end. Every command: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
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
PreviewOption = Annotated[
    bool,
    typer.Option(
        "--preview",
        help="Thumbnails of image results in the terminal (kitty/iTerm2/sixel, else half blocks).",
    ),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option("--html", help="Also write the results as a self-contained HTML page to FILE."),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace (or append to) an existing file crossmodal did not write."
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="table | json | ndjson | paths | paths0 | tsv (default: table on a terminal, tsv "
        "in a pipe).",
    ),
]
ModelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="Query only this model's spaces (repeatable; default: every model in the store).",
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="auto | cpu | cuda | mps for open_clip and sentence-transformers models "
        "(default auto: CUDA when present; $CROSSMODAL_DEVICE).",
    ),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint", help="open_clip weights file for --model openclip:ARCH (loaded safely)."
    ),
]
ModelConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--model-config", help="open_clip config JSON of a custom architecture (file name = ARCH)."
    ),
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help="Inputs per forward pass for open_clip / st models."),
]
AllowDownloadOption = Annotated[
    bool,
    typer.Option(
        "--allow-download",
        help="Let a missing model be downloaded (default: offline, never a network call; "
        "or CROSSMODAL_ALLOW_DOWNLOAD=1).",
    ),
]
F = TypeVar("F", bound=Callable[..., Any])


def model_options(
    checkpoint: Path | None = None,
    config: Path | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    allow_download: bool = False,
) -> Any:
    from crossmodal.encoders.registry import ModelOptions

    return ModelOptions(checkpoint, config, device, batch_size, allow_download)


def search_engine(store: Any, models: list[str] | None, device: str | None) -> Any:
    from crossmodal.models import store_encoder
    from crossmodal.search import SearchEngine

    if not models and device is None:
        return SearchEngine(store)
    return SearchEngine(store, store_encoder(store, models, model_options(device=device)))


def output_format(requested: str | None, json_output: bool) -> str:
    """--format, else --json, else a table for a person and undecorated tsv for a pipe."""
    from crossmodal.errors import UserError

    if requested is not None and requested not in render.FORMATS:
        raise UserError(f"unknown --format '{requested}' (choose from {', '.join(render.FORMATS)})")
    if json_output and requested not in (None, "json"):
        raise UserError(f"--json and --format {requested} disagree; give one of them")
    if requested is not None:
        return requested
    if json_output:
        return "json"
    return "table" if sys.stdout.isatty() else "tsv"


def results_page(query: dict[str, Any], hits: list[Any]) -> str:
    from crossmodal.gallery import results_page as make_page

    return make_page(query, hits)


def _check_page(target: Path | None, store_root: Path | None, force: bool) -> None:
    """Before any work: a page may not land in the store or over a file that is not ours."""
    if target is not None:
        from crossmodal.outputs import check_output

        check_output(target, store_root, "page", force)


def _write_html(target: Path | None, make: Callable[[], str]) -> None:
    """Write a page the user asked for (checked by _check_page first); a path that cannot be
    written is a one-line error."""
    if target is None:
        return
    from crossmodal.errors import UserError
    from crossmodal.gallery import write_page

    try:
        write_page(target.expanduser(), make())
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc
    render.stderr.print(render.shown(f"wrote {target}"), markup=False)


def _preview(requested: bool, fmt: str) -> str | None:
    """How to draw thumbnails: only for a table on a terminal (a pipe gets no pictures)."""
    if not requested or fmt != "table" or not sys.stdout.isatty():
        return None
    from .preview import detect_protocol

    return detect_protocol()


def handle_errors(func: F) -> F:
    """Library errors become one line on stderr and their exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CrossmodalError as exc:
            render.stderr.print(render.shown(f"crossmodal: error: {exc}"), markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            render.stderr.print("crossmodal: interrupted", markup=False)
            raise typer.Exit(130) from None
        except Terminated:
            render.stderr.print("crossmodal: terminated", markup=False)
            raise typer.Exit(143) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as SIGPIPE would
            render.silence_stdout()
            raise typer.Exit(141) from None
        except OSError as exc:  # disk full, read-only file system, I/O error: not a bug
            where = f": {exc.filename}" if exc.filename else ""
            render.stderr.print(
                render.shown(
                    f"crossmodal: error: {exc.strerror or exc}{where} (nothing committed was lost)"
                ),
                markup=False,
            )
            raise typer.Exit(1) from None
        except sqlite3.Error as exc:
            render.stderr.print(
                f"crossmodal: error: store database: {exc} (nothing committed was lost)",
                markup=False,
            )
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("CROSSMODAL_DEBUG"):
                raise
            render.stderr.print(
                render.shown(
                    f"crossmodal: internal error: {type(exc).__name__}: {exc} "
                    "(set CROSSMODAL_DEBUG=1 for a traceback)"
                ),
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
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=render.stderr,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total, rate="")
        task = next(t for t in bars.tasks if t.id == tasks[stage])
        rate = f"{task.speed:.1f}/s" if task.speed else ""
        bars.update(tasks[stage], completed=done, total=total, rate=rate)

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
        f"{summary.failed} failed, {ingest.unsupported} unsupported"
        + (f", {ingest.videos} video (not indexed yet)" if ingest.videos else "")
        + (f", {ingest.kept} kept unseen" if ingest.kept else "")
        + "; "
        f"{embedded} vectors embedded"
        + (f", speech transcribed in {embed.transcribed} clips" if embed.transcribed else "")
        + (f", text read in {embed.read} images" if embed.read else "")
        + "; "
        + ", ".join(f"{r.space} {r.size}" for r in summary.index)
    )


# ------------------------------------------------------------------------------------------------
OcrOption = Annotated[
    bool | None,
    typer.Option(
        "--ocr/--no-ocr",
        help="Read text in images (screenshots, signs, scans) so its words find them; slow "
        "(~0.5 s per picture on 2 cores). Remembered by the store.",
    ),
]
WaitOption = Annotated[
    float,
    typer.Option("--wait", help="Seconds to wait for another run's write lock before exiting 75."),
]


def _print_failures(failures: list[tuple[str, str]]) -> None:
    for path, reason in failures:
        render.stderr.print(render.shown(f"  failed: {path}: {reason}"), markup=False)


def _append_log(log: Path | None, line: str, failures: Sequence[tuple[str, str]] = ()) -> None:
    """One timestamped line per run (plus one per failed file) for unattended runs."""
    if log is None:
        return
    from datetime import datetime

    from crossmodal.outputs import one_line

    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        with open(log, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(f"{stamp} {one_line(line)}\n")
            for path, reason in failures:
                handle.write(f"{stamp}   failed: {one_line(path)}: {one_line(reason)}\n")
    except OSError as exc:
        render.stderr.print(
            render.shown(f"crossmodal: warning: cannot write log {log}: {exc.strerror}"),
            markup=False,
        )


@app.command()
@handle_errors
def update(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or files to index (default: every folder the store indexes)."),
    ] = None,
    store: StoreOption = None,
    json_output: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No output unless a file failed.")
    ] = False,
    wait: WaitOption = 0.0,
    log: Annotated[
        Path | None, typer.Option("--log", help="Append a line about this run to FILE.")
    ] = None,
    force: ForceOption = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Accept that folders which held items are now empty or no longer mounted.",
        ),
    ] = False,
    ocr: OcrOption = None,
    model: Annotated[
        str | None,
        typer.Option(help="Add this model's spaces to the store first (see crossmodal models)."),
    ] = None,
    checkpoint: CheckpointOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    allow_download: AllowDownloadOption = False,
) -> None:
    """Ingest, embed and index in one go: the command for cron.

    Exit status: 0 all files handled, 1 error, 3 partial (some files failed, the rest is indexed), 75 the store is locked by another run.
    """
    from crossmodal.outputs import check_output
    from crossmodal.pipeline import check_roots
    from crossmodal.pipeline import update as run_update
    from crossmodal.store import Store, default_store_dir

    if log is not None:  # before any work: a log may not land in the store or on another file
        check_output(log, store or default_store_dir(), "log", force)
    try:
        if paths:
            check_roots(paths)
            opened = Store.open_or_create(store)
        else:
            opened = Store.open(store)
        with progress_reporter(not quiet and not json_output) as progress:
            summary = run_update(
                opened,
                paths or None,
                progress=progress,
                wait_seconds=wait,
                allow_empty=allow_empty,
                ocr=ocr,
                model=model,
                options=model_options(checkpoint, model_config, device, batch_size, allow_download),
            )
    except CrossmodalError as exc:
        _append_log(log, f"error: {exc}")
        raise
    failures = summary.ingest.failures + summary.embed.failures
    _append_log(log, f"update {opened.root}: {_summary_line(summary)}", failures)
    if json_output:
        render.print_json({"store": str(opened.root), **summary.to_dict()})
    else:
        if not quiet or summary.failed:
            render.stdout.print(f"update: {_summary_line(summary)}", markup=False)
        _print_failures(failures)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


@app.command()
@handle_errors
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or files to scan (default: every folder the store indexes)."),
    ] = None,
    store: StoreOption = None,
    json_output: JsonOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Scan folders into the catalog (new, changed, moved, deleted and undecodable files)."""
    from dataclasses import asdict

    from crossmodal.pipeline import check_roots
    from crossmodal.pipeline import ingest as run_ingest
    from crossmodal.store import Store

    if paths:
        check_roots(paths)
        opened = Store.open_or_create(store)
    else:
        opened = Store.open(store)
    with opened.write_lock(wait), progress_reporter(not json_output) as progress:
        summary = run_ingest(opened, paths or None, progress)
    if json_output:
        render.print_json(asdict(summary))
    else:
        render.stdout.print(
            f"ingest: {summary.scanned} scanned: {summary.added} added, {summary.changed} changed, "
            f"{summary.moved} moved, {summary.deleted} deleted, {summary.unchanged} unchanged, "
            f"{summary.failed} failed, {summary.unsupported} unsupported"
            + (f", {summary.videos} video (not indexed yet)" if summary.videos else ""),
            markup=False,
        )
        _print_failures(summary.failures)
    if summary.failed:
        raise typer.Exit(3)


@app.command()
@handle_errors
def embed(
    store: StoreOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Add this model to the store and embed with it (builtin, openclip:ARCH/TAG, "
            "openclip:ARCH --checkpoint FILE, st:NAME_OR_PATH; see crossmodal models). "
            "Default: every model of the store."
        ),
    ] = None,
    checkpoint: CheckpointOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    allow_download: AllowDownloadOption = False,
    json_output: JsonOption = False,
    wait: WaitOption = 0.0,
    ocr: OcrOption = None,
) -> None:
    """Embed every catalogued item that lacks a vector; --model adds a model's spaces beside the
    store's others (run index, or use update, to make them searchable)."""
    from dataclasses import asdict

    from crossmodal.pipeline import embed as run_embed
    from crossmodal.pipeline import set_ocr

    opened = _open_store(store)
    with opened.write_lock(wait), progress_reporter(not json_output) as progress:
        set_ocr(opened, ocr)
        summary = run_embed(
            opened,
            progress=progress,
            model=model,
            options=model_options(checkpoint, model_config, device, batch_size, allow_download),
        )
    if json_output:
        render.print_json(asdict(summary))
    else:
        counts = ", ".join(f"{space} {n}" for space, n in summary.embedded.items()) or "nothing new"
        speech = f"; speech in {summary.transcribed} clips" if summary.transcribed else ""
        speech += f"; text in {summary.read} images" if summary.read else ""
        render.stdout.print(f"embed: {counts}{speech}; {summary.failed} failed", markup=False)
        _print_failures(summary.failures)
    if summary.failed:
        raise typer.Exit(3)


@app.command("index")
@handle_errors
def index_command(
    store: StoreOption = None, json_output: JsonOption = False, wait: WaitOption = 0.0
) -> None:
    """Bring each space's HNSW index in line with the stored vectors (never re-embeds)."""
    from dataclasses import asdict

    from crossmodal.pipeline import index as run_index

    opened = _open_store(store)
    with opened.write_lock(wait):
        reports = run_index(opened)
    if json_output:
        render.print_json({"index": [asdict(report) for report in reports]})
        return
    for r in reports:
        action = "rebuilt" if r.rebuilt else "updated"
        render.stdout.print(
            f"index {r.space}: {action}, {r.size} live, +{r.added} -{r.deleted}", markup=False
        )


@app.command(name="eval")
@handle_errors
def eval_(
    queries: Annotated[Path, typer.Argument(help="Labelled queries, one JSON object per line.")],
    fusion: Annotated[
        str | None, typer.Option(help="Fusion mode to evaluate (default: the search default).")
    ] = None,
    hubness: Annotated[
        str | None, typer.Option(help="Hubness reduction to evaluate: csls (default) | none.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="List the queries that missed.")
    ] = False,
    store: StoreOption = None,
    json_output: JsonOption = False,
    model: ModelsOption = None,
    device: DeviceOption = None,
) -> None:
    """Recall@1/5/10, Hit@5, MRR and nDCG@10 per query kind, beside chance, on your labels.

    Each line: {"id", "kind", "query": TEXT | {"text", "image", "audio", "not"}, "type",
    "relevant": [paths]}; paths are relative to the queries file."""
    from crossmodal.evaluate import evaluate, load_queries

    opened = _open_store(store)
    labelled = load_queries(queries)
    engine = search_engine(opened, model, device)
    try:
        report = evaluate(engine, labelled, fusion, hubness)
    finally:
        engine.close()
    if json_output:
        render.print_json(report)
    else:
        render.eval_table(report, verbose)


@app.command()
@handle_errors
def gallery(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the page.")] = Path(
        "crossmodal-gallery.html"
    ),
    store: StoreOption = None,
    force: ForceOption = False,
) -> None:
    """Write a self-contained HTML overview of the store: pictures, sounds (with players and
    transcripts), documents, and the files that failed with their reasons."""
    from crossmodal.gallery import store_page

    opened = _open_store(store)
    _check_page(out, opened.root, force)
    _write_html(out, lambda: store_page(opened))


@app.command()
@handle_errors
def stats(store: StoreOption = None, json_output: JsonOption = False) -> None:
    """What the store holds: items per modality, spaces and index sizes, transcripts, words read
    in pictures, passages, failures and the last update. Loads no model."""
    from crossmodal.stats import store_stats

    report = store_stats(_open_store(store))
    if json_output:
        render.print_json(report)
    else:
        render.stats_table(report)


models_app = typer.Typer(
    help="The encoder sets (models) crossmodal can use, and the store's own.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(models_app, name="models")


@models_app.callback()
@handle_errors
def models(
    ctx: typer.Context,
    store: StoreOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list open_clip weights that are not here.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List models: spaces, modalities, dimension, weights here or not, default, in the store.
    Loads no model and imports no torch."""
    if ctx.invoked_subcommand is not None:
        return
    from crossmodal.models import list_models
    from crossmodal.store import Store, default_store_dir

    opened = None
    root = store if store is not None else default_store_dir()
    if (Path(root).expanduser() / "settings.json").is_file():
        opened = Store.open(root)
    elif store is not None:
        opened = Store.open(store)  # a named store that is not there: its one-line error
    rows = list_models(opened, show_all)
    if json_output:
        render.print_json({"store": str(opened.root) if opened else None, "models": rows})
    else:
        render.models_table(rows, str(opened.root) if opened else None, show_all)


@models_app.command("remove")
@handle_errors
def models_remove(
    name: Annotated[
        str, typer.Argument(help="A model of the store, as crossmodal models names it.")
    ],
    store: StoreOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Remove a model's spaces from the store: its vectors and indexes (items and other models stay)."""
    from crossmodal.models import remove_model

    opened = _open_store(store)
    with opened.write_lock(wait):
        spaces = remove_model(opened, name)
    render.stdout.print(f"removed {name}: spaces {', '.join(spaces)}", markup=False)


@models_app.command("download")
@handle_errors
def models_download(
    name: Annotated[str, typer.Argument(help="openclip:ARCH/TAG or st:NAME to fetch.")],
) -> None:
    """Fetch a model's weights into the Hugging Face cache (the one command that uses the network)."""
    from crossmodal.models import download_model

    where = download_model(name)
    render.stdout.print(f"{name}: weights in {where}", markup=False)


@app.command()
@handle_errors
def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what can be fixed without re-embedding.")
    ] = False,
    store: StoreOption = None,
    json_output: JsonOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Verify that catalog, vectors and index files agree. Exit 0 when sound, 1 when damage remains."""
    from crossmodal.check import check as run_check

    opened = _open_store(store)
    report = run_check(opened, repair=repair, wait_seconds=wait)
    if json_output:
        render.print_json({"store": str(opened.root), **report.to_dict()})
    else:
        for finding in report.problems + report.pending:
            label = "repaired" if finding.repaired else finding.what
            where = f" [{finding.space}]" if finding.space else ""
            render.stdout.print(f"{label}{where}: {finding.message}", markup=False)
        verdict = "ok" if report.ok else "DAMAGED (run crossmodal check --repair)"
        render.stdout.print(f"check: {verdict}", markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handle_errors
def relocate(
    old: Annotated[str, typer.Argument(help="Where the collection was.")],
    new: Annotated[Path, typer.Argument(help="Where it is now.")],
    store: StoreOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Tell the store a collection moved: paths are rewritten, nothing is re-embedded."""
    from crossmodal.pipeline import relocate as run_relocate

    opened = _open_store(store)
    moved = run_relocate(opened, old, str(new), wait_seconds=wait)
    render.stdout.print(f"relocate: {moved} items now under {new}", markup=False)


@app.command()
@handle_errors
def forget(
    folder: Annotated[str, typer.Argument(help="A folder the store indexes.")],
    store: StoreOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Stop indexing a folder (e.g. one you deleted): its items leave results now."""
    from crossmodal.pipeline import forget as run_forget

    opened = _open_store(store)
    marked = run_forget(opened, folder, wait_seconds=wait)
    render.stdout.print(f"forget: {folder} no longer indexed; {marked} items removed", markup=False)


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
    not_image: Annotated[
        list[Path] | None, typer.Option("--not-image", help="Image to steer away from.")
    ] = None,
    not_audio: Annotated[
        list[Path] | None, typer.Option("--not-audio", help="Sound to steer away from.")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Weights of the text,image,audio parts, e.g. 1,0.5,1; one part's own weight "
            "follows '::' (--text 'sunset::2')."
        ),
    ] = None,
    fusion: Annotated[
        str | None,
        typer.Option(
            help="How parts and spaces combine: auto (default) | rrf | score | attention | early."
        ),
    ] = None,
    hubness: Annotated[
        str | None,
        typer.Option(
            help="Cross-modal ranking: csls (default; damps items near every query) | none."
        ),
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
    min_relative: Annotated[
        float | None, typer.Option(help="Drop results below this fraction of the best score.")
    ] = None,
    min_z: Annotated[
        float | None,
        typer.Option(
            help="Keep only results this many standard deviations above the candidates' mean."
        ),
    ] = None,
    under: Annotated[
        list[str] | None, typer.Option(help="Only results inside this folder (repeatable).")
    ] = None,
    glob: Annotated[
        list[str] | None,
        typer.Option(help="Only paths or names matching this pattern, e.g. '*.png'."),
    ] = None,
    after: Annotated[
        str | None, typer.Option(help="Taken (EXIF) or modified on/after this date, YYYY-MM-DD.")
    ] = None,
    before: Annotated[str | None, typer.Option(help="... before this date, YYYY-MM-DD.")] = None,
    min_size: Annotated[
        str | None, typer.Option(help="Files of at least this size, e.g. 500k.")
    ] = None,
    max_size: Annotated[
        str | None, typer.Option(help="Files of at most this size, e.g. 10MB.")
    ] = None,
    min_duration: Annotated[
        float | None, typer.Option(help="Sounds at least this many seconds.")
    ] = None,
    max_duration: Annotated[
        float | None, typer.Option(help="Sounds at most this many seconds.")
    ] = None,
    batch: Annotated[
        str | None, typer.Option(help="JSON-lines requests from FILE ('-' for stdin).")
    ] = None,
    store: StoreOption = None,
    json_output: JsonOption = False,
    format_: FormatOption = None,
    preview: PreviewOption = False,
    html: HtmlOption = None,
    force: ForceOption = False,
    model: ModelsOption = None,
    device: DeviceOption = None,
) -> None:
    """Search the store by text, image, audio, or a mix of them."""
    from crossmodal.errors import UserError
    from crossmodal.query import build_query, parse_filters, parse_weights

    fmt = output_format(format_, json_output)
    if batch is not None and html is not None:
        raise UserError("--html writes one query's results; it cannot be combined with --batch")
    if batch is not None and (format_ is not None or preview):
        option = "--preview" if preview else f"--format {format_}"
        raise UserError(f"--batch prints one JSON object per line; {option} cannot be combined")
    if batch is None and query is None and not (text or image or audio):
        raise UserError("give a QUERY, --text, --image, --audio, or --batch FILE")
    opened = _open_store(store)
    _check_page(html, opened.root, force)
    engine = search_engine(opened, model, device)
    try:
        if batch is not None:
            _run_batch(engine, batch)
            _print_notes(engine)
            return
        parsed = build_query(
            query,
            texts=text,
            images=[str(p) for p in image or []],
            audios=[str(p) for p in audio or []],
            negatives=not_,
            negative_images=[str(p) for p in not_image or []],
            negative_audios=[str(p) for p in not_audio or []],
            weights=parse_weights(weights),
            type=type_,
            k=k,
            min_score=min_score,
            fusion=fusion,
            hubness=hubness,
            min_relative=min_relative,
            min_z=min_z,
            filters=parse_filters(
                under, glob, after, before, min_size, max_size, min_duration, max_duration
            ),
        )
        hits = engine.search(parsed)
        _print_notes(engine)
    finally:
        engine.close()
    title = " + ".join(
        f"{p.modality}:{Path(p.value).name if p.modality != 'text' else p.value}"
        + (f" x{p.weight:g}" if p.weight != 1 else "")
        for p in parsed.parts
    )
    render.print_hits(fmt, title, {"query": parsed.describe()}, hits, _preview(preview, fmt))
    _write_html(html, lambda: results_page(parsed.describe(), hits))


def _print_notes(engine: Any) -> None:
    """Why a search saw fewer vectors than the store holds, or searched more slowly (a damaged
    index searched exactly, vectors not indexed yet): never an unexplained short list."""
    for note in engine.warnings:
        render.stderr.print(render.shown(f"crossmodal: note: {note}"), markup=False)


def _run_batch(engine: Any, source: str) -> None:
    """One JSON request per line in, one JSON result per line out; a bad line (not JSON, too
    long, nested too deep, a wrong type, a number out of range, text that is not Unicode) gets
    an error object and the batch goes on."""
    from crossmodal.batch import batch_lines, batch_request
    from crossmodal.errors import UserError
    from crossmodal.query import query_from_request

    if source == "-":
        stream = sys.stdin.buffer
    else:
        from crossmodal.fsutil import refuse_special

        refuse_special(Path(source), "batch file")
        try:
            stream = open(source, "rb")  # noqa: SIM115  (decoded per line: one bad line, one error)
        except OSError as exc:
            raise UserError(f"cannot read batch file {source}: {exc.strerror}") from exc
    with stream:
        for number, raw in batch_lines(stream):
            request_id: Any = number
            try:
                request = batch_request(raw)
                request_id = request.get("id", number)
                hits = engine.search(query_from_request(request))
                payload = {
                    "id": request_id,
                    "results": [h.to_dict(r) for r, h in enumerate(hits, 1)],
                }
            except CrossmodalError as exc:
                payload = {"id": request_id, "error": str(exc)}
            except Exception as exc:  # one line's failure is that line's, never the batch's
                payload = {"id": request_id, "error": f"{type(exc).__name__}: {exc}"}
            render.print_json(payload)


@app.command()
@handle_errors
def recommend(
    like: Annotated[list[str] | None, typer.Option("--like", help="An item you like.")] = None,
    history: Annotated[
        Path | None,
        typer.Option(help="File of paths you saw, one per line, newest last; TAB + time optional."),
    ] = None,
    prefer: Annotated[
        list[str] | None, typer.Option(help="Text describing what you want more of.")
    ] = None,
    dislike: Annotated[
        list[str] | None, typer.Option("--dislike", help="An item you do not want more of.")
    ] = None,
    avoid: Annotated[
        list[str] | None, typer.Option(help="Text describing what you want less of.")
    ] = None,
    diversity: Annotated[
        float | None,
        typer.Option(
            help="0..1: trade relevance for variety (maximal marginal relevance; default 0.3)."
        ),
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="Only recommend this modality: image|text|audio.")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Number of recommendations.")] = 10,
    store: StoreOption = None,
    json_output: JsonOption = False,
    format_: FormatOption = None,
    preview: PreviewOption = False,
    html: HtmlOption = None,
    force: ForceOption = False,
    model: ModelsOption = None,
    device: DeviceOption = None,
) -> None:
    """Recommend items like the ones you liked or saw, never the same ones again."""
    from crossmodal.recommend import read_history
    from crossmodal.recommend import recommend as run_recommend

    fmt = output_format(format_, json_output)
    opened = _open_store(store)
    _check_page(html, opened.root, force)
    engine = search_engine(opened, model, device)
    try:
        seen = read_history(history) if history else []
        hits, profile = run_recommend(
            engine,
            like or [],
            history=seen,
            prefer=prefer,
            type=type_,
            k=k,
            dislikes=dislike,
            avoid=avoid,
            **({} if diversity is None else {"diversity": diversity}),
        )
        _print_notes(engine)
    finally:
        engine.close()
    seeds = {"parts": [{"modality": "text", "value": f"recommend: {len(hits)} results"}]}
    render.print_hits(fmt, "recommended", {"profile": profile}, hits, _preview(preview, fmt))
    for raw in profile["history_unknown"]:
        render.stderr.print(render.shown(f"  not in store (ignored): {raw}"), markup=False)
    _write_html(html, lambda: results_page(seeds, hits))


class Terminated(BaseException):
    """SIGTERM (e.g. a cron or systemd timeout), raised so open transactions roll back and the
    process exits 143 without a traceback, like Ctrl-C exits 130."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def _hide_library_warnings() -> None:
    """stderr carries crossmodal's own lines only: a library's warning (Pillow's "Corrupt EXIF
    data", torch's unpickler notice) is not shown, so a --quiet cron run stays quiet; where it
    matters, ingest records it as the file's note. CROSSMODAL_DEBUG=1 shows them."""
    import warnings

    if not os.environ.get("CROSSMODAL_DEBUG"):
        warnings.showwarning = lambda *args, **kwargs: None


def run() -> None:
    """Console-script entry point."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    _hide_library_warnings()
    app()


if __name__ == "__main__":
    run()
