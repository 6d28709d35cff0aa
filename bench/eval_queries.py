"""`make eval`: MRR and Recall@k per query kind on sample_data/queries.jsonl, against chance.

Usage: python bench/eval_queries.py STORE [QUERIES] [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crossmodal.evaluate import evaluate, load_queries
from crossmodal.query import SearchEngine
from crossmodal.store import Store


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    store = Store.open(Path(args[0]))
    queries = load_queries(Path(args[1] if len(args) > 1 else "sample_data/queries.jsonl"))
    engine = SearchEngine(store)
    report = evaluate(engine, queries)
    if "--json" in sys.argv:
        print(json.dumps(report, indent=1))
        return
    print(
        f"{'kind':14} {'n':>3} {'MRR':>6} {'chance':>7} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'ratio':>6}"
    )
    for kind, row in sorted(report["kinds"].items(), key=lambda kv: kv[0] == "overall"):
        ratio = row["mrr"] / row["chance_mrr"] if row["chance_mrr"] else float("nan")
        print(
            f"{kind:14} {row['queries']:>3} {row['mrr']:>6.3f} {row['chance_mrr']:>7.3f} "
            f"{row['recall@1']:>6.3f} {row['recall@5']:>6.3f} {row['recall@10']:>6.3f} {ratio:>5.1f}x"
        )
    if "--verbose" in sys.argv:
        for row in report["queries"]:
            if row["rr"] < 1:
                print(
                    f"  {row['id']}: first relevant at {row['first_relevant_rank']}, top {row['top']}"
                )


if __name__ == "__main__":
    main()
