"""What the relevance cutoffs keep: on the labelled queries, how often the first relevant result
(when it is in the top 10) survives and how many results remain; on off-topic queries (nothing in
sample_data matches them), how many results remain. A good cutoff keeps the first and drops the
second.

Usage: python bench/eval_cutoff.py STORE [QUERIES]
"""

from __future__ import annotations

import sys
from pathlib import Path

from crossmodal.evaluate import load_queries
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store

OFF_TOPIC = [
    "a spreadsheet of quarterly tax figures",
    "a violin concerto",
    "a football match in a stadium",
    "a birthday cake with candles",
    "a traffic jam on a highway",
    "a bowl of ramen noodles",
    "a chess board",
    "a sailing boat at sea",
    "a laptop keyboard",
    "a horse in a field",
]
SETTINGS = [
    ("none", {}),
    ("min_relative 0.8", {"min_relative": 0.8}),
    ("min_relative 0.9", {"min_relative": 0.9}),
    ("min_z 1.0", {"min_z": 1.0}),
    ("min_z 1.5", {"min_z": 1.5}),
    ("min_z 2.0", {"min_z": 2.0}),
    ("min_score 0.3", {"min_score": 0.3}),
    ("min_score 0.4", {"min_score": 0.4}),
    ("min_score 0.5", {"min_score": 0.5}),
]


def main() -> None:
    store = Store.open(Path(sys.argv[1]))
    queries = load_queries(Path(sys.argv[2] if len(sys.argv) > 2 else "sample_data/queries.jsonl"))
    engine = SearchEngine(store)
    print(
        f"{'cutoff':18} {'first relevant kept':>20} {'results (labelled)':>19} {'results (off-topic)':>20}"
    )
    for name, options in SETTINGS:
        kept = eligible = returned = 0
        for labelled in queries:
            baseline = [hit.item.path for hit in engine.search(labelled.to_query(10))]
            cut = [hit.item.path for hit in engine.search(labelled.to_query(10, **options))]
            returned += len(cut)
            first = next((path for path in baseline if path in labelled.relevant), None)
            if first is not None:
                eligible += 1
                kept += first in cut
        off = sum(len(engine.search(build_query(text, k=10, **options))) for text in OFF_TOPIC)
        print(
            f"{name:18} {kept:>9}/{eligible:<3} {kept / eligible:>6.0%} "
            f"{returned / len(queries):>19.1f} {off / len(OFF_TOPIC):>20.1f}"
        )


if __name__ == "__main__":
    main()
