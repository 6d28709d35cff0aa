"""`crossmodal serve`, and `search --server`'s request building and rendering."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from . import render
from .common import Terminated, handle_errors
from .options import ModelsOption, StoreOption


@handle_errors
def serve(
    store: StoreOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="CROSSMODAL_TOKEN",
            help="Every request must carry it (generated and shown once off loopback).",
        ),
    ] = None,
    max_upload_mb: Annotated[
        float, typer.Option(min=0.1, help="Largest request body (an uploaded query file), MB.")
    ] = 48.0,
    time_limit: Annotated[
        float, typer.Option(min=0.1, help="Seconds a search or recommendation may take.")
    ] = 30.0,
    model: ModelsOption = None,
) -> None:
    """Serve the store over HTTP: a page at / and a JSON API (/openapi.json); read-only."""
    from crossmodal.serve.api import Limits
    from crossmodal.serve.app import ServeConfig
    from crossmodal.serve.server import Server
    from crossmodal.store import Store

    limits = Limits(max_body=int(max_upload_mb * (1 << 20)), time_limit=time_limit)
    config = ServeConfig(host=host, port=port, token=token, models=model or [], limits=limits)
    server = Server(Store.open(store), config)
    server.bind()  # a port in use fails before anything loads
    server.load()

    def started() -> None:
        if server.generated_token:
            render.stderr.print(
                f"crossmodal: token (shown once): {config.token}\n"
                f"crossmodal: open {server.url}?token={config.token}",
                markup=False,
            )
        print(f"crossmodal: serving {server.folder.root} at {server.url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt, Terminated):  # how a server stops: exit 0
        server.run(started)
    render.stderr.print("crossmodal: server stopped", markup=False)


def remote_request(
    query: str | None,
    texts: list[str],
    files: dict[str, list[Path]],
    options: dict[str, Any],
) -> dict[str, Any]:
    """One --batch-style request from search's options; a local query file is uploaded."""
    from crossmodal.errors import UserError
    from crossmodal.serve.client import upload

    request: dict[str, Any] = {k: v for k, v in options.items() if v not in (None, [])}
    local = [p for paths in files.values() for p in paths]
    if query is not None:
        if Path(query).is_file():
            local.append(Path(query))
        else:
            texts = [query, *texts]
    if len(local) > 1:
        raise UserError("with --server, a query takes one local file (it is uploaded)")
    if texts:
        request["text"] = texts
    if local:
        request["upload"] = upload(local[0])
    return request


def print_remote(fmt: str, answer: dict[str, Any]) -> None:
    """A server's answer in search's formats (the table shows rank, score, type and path)."""
    import sys

    results = answer.get("results", [])
    if fmt == "json":
        render.print_json(answer)
        return
    out = sys.stdout
    if fmt == "ndjson":
        for row in results:
            render.print_json(row)
    elif fmt in ("paths", "paths0"):
        end = "\n" if fmt == "paths" else "\0"
        out.write("".join(f"{row['path']}{end}" for row in results))
    elif fmt == "timestamps":
        out.write(
            "".join(f"{r['path']}\t{r.get('start', 0):g}\t{r.get('end', 0):g}\n" for r in results)
        )
    elif fmt == "tsv":
        out.write("rank\tscore\tmodality\tpath\n")
        out.write(
            "".join(
                f"{r['rank']}\t{r['score']:.4f}\t{r['modality']}\t{r['path']}\n" for r in results
            )
        )
    else:
        if not results:
            render.stderr.print("no results", markup=False)
        for row in results:
            line = f"{row['rank']:>3}  {row['score']:.3f}  {row['modality']:<6} {row['path']}"
            out.write(render.shown(line) + "\n")
    out.flush()
