"""Build crossmodal's large public eval from pinned Debian and npm packages.

    python eval/build.py [--cache DIR] [--out eval/media]

It downloads (once, into the cache) the packages in PACKAGES, checks their SHA-256, copies or
renders the media under opaque names (img_00001.png, snd_00001.ogg, doc_00001.txt) into
eval/media, and writes eval/manifest.jsonl (each file's source, original path, licence and
labels), eval/queries.jsonl (labelled queries for `crossmodal eval`) and eval/groups.json
(recommendation groups). Every label comes from the sources' own words: folder names, file
names, CLDR annotations and subgroups, vocabulary hints, WordNet glosses. Nothing is labelled by
looking at what crossmodal returns. The output is deterministic (sorted inputs, seeded sampling).

Needs: apt-get (Debian bookworm sources), npm, and rsvg-convert (Debian librsvg2-bin) for the emoji
SVGs. See eval/SOURCES.md for origins and licences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
SEED = 18

# name: (registry, version, sha256 of the downloaded file, licence of the media used)
PACKAGES: dict[str, tuple[str, str, str, str]] = {
    "openclipart-svg": (
        "deb",
        "1:0.18+dfsg-19",
        "989712d90d57dfa3230049f553bb43b76c30ee4d4b8c5f6e106e33f7db5cbdc5",
        "public domain (CC0 dedication)",
    ),
    "openclipart-png": (
        "deb",
        "1:0.18+dfsg-19",
        "f07f1545a2970c2cf3fa339bc2405da1a95cf2b1827bfa05bf73eb1c20291c02",
        "public domain (CC0 dedication)",
    ),
    "pysiogame": (
        "deb",
        "4.20.01-1",
        "6b22766dfd8ef3a046c2665fe2598ac8a1ecee3d331bda38accf53de65bc59bf",
        "Art4Apps images: CC BY-SA (upstream CREDITS.txt)",
    ),
    "scratch": (
        "deb",
        "1.4.0.6~dfsg1-6.1",
        "36c582eb93110f64f06c4e685c41e933ccba2fa68db12f79b10bfe840b21fc10",
        "CC-BY-SA-3.0 (Media/)",
    ),
    "lmms-common": (
        "deb",
        "1.2.2+dfsg1-6",
        "7d9aa55dd05f11edc57104203ee1c350e3e41f8936ab3741da2bb1158fd46c37",
        "GPL-2+",
    ),
    "sonic-pi-samples": (
        "deb",
        "3.2.2~repack-8",
        "25f2312d2fae005e6ad0f4726b8ed3084e776006a5a132083506e960224ac79d",
        "CC0 (freesound)",
    ),
    "ktuberling-data": (
        "deb",
        "4:22.12.3-1",
        "fba44c875bfa31ea488dadd9263e87a4dcaea0bd47d28817f6c0dc6d2af970ed",
        "GPL-2+",
    ),
    "kdeedu-kvtml-data": (
        "deb",
        "4:22.12.3-1",
        "2dd976ab0e56d74c447d4023e7da3320a96670000ae3fa18dc6d63fe5f98de74",
        "GPL-2+",
    ),
    "wordnet-base": (
        "deb",
        "1:3.0-37",
        "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752",
        "WordNet 3.0 licence (BSD-like)",
    ),
    "openmoji": (
        "npm",
        "17.0.0",
        "55ee7d13485dec86e9f38c1f3a645a13382d33ff97c0cd845ee824b0aef45e68",
        "CC-BY-SA-4.0",
    ),
    "gcompris-qt-data": (
        "deb",
        "3.1-2",
        "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f",
        "per file, from the activity's README (public domain, CC0, CC-BY-SA-4.0, ...; GPL-3+)",
    ),
    "fluentui-emoji": (
        "npm",
        "1.3.0",
        "ec892e607e854859b812c7d827801756adc19955b0ef56d4ae8afcddd19492c5",
        "MIT (Microsoft Fluent UI Emoji)",
    ),
}


# -- fetching -------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, cache: Path) -> Path:
    """The package's unpacked folder in the cache (downloaded and checked on first use)."""
    registry, version, sha, _ = PACKAGES[name]
    unpacked = cache / "x" / name
    if (unpacked / ".ok").is_file():
        return unpacked
    downloads = cache / registry
    downloads.mkdir(parents=True, exist_ok=True)
    if registry == "deb":
        found = sorted(downloads.glob(f"{name}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=downloads, check=True)
            found = sorted(downloads.glob(f"{name}_*.deb"))
    else:
        found = sorted(downloads.glob(f"{name}-{version}.tgz"))
        if not found:
            subprocess.run(["npm", "pack", f"{name}@{version}"], cwd=downloads, check=True)
            found = sorted(downloads.glob(f"{name}-{version}.tgz"))
    archive = found[-1]
    if _sha256(archive) != sha:
        sys.exit(f"{archive}: SHA-256 differs from the pinned one; delete it and rerun")
    if unpacked.exists():
        shutil.rmtree(unpacked)
    unpacked.mkdir(parents=True)
    if registry == "deb":
        subprocess.run(["dpkg-deb", "-x", str(archive), str(unpacked)], check=True)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
    (unpacked / ".ok").write_text(sha)
    return unpacked


# -- words ----------------------------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    """Lower-case words of a name or title: camelCase, snake_case and digits split."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [t for t in re.split(r"[^a-z]+", text.lower()) if t]


def singular(word: str, vocabulary: set[str]) -> str:
    """The vocabulary's singular of a plural word (apples -> apple, cherries -> cherry)."""
    if word in vocabulary:
        return word
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and word[: -len(suffix)] + repl in vocabulary:
            return word[: -len(suffix)] + repl
    return word


def nouns_in(words: list[str], vocabulary: set[str]) -> set[str]:
    """Vocabulary entries (one or two words) found in a list of words."""
    norm = [singular(w, vocabulary) for w in words]
    found = {w for w in norm if w in vocabulary}
    found |= {f"{a} {b}" for a, b in zip(norm, norm[1:], strict=False) if f"{a} {b}" in vocabulary}
    return found


# WordNet's two-word nouns ("hot dog", "teddy bear"), set in collect, and those whose head names
# what they are ("pickup truck" is a truck; a hot dog is no dog).
COMPOUNDS: set[str] = set()
HEADED: set[str] = set()


def name_nouns(name: str, vocabulary: set[str]) -> set[str]:
    """The vocabulary nouns a name says its picture shows. A possessive ("woman's boot") or a
    hyphenated modifier ("ring-tailed lemur") names no object of its own, and neither do the
    words of a compound noun that is not itself in the vocabulary ("hot dog" shows no dog)."""
    words: list[str] = []
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower().replace("_", " ").split()
    for position, word in enumerate(split):
        if word.endswith(("'s", "\u2019s")):
            continue
        if "-" in word:  # "t-shirt" is a shirt; "ring-tailed" names nothing
            joined = " ".join(tokens(word))
            last = tokens(word)[-1:] if position == len(split) - 1 else []
            words.extend([joined] if joined in vocabulary else last)
            continue
        words.extend(tokens(word))
    found: set[str] = set()
    used: set[int] = set()
    for i in range(len(words) - 1):
        pair = f"{singular(words[i], vocabulary)} {singular(words[i + 1], vocabulary)}"
        raw = f"{words[i]} {words[i + 1]}"
        if pair in vocabulary:
            found.add(pair)
            used |= {i, i + 1}
        elif raw in COMPOUNDS or pair in COMPOUNDS:
            used |= {i} if (raw in HEADED or pair in HEADED) else {i, i + 1}
    for i, word in enumerate(words):
        if i not in used and singular(word, vocabulary) in vocabulary:
            found.add(singular(word, vocabulary))
    return found


PLURAL_ONLY = {
    "scissors",
    "trousers",
    "glasses",
    "sunglasses",
    "spectacles",
    "pants",
    "jeans",
    "shorts",
    "pliers",
    "tongs",
    "binoculars",
    "headphones",
}


def article(noun: str) -> str:
    if noun in PLURAL_ONLY or noun.endswith(" scissors"):
        return noun
    if noun.startswith(("uni", "use", "eu", "one", "uk")):
        return f"a {noun}"
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


# -- the collection -------------------------------------------------------------------------------
@dataclass
class Entry:
    kind: str  # image | audio | text
    source: str  # package name
    original: str  # path inside the package (or a description of a derived text)
    style: str  # photo | drawing | clipart | emoji | sound | speech | document
    nouns: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    family: str | None = None  # sound family (same class of sound)
    phrase: str | None = None  # the source's own description, used as a text query
    text: str | None = None  # a document's contents
    render: str | None = None  # "svg" when the image must be rasterised
    licence: str | None = None  # when the file's own licence is narrower than the package's
    path: Path | None = None  # where its bytes come from
    name: str = ""  # opaque name in the eval


# Category queries: phrase -> the sources' own folders / subgroups that hold its members.
CATEGORIES: dict[str, dict[str, list[str]]] = {
    "an animal": {
        "openclipart": ["animals"],
        "art4apps": ["animals"],
        "scratch": ["Costumes/Animals"],
        "openmoji": ["animal-"],
    },
    "a bird": {"openclipart": ["animals/birds"], "openmoji": ["animal-bird"]},
    "a mammal": {"openclipart": ["animals/mammals"], "openmoji": ["animal-mammal"]},
    "an insect": {"openclipart": ["animals/bugs"], "openmoji": ["animal-bug"]},
    "a sea animal": {"openclipart": ["animals/fish"], "openmoji": ["animal-marine"]},
    "a reptile": {"openmoji": ["animal-reptile"]},
    "a dinosaur": {"openclipart": ["animals/dinosaurs"]},
    "fruit": {"openclipart": ["food/fruit"], "openmoji": ["food-fruit"]},
    "a vegetable": {"openclipart": ["food/vegetables"], "openmoji": ["food-vegetable"]},
    "a drink": {"openclipart": ["food/beverages"], "openmoji": ["drink"]},
    "a dessert": {"openclipart": ["food/desserts"], "openmoji": ["food-sweet"]},
    "food": {
        "openclipart": ["food"],
        "art4apps": ["food", "fruit_n_veg"],
        "openmoji": ["food-", "drink", "dishware"],
    },
    "a vehicle": {
        "openclipart": ["transportation/vehicles"],
        "art4apps": ["transport"],
        "scratch": ["Costumes/Transportation"],
        "openmoji": ["transport-"],
    },
    "a boat": {"openclipart": ["transportation/boating"], "openmoji": ["transport-water"]},
    "a musical instrument": {
        "openclipart": ["recreation/music"],
        "openmoji": ["musical-instrument"],
    },
    "a tool": {"openclipart": ["tools"], "art4apps": ["construction"], "openmoji": ["tool"]},
    "a building": {"openclipart": ["buildings"], "openmoji": ["place-building", "place-religious"]},
    "a plant": {"openclipart": ["plants"], "openmoji": ["plant-flower", "plant-other"]},
    "a flower": {"openclipart": ["plants/flowers"], "openmoji": ["plant-flower"]},
    "a tree": {"openclipart": ["plants/trees"]},
    "clothing": {
        "openclipart": ["people/clothing"],
        "art4apps": ["clothes_n_accessories"],
        "openmoji": ["clothing"],
    },
    "sports equipment": {
        "openclipart": ["recreation/sports"],
        "art4apps": ["sport"],
        "openmoji": ["sport"],
    },
    "office supplies": {"openclipart": ["office"], "openmoji": ["office"]},
    "a computer or electronic device": {
        "openclipart": ["electronics"],
        "openmoji": ["computer", "phone"],
    },
    "a body part": {"art4apps": ["body"], "openmoji": ["body-parts"]},
    "weather": {"openclipart": ["signs_and_symbols/weather"], "openmoji": ["sky-weather"]},
    "a famous monument": {"gcompris": ["monuments"]},
    "renewable energy": {"gcompris": ["renewable"]},
}
for _phrase, _folders in (
    ("an animal", ["animals", "fishes"]),
    ("a sea animal", ["fishes"]),
    ("a tool", ["tools"]),
):
    CATEGORIES[_phrase]["gcompris"] = _folders
# GCompris activities whose photos are kept, and the category each one's folders stand for.
GCOMPRIS_CATEGORY = {
    "explore_world_animals": "animals",
    "explore_farm_animals": "animals",
    "erase": "animals",
    "explore_monuments": "monuments",
}
# GCompris sounds that belong to a family of the sample libraries.
GCOMPRIS_FAMILY = {
    "cat": "cat meowing",
    "dog": "dog barking",
    "bark": "dog barking",
    "horse": "horse",
    "chicken": "bird call",
    "duck": "bird call",
    "owl": "bird call",
    "violin": "violin",
    "cello": "violin",
    "guitar": "guitar",
    "electric guitar": "guitar",
    "piano": "piano",
    "organ": "organ",
    "trumpet": "trumpet",
    "cymbal": "cymbal",
    "snare drum": "snare drum",
    "drum kit": "drum kit",
    "applauses": "applause",
    "door open": "door",
}

OPENCLIPART_FOLDERS = (
    "animals",
    "food",
    "plants",
    "transportation/vehicles",
    "transportation/boating",
    "tools",
    "recreation/music",
    "recreation/sports",
    "recreation/toys",
    "buildings",
    "electronics",
    "office",
    "people/clothing",
    "signs_and_symbols/weather",
    "containers",
    "science",
)
# KDE vocabularies of pictured things (easy/medium/people/professions/inventions hold abstract
# words such as "think" or "collection", which would label pictures by their keywords' noise).
CONCRETE_TOPICS = {
    "animals",
    "clothing",
    "computers",
    "fruits",
    "objects",
    "space",
    "sports",
    "transportation",
    "vegetables",
}
# Category heads: pictured things are labelled by what they are, the category queries by these.
HEADS = {
    "animal",
    "bird",
    "fish",
    "insect",
    "bug",
    "mammal",
    "reptile",
    "plant",
    "flower",
    "tree",
    "vehicle",
    "boat",
    "tool",
    "building",
    "drink",
    "dessert",
    "fruit",
    "vegetable",
    "food",
}
# Keywords that name a folder, a colour or a use rather than the object pictured.
GENERIC = {
    "animal",
    "food",
    "fruit",
    "vegetable",
    "dessert",
    "drink",
    "office",
    "computer",
    "tool",
    "plant",
    "building",
    "music",
    "sport",
    "toy",
    "clothing",
    "science",
    "container",
    "money",
    "orange",
    "red",
    "green",
    "blue",
    "yellow",
    "black",
    "white",
    "brown",
    "pink",
    "purple",
    "transport",
    "weather",
    "education",
    "electronics",
    "house",
    "home",
    "people",
    "mountain",
}
OPENMOJI_GROUPS = ("animals-nature", "food-drink", "travel-places", "objects", "activities")


def kvtml_entries(root: Path) -> list[tuple[str, str, str]]:
    """(topic, word, hint) from KDE's English vocabularies that carry hints."""
    rows = []
    for path in sorted((root / "usr/share/apps/kvtml/en").glob("*.kvtml")):
        if path.stem in {"numbers", "currencies", "worldcapitals", "hard"}:
            continue
        tree = ElementTree.parse(path)
        for translation in tree.iter("translation"):
            word = (translation.findtext("text") or "").strip().lower()
            hint = (translation.findtext("comment") or "").strip()
            if word and hint:
                rows.append((path.stem, word, hint))
    return rows


# WordNet lexicographer files of things a picture can show: animal, artifact, body, food,
# object, plant, substance (a skunk is an animal before it is a despicable person).
PICTURABLE = {"05", "06", "08", "13", "17", "20", "27"}


def wordnet_compounds(root: Path) -> tuple[set[str], set[str]]:
    """WordNet's noun lemmas of two words ("hot dog", "teddy bear", "computer mouse"), and those
    whose second word is among the names of their hypernyms (a pickup truck is a truck)."""
    base = root / "usr/share/wordnet"
    lemmas: dict[int, list[str]] = {}
    parents: dict[int, list[int]] = {}
    for line in (base / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split(" | ")[0].split()
        offset, count = int(fields[0]), int(fields[3], 16)
        lemmas[offset] = [fields[4 + 2 * i].lower().replace("_", " ") for i in range(count)]
        rest = fields[4 + 2 * count :]
        parents[offset] = [
            int(rest[2 + 4 * i]) for i in range(int(rest[0])) if rest[1 + 4 * i] in ("@", "@i")
        ]
    compounds, headed = set(), set()
    for line in (base / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" ") or line.split()[0].count("_") != 1:
            continue
        parts = line.split()
        name = parts[0].replace("_", " ")
        compounds.add(name)
        head = name.split()[1]
        stack = [int(o) for o in parts[len(parts) - int(parts[2]) :]]
        above: set[str] = set()
        while stack:
            node = stack.pop()
            for parent in parents.get(node, []):
                above.update(lemmas.get(parent, []))
                stack.append(parent)
        if any(head == a or a.endswith(" " + head) for a in above):
            headed.add(name)
    return compounds, headed


def wordnet_glosses(root: Path, words: set[str]) -> dict[str, str]:
    """word -> the gloss of its most frequent sense among things a picture can show (else of
    its most frequent sense)."""
    base = root / "usr/share/wordnet"
    senses: dict[str, list[int]] = {}
    for line in (base / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        parts = line.split()
        lemma = parts[0].replace("_", " ")
        if lemma in words:
            count = int(parts[2])
            senses[lemma] = [int(o) for o in parts[len(parts) - count :]]
    glosses = {}
    with open(base / "data.noun", "rb") as data:
        for lemma, offsets in senses.items():
            lines = []
            for offset in offsets:
                data.seek(offset)
                lines.append(data.readline().decode("latin-1"))
            chosen = next((ln for ln in lines if ln.split()[1] in PICTURABLE), lines[0])
            glosses[lemma] = chosen.partition("| ")[2].strip()
    return glosses


def debian_file_licences(copyright_file: Path) -> dict[str, str]:
    """File name -> licence from a machine-readable debian/copyright ("*" for the default)."""
    licences: dict[str, str] = {}
    for stanza in copyright_file.read_text(encoding="utf-8").split("\n\n"):
        files = re.search(r"^Files:(.*(?:\n .*)*)", stanza, re.M)
        licence = re.search(r"^License: *(\S+)", stanza, re.M)
        if files and licence:
            for name in files.group(1).split():
                licences[name if name == "*" else Path(name).name] = licence.group(1)
    return licences


def svg_meta(path: Path) -> tuple[str, list[str]]:
    """An Open Clip Art SVG's dc:title and its keywords (dc:subject)."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return "", []
    title = re.search(r"<dc:title>([^<]*)</dc:title>", head)
    subject = re.search(r"<dc:subject>(.*?)</dc:subject>", head, re.S)
    keywords = re.findall(r"<rdf:li>([^<]*)</rdf:li>", subject.group(1)) if subject else []
    return (title.group(1) if title else ""), keywords


def collect(cache: Path) -> list[Entry]:
    """Every file of the eval with its labels, from the unpacked packages."""
    entries: list[Entry] = []
    # Clean names first: they make the noun vocabulary that labels noisier sources.
    art4apps = fetch("pysiogame", cache) / "usr/share/games/pysiogame/res/images/art4apps"
    scratch = fetch("scratch", cache) / "usr/share/scratch/Media"
    openmoji = fetch("openmoji", cache) / "package"
    fluent = fetch("fluentui-emoji", cache) / "package/icons/modern"
    kvtml = kvtml_entries(fetch("kdeedu-kvtml-data", cache))
    tuberling = fetch("ktuberling-data", cache) / "usr/share/ktuberling/sounds"
    compounds, headed = wordnet_compounds(fetch("wordnet-base", cache))
    COMPOUNDS.update(compounds)
    HEADED.update(headed)
    sys.path.insert(0, str(HERE))
    from gcompris import gcompris_entries

    gcompris = gcompris_entries(
        fetch("gcompris-qt-data", cache) / "usr/share/gcompris-qt/rcc", cache / "gcompris"
    )
    photos = [
        g
        for g in gcompris
        if g["kind"] == "image" and g["activity"] in {*GCOMPRIS_CATEGORY, "categorization"}
    ]

    vocabulary: set[str] = set()
    for path in sorted(art4apps.glob("*/*.jpg")):
        vocabulary.add(path.stem.replace("_", " ").lower())
    for topic, word, _ in kvtml:
        if topic in CONCRETE_TOPICS:
            vocabulary.add(word)
    emoji = [
        e
        for e in json.loads((openmoji / "data/openmoji.json").read_text())
        if e["group"] in OPENMOJI_GROUPS and not e.get("skintone")
    ]
    for e in emoji:
        if " " not in e["annotation"] and ":" not in e["annotation"]:
            vocabulary.add(e["annotation"].lower())
    for g in photos:
        vocabulary.add(g["word"])  # names of photographed things: "red panda", "windmill"
    vocabulary = {v for v in vocabulary if len(v) > 2} - HEADS - {"monument", "solar"}

    for path in sorted(art4apps.glob("*/*.jpg")):
        word = path.stem.replace("_", " ").lower()
        entries.append(
            Entry(
                "image",
                "pysiogame",
                str(path.relative_to(art4apps.parents[4])),
                "drawing",
                {word} if word in vocabulary else set(),
                {f"art4apps:{path.parent.name}"},
                path=path,
            )
        )
    frames: set[str] = set()
    for path in sorted(scratch.glob("Costumes/*/*")):
        if path.suffix.lower() not in {".png", ".gif", ".jpg"} or path.parent.name == "Letters":
            continue
        stem = re.sub(r"\d*(-[a-z])?$", "", path.stem.lower())
        if (path.parent.name, stem) in frames:
            continue  # animation frames and numbered variants of one costume: keep the first
        frames.add((path.parent.name, stem))
        entries.append(
            Entry(
                "image",
                "scratch",
                str(path.relative_to(scratch.parents[3])),
                "drawing",
                nouns_in(tokens(stem), vocabulary),
                {f"scratch:Costumes/{path.parent.name}"},
                path=path,
            )
        )
    for path in sorted(scratch.glob("Backgrounds/*/*")):
        if path.suffix.lower() not in {".jpg"}:
            continue  # the .gif backgrounds are drawings of scenes, the .jpg ones photographs
        words = tokens(re.sub(r"\d+$", "", path.stem))
        entries.append(
            Entry(
                "image",
                "scratch",
                str(path.relative_to(scratch.parents[3])),
                "photo",
                nouns_in(words, vocabulary),
                set(),
                phrase=" ".join(words),
                path=path,
            )
        )
    for g in photos:
        folder = g["category"] if g["activity"] == "categorization" else None
        folder = folder or GCOMPRIS_CATEGORY.get(g["activity"])
        entries.append(
            Entry(
                "image",
                "gcompris-qt-data",
                g["original"],
                "photo",
                name_nouns(g["word"], vocabulary) | ({g["word"]} & vocabulary),
                {f"gcompris:{folder}"} if folder else set(),
                phrase=g.get("caption"),
                path=g["path"],
                licence=g["licence"],
            )
        )
    fluent_names = {p.stem: p for p in fluent.glob("*.svg")}
    for e in sorted(emoji, key=lambda e: e["hexcode"]):
        name = e["annotation"].lower()
        labels = name_nouns(e["annotation"], vocabulary)
        subgroup = e["subgroups"]
        svg = openmoji / "color/svg" / f"{e['hexcode']}.svg"
        if not svg.is_file():
            continue
        common = dict(nouns=labels, categories={f"openmoji:{subgroup}"}, phrase=name, render="svg")
        entries.append(
            Entry("image", "openmoji", f"color/svg/{svg.name}", "emoji", path=svg, **common)
        )
        kebab = re.sub(r"[^a-z0-9]+", "-", name).strip("-")
        if kebab in fluent_names:
            entries.append(
                Entry(
                    "image",
                    "fluentui-emoji",
                    f"icons/modern/{kebab}.svg",
                    "emoji",
                    path=fluent_names[kebab],
                    **common,
                )
            )

    clipart_svg = fetch("openclipart-svg", cache) / "usr/share/openclipart/svg"
    clipart_png = fetch("openclipart-png", cache) / "usr/share/openclipart/png"
    for folder in OPENCLIPART_FOLDERS:
        for svg in sorted((clipart_svg / folder).rglob("*.svg")):
            if svg.is_symlink() or "_bw" in svg.stem:
                continue
            sub = str(svg.parent.relative_to(clipart_svg))
            if folder == "animals" and sub == "animals/fantasy":
                continue
            png = clipart_png / sub / f"{svg.stem}.png"
            if not png.is_file():
                continue
            title, keywords = svg_meta(svg)
            # The file name's first words name the object; else the title (many are Italian, and
            # some were copied from another drawing: 13 outlines are all "chipmunk"); keywords only
            # when neither does, and never the generic folder-like keywords.
            labels = nouns_in(tokens(svg.stem)[:2], vocabulary) - GENERIC
            if not labels:
                labels = name_nouns(title, vocabulary) - GENERIC
            if not labels:
                labels = nouns_in([w for k in keywords for w in tokens(k)], vocabulary) - GENERIC
            if not labels:
                continue  # the folder alone is too vague to say what the picture shows
            entries.append(
                Entry(
                    "image",
                    "openclipart-png",
                    f"png/{sub}/{png.name}",
                    "clipart",
                    labels,
                    {f"openclipart:{sub}"},
                    path=png,
                )
            )

    # Sounds: three sample libraries and Scratch's named sounds; KTuberling's spoken words.
    lmms = fetch("lmms-common", cache) / "usr/share/lmms/samples"
    for path in sorted(lmms.rglob("*.ogg")):
        rel = str(path.relative_to(lmms))
        entries.append(
            Entry(
                "audio",
                "lmms-common",
                f"samples/{rel}",
                "sound",
                family=sound_family("lmms", rel),
                path=path,
            )
        )
    sonic = fetch("sonic-pi-samples", cache)
    sonic_licences = debian_file_licences(next(sonic.rglob("copyright")))
    for path in sorted(sonic.rglob("*.flac")):
        entries.append(
            Entry(
                "audio",
                "sonic-pi-samples",
                path.name,
                "sound",
                family=sound_family("sonic", path.stem),
                path=path,
                licence=sonic_licences.get(path.name, sonic_licences.get("*")),
            )
        )
    for path in sorted(scratch.glob("Sounds/*/*")):
        if path.suffix.lower() not in {".wav", ".mp3"}:
            continue
        rel = f"{path.parent.name}/{path.name}"
        entries.append(
            Entry(
                "audio",
                "scratch",
                f"Media/Sounds/{rel}",
                "sound",
                family=sound_family("scratch", rel),
                phrase=" ".join(tokens(re.sub(r"\d+$", "", path.stem))),
                path=path,
            )
        )
    theme = (tuberling / "en.soundtheme").read_text()
    for name, file in re.findall(r'<sound name="([^"]+)" file="([^"]+)"', theme):
        word = name.split("_")[-1].replace("brocolli", "broccoli")
        word = {"fallingstar": "falling star", "moonwalker": "moon walker"}.get(word, word)
        entries.append(
            Entry(
                "audio",
                "ktuberling-data",
                f"sounds/{file}",
                "speech",
                nouns_in(tokens(word), vocabulary) or {word},
                phrase=word,
                path=tuberling / file,
            )
        )

    for g in gcompris:
        if g["kind"] == "audio":
            entries.append(
                Entry(
                    "audio",
                    "gcompris-qt-data",
                    g["original"],
                    "sound",
                    family=GCOMPRIS_FAMILY.get(g["word"], g["word"]),
                    phrase=g["word"],
                    path=g["path"],
                    licence=g["licence"],
                )
            )
        elif g["kind"] == "text":
            entries.append(
                Entry(
                    "text",
                    "gcompris-qt-data",
                    g["original"],
                    "document",
                    nouns_in(tokens(g["word"]), vocabulary) | {g["word"]},
                    phrase=g["text"],
                    text=g["text"] + "\n",
                    licence=g["licence"],
                )
            )
    # Documents: vocabulary cards (word + hint) and WordNet glosses of the picture nouns.
    for topic, word, hint in kvtml:
        entries.append(
            Entry(
                "text",
                "kdeedu-kvtml-data",
                f"kvtml/en/{topic}.kvtml: {word}",
                "document",
                {word},
                phrase=hint,
                text=f"{word}\n\n{hint}\n",
            )
        )
    pictured = {n for e in entries if e.kind == "image" for n in e.nouns}
    glosses = wordnet_glosses(fetch("wordnet-base", cache), pictured)
    for word, gloss in sorted(glosses.items()):
        entries.append(
            Entry(
                "text",
                "wordnet-base",
                f"data.noun: {word}",
                "document",
                {word},
                text=f"{word}\n\n{gloss}\n",
            )
        )
    return entries


# Families of sounds that recordings of the same class share, from the libraries' own names.
FAMILIES: list[tuple[str, str, str]] = [
    # (family, source, regex on the source's path or name)
    ("kick drum", "lmms", r"^drums/(kick|bassdrum)|^beats/rave_kick"),
    ("kick drum", "sonic", r"^(bd_|drum_bass|drum_heavy_kick|elec_(hollow|soft)_kick)"),
    ("snare drum", "lmms", r"^drums/(snare|nasty_snare)|^beats/rave_snare"),
    ("snare drum", "sonic", r"^(sn_|drum_snare|elec_(hi|mid|lo|filt)?_?snare)"),
    ("hi-hat", "lmms", r"^drums/hihat|^beats/rave_hihat"),
    ("cymbal", "lmms", r"^drums/(crash|ride)"),
    ("cymbal", "sonic", r"^(drum_cymbal|drum_splash|elec_cymbal)"),
    ("cymbal", "scratch", r"^Percussion/(CymbalCrash|RideCymbal)"),
    ("tom drum", "lmms", r"^drums/tom"),
    ("tom drum", "sonic", r"^drum_tom"),
    ("hand clap", "lmms", r"^drums/clap"),
    ("hand clap", "scratch", r"^Percussion/HandClap"),
    ("shaker", "lmms", r"^drums/shaker"),
    ("shaker", "scratch", r"^Percussion/Shaker"),
    ("tabla", "sonic", r"^tabla_"),
    ("organ", "lmms", r"^instruments/(church_organ|e_organ)"),
    ("piano", "lmms", r"^instruments/(piano|e_piano)"),
    ("piano", "sonic", r"^ambi_piano"),
    ("guitar", "lmms", r"^instruments/steel_guitar|^latin/latin_guitar"),
    ("guitar", "sonic", r"^guit_"),
    ("guitar", "scratch", r"^(Instruments/GuitarStrum|Music Loops/GuitarChords)"),
    ("violin", "lmms", r"^instruments/(violin|cello)"),
    ("trumpet", "lmms", r"^instruments/trumpet|^latin/latin_brass"),
    ("trumpet", "scratch", r"^Instruments/Trumpet"),
    ("breakbeat drum loop", "lmms", r"^beats/break"),
    ("breakbeat drum loop", "sonic", r"^loop_(amen|breakbeat)"),
    ("metronome", "lmms", r"^misc/metronome"),
    ("bell", "lmms", r"^misc/(dong|metalish_dong)"),
    ("bell", "sonic", r"^(perc_bell|elec_bell)"),
    ("bell", "scratch", r"^Effects/BellToll|^Percussion/Gong"),
    ("laser zap", "lmms", r"^drums/zap"),
    ("laser zap", "scratch", r"^Electronic/Laser"),
    ("vinyl record scratch", "sonic", r"^vinyl_"),
    ("vinyl record scratch", "lmms", r"^effects/scratch"),
    ("robot voice", "sonic", r"^mehackit_robot"),
    ("phone ringing", "sonic", r"^mehackit_phone"),
    ("dog barking", "scratch", r"^Animal/Dog"),
    ("cat meowing", "scratch", r"^Animal/(Cat|Meow|Kitten)"),
    ("horse", "scratch", r"^Animal/Horse"),
    ("bird call", "scratch", r"^Animal/(Bird|Owl|Rooster|Duck|Goose)"),
    ("bird call", "sonic", r"^misc_crow"),
    ("crickets chirping", "scratch", r"^Animal/Cricket"),
    (
        "water",
        "scratch",
        r"^Effects/(Bubbles|WaterDrop|WaterRunning|Ripples|Plunge)|^Music Loops/DripDrop",
    ),
    ("door", "scratch", r"^Effects/Door"),
    ("door", "sonic", r"^perc_door"),
    ("vehicle passing", "scratch", r"^Effects/(CarPassing|MotorcyclePassing)"),
    ("laughter", "scratch", r"^Human/Laugh"),
    ("scream", "scratch", r"^Human/Scream"),
    ("cough", "scratch", r"^Human/Cough"),
    ("sneeze", "scratch", r"^Human/Sneeze"),
    ("footsteps", "scratch", r"^Human/Footsteps"),
    ("beatbox", "scratch", r"^Vocals/BeatBox|^Music Loops/HumanBeatbox"),
    (
        "singing",
        "scratch",
        r"^Vocals/(Singer|Come-and-play|Got-inspiration|Join-us|Sing-me-a-song|Hey-yay-hey)",
    ),
    ("xylophone", "scratch", r"^Music Loops/[Xx]ylo"),
    ("drum kit", "scratch", r"^Music Loops/(Drum|DrumSet|DrumMachine)"),
    ("computer beeps", "scratch", r"^Electronic/ComputerBeeps"),
    ("computer beeps", "sonic", r"^elec_(beep|blip)"),
    ("applause", "lmms", r"^misc/(applause|raving_crowd)"),
    ("applause", "scratch", r"^Human/PartyNoise"),
]


def sound_family(source: str, name: str) -> str | None:
    for family, where, pattern in FAMILIES:
        if where == source and re.search(pattern, name):
            return family
    return None


# -- writing --------------------------------------------------------------------------------------
def write_media(entries: list[Entry], out: Path | None) -> None:
    """Each entry under an opaque name; SVGs rasterised to 256-px PNGs with their transparency."""
    rng = random.Random(SEED)
    order = list(range(len(entries)))
    rng.shuffle(order)  # numbering says nothing about source or label
    counters = {"image": 0, "audio": 0, "text": 0}
    prefix = {"image": "images/img", "audio": "audio/snd", "text": "documents/doc"}
    for index in order:
        entry = entries[index]
        counters[entry.kind] += 1
        if entry.kind == "text":
            suffix = ".txt"
        elif entry.render == "svg":
            suffix = ".png"
        else:
            suffix = entry.path.suffix.lower()
        entry.name = f"{prefix[entry.kind]}_{counters[entry.kind]:05d}{suffix}"
    if out is None:
        return
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        sys.exit("rsvg-convert is missing: apt-get install -y librsvg2-bin")
    if out.exists():
        shutil.rmtree(out)
    for sub in ("images", "audio", "documents"):
        (out / sub).mkdir(parents=True)
    for entry in entries:
        target = out / entry.name
        if entry.kind == "text":
            target.write_text(entry.text or "", encoding="utf-8")
        elif entry.render == "svg":
            subprocess.run(
                [rsvg, "-w", "256", "-a", "-o", str(target), str(entry.path)], check=True
            )
        elif entry.kind == "image" and _too_large(entry.path):
            _downscale(entry.path, target)
        else:
            shutil.copyfile(entry.path, target)


MAX_SIDE = 640  # the few giant Open Clip Art renderings (16000 px) are stored at this size


def _too_large(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        return max(image.size) > 4 * MAX_SIDE


def _downscale(path: Path, target: Path) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # trusted package files, read once to shrink them
    with Image.open(path) as image:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        image.save(target)


def unreadable(entry: Entry) -> bool:
    """Files no decoder here reads (WAV holding Ogg Vorbis, format tag 0x674F, in LMMS): they stay
    in the collection, as in a real one, and crossmodal reports them, but no query counts them."""
    if entry.kind != "audio" or entry.path is None:
        return False
    with open(entry.path, "rb") as handle:
        head = handle.read(22)
    return head[:4] == b"RIFF" and head[20:22] == b"\x4f\x67"


_DIGESTS: dict[int, str] = {}


def _digest(entry: Entry) -> str:
    """SHA-256 of the entry's source bytes (its SVG, for rendered emoji)."""
    if id(entry) not in _DIGESTS:
        data = entry.path.read_bytes() if entry.path else (entry.text or "").encode()
        _DIGESTS[id(entry)] = hashlib.sha256(data).hexdigest()
    return _DIGESTS[id(entry)]


def _sample(rows: list, n: int, rng: random.Random) -> list:
    return rows if len(rows) <= n else sorted(rng.sample(rows, n), key=rows.index)


def make_queries(entries: list[Entry]) -> list[dict]:
    """Labelled queries of every kind, their relevance judged only by the sources' labels."""
    rng = random.Random(SEED)
    entries = [e for e in entries if not unreadable(e)]
    images = [e for e in entries if e.kind == "image"]
    sounds = [e for e in entries if e.kind == "audio" and e.style == "sound"]
    speech = [e for e in entries if e.kind == "audio" and e.style == "speech"]
    docs = [e for e in entries if e.kind == "text"]
    by_noun: dict[str, list[Entry]] = defaultdict(list)
    for e in images:
        for n in e.nouns:
            by_noun[n].append(e)
    docs_by_noun: dict[str, list[Entry]] = defaultdict(list)
    for e in docs:
        for n in e.nouns:
            docs_by_noun[n].append(e)
    queries: list[dict] = []
    seen: set[str] = set()
    by_name = {e.name: e for e in entries}

    def add(kind: str, query, type_: str, relevant: list[Entry]) -> None:
        own = (
            by_name.get(query.get("image") or query.get("audio"))
            if isinstance(query, dict)
            else None
        )
        if own is not None:  # a byte-identical copy of the query picture would make it trivial
            relevant = [r for r in relevant if r is not own and _digest(r) != _digest(own)]
        names = sorted({r.name for r in relevant})
        key = json.dumps([query, type_], sort_keys=True)
        if names and key not in seen:  # the same question twice counts once
            seen.add(key)
            number = sum(1 for q in queries if q["kind"] == kind) + 1
            queries.append(
                {
                    "id": f"{kind}-{number:04d}",
                    "kind": kind,
                    "query": query,
                    "type": type_,
                    "relevant": names,
                }
            )

    # text -> image: object words pictured in at least two styles
    shared = [n for n in sorted(by_noun) if len({e.style for e in by_noun[n]}) >= 2]
    for noun in shared:
        add("text->image", article(noun), "image", by_noun[noun])
    # text -> image: categories, from the sources' own folders and subgroups, completed by noun
    for phrase, where in CATEGORIES.items():
        members = category_members(images, where)
        if len(members) >= 3:
            add("text->category", phrase, "image", members)
    # text -> image: descriptions (an emoji's CLDR name, a vocabulary hint, a photo's name)
    described = [e for e in images if e.source == "openmoji" and len(tokens(e.phrase or "")) >= 2]
    for e in _sample(described, 300, rng):
        add(
            "text->image-description",
            e.phrase,
            "image",
            [x for x in images if x.phrase == e.phrase and x.style == "emoji"],
        )
    for e in docs:
        if e.source == "kdeedu-kvtml-data" and e.phrase and by_noun.get(next(iter(e.nouns))):
            add("text->image-description", e.phrase, "image", by_noun[next(iter(e.nouns))])
    for e in docs:
        if e.source == "gcompris-qt-data":
            add(
                "text->image-description",
                e.phrase,
                "image",
                [x for x in images if x.phrase == e.phrase],
            )
    photos = [e for e in images if e.style == "photo" and e.source == "scratch"]
    for e in photos:
        add(
            "text->image-description",
            f"a photo of {e.phrase}",
            "image",
            [x for x in photos if x.phrase == e.phrase],
        )
    # image -> text: a picture finds the documents about what it shows
    with_docs = [e for e in images if any(docs_by_noun.get(n) for n in e.nouns)]
    for e in _sample(with_docs, 400, rng):
        add(
            "image->text",
            {"image": e.name},
            "text",
            [d for n in e.nouns for d in docs_by_noun.get(n, [])],
        )
    # image -> image: the same emoji drawn by another artist, and the same object across sources
    pairs = [e for e in images if e.source == "openmoji"]
    for e in _sample(pairs, 250, rng):
        twin = [x for x in images if x.source == "fluentui-emoji" and x.phrase == e.phrase]
        add("image->image-emoji", {"image": e.name}, "image", twin)
    crossing = [e for e in images if e.style != "emoji" and e.nouns]
    for e in _sample(crossing, 400, rng):
        others = [x for n in e.nouns for x in by_noun[n] if x is not e]
        add("image->image", {"image": e.name}, "image", others)
    # audio -> audio and text -> audio: families of sounds
    families: dict[str, list[Entry]] = defaultdict(list)
    for e in sounds:
        if e.family:
            families[e.family].append(e)
    for family, members in sorted(families.items()):
        if len(members) < 2:
            continue
        for e in members:
            add("audio->audio", {"audio": e.name}, "audio", [m for m in members if m is not e])
        add("text->audio", article(family), "audio", members)
    for e in sounds:
        if e.source == "scratch" and e.phrase and len(e.phrase) > 2:
            add("text->audio", e.phrase, "audio", [x for x in sounds if x.phrase == e.phrase])
    # speech: a spoken word finds pictures of it; a word finds the clip that says it
    for e in speech:
        add("text->speech", e.phrase, "audio", [x for x in speech if x.phrase == e.phrase])
        pictured = [x for n in e.nouns for x in by_noun.get(n, [])]
        add("speech->image", {"audio": e.name}, "image", pictured)
    # fused: a picture plus its word; a sound plus its family's name
    for e in _sample(crossing, 150, rng):
        noun = sorted(e.nouns)[0]
        others = [x for x in by_noun[noun] if x is not e]
        add("fused", {"image": e.name, "text": article(noun)}, "image", others)
    for family, members in sorted(families.items()):
        if len(members) >= 3:
            add("fused", {"audio": members[0].name, "text": article(family)}, "audio", members[1:])
    # negated: a category without one of its members
    for phrase, where in CATEGORIES.items():
        members = category_members(images, where)
        counts: dict[str, int] = defaultdict(int)
        for e in members:
            for n in e.nouns:
                counts[n] += 1
        common = sorted(counts, key=lambda n: (-counts[n], n))[:2]
        for noun in common:
            if counts[noun] < 3:
                continue
            kept = [e for e in members if noun not in e.nouns]
            add("negated", {"text": phrase, "not": article(noun)}, "image", kept)
    return queries


def category_members(images: list[Entry], where: dict[str, list[str]]) -> list[Entry]:
    """The pictures the sources file under a category, plus the other pictures of a noun that
    the sources mostly file there (an Art4Apps "eagle" is a bird because the eagles filed in
    animal-bird are most of the eagles); a noun filed there by one stray picture ("apple" under
    animals/fish) pulls in nothing."""
    direct = [e for e in images if _in_category(e, where)]
    inside: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for e in images:
        for n in e.nouns:
            total[n] += 1
    for e in direct:
        for n in e.nouns:
            inside[n] += 1
    typical = {n for n, c in inside.items() if c >= 2 and c * 2 >= total[n]}
    chosen = set(map(id, direct))
    return direct + [e for e in images if id(e) not in chosen and e.nouns and e.nouns <= typical]


def _in_category(entry: Entry, where: dict[str, list[str]]) -> bool:
    for label in entry.categories:
        source, _, folder = label.partition(":")
        for prefix in where.get(source, []):
            if folder == prefix or folder.startswith(
                prefix if prefix.endswith("-") else prefix + "/"
            ):
                return True
    return False


def make_groups(entries: list[Entry]) -> dict[str, list[str]]:
    """Recommendation groups: pictures of one object across sources, sounds of one family."""
    groups: dict[str, list[str]] = {}
    by_noun: dict[str, list[str]] = defaultdict(list)
    entries = [e for e in entries if not unreadable(e)]
    for e in entries:
        if e.kind == "image":
            for n in e.nouns:
                by_noun[n].append(e.name)
    for noun, names in sorted(by_noun.items()):
        if 3 <= len(names) <= 12:
            groups[f"pictures of {article(noun)}"] = sorted(names)
    families: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        if e.kind == "audio" and e.family:
            families[e.family].append(e.name)
    for family, names in sorted(families.items()):
        if len(names) >= 3:
            groups[f"sounds: {family}"] = sorted(names)
    return groups


def media_complete(out: Path) -> bool:
    """Whether a finished build is in `out` and holds every file manifest.jsonl names."""
    marker = out / ".complete"
    if not marker.is_file():
        return False
    manifest = (HERE / "manifest.jsonl").read_bytes()
    if marker.read_text().strip() != hashlib.sha256(manifest).hexdigest():
        return False  # built from another manifest: the same names may hold other files
    lines = manifest.decode("utf-8").splitlines()
    return all((out / json.loads(line)["file"]).is_file() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--out", type=Path, default=HERE / "media")
    parser.add_argument(
        "--labels-only", action="store_true", help="write manifest, queries and groups but no media"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 when the media are built and match manifest.jsonl, else 1",
    )
    args = parser.parse_args(argv)
    if args.check:
        return 0 if media_complete(args.out) else 1
    entries = collect(args.cache)
    write_media(entries, None if args.labels_only else args.out)
    queries = make_queries(entries)
    with open(HERE / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for e in sorted(entries, key=lambda e: e.name):
            row = {
                "file": e.name,
                "source": e.source,
                "original": e.original,
                "style": e.style,
                "licence": e.licence or PACKAGES[e.source][3],
                "nouns": sorted(e.nouns),
                "categories": sorted(e.categories),
                "family": e.family,
                "phrase": e.phrase,
            }
            manifest.write(json.dumps({k: v for k, v in row.items() if v not in (None, [])}) + "\n")
    relative = {q["id"]: q for q in queries}
    with open(HERE / "queries.jsonl", "w", encoding="utf-8") as out:
        for q in relative.values():
            q["relevant"] = [f"media/{r}" for r in q["relevant"]]
            if isinstance(q["query"], dict):
                q["query"] = {
                    k: (f"media/{v}" if k in ("image", "audio") else v)
                    for k, v in q["query"].items()
                }
            out.write(json.dumps(q) + "\n")
    (HERE / "groups.json").write_text(json.dumps(make_groups(entries), indent=1) + "\n")
    if not args.labels_only:  # the media match this manifest (media_complete checks)
        digest = hashlib.sha256((HERE / "manifest.jsonl").read_bytes()).hexdigest()
        (args.out / ".complete").write_text(digest + "\n")
    kinds: dict[str, int] = defaultdict(int)
    for q in queries:
        kinds[q["kind"]] += 1
    files: dict[str, int] = defaultdict(int)
    for e in entries:
        files[e.kind] += 1
    print(json.dumps({"files": files, "queries": len(queries), "kinds": kinds}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
