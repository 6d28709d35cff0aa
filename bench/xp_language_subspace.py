"""Choose how many language directions to take out of E5 text queries (issue 21), in one process
over one store: every rank reuses the same raw E5 query vectors, so a sweep costs one
`crossmodal eval` plus a search per rank.

Queries are split in two halves by the SHA-256 of their twin id (their own id when they have no
twin), so the English twin and its translations fall in the same half: choose on "dev", report
"test". Prints one JSON line per rank with MRR per kind and half.

Usage: python bench/xp_language_subspace.py STORE QUERIES.jsonl 0,2,4,8,16
(the ranks must not exceed the shipped basis: bench/make_e5_language_subspace.py --rank N)
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crossmodal.encoders import language_subspace, multilingual  # noqa: E402
from crossmodal.evaluate import evaluate, load_queries  # noqa: E402
from crossmodal.library import Store  # noqa: E402


def main() -> int:
    store_path, queries_file, ranks_arg = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    multilingual.QUERY_LANGUAGE_RANK = 0  # the sweep projects itself, below
    full = language_subspace.load()
    state = {"basis": full[:0]}
    raw = multilingual.E5Model.queries
    memo: dict[tuple[str, ...], np.ndarray] = {}

    def queries(self: multilingual.E5Model, texts: list[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in memo:
            memo[key] = raw(self, texts)
        return language_subspace.remove(memo[key], state["basis"])

    multilingual.E5Model.queries = queries  # type: ignore[method-assign]
    labelled = load_queries(queries_file)
    lines = [json.loads(line) for line in queries_file.open(encoding="utf-8") if line.strip()]
    twin = {row["id"]: row.get("twin", row["id"]) for row in lines}
    with Store.open(store_path) as store:
        engine = store.engine
        engine.query_cache = engine.parts.cache = None  # every rank embeds (from the memo)
        for rank in (int(r) for r in ranks_arg.split(",")):
            state["basis"] = full[:rank]
            engine.parts._vectors.clear()
            started = time.time()
            report = evaluate(engine, labelled)
            halves: dict[tuple[str, str], list[float]] = {}
            for row in report["queries"]:
                digest = hashlib.sha256(twin[row["id"]].encode()).hexdigest()
                half = "dev" if int(digest, 16) % 2 == 0 else "test"
                for name in (row["kind"], "overall"):
                    halves.setdefault((name, half), []).append(row["metrics"]["mrr"])
            figures = {
                f"{n}|{h}": round(float(np.mean(v)), 3) for (n, h), v in sorted(halves.items())
            }
            print(
                json.dumps({"rank": rank, "seconds": round(time.time() - started), **figures}),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
