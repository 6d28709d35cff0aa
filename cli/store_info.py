"""Commands that describe the store: stats, gallery, models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import render
from .common import _check_page, _open_store, _write_html, handle_errors
from .options import ForceOption, JsonOption, StoreOption, WaitOption


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
    from crossmodal.library import Store
    from crossmodal.models import list_models

    found = Store.open_if_present(store)
    opened = found.folder if found is not None else None
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
