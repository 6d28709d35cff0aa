"""Does a text query gain from being read as the ImageNet classes it names (issue 21)?

A picture's semantic vector is a mixture of class-prompt embeddings (ConSE). A short query in
another language matches those English prompts less sharply than its English twin, even when its
nearest class is the right one. This experiment moves each text query towards the mixture of its
own nearest classes: c = unit(softmax(q·T_top / tau) T_top) over its TOP nearest classes, and
q' = unit(alpha q + (1 - alpha) c). Stored vectors are untouched.

One process over one store; every setting reuses the same raw E5 query vectors. Queries are split
in two halves by the SHA-256 of their twin id (as bench/xp_language_subspace.py): choose on "dev",
report "test". Prints one JSON line per setting with MRR per kind and half.

Usage: python bench/xp_query_classes.py STORE QUERIES.jsonl [--kinds text->image] \
    --settings 1,0,0 0.5,0.02,10 ...   (alpha,tau,top; alpha 1 is the baseline)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crossmodal.encoders import multilingual  # noqa: E402
from crossmodal.encoders.base import l2_normalize  # noqa: E402
from crossmodal.evaluate import evaluate, load_queries  # noqa: E402
from crossmodal.library import Store  # noqa: E402


def toward_classes(
    queries: np.ndarray, classes: np.ndarray, alpha: float, tau: float, top: int
) -> np.ndarray:
    """Each query row moved towards the softmax mixture of its `top` nearest class rows."""
    if alpha >= 1.0:
        return queries
    scores = queries @ classes.T
    nearest = np.argsort(-scores, axis=1)[:, :top]
    chosen = np.take_along_axis(scores, nearest, axis=1)
    # tau < 0: relative to the spread of the query's class scores, so a query whose scores are
    # flatter (another language) is made as sharp as one whose scores are not
    chosen = chosen / (tau if tau > 0 else -tau * scores.std(axis=1, keepdims=True))
    weights = np.exp(chosen - chosen.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    mixture = l2_normalize(np.einsum("nt,ntd->nd", weights, classes[nearest]))
    return l2_normalize(alpha * queries + (1.0 - alpha) * mixture)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("queries", type=Path)
    parser.add_argument("--kinds", default="", help="comma list of kind prefixes to keep")
    parser.add_argument("--settings", nargs="+", required=True)
    args = parser.parse_args()

    labelled = load_queries(args.queries)
    if args.kinds:
        prefixes = tuple(args.kinds.split(","))
        labelled = [q for q in labelled if q.kind.startswith(prefixes)]
    lines = [json.loads(line) for line in args.queries.open(encoding="utf-8") if line.strip()]
    twin = {row["id"]: row.get("twin", row["id"]) for row in lines}
    state: dict[str, object] = {}
    raw = multilingual.E5Model.queries
    memo: dict[tuple[str, ...], np.ndarray] = {}

    def queries(self: multilingual.E5Model, texts: list[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in memo:
            memo[key] = raw(self, texts)
        return memo[key]

    multilingual.E5Model.queries = queries  # type: ignore[method-assign]
    plain = multilingual.MultilingualEncoderSet.encode_query

    def encode_query(self, modality, inputs):  # type: ignore[no-untyped-def]
        out = plain(self, modality, inputs)
        if modality == "text" and inputs:
            alpha, tau, top = state["setting"]  # type: ignore[misc]
            out = {
                self.semantic: toward_classes(
                    out[self.semantic], self.class_matrix(), alpha, tau, int(top)
                )
            }
        return out

    multilingual.MultilingualEncoderSet.encode_query = encode_query  # type: ignore[method-assign]
    with Store.open(args.store) as store:
        engine = store.engine
        engine.query_cache = engine.parts.cache = None
        for setting in args.settings:
            alpha, tau, top = (float(x) for x in setting.split(","))
            state["setting"] = (alpha, tau, top)
            engine.parts._vectors.clear()
            started = time.time()
            report = evaluate(engine, labelled)
            halves: dict[tuple[str, str], list[float]] = {}
            for row in report["queries"]:
                digest = hashlib.sha256(twin[row["id"]].encode()).hexdigest()
                half = "dev" if int(digest, 16) % 2 == 0 else "test"
                for name in (row["kind"], "overall"):
                    for part in (half, "all"):
                        halves.setdefault((name, part), []).append(row["metrics"]["mrr"])
            figures = {
                f"{n}|{h}": round(float(np.mean(v)), 3) for (n, h), v in sorted(halves.items())
            }
            print(
                json.dumps(
                    {"setting": setting, "seconds": round(time.time() - started), **figures}
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
