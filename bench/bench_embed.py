"""Image embedding throughput: the whole pipeline (`update`: scan, hash, probe, decode, preprocess,
encode, store, index) against the model-only forward pass on pre-decoded tensors, in the same run,
on PyTorch eager (the baseline) and on ONNX Runtime (what the builtin set runs on now).

Also: the FLOPs of one forward pass (counted from the exported graph's convolutions and matrix
products) and the FLOP/s each runtime achieves, against a float32 matrix product on the same cores
(the practical peak); with --sweep, ONNX Runtime's batch sizes and thread settings; and the CPU
time decoding and preparing a photo costs (the split between decoding and the model).

The photos are sample_data's real images, copied with small perturbations (crop, mirror, noise)
so every copy has its own content hash, and enlarged (--scale 4: about 4 Mpx, phone-photo sized)
so decoding costs what it costs on real collections.
Both paths use the builtin encoder set (EfficientNet-Lite0 + ConSE into MiniLM's space), loaded
and warmed once before timing, with the pipeline's batch size.

Usage: python bench/bench_embed.py [--images 400] [--scale 4] [--sweep] [--keep]
"""

from __future__ import annotations

import argparse
import io
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


def model_flops(model) -> float:  # type: ignore[no-untyped-def]
    """FLOPs of one 224x224 image through EfficientNet-Lite0 and its classifier: 2 x the
    multiply-adds of every convolution and linear layer (forward hooks on the PyTorch model);
    batch norm, activations and pooling are left out (under 1 %)."""
    import torch

    total = [0.0]

    def count(module, _inputs, output) -> None:  # type: ignore[no-untyped-def]
        if isinstance(module, torch.nn.Conv2d):
            per_output = module.in_channels // module.groups * np.prod(module.kernel_size)
            total[0] += 2.0 * output.numel() * per_output
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2.0 * output.numel() * module.in_features

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
    ]
    try:
        with torch.inference_mode():
            model._fc(model.extract_features(torch.zeros(1, 3, 224, 224)).mean(dim=(2, 3)))
    finally:
        for hook in hooks:
            hook.remove()
    return total[0]


