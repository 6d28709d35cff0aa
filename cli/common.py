"""What every command shares: the error policy, progress bars, output checks, the library."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer

from crossmodal.errors import CrossmodalError

from . import render


class Terminated(BaseException):
    """SIGTERM (e.g. a cron or systemd timeout), raised so open transactions roll back and the
    process exits 143 without a traceback, like Ctrl-C exits 130."""


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


def open_library(
    store: Path | None, models: list[str] | None = None, device: str | None = None
) -> Any:
    from crossmodal.library import Store

    return Store.open(store, models=models, device=device)


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
        + (f", {ingest.kept} kept unseen" if ingest.kept else "")
        + "; "
        f"{embedded} vectors embedded"
        + (f", speech transcribed in {embed.transcribed} clips" if embed.transcribed else "")
        + (f", text read in {embed.read} images" if embed.read else "")
        + "; "
        + ", ".join(f"{r.space} {r.size}" for r in summary.index)
    )


def _print_failures(failures: list[tuple[str, str]]) -> None:
    for path, reason in failures:
        render.stderr.print(render.shown(f"  failed: {path}: {reason}"), markup=False)


def _append_log(log: Path | None, line: str, failures: Sequence[tuple[str, str]] = ()) -> None:
    """One timestamped line per run (plus one per failed file) for unattended runs."""
    if log is None:
        return
    from datetime import datetime

    from crossmodal.fsutil import open_special_for_writing
    from crossmodal.outputs import one_line

    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        special = log.exists() and not log.is_file()  # a FIFO no one reads must not hang cron
        opened = open_special_for_writing(log, append=True) if special else log
        with open(opened, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(f"{stamp} {one_line(line)}\n")
            for path, reason in failures:
                handle.write(f"{stamp}   failed: {one_line(path)}: {one_line(reason)}\n")
    except OSError as exc:
        render.stderr.print(
            render.shown(f"crossmodal: warning: cannot write log {log}: {exc.strerror}"),
            markup=False,
        )
