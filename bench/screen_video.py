"""Screen choices of the video pipeline on the eval's video part (eval/video.py): each variant
indexes eval/video_media into a fresh store in this process (constants patched), then answers
eval/video_queries.jsonl. Prints per kind the MRR with its 95 % bootstrap interval as
`crossmodal eval` counts it (the named scene overlaps the labelled one), and a stricter MRR
that also asks the named span to lie mostly (>= half of it) inside the labelled scene, and the
mean length of the spans named at rank 1.

    .venv/bin/python bench/screen_video.py [--variants current,words20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"

VARIANTS: dict[str, dict[str, Any]] = {
    "current": {},
    # Words grouped as first written: up to 20 s per part, pauses ignored.
    "words20": {
        "crossmodal.encoders.video.WORDS_SECONDS": 20.0,
        "crossmodal.encoders.video.WORDS_PAUSE": 1e9,
    },
    # Scenes cut only by length (no scene detection): fixed 10 s pieces.
    "fixed10": {
        "crossmodal.media.video.CUT_THRESHOLD": 1e9,
        "crossmodal.media.video.HISTOGRAM_THRESHOLD": 1e9,
        "crossmodal.media.video.MAX_SEGMENT": 10.0,
    },
    # Cuts by pixel differences alone (no colour and brightness histograms).
    "pixels": {"crossmodal.media.video.HISTOGRAM_THRESHOLD": 1e9},
}


def patched(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    import contextlib
    import importlib

    @contextlib.contextmanager
    def context():  # type: ignore[no-untyped-def]
        saved = []
        for dotted, value in settings.items():
            module_name, name = dotted.rsplit(".", 1)
            module = importlib.import_module(module_name)
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, value)
        try:
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)

    return context()


def inside(span: tuple[float, float], scene: tuple[float, float]) -> bool:
    overlap = min(span[1], scene[1]) - max(span[0], scene[0])
    return overlap > 0 and overlap >= 0.5 * (span[1] - span[0])


def run(variant: str, workdir: Path) -> dict[str, Any]:
    from crossmodal.evaluate import bootstrap_interval, load_queries
    from crossmodal.pipeline import update
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    store_dir = workdir / variant
    with patched(VARIANTS[variant]):
        store = Store.open_or_create(store_dir)
        update(store, [EVAL / "video_media"])
    engine = SearchEngine(Store.open(store_dir))
    queries = load_queries(EVAL / "video_queries.jsonl")
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for labelled in queries:
        hits = engine.search(labelled.to_query(20))
        loose = strict = 0.0
        for rank, hit in enumerate(hits, 1):
            if labelled.hit(hit.item.path, hit.span):
                loose = loose or 1.0 / rank
                scenes = [(a, b) for p, a, b in labelled.spans if p == hit.item.path]
                if hit.span and any(inside(hit.span, scene) for scene in scenes):
                    strict = strict or 1.0 / rank
        length = (hit.span[1] - hit.span[0]) if hits and (hit := hits[0]).span else 0.0
        rows.setdefault(labelled.kind, []).append((loose, strict, length))
    engine.close()
    out = {}
    for kind, values in sorted(rows.items()):
        loose = [v[0] for v in values]
        strict = [v[1] for v in values]
        out[kind] = {
            "n": len(values),
            "mrr": round(sum(loose) / len(loose), 3),
            "ci95": [round(x, 3) for x in bootstrap_interval(loose)],
            "mrr_strict": round(sum(strict) / len(strict), 3),
            "ci95_strict": [round(x, 3) for x in bootstrap_interval(strict)],
            "span_at_1": round(sum(v[2] for v in values) / len(values), 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="crossmodal-screen-video-"))
    try:
        for variant in args.variants.split(","):
            result = run(variant, workdir)
            print(json.dumps({"variant": variant, **result}))
            for kind, row in result.items():
                print(
                    f"{variant:10} {kind:15} n={row['n']:3} mrr {row['mrr']:.3f} "
                    f"{row['ci95']}  strict {row['mrr_strict']:.3f} {row['ci95_strict']}  "
                    f"span@1 {row['span_at_1']:.1f} s"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
