"""Follow one query from argv to output: which crossmodal modules it enters, in order.

Modules are grouped in layers (cli, library, query, search, spaces, encoders, catalog, store).
A *visit* is a call from one layer into another; calls inside a layer, a generator resuming,
and methods of the data objects every layer passes along (Item, Query, Filters, Hit, ...) are
not counted. A *return visit* enters a layer the query had already left. The ideal is each
layer visited once, in one descent: cli -> library -> query -> search -> spaces -> catalog.

Usage: python bench/trace_query.py --store S [-- search ARGS...]
(default query: search "a cat" --type image -k 5 --json)"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections import Counter
from pathlib import Path


def _tree() -> str:
    """The folder holding the crossmodal package that is imported (a checkout, or a worktree
    put first on PYTHONPATH to trace another commit)."""
    import crossmodal

    return str(Path(crossmodal.__file__).resolve().parent.parent) + "/"


def module_of(filename: str, tree: str) -> str | None:
    """'crossmodal/catalog/vectors.py' -> 'crossmodal.catalog.vectors'; None outside the tree."""
    if not filename.startswith(tree):
        return None
    rel = filename[len(tree) :]
    if rel.startswith(("crossmodal/", "cli/")) and rel.endswith(".py"):
        return rel[:-3].replace("/", ".").removesuffix(".__init__")
    return None


LAYERS = (  # module prefix -> layer, first match wins
    ("cli.", "cli"),
    ("crossmodal.library", "library"),
    ("crossmodal.query_vectors", "search"),
    ("crossmodal.query_cache", "search"),
    ("crossmodal.search", "search"),
    ("crossmodal.recommend", "search"),
    ("crossmodal.fusion", "search"),
    ("crossmodal.hubness", "search"),
    ("crossmodal.query", "query"),
    ("crossmodal.filters", "query"),
    ("crossmodal.spaces", "spaces"),
    ("crossmodal.index", "spaces"),
    ("crossmodal.encoders", "encoders"),
    ("crossmodal.models", "encoders"),
    ("crossmodal.catalog", "catalog"),
    ("crossmodal.store", "store"),
    ("crossmodal", "other"),
)
# Top to bottom: a call from a layer into one above it is a climb back up.
RANK = {"cli": 0, "library": 1, "query": 2, "search": 3, "spaces": 4, "encoders": 4}
RANK |= {"catalog": 5, "store": 6, "other": 7}
DATA = ("Item.", "Query.", "QueryPart.", "Filters.", "Hit.", "Candidate.", "SpaceSpec.")
GENERATOR = 0x20  # CO_GENERATOR


def layer_of(module: str | None) -> str | None:
    if module is None:
        return None
    return next(layer for prefix, layer in LAYERS if (module + ".").startswith(prefix))


def trace(argv: list[str], within: str | None = None, by: str = "layer") -> list[tuple[str, str]]:
    """(caller, callee) of every call that crosses from one layer (or module, `by="module"`)
    into another; with `within` (a qualified name such as SearchEngine.search), only while
    that function runs."""
    visits: list[tuple[str, str]] = []
    tree = _tree()
    generators: set[int] = set()
    inside: list[int] = []  # frames of `within` now running
    group = layer_of if by == "layer" else (lambda module: module)

    def profile(frame, event, arg):  # type: ignore[no-untyped-def]
        qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        if within is not None and qualname == within:
            if event == "call":
                inside.append(id(frame))
            elif event == "return" and inside and inside[-1] == id(frame):
                inside.pop()
        if event != "call" or frame.f_back is None or (within is not None and not inside):
            return
        code = frame.f_code
        if code.co_flags & GENERATOR:
            if id(frame) in generators:
                return  # a generator resuming, not a new call
            generators.add(id(frame))
        callee = group(module_of(code.co_filename, tree))
        caller = group(module_of(frame.f_back.f_code.co_filename, tree))
        if callee is None or caller is None or caller == callee or code.co_name == "<module>":
            return
        if code.co_name.startswith("<") and code.co_name != "<lambda>":  # comprehensions
            return
        if getattr(code, "co_qualname", code.co_name).startswith(DATA):
            return
        visits.append((caller, callee))

    from cli.main import app

    sys.argv = ["crossmodal", *argv]
    out = io.StringIO()
    sys.setprofile(profile)
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            app(argv, standalone_mode=False)
    finally:
        sys.setprofile(None)
    return visits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--within", help="only inside this function, e.g. SearchEngine.search")
    parser.add_argument("--by", choices=("layer", "module"), default="layer")
    parser.add_argument("query", nargs="*")
    args = parser.parse_args()
    query = args.query or ["search", "a cat", "--type", "image", "-k", "5", "--json"]
    calls = trace([*query, "--store", args.store], args.within, args.by)
    collapsed = [c for i, c in enumerate(calls) if i == 0 or calls[i - 1] != c]
    counts = Counter(callee for _, callee in collapsed)
    rank = (lambda name: RANK[name]) if args.by == "layer" else (lambda name: 0)
    climbs = [(a, b) for a, b in collapsed if rank(b) < rank(a)]
    print(f"query: crossmodal {' '.join(query)}")
    raw = Counter(f"{a}->{b}" for a, b in calls)
    print(
        f"{len(calls)} calls across boundaries ({len(collapsed)} runs), {len(climbs)} climbs back up"
    )
    print("calls per boundary:", ", ".join(f"{edge} x{n}" for edge, n in raw.most_common()))
    print("entries per layer:")
    for layer, count in sorted(counts.items(), key=lambda kv: (rank(kv[0]), kv[0])):
        print(f"  {count:3d}  {layer}")
    print("calls:", ", ".join(f"{a}->{b}" for a, b in collapsed))
    if climbs:
        print("climbs:", ", ".join(f"{a}->{b}" for a, b in climbs))


if __name__ == "__main__":
    main()
