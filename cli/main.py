"""Typer front end. Every command parses, calls the library face (crossmodal.library) and
renders; the commands live in indexing.py, searching.py and store_info.py, registered here in
the order `--help` lists them. Imports are lazy: `--help` loads no library module."""

from __future__ import annotations

import os
from typing import Any

import typer

from . import indexing, searching, serving, store_info
from .common import Terminated

app = typer.Typer(
    name="crossmodal",
    help="Index local images, text and audio; search and recommend across them, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
app.command()(indexing.update)
app.command()(indexing.ingest)
app.command()(indexing.embed)
app.command("index")(indexing.index_command)
app.command(name="eval")(searching.eval_)
app.command()(store_info.gallery)
app.command()(store_info.stats)
app.add_typer(store_info.models_app, name="models")
app.command()(indexing.check)
app.command()(indexing.relocate)
app.command()(indexing.forget)
app.command()(searching.search)
app.command()(searching.recommend)
app.command()(serving.serve)


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
