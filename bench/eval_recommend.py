"""Recommendation quality on sample_data: leave-one-out hit rate over labelled groups, and the
intra-list similarity (diversity) of the lists with and without MMR re-ranking.

Groups come from the files' sources, not from what crossmodal returns: scikit-image's texture,
space and microscopy images, the two portrait photographs, the stereo pair; the espeak-ng, ALSA
channel and phone-tone families of sounds; each image with its own caption (cross-modal).
For each group member: like the other members, ask for k recommendations of that member's
modality, and count a hit when the held-out member is among them. Chance is k / pool.

With --groups FILE (eval/groups.json: paths relative to the media folder beside it), the groups
are the large eval's: pictures of one object across sources, sounds of one family; --sample N
groups of them (seeded) keep the run to a few minutes.

Usage: python bench/eval_recommend.py STORE [--k 5] [--diversity 0.3] [--groups FILE --sample N]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from crossmodal.fusion import intra_list_similarity
from crossmodal.recommend import recommend
from crossmodal.search import SearchEngine
from crossmodal.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
VERBOSE = True
GROUPS = {
    "textures": ["images/brick_wall.png", "images/grass.png", "images/gravel.png"],
    "space": [
        "images/rocket_launch.jpg",
        "images/moon_surface.png",
        "images/hubble_deep_field.jpg",
    ],
    "microscopy": [
        "images/immunohistochemistry.jpg",
        "images/cell_microscopy.png",
        "images/retina.jpg",
    ],
    "portraits": ["images/astronaut_eileen_collins.jpg", "images/grace_hopper.jpg"],
    "stereo pair": ["images/motorcycle_left.jpg", "images/motorcycle_right.png"],
    "espeak speech": [
        "audio/speech_weather.flac",
        "audio/speech_train.flac",
        "audio/speech_recipe.flac",
    ],
    "ALSA channels": [
        "audio/audio-channel-front-left.oga",
        "audio/audio-channel-front-right.oga",
        "audio/audio-channel-rear-left.oga",
    ],
    "phone tones": [
        "audio/phone-incoming-call.oga",
        "audio/phone-outgoing-busy.oga",
        "audio/phone-outgoing-calling.oga",
    ],
}


ROOT = SAMPLE


def _path(relative: str) -> str:
    return str((ROOT / relative).resolve())


def _caption_pairs() -> dict[str, list[str]]:
    """Each caption with the image it describes (same file stem)."""
    pairs = {}
    for caption in sorted((SAMPLE / "text").glob("*.txt")):
        images = sorted((SAMPLE / "images").glob(f"{caption.stem}*"))
        if images:
            pairs[f"caption of {caption.stem}"] = [
                f"images/{images[0].name}",
                f"text/{caption.name}",
            ]
    return pairs


def _recommend(engine: SearchEngine, likes: list[str], modality: str, k: int, diversity: float):
    try:
        return recommend(engine, likes, type=modality, k=k, diversity=diversity)
    except TypeError:  # the code before diversity existed (for the before/after figures)
        return recommend(engine, likes, type=modality, k=k)


def leave_one_out(
    engine: SearchEngine, k: int, diversity: float, groups: dict[str, list[str]]
) -> tuple[int, int, float]:
    """(hits, trials, summed chance) over every group member."""
    counts = engine.counts()
    hits = trials = 0
    chance = 0.0
    for name, members in groups.items():
        for held_out in members:
            likes = [_path(m) for m in members if m != held_out]
            folder = held_out.split("/")[0]
            modality = {"text": "text", "documents": "text", "images": "image"}.get(folder, "audio")
            found, _ = _recommend(engine, likes, modality, k, diversity)
            paths = [hit.item.path for hit in found]
            hit = _path(held_out) in paths
            hits += hit
            trials += 1
            pool = counts.get(modality, 0) - sum(1 for m in likes if m.startswith(modality))
            chance += min(k, pool) / max(pool, 1)
            if not hit and VERBOSE:
                print(f"  miss [{name}] {held_out}: got {[Path(p).name for p in paths]}")
    return hits, trials, chance


def diversity_of_lists(
    engine: SearchEngine, k: int, diversity: float, groups: dict[str, list[str]]
) -> float:
    """Mean intra-list similarity (in each result's own space) of recommendations for single
    liked images and sounds."""
    scores = []
    for members in groups.values():
        if members[0].split("/")[0] in ("text", "documents"):
            continue
        like = _path(members[0])
        modality = "image" if "/images/" in like else "audio"
        space = "builtin-visual" if modality == "image" else "builtin-audio"
        found, _ = _recommend(engine, [like], modality, k, diversity)
        vectors = engine.space(space).vectors_of(hit.item for hit in found)
        matrix = np.stack([vectors[hit.item.id] for hit in found if hit.item.id in vectors])
        scores.append(intra_list_similarity(matrix))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--diversity", type=float, default=0.3)
    parser.add_argument("--groups", type=Path, help="a groups JSON file (eval/groups.json)")
    parser.add_argument("--sample", type=int, default=0, help="this many groups (seeded)")
    args = parser.parse_args()
    global ROOT, VERBOSE
    if args.groups:
        ROOT = args.groups.resolve().parent / "media"
        VERBOSE = False
        groups = json.loads(args.groups.read_text())
        if args.sample and args.sample < len(groups):
            names = sorted(random.Random(18).sample(sorted(groups), args.sample))
            groups = {name: groups[name] for name in names}
        single = groups
    else:
        groups, single = {**GROUPS, **_caption_pairs()}, GROUPS
    engine = SearchEngine(Store.open(args.store))
    for diversity in (0.0, args.diversity):
        hits, trials, chance = leave_one_out(engine, args.k, diversity, groups)
        ils = diversity_of_lists(engine, 10, diversity, single)
        print(
            f"diversity {diversity:.2f}: leave-one-out hit@{args.k} {hits}/{trials} = "
            f"{hits / trials:.3f} (chance {chance / trials:.3f}); intra-list similarity@10 {ils:.3f}"
        )


if __name__ == "__main__":
    main()
