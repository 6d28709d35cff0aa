"""Build the multilingual part of the large public eval from human translations.

    python eval/multilingual.py [--cache eval/.cache] [--out eval/multilingual_queries.jsonl]

Every query here is the human translation of an English query in eval/queries.jsonl (its "twin"),
with the twin's relevant set unchanged. Nothing is machine translated. The translations come from

* CLDR's emoji annotations (npm `cldr-annotations-full` and `cldr-annotations-derived-full`,
  Unicode licence v3): an English query is mapped to the emoji whose English CLDR name (tts) is
  exactly the query's noun ("a cat" -> 🐈 "cat"), the query's description (an emoji's CLDR name,
  "police car light"), or the sound's name ("a bell" family, Scratch's "dog"); the translation is
  that emoji's CLDR tts name in zh, es, de, ja and ru ("猫", "gato", "Katze", "ネコ", "кошка").
* ktuberling's Spanish speech clips (Debian `ktuberling-data`): `es.soundtheme` maps the English
  sound ids of `en.soundtheme` to files named by the Spanish word ("eye" -> es/ojo.wav). The de and
  ru themes name their files by the English id, so they give no written word.

"a NOUN" queries are translated to the bare noun (no article), so each one also gets an English
bare-noun copy (kind "text->image/en"; likewise "text->audio/en" for "a FAMILY"), and the
description and Scratch-name queries an unchanged English copy: each language is compared with
English on the same twins and in the same form. Skipped, by the rules below (SENSE, NARROWER and
`usable`): twins whose pictures mix senses of the English word, translations that name a narrower
or other thing than the English word, the animal-face names ("クマの顔", "морда медведя") CLDR gives
where English says just "bear", gendered forms with "/" or "(in)", translations in the wrong
script (zh "DNA"), and any translation shared by two twins of one kind in one language.

Reads the pinned packages (eval/build.py's fetch: downloaded once into the cache, SHA-256 checked)
and eval/queries.jsonl; writes eval/multilingual_queries.jsonl deterministically. See
eval/SOURCES.md ("The multilingual part").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402  (eval/build.py: PACKAGES, fetch, article)

LANGS = ("zh", "es", "de", "ja", "ru")

build.PACKAGES.update(
    {
        "cldr-annotations-full": (
            "npm",
            "48.2.0",
            "28576e51225deb51e3ddd734b0f824a0079682cb5d8c27faa9f68149317a14d1",
            "Unicode-3.0 (Unicode License v3)",
        ),
        "cldr-annotations-derived-full": (
            "npm",
            "48.2.0",
            "4be946ff5815f806ec78b50363d577a769f2fbfb90c6380a44e161a92436996e",
            "Unicode-3.0 (Unicode License v3)",
        ),
    }
)

# English twins left out in every language: their relevant pictures mix senses of the word (Art4Apps'
# "fly" is the verb, "a bat" holds baseball and cricket bats, "a cricket" a cricket bat, "a wood"
# a photo of woods), or the emoji's name is not the word's everyday sense ("link" is a hyperlink
# in de/ja/ru, 🍳 "cooking" is a fried egg, 🚧 "construction" a roadblock, 🧊 "ice" an ice cube,
# ☃ "snowman" a snowman in falling snow).
SENSE = {"bat", "cricket", "fly", "wood", "link", "cooking", "construction", "ice", "snowman"}
# (English name, language): the CLDR translation names a narrower or another thing than the
# English word: 🏰 "European castle", 🍞 "sliced bread", 🐿 "squirrel" for chipmunk, 🐪
# "dromedary" for camel, ja ザリガニ (crayfish) for lobster, ja バッタ (grasshopper) for cricket,
# ru щиколотка (ankle) for foot, de Fliegenpilz (fly agaric), de "pinke Schleife", es "iglesia
# celebrando boda", ja 住宅街 (residential street), ja 電車正面 (train, front view), ja 片目 (one
# eye), es meteorito (meteorite) for comet, de "Sonnenuntergang in der Stadt", ja わらぶき小屋
# (thatched hut), es pastel and de Kuchen (cake) for pie.
NARROWER = {
    ("castle", "zh"),
    ("castle", "es"),
    ("castle", "ja"),
    ("bread", "es"),
    ("bread", "ja"),
    ("chipmunk", "zh"),
    ("chipmunk", "es"),
    ("chipmunk", "ja"),
    ("camel", "es"),
    ("camel", "de"),
    ("camel", "ru"),
    ("lobster", "ja"),
    ("cricket", "ja"),
    ("foot", "ru"),
    ("mushroom", "de"),
    ("ribbon", "de"),
    ("wedding", "es"),
    ("houses", "ja"),
    ("train", "ja"),
    ("eye", "ja"),
    ("comet", "es"),
    ("sunset", "de"),
    ("hut", "ja"),
    ("pie", "es"),
    ("pie", "de"),
}
# Words for a face or head that CLDR adds where the English name has none ("bear" 🐻: ja クマの顔,
# ru морда медведя, "bear's muzzle").
FACE = {
    "zh": re.compile(r"脸"),
    "es": re.compile(r"\b(cara|cabeza)\b"),
    "de": re.compile(r"gesicht|kopf\b"),
    "ja": re.compile(r"顔"),
    "ru": re.compile(r"\b(морда|голова|лицо)\b"),
}
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# ktuberling's Spanish file names that are not one written word ("gafasdesol": gafas de sol).
JOINED = {"gafasdesol"}


def cldr_names(cache: Path) -> dict[str, dict[str, str]]:
    """language -> emoji (without U+FE0F) -> its CLDR tts name, annotations and derived ones."""
    full = build.fetch("cldr-annotations-full", cache) / "package/annotations"
    derived = build.fetch("cldr-annotations-derived-full", cache) / "package/annotationsDerived"
    names: dict[str, dict[str, str]] = {}
    for lang in ("en", *LANGS):
        table: dict[str, str] = {}
        for path, top in ((full, "annotations"), (derived, "annotationsDerived")):
            data = json.loads((path / lang / "annotations.json").read_text(encoding="utf-8"))
            for char, entry in sorted(data[top]["annotations"].items()):
                if entry.get("tts"):
                    table.setdefault(char.replace("\ufe0f", ""), entry["tts"][0])
        names[lang] = table
    return names


def tuberling_spanish(cache: Path) -> dict[str, str]:
    """English ktuberling word -> the Spanish word its es clip is named by (one word, unshared)."""
    sounds = build.fetch("ktuberling-data", cache) / "usr/share/ktuberling/sounds"
    pattern = r'<sound name="([^"]+)" file="([^"]+)"'
    english = dict(re.findall(pattern, (sounds / "en.soundtheme").read_text()))
    spanish = dict(re.findall(pattern, (sounds / "es.soundtheme").read_text()))
    words = {}
    for name, file in spanish.items():
        stem = Path(file).stem
        if name in english and stem != name and stem.isalpha() and stem not in JOINED:
            words[name] = stem
    shared = {w for w in words.values() if list(words.values()).count(w) > 1}  # lazo: bow, tie
    return {name: word for name, word in sorted(words.items()) if word not in shared}


def usable(english: str, translated: str, lang: str, kind: str) -> bool:
    """Whether a CLDR translation can stand for the English query (see the module's rules)."""
    if (kind == "text->image" and english in SENSE) or (english, lang) in NARROWER:
        return False
    if "/" in translated or "(" in translated:
        return False  # gendered forms: "Bauer/Bäuerin", "Pilot(in)"
    low = translated.lower()
    if not re.search(r"\b(face|head)\b", english) and FACE[lang].search(low):
        return False
    if lang in {"zh", "ja"} and not CJK.search(translated):
        return False
    if lang == "ru" and not CYRILLIC.search(translated):
        return False
    return not (kind == "text->image-description" and low == english.lower())  # left in English


def english_form(query: str, kind: str, names: set[str]) -> str | None:
    """The CLDR English name an English query says, or None ("a cat" -> "cat")."""
    if kind == "text->image-description":
        return query if query in names else None
    for name in (query, re.sub(r"^an? ", "", query)):
        if name in names and (query == build.article(name) or query == name):
            if kind == "text->image" and query == name and name not in build.PLURAL_ONLY:
                continue
            return name
    return None


def make(cache: Path, queries: list[dict]) -> list[dict]:
    names = cldr_names(cache)
    by_english = {tts.lower(): char for char, tts in names["en"].items()}
    spanish = tuberling_spanish(cache)
    # (lang, kind) -> (translated text, English twin), in the order of queries.jsonl
    found: dict[tuple[str, str], list[tuple[str, dict]]] = defaultdict(list)
    english_copies: dict[str, str] = {}  # twin id -> its English query in the translated form
    for q in queries:
        kind = q["kind"]
        if kind not in {"text->image", "text->image-description", "text->audio"}:
            continue
        if not isinstance(q["query"], str):
            continue
        name = english_form(q["query"], kind, set(by_english))
        words: dict[str, list[str]] = defaultdict(list)
        if name is not None:
            char = by_english[name]
            for lang in LANGS:
                translated = names[lang][char]
                if usable(name, translated, lang, kind):
                    words[lang].append(translated)
        if kind == "text->image":
            noun = re.sub(r"^an? ", "", q["query"])
            tuberling = spanish.get(noun) if q["query"] == build.article(noun) else None
            if (
                tuberling
                and noun not in SENSE
                and tuberling not in [w.lower() for w in words.get("es", [])]
            ):
                words["es"].append(tuberling)
            name = name or (noun if noun in spanish else None)
        for lang, texts in words.items():
            for text in texts:
                found[(lang, kind)].append((text, q))
        if words:
            english_copies[q["id"]] = name if kind != "text->image-description" else q["query"]
    rows: list[dict] = []
    for lang in LANGS:
        for kind in ("text->image", "text->image-description", "text->audio"):
            pairs = found[(lang, kind)]
            # A translation shared by twins of different relevant sets is ambiguous: it stays only
            # for a twin whose set holds all the others' ("a horse", the family, holds Scratch's
            # "horse"); otherwise it is dropped.
            twins: dict[str, list[set[str]]] = defaultdict(list)
            for text, q in pairs:
                twins[text.lower()].append(set(q["relevant"]))
            kept = [
                (t, q)
                for t, q in pairs
                if all(other <= set(q["relevant"]) for other in twins[t.lower()])
            ]
            seen: set[str] = set()
            for text, q in kept:
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                rows.append(_row(lang, kind, text, q, rows))
    used = {r["twin"] for r in rows}
    for q in queries:  # the English copies, for the twins some language kept
        if q["id"] in used:
            rows.append(_row("en", q["kind"], english_copies[q["id"]], q, rows))
    return rows


def _row(lang: str, kind: str, text: str, twin: dict, rows: list[dict]) -> dict:
    number = sum(1 for r in rows if r["lang"] == lang and r["kind"] == f"{kind}/{lang}") + 1
    return {
        "id": f"ml-{lang}-{kind}-{number:04d}",
        "kind": f"{kind}/{lang}",
        "query": text,
        "type": twin["type"],
        "relevant": twin["relevant"],
        "twin": twin["id"],
        "lang": lang,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--queries", type=Path, default=HERE / "queries.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "multilingual_queries.jsonl")
    args = parser.parse_args(argv)
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    rows = make(args.cache, queries)
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["kind"]] += 1
    for kind in sorted(counts):
        print(f"{kind:32} {counts[kind]:5}")
    print(f"{'all':32} {len(rows):5} ({sum(r['lang'] != 'en' for r in rows)} not English)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
