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


# The ancestors people name things by (basic-level categories, Rosch 1976), not WordNet's inner
# nodes ("placental", "instrumentality"), whose names pull pictures away from plain words.
BASIC: tuple[str, ...] = (
    "bird", "dog", "cat", "fish", "insect", "spider", "crab", "reptile", "snake", "lizard",
    "turtle", "frog", "monkey", "bear", "mammal", "fruit", "vegetable", "food", "dish", "vehicle",
    "truck", "boat", "ship", "aircraft", "musical instrument", "tool", "building", "container",
    "furniture", "clothing", "footwear", "hat", "bag", "bottle", "ball", "weapon",
    "kitchen utensil", "home appliance", "sports equipment", "computer", "electronic equipment",
    "seat", "lamp",
)  # fmt: skip


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


def basic_parent(max_classes: int = MAX_CLASSES) -> list[str | None]:
    """Per ImageNet class, its most specific BASIC ancestor (None when it has none)."""
    names, member = ancestors(max_classes, BASIC)
    sizes = member.sum(axis=1)
    parents: list[str | None] = []
    for column in member.T:
        under = np.flatnonzero(column)
        parents.append(names[under[np.argmin(sizes[under])]] if len(under) else None)
    return parents


def ancestor_mass(probabilities: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Each ancestor's probability: the sum over the classes under it (rows: pictures)."""
    return probabilities @ member.T
