"""`make eval`: MRR and Recall@k per query kind on sample_data/queries.jsonl, against chance.

Usage: python bench/eval_queries.py STORE [QUERIES] [--json] [--verbose] [--fusion MODE|all]
`--fusion all` prints MRR per kind for every fusion mode side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crossmodal.evaluate import evaluate, load_queries
from crossmodal.query import FUSION_MODES
from crossmodal.search import SearchEngine
from crossmodal.store import Store


def compare_modes(engine: SearchEngine, queries: list) -> None:
    reports = {mode: evaluate(engine, queries, mode)["kinds"] for mode in FUSION_MODES}
    kinds = sorted(reports[FUSION_MODES[0]], key=lambda kind: (kind == "overall", kind))
    print(f"MRR by fusion mode ({len(queries)} queries)")
    print(f"{'kind':14} {'n':>3} " + " ".join(f"{mode:>9}" for mode in FUSION_MODES))
    for kind in kinds:
        row = " ".join(f"{reports[mode][kind]['mrr']:>9.3f}" for mode in FUSION_MODES)
        print(f"{kind:14} {reports[FUSION_MODES[0]][kind]['queries']:>3} {row}")


def main() -> None:
    argv = sys.argv[1:]
    fusion = None
    if "--fusion" in argv:
        at = argv.index("--fusion")
        fusion = argv[at + 1]
        del argv[at : at + 2]
    args = [a for a in argv if not a.startswith("--")]
    store = Store.open(Path(args[0]))
    queries = load_queries(Path(args[1] if len(args) > 1 else "sample_data/queries.jsonl"))
    engine = SearchEngine(store)
    if fusion == "all":
        compare_modes(engine, queries)
        return
    report = evaluate(engine, queries, fusion)
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
            if row["metrics"]["mrr"] < 1:
                print(
                    f"  {row['id']}: first relevant at {row['first_relevant_rank']}, top {row['top']}"
                )


if __name__ == "__main__":
    main()
