"""Commands that write the store: update, ingest, embed, index, check, relocate, forget."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from crossmodal.errors import CrossmodalError

from . import render
from .common import (
    _append_log,
    _open_store,
    _print_failures,
    _summary_line,
    handle_errors,
    model_options,
    progress_reporter,
)
from .options import (
    AllowDownloadOption,
    BatchSizeOption,
    CheckpointOption,
    DeviceOption,
    ForceOption,
    JsonOption,
    ModelConfigOption,
    OcrOption,
    RayOption,
    StoreOption,
    VectorsOption,
    VideoHoursOption,
    WaitOption,
)


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
    video_hours: VideoHoursOption = None,
    model: Annotated[
        str | None,
        typer.Option(help="Add this model's spaces to the store first (see crossmodal models)."),
    ] = None,
    checkpoint: CheckpointOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    allow_download: AllowDownloadOption = False,
    vectors: VectorsOption = None,
    ray: RayOption = None,
) -> None:
    """Ingest, embed and index in one go: the command for cron.

    Exit status: 0 all files handled, 1 error, 3 partial (some files failed, the rest is indexed), 75 the store is locked by another run.
    """
    from crossmodal.library import Store
    from crossmodal.outputs import check_output
    from crossmodal.store import default_store_dir

    if log is not None:  # before any work: a log may not land in the store or on another file
        check_output(log, store or default_store_dir(), "log", force)
    try:
        opened = Store.for_update(store, paths)
        with progress_reporter(not quiet and not json_output) as progress:
            summary = opened.update(
                paths,
                progress=progress,
                wait=wait,
                allow_empty=allow_empty,
                ocr=ocr,
                video_hours=video_hours,
                model=model,
                options=model_options(checkpoint, model_config, device, batch_size, allow_download),
                vectors=vectors,
                ray=ray or os.environ.get("RAY_ADDRESS") or None,
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

    from crossmodal.library import Store
    from crossmodal.pipeline import ingest as run_ingest

    opened = Store.for_update(store, paths).folder
    with opened.write_lock(wait), progress_reporter(not json_output) as progress:
        summary = run_ingest(opened, paths or None, progress)
    if json_output:
        render.print_json(asdict(summary))
    else:
        render.stdout.print(
            f"ingest: {summary.scanned} scanned: {summary.added} added, {summary.changed} changed, "
            f"{summary.moved} moved, {summary.deleted} deleted, {summary.unchanged} unchanged, "
            f"{summary.failed} failed, {summary.unsupported} unsupported",
            markup=False,
        )
        _print_failures(summary.failures)
    if summary.failed:
        raise typer.Exit(3)


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