def matmul_peak(threads: int) -> float:
    """FLOP/s of a large float32 matrix product (OpenBLAS, `threads` threads): the practical peak."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        started = time.perf_counter()
        for _ in range(5):
            a @ a
        seconds = (time.perf_counter() - started) / 5
    return 2.0 * 2048**3 / seconds


def forward_rate(run, pixels: np.ndarray, batch_size: int) -> float:  # type: ignore[no-untyped-def]
    """Images/s of `run` over all pixels, batch by batch (one warm-up batch first)."""
    run(pixels[:batch_size])
    started = time.perf_counter()
    for start in range(0, len(pixels), batch_size):
        run(pixels[start : start + batch_size])
    return len(pixels) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--scale", type=float, default=4.0, help="enlarge each copy (4: ~4 Mpx)")
    parser.add_argument("--sweep", action="store_true", help="ONNX batch sizes and threads")
    parser.add_argument("--no-spin", action="store_true", help="ONNX threads do not spin")
    parser.add_argument("--onnx-threads", type=int, help="intra-op threads (default: cores)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from crossmodal.encoders import load_encoder_set, onnx_runtime
    from crossmodal.media.image import load_image
    from crossmodal.pipeline import BATCH_SIZE, update
    from crossmodal.store import Store

    onnx_runtime.ALLOW_SPINNING = not args.no_spin
    print(machine_line())
    print(f"ONNX Runtime intra-op threads spin: {onnx_runtime.ALLOW_SPINNING}")
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

        store = Store.open_or_create(work / "store")
        encoder = load_encoder_set("builtin")
        encoder.offer_cache_dir(store.root / "cache")
        batch_size = BATCH_SIZE["image"]

        # Decoding and preparing every photo beforehand, on one thread: its CPU time per photo.
        transform = encoder.transform()
        started = time.perf_counter()
        pixels = np.stack([transform(load_image(path)) for path in files])
        decode = time.perf_counter() - started

        # PyTorch eager, as the builtin set ran before (the baseline).
        torch = encoder._torch()
        model = encoder.image_model()

        def torch_run(batch: np.ndarray):  # type: ignore[no-untyped-def]
            with torch.inference_mode():
                pooled = model.extract_features(torch.from_numpy(batch)).mean(dim=(2, 3))
                return pooled.numpy(), model._fc(pooled).softmax(dim=-1).numpy()

        classes = encoder.class_matrix()

        def with_conse(run):  # type: ignore[no-untyped-def]
            def both(batch: np.ndarray) -> None:
                _, probabilities = run(batch)
                top = np.argsort(-probabilities, axis=1)[:, :10]
                weights = np.take_along_axis(probabilities, top, axis=1)
                np.einsum("nt,ntd->nd", weights, classes[top])  # ConSE, as in encode_images

            return both

        rate_torch = forward_rate(with_conse(torch_run), pixels, batch_size)
        assert encoder.runtime() == "onnx", "the builtin set should run on ONNX Runtime"
        if args.onnx_threads:  # after PyTorch's baseline, which keeps every core
            encoder.threads = args.onnx_threads
        print(f"ONNX Runtime intra-op threads: {encoder.threads}")
        rate_onnx = forward_rate(with_conse(encoder.image_runner()), pixels, batch_size)
        reference, _ = torch_run(pixels[:batch_size])
        ours, _ = encoder.image_runner()(pixels[:batch_size])
        cosine = float(
            (
                (reference * ours).sum(1)
                / np.linalg.norm(reference, axis=1)
                / np.linalg.norm(ours, axis=1)
            ).min()
        )

        buffer = io.BytesIO()
        onnx_runtime.export_image_model(model, buffer)
        flops = model_flops(model)
        peak = matmul_peak(os.cpu_count() or 1)

        sweep: list[tuple[int, int, float]] = []
        if args.sweep:
            for threads_now in (1, 2):
                run = onnx_runtime.OnnxImageModel(
                    onnx_runtime.session(buffer.getvalue(), threads_now)
                ).run
                for size in (1, 4, 8, 16, 32, 64):
                    sweep.append((threads_now, size, forward_rate(run, pixels, size)))
        del pixels

        # The whole pipeline on the same photos, same process, models already loaded.
        stages: dict[str, float] = {}
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            now = time.perf_counter()
            marks.setdefault(stage, now)
            stages[stage] = now - marks[stage]

        started = time.perf_counter()
        summary = update(store, [photos], progress=progress)
        end_to_end = time.perf_counter() - started
        embedded = summary.embed.embedded.get("builtin-visual", 0)
        assert embedded == len(files) and summary.failed == 0, summary.to_dict()

        rate_e2e = len(files) / end_to_end
        print(f"\nEfficientNet-Lite0 forward pass: {flops / 1e9:.3f} GFLOP per image (224x224)")
        print(f"float32 matrix product on {os.cpu_count()} threads: {peak / 1e9:.0f} GFLOP/s")
        print(f"model-only (pre-decoded, batch {batch_size}, ConSE included):")
        for name, rate in (("PyTorch eager", rate_torch), ("ONNX Runtime", rate_onnx)):
            achieved = rate * flops
            print(
                f"   {name:14} {rate:6.1f} images/s  {achieved / 1e9:5.1f} GFLOP/s "
                f"({achieved / peak:.0%} of the matrix-product peak)"
            )
        print(f"   ONNX / PyTorch: {rate_onnx / rate_torch:.2f}x; pooled cosine min {cosine:.7f}")
        print("end-to-end update (scan, hash, probe, decode, preprocess, encode, store, index):")
        print(
            f"   {end_to_end:.1f} s, {rate_e2e:.1f} images/s = {rate_e2e / rate_torch:.2f}x "
            f"PyTorch model-only (target >= 3.0x), {rate_e2e / rate_onnx:.0%} of ONNX model-only"
        )
        print(
            f"decode + prepare on one thread: {decode:.1f} s, {decode / len(files) * 1000:.1f} ms "
            f"per photo; ONNX forward {1000 / rate_onnx:.1f} ms per photo on {encoder.threads} threads"
        )
        print(
            "   stages s: "
            + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in stages.items())
        )
        if sweep:
            print("ONNX Runtime model-only, images/s by intra-op threads and batch size:")
            for threads_now, size, rate in sweep:
                print(f"   threads {threads_now} batch {size:3}: {rate:6.1f}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
