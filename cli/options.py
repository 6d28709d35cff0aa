"""The options several commands share, as Annotated types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
        help="table | json | ndjson | paths | paths0 | tsv | timestamps (default: table on a terminal, tsv "
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
VideoHoursOption = Annotated[
    float | None,
    typer.Option(
        "--video-hours",
        metavar="HOURS",
        help="Read at most this many hours of each video (default 3). Remembered by the store.",
    ),
]
OcrOption = Annotated[
    bool | None,
    typer.Option(
        "--ocr/--no-ocr",
        help="Read text in images (screenshots, signs, scans) so its words find them; slow "
        "(~0.5 s per picture on 2 cores). Remembered by the store.",
    ),
]
VectorsOption = Annotated[
    str | None,
    typer.Option(
        "--vectors",
        metavar="WHERE",
        help="Where the store searches its vectors: hnswlib (default), milvus-lite:PATH.db, or "
        "milvus://HOST:PORT (token from CROSSMODAL_MILVUS_TOKEN). Remembered by the store.",
    ),
]
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Embed on this Ray cluster (HOST:PORT, or set RAY_ADDRESS); the files must be "
        "readable at the same paths on every node.",
    ),
]
WaitOption = Annotated[
    float,
    typer.Option("--wait", help="Seconds to wait for another run's write lock before exiting 75."),
]
