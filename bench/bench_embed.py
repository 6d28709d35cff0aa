"""Image embedding throughput: the whole pipeline (`update`: scan, hash, probe, decode, preprocess,
encode, store, index) against the model-only forward pass on pre-decoded tensors, in the same run.

The photos are sample_data's real images, copied with small perturbations (crop, mirror, noise)
so every copy has its own content hash, and enlarged (--scale 4: about 4 Mpx, phone-photo sized)
so decoding costs what it costs on real collections.
Both paths use the builtin encoder set (EfficientNet-Lite0 + ConSE into MiniLM's space), loaded
and warmed once before timing, with the pipeline's batch size.

Usage: python bench/bench_embed.py [--images 400] [--scale 4] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_update import machine_line  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "images"


def make_photos(folder: Path, count: int, scale: float) -> None:
    from PIL import Image, ImageOps

    sources = sorted(p for p in SAMPLE.iterdir() if p.suffix.lower() in {".jpg", ".png", ".webp"})
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for number in range(count):
        with Image.open(sources[number % len(sources)]) as original:
            image = original.convert("RGB")
        width, height = image.size
        dx, dy = (
            int(rng.integers(0, max(1, width // 20))),
            int(rng.integers(0, max(1, height // 20))),
        )
        image = image.crop((dx, dy, width - dx, height - dy))
        if scale != 1:  # phone-sized photos exercise JPEG draft decoding
            image = image.resize((int(image.width * scale), int(image.height * scale)))
        if number % 2:
            image = ImageOps.mirror(image)
        pixels = np.asarray(image, dtype=np.int16)
        pixels = pixels + rng.integers(-3, 4, size=pixels.shape)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            folder / f"photo{number:05d}.jpg", quality=90
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--scale", type=float, default=4.0, help="enlarge each copy (4: ~4 Mpx)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from crossmodal.encoders import load_encoder_set
    from crossmodal.media.image import load_image
    from crossmodal.pipeline import BATCH_SIZE, update
    from crossmodal.store import Store

    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-embed-"))
    try:
        photos = work / "photos"
        started = time.perf_counter()
        make_photos(photos, args.images, args.scale)
        files = sorted(photos.iterdir())
        megapixels = []
        for path in files[:50]:
            from PIL import Image

            with Image.open(path) as image:
                megapixels.append(image.size[0] * image.size[1] / 1e6)
        print(
            f"made {len(files)} photos ({np.mean(megapixels):.2f} Mpx on average) "
            f"in {time.perf_counter() - started:.1f} s"
        )

        encoder = load_encoder_set("builtin")
        batch_size = BATCH_SIZE["image"]
        warm = [load_image(path) for path in files[:batch_size]]
        encoder.encode("image", warm)  # loads the models and the ConSE class matrix

        # Model only: every photo decoded and preprocessed beforehand, then forward passes.
        torch = encoder._torch()
        transform = encoder.transform()
        started = time.perf_counter()
        tensors = [transform(load_image(path)) for path in files]
        decode = time.perf_counter() - started  # one thread: the CPU time decoding costs

        model = encoder.image_model()
        classes = encoder.class_matrix()
        started = time.perf_counter()
        for start in range(0, len(tensors), batch_size):
            batch = torch.stack(tensors[start : start + batch_size])
            with torch.inference_mode():
                features = model.extract_features(batch)
                pooled = features.mean(dim=(2, 3))
                probabilities = model._fc(pooled).softmax(dim=-1)
            top = probabilities.topk(10, dim=-1)
            np.einsum(
                "nt,ntd->nd", top.values.numpy(), classes[top.indices.numpy()]
            )  # ConSE, as in encode_images
        model_only = time.perf_counter() - started
        del tensors

        # The whole pipeline on the same photos, same process, models already loaded.
        stages: dict[str, float] = {}
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            now = time.perf_counter()
            marks.setdefault(stage, now)
            stages[stage] = now - marks[stage]

        store = Store.open_or_create(work / "store")
        started = time.perf_counter()
        summary = update(store, [photos], progress=progress)
        end_to_end = time.perf_counter() - started
        embedded = summary.embed.embedded.get("builtin-visual", 0)
        assert embedded == len(files) and summary.failed == 0, summary.to_dict()

        rate_model = len(files) / model_only
        rate_e2e = len(files) / end_to_end
        print(f"\nmodel-only forward (pre-decoded tensors, batch {batch_size}):")
        print(f"   {model_only:.1f} s, {rate_model:.1f} images/s")
        print("end-to-end update (scan, hash, probe, decode, preprocess, encode, store, index):")
        print(
            f"   {end_to_end:.1f} s, {rate_e2e:.1f} images/s = {rate_e2e / rate_model:.0%} of "
            "model-only (target >= 85 %)"
        )
        print(
            f"decode + preprocess of the same photos on one thread: {decode:.1f} s "
            "(the pipeline overlaps it with inference)"
        )
        print(
            "   stages s: "
            + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in stages.items())
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
