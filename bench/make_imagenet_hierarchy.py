"""Write crossmodal/encoders/data/imagenet_hierarchy.json: the WordNet 3.0 ancestors of the 1,000
ImageNet-1k classes, so ConSE can place a picture of any bird near "a bird".

ImageNet's class ids are WordNet 3.0 noun offsets (n01440764 = offset 01440764 in data.noun), and
timm ships them in model order. WordNet comes from Debian's wordnet-base (eval/build.py fetches it
into eval/.cache). The file holds, for each ancestor that groups 2 or more classes, its lemmas and
the indices of the classes under it (hypernyms and instance hypernyms followed to the root).

Usage: python bench/make_imagenet_hierarchy.py [--wordnet DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "eval/.cache/x/wordnet-base/usr/share/wordnet"
OUT = ROOT / "crossmodal/encoders/data/imagenet_hierarchy.json"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wordnet", type=Path, default=DEFAULT)
    args = parser.parse_args()
    from crossmodal.encoders.builtin import imagenet_synsets

    synsets = [int(s[1:]) for s in imagenet_synsets()]
    parents: dict[int, list[int]] = {}
    lemmas: dict[int, list[str]] = {}
    for line in (args.wordnet / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split(" | ")[0].split()
        offset, count = int(fields[0]), int(fields[3], 16)
        words = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
        rest = fields[4 + 2 * count :]
        pointers = int(rest[0])
        ups = []
        for i in range(pointers):
            symbol, target, pos = rest[1 + 4 * i], rest[2 + 4 * i], rest[3 + 4 * i]
            if symbol in ("@", "@i") and pos == "n":
                ups.append(int(target))
        parents[offset] = ups
        lemmas[offset] = words
    members: dict[int, set[int]] = {}
    for index, synset in enumerate(synsets):
        stack, seen = list(parents.get(synset, [])), set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            members.setdefault(node, set()).add(index)
            stack.extend(parents.get(node, []))
    rows = [
        {"synset": f"n{node:08d}", "lemmas": lemmas[node], "classes": sorted(classes)}
        for node, classes in sorted(members.items())
        if len(classes) >= 2
    ]
    OUT.write_text(
        json.dumps(
            {"source": "WordNet 3.0 (Debian wordnet-base 1:3.0-37)", "ancestors": rows},
            separators=(",", ":"),
        )
        + "\n"
    )
    print(f"{len(rows)} ancestors -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
