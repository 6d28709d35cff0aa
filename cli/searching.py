"""Commands that read the store: search, recommend, eval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import render
from .common import (
    _check_page,
    _preview,
    _write_html,
    handle_errors,
    open_library,
    output_format,
    results_page,
)
from .options import (
    DeviceOption,
    ForceOption,
    FormatOption,
    HtmlOption,
    JsonOption,
    ModelsOption,
    PreviewOption,
    StoreOption,
)


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
    video: Annotated[
        list[Path] | None,
        typer.Option(help="Video file part (repeatable): its scenes' mean and its sound."),
    ] = None,
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
            help="Result modality: image|text|audio|video|all (default: media for a text query, all otherwise).",
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
    lang: Annotated[
        list[str] | None,
        typer.Option(
            help="Only documents and speech detected in this language, e.g. zh (repeatable)."
        ),
    ] = None,
    batch: Annotated[
        str | None, typer.Option(help="JSON-lines requests from FILE ('-' for stdin).")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="Ask a running `crossmodal serve` at this URL (token: CROSSMODAL_TOKEN)."
        ),
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
    from crossmodal.filters import parse_filters
    from crossmodal.query import build_query, parse_weights

    fmt = output_format(format_, json_output)
    if batch is not None and html is not None:
        raise UserError("--html writes one query's results; it cannot be combined with --batch")
    if batch is not None and (format_ is not None or preview):
        option = "--preview" if preview else f"--format {format_}"
        raise UserError(f"--batch prints one JSON object per line; {option} cannot be combined")
    per_line = {
        "QUERY": query, "--text": text, "--image": image, "--audio": audio, "--video": video,
        "--not": not_,
        "--not-image": not_image, "--not-audio": not_audio, "--weights": weights,
        "--fusion": fusion, "--hubness": hubness, "--type": type_, "--min-score": min_score,
        "--min-relative": min_relative, "--min-z": min_z, "--under": under, "--glob": glob,
        "--after": after, "--before": before, "--min-size": min_size, "--max-size": max_size,
        "--min-duration": min_duration, "--max-duration": max_duration, "--lang": lang,
    }  # fmt: skip
    given = [name for name, value in per_line.items() if value not in (None, [])]
    if batch is not None and given:
        raise UserError(
            f"--batch takes each query and its options from its lines; {given[0]} cannot be "
            "combined (put it in the lines; -k is the default of lines without k)"
        )
    if batch is None and query is None and not (text or image or audio or video):
        raise UserError("give a QUERY, --text, --image, --audio, --video, or --batch FILE")
    if server is not None:
        local = {"--store": store, "--model": model, "--device": device, "--html": html,
                 "--weights": weights, "--preview": preview or None}  # fmt: skip
        for name, value in local.items():
            if value not in (None, []):
                raise UserError(f"{name} does not apply with --server: the server has its store")
        options = {
            "not": not_, "not_image": [str(p) for p in not_image or []] or None,
            "not_audio": [str(p) for p in not_audio or []] or None, "fusion": fusion,
            "hubness": hubness, "type": type_, "k": k, "min_score": min_score,
            "min_relative": min_relative, "min_z": min_z, "under": under, "glob": glob,
            "after": after, "before": before, "min_size": min_size, "max_size": max_size,
            "min_duration": min_duration, "max_duration": max_duration, "lang": lang,
        }  # fmt: skip
        files = {"image": image or [], "audio": audio or [], "video": video or []}
        _search_server(server, batch, k, fmt, query, text or [], files, options)
        return
    library = open_library(store, model, device)
    _check_page(html, library.root, force)
    with library:
        library.engine  # noqa: B018 - models and catalog first: their errors come before the query's
        if batch is not None:
            _run_batch(library, batch, k)
            _print_notes(library)
            return
        parsed = build_query(
            query,
            texts=text,
            images=[str(p) for p in image or []],
            audios=[str(p) for p in audio or []],
            videos=[str(p) for p in video or []],
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
                under,
                glob,
                after,
                before,
                min_size,
                max_size,
                min_duration,
                max_duration,
                lang,
            ),
        )
        hits = library.search(parsed)
        _print_notes(library)
    render.print_hits(
        fmt, parsed.title(), {"query": parsed.describe()}, hits, _preview(preview, fmt)
    )
    _write_html(html, lambda: results_page(parsed.describe(), hits))


def _search_server(
    url: str,
    batch: str | None,
    k: int,
    fmt: str,
    query: str | None,
    texts: list[str],
    files: dict[str, list[Path]],
    options: dict[str, Any],
) -> None:
    """The same answers from a running server: each --batch line is one POST /search."""
    from crossmodal.batch import batch_lines, batch_request, open_batch
    from crossmodal.errors import UserError
    from crossmodal.serve.client import RemoteStore, ServerRefused

    from .serving import print_remote, remote_request

    remote = RemoteStore(url)
    if batch is None:
        print_remote(fmt, remote.search(remote_request(query, texts, files, options)))
        return
    with open_batch(batch) as stream:
        for number, raw in batch_lines(stream):
            try:
                request = batch_request(raw)
            except UserError as exc:  # not a request: it never reaches the server
                render.print_json({"id": number, "error": str(exc)})
                continue
            request_id = request.get("id", number)
            try:  # an unreachable server stops the batch with its one line
                answer = remote.search({"k": k, **request, "id": request_id})
            except ServerRefused as exc:  # the server's answer to this line; the next goes on
                render.print_json({"id": request_id, "error": exc.reason})
                continue
            render.print_json({"id": request_id, "results": answer.get("results", [])})


def _print_notes(library: Any) -> None:
    """Why a search saw fewer vectors than the store holds, or searched more slowly (a damaged
    index searched exactly, vectors not indexed yet): never an unexplained short list."""
    for note in library.notes:
        render.stderr.print(render.shown(f"crossmodal: note: {note}"), markup=False)


def _run_batch(library: Any, source: str, k: int) -> None:
    """Prints the library's answer to each batch line as one JSON line."""
    from crossmodal.batch import open_batch

    with open_batch(source) as stream:
        for payload in library.batch(stream, k):
            render.print_json(payload)


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
        str | None,
        typer.Option("--type", help="Only recommend this modality: image|text|audio|video."),
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
    fmt = output_format(format_, json_output)
    library = open_library(store, model, device)
    _check_page(html, library.root, force)
    with library:
        library.engine  # noqa: B018 - models and catalog first, as for search
        found = library.recommend(
            like or [],
            history=history,
            prefer=prefer,
            dislike=dislike,
            avoid=avoid,
            type=type_,
            k=k,
            diversity=diversity,
        )
        _print_notes(library)
    hits, profile = found.hits, found.profile
    render.print_hits(fmt, "recommended", {"profile": profile}, hits, _preview(preview, fmt))
    for raw in profile["history_unknown"]:
        render.stderr.print(render.shown(f"  not in store (ignored): {raw}"), markup=False)
    _write_html(html, lambda: results_page(found.describe(), hits))


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
    "relevant": \\[paths]}; paths are relative to the queries file. Each query is ranked 100
    deep (MRR@100); intervals are 95 % bootstrap intervals over the queries."""
    with open_library(store, model, device) as library:
        report = library.evaluate(queries, fusion, hubness)
    if json_output:
        render.print_json(report)
    else:
        render.eval_table(report, verbose)
