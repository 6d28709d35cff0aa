"""Experiment (issue 8): does prompt ensembling or WordNet synonyms improve the ConSE class
matrix? Builds a fresh store of sample_data per variant and prints MRR of the kinds that depend
on it. Variants: base ("a photo of a {}."), templates (+ open_clip's 7 SIMPLE_IMAGENET_TEMPLATES,
CLIP's curated ensemble), synonyms (+ every WordNet lemma timm ships), both.

Usage: python bench/xp_conse_prompts.py base|templates|synonyms|both   (about 1 minute each)
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

KINDS = ("text->image", "image->text", "image->image", "fused", "overall")


def simple_templates() -> tuple[str, ...]:
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "zero_shot_metadata.py"
    module_spec = importlib.util.spec_from_file_location("_metadata", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return tuple(template("{}") for template in module.SIMPLE_IMAGENET_TEMPLATES)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from crossmodal.encoders import builtin
    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.pipeline import update
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    variant = sys.argv[1]
    if variant in ("templates", "both"):
        builtin.CLASS_TEMPLATES = (builtin.CLASS_PROMPT, *simple_templates())
    if variant in ("synonyms", "both"):
        builtin.CLASS_SYNONYMS = True
    sample = Path(__file__).resolve().parent.parent / "sample_data"
    folder = Path(tempfile.mkdtemp(prefix=f"crossmodal-conse-{variant}-"))
    try:
        store = Store.open_or_create(folder / "store")
        update(store, [sample])
        report = evaluate(SearchEngine(store), load_queries(sample / "queries.jsonl"))["kinds"]
        print(variant, {kind: report[kind]["mrr"] for kind in KINDS})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
