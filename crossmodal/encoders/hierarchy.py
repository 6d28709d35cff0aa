"""The WordNet ancestors of the ImageNet classes, for hierarchical ConSE.

ImageNet's classes are leaves (a goldfinch, a robin, a magpie), while people ask for categories
("a bird", "fruit", "a musical instrument"). Each ancestor that groups some classes gets the summed
probability of the classes under it, and its name's embedding joins the picture's vector with that
weight, so a picture of any bird lies near "a bird" (the hierarchy-aware zero-shot of Rohrbach et
al. 2011 and the ConSE paper's discussion). The hierarchy is data/imagenet_hierarchy.json, written
from WordNet 3.0 by bench/make_imagenet_hierarchy.py.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

# Ancestors grouping more classes than this are too general to name a category people ask for
# ("entity", "object", "artifact", "organism"); fewer than 2 is a class itself.
MAX_CLASSES = 400


@lru_cache(maxsize=4)
def ancestors(
    max_classes: int = MAX_CLASSES, only: tuple[str, ...] | None = None
) -> tuple[list[str], np.ndarray]:
    """(ancestor names, (ancestors, 1000) membership matrix); `only`: just these names."""
    text = resources.files(__package__).joinpath("data/imagenet_hierarchy.json").read_text()
    rows = [r for r in json.loads(text)["ancestors"] if len(r["classes"]) <= max_classes]
    if only is not None:
        rows = [r for r in rows if r["lemmas"][0] in only]
    member = np.zeros((len(rows), 1000), dtype=np.float32)
    for i, row in enumerate(rows):
        member[i, row["classes"]] = 1.0
    return [row["lemmas"][0] for row in rows], member


def ancestor_mass(probabilities: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Each ancestor's probability: the sum over the classes under it (rows: pictures)."""
    return probabilities @ member.T
