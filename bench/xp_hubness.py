"""Experiment (issue 8): CSLS hubness reduction (crossmodal/hubness.py) with different
neighbourhood sizes K, on a copy of an existing store. Prints MRR per kind for --hubness none and
for each K (the store default is K = min(10, sources // 10)).

Usage: python bench/xp_hubness.py STORE QUERIES
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

KINDS = ("text->image", "image->text", "fused", "negated", "overall")


def main() -> None:
    from crossmodal import hubness
    from crossmodal.catalog import Catalog
    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.hubness import refresh_hubness
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    folder = Path(tempfile.mkdtemp(prefix="crossmodal-hubness-"))
    try:
        shutil.copytree(sys.argv[1], folder / "store")
        store = Store.open(folder / "store")
        queries = load_queries(Path(sys.argv[2]))
        rule = hubness.neighbour_count
        print("setting".ljust(12), " ".join(k.rjust(12) for k in KINDS))
        settings: list[tuple[str, int | None]] = [("none", None), ("rule", None)]
        settings += [(f"K={k}", k) for k in (1, 2, 3, 5, 10)]
        for label, fixed in settings:
            hubness.neighbour_count = rule if fixed is None else (lambda n, k=fixed: min(k, n))
            catalog = Catalog(store.catalog_path)
            for space in ("builtin-semantic",):
                with catalog.transaction():
                    catalog.conn.execute("DELETE FROM hubness_state")
                refresh_hubness(catalog, space)
            catalog.close()
            mode = "none" if label == "none" else "csls"
            report = evaluate(SearchEngine(store), queries, hubness=mode)["kinds"]
            print(label.ljust(12), " ".join(f"{report[kind]['mrr']:12.3f}" for kind in KINDS))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
