"""Write crossmodal/encoders/data/e5_language_subspace.json: the directions along which
multilingual-e5-small's query vectors of different languages differ (language_subspace.py).

The texts are CLDR display names from Babel's locale data (pip package `babel`, BSD-3; CLDR under
the Unicode licence): each locale's names of territories and languages, short phrases like
search queries. No eval query is drawn from them (the multilingual eval takes emoji names).
Each language's mean "query:" vector is taken over up to --per-language names, sampled with a
fixed seed; the basis is the top singular vectors of the centred means.

Usage: python bench/make_e5_language_subspace.py [--rank 16] [--per-language 300]
(about 2 minutes on 2 cores; needs `pip install babel`, a build-time tool only)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Languages with CLDR's full name lists, in many scripts; the eval's six are among them.
LOCALES = [
    "ar",
    "bg",
    "bn",
    "ca",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hr",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "lt",
    "lv",
    "ms",
    "nb",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sr",
    "sv",
    "ta",
    "th",
    "tr",
    "uk",
    "ur",
    "vi",
    "zh",
]


def corpus(per_language: int, seed: int = 0) -> dict[str, list[str]]:
    from babel import Locale

    texts: dict[str, list[str]] = {}
    for code in LOCALES:
        locale = Locale.parse(code)
        names = sorted(
            {
                name
                for table in (locale.territories, locale.languages)
                for key, name in table.items()
                if name and not key.isdigit()  # "001" World, "419" Latin America: regions
            }
        )
        random.Random(f"{seed}:{code}").shuffle(names)
        texts[code] = names[:per_language]
    return texts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, default=16, help="directions kept in the file")
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import babel

    from crossmodal.encoders import language_subspace
    from crossmodal.encoders.multilingual import E5_ID, E5Model

    texts = corpus(args.per_language)
    model = E5Model(threads=2)
    started = time.perf_counter()
    languages, means = language_subspace.language_means(model.queries, texts)
    basis = language_subspace.subspace(means, args.rank)
    out = args.out or language_subspace.SUBSPACE_FILE
    about = {
        "model": E5_ID,
        "side": "query",
        "source": f"CLDR territory and language display names, babel {babel.__version__}",
        "languages": languages,
        "texts_per_language": {lang: len(texts[lang]) for lang in languages},
    }
    language_subspace.save(out, basis, about)
    print(
        f"{sum(map(len, texts.values()))} names in {len(languages)} languages embedded in"
        f" {time.perf_counter() - started:.0f} s; {basis.shape[0]} directions -> {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
