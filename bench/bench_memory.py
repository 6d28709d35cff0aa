"""Peak memory (RSS) of indexing a folder of photos: it must stay flat as the collection grows.

Runs `update` (scan, hash, probe, decode, embed, store, HNSW index) in a fresh process per size and
reads the kernel's high-water mark (VmHWM), plus RSS sampled at each stage. The baseline, measured
in the same run, is the same pipeline on a tenth of the photos: peak(N) / peak(N/10) near 1.0
means memory does not grow with the collection. Target: at most 2 GB.

Photos are sample_data's real images, cropped, mirrored, resized (420 px wide, ~0.1 Mpx) and noised so every
file has its own content hash.

Encoders:
- `builtin` (default): the real offline models. The forward pass bounds the rate at about
  14 images/s on 2 cores, so 10,000 photos take about 13 minutes.
- `pixels`: the same pipeline and the builtin set's space sizes (384-d semantic, 1280-d visual),
  with the model replaced by a fixed projection of 16x16 thumbnails, so 100,000 photos fit in
  minutes. Everything but the model's own (constant) memory is measured.

Usage: python bench/bench_memory.py [--images 10000] [--encoder builtin|pixels] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_update import machine_line  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "images"
PER_FOLDER = 1000
LIMIT_MB = 2048


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


_SOURCES: list = []


def _make_one(task: tuple[int, str]) -> None:
    from PIL import Image, ImageOps

    if not _SOURCES:  # once per worker: the originals, 480 px wide
        for path in sorted(SAMPLE.iterdir()):
            if path.suffix.lower() in {".jpg", ".png", ".webp"}:
                with Image.open(path) as original:
                    image = original.convert("RGB")
                _SOURCES.append(image.resize((480, max(1, 480 * image.height // image.width))))
    number, target = task
    rng = np.random.default_rng(number)
    image = _SOURCES[number % len(_SOURCES)]
    width, height = image.size
    left, top = int(rng.integers(0, width // 8 + 1)), int(rng.integers(0, height // 8 + 1))
    image = image.crop((left, top, left + width * 7 // 8, top + height * 7 // 8))
    if number % 2:
        image = ImageOps.mirror(image)
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(
        -3, 4, size=(image.height, image.width, 3), dtype=np.int16
    )
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target, quality=85)


def make_photos(folder: Path, count: int) -> None:
    """count photos in folders of PER_FOLDER (folder 0 holds the first tenth when count >= 10k)."""
    tasks = []
    for number in range(count):
        sub = folder / f"d{number // PER_FOLDER:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        tasks.append((number, str(sub / f"photo{number:06d}.jpg")))
    with Pool(os.cpu_count() or 1) as pool:
        pool.map(_make_one, tasks, chunksize=200)


class PixelEncoderSet:
    """The builtin set's image spaces (same names and sizes), filled by a fixed random projection
    of a 16x16 thumbnail: decode and preprocessing stay real, only the model is cheap."""

    name = "pixels"
    audio_sample_rate = 16000

    def __init__(self) -> None:
        from crossmodal.encoders.base import SpaceSpec

        self.spaces = {
            "builtin-semantic": SpaceSpec("builtin-semantic", 384, frozenset({"text", "image"})),
            "builtin-visual": SpaceSpec("builtin-visual", 1280, frozenset({"image"})),
        }
        rng = np.random.default_rng(0)
        self.projections = {
            name: rng.normal(size=(768, spec.dim)).astype(np.float32)
            for name, spec in self.spaces.items()
        }

    def encode(self, modality: str, inputs: list) -> dict[str, np.ndarray]:
        from crossmodal.encoders.base import l2_normalize

        if modality != "image":
            raise ValueError(modality)
        thumbs = np.stack(
            [np.asarray(image.resize((16, 16)), dtype=np.float32).ravel() / 255 for image in inputs]
        )
        thumbs -= thumbs.mean(axis=1, keepdims=True)
        return {name: l2_normalize(thumbs @ matrix) for name, matrix in self.projections.items()}


def child(encoder_name: str, store_dir: str, root: str) -> None:
    """One measured run in a fresh process; prints a JSON line of figures."""
    from crossmodal.store import Store

    started = time.perf_counter()
    if encoder_name == "pixels":
        encoder = PixelEncoderSet()
        store = Store.open_or_create(store_dir)
    else:
        from crossmodal.encoders import load_encoder_set
        from crossmodal.media.image import load_image

        encoder = load_encoder_set("builtin")
        store = Store.open_or_create(store_dir)
        first = next(Path(root).rglob("*.jpg"))
        encoder.encode("image", [load_image(first)])  # load the models: the constant floor
        encoder.encode("text", ["warm"])
    floor = _rss_mb()
    stage_peaks: dict[str, float] = {}
    last = [0.0]

    def progress(stage: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.5 or (total is not None and done == total):
            last[0] = now
            stage_peaks[stage] = max(stage_peaks.get(stage, 0.0), _rss_mb())

    from crossmodal.pipeline import update

    summary = update(store, [Path(root)], encoder=encoder, progress=progress)
    counts = summary.embed.embedded
    print(
        json.dumps(
            {
                "floor_mb": floor,
                "peak_mb": _rss_mb("VmHWM"),
                "stage_peaks_mb": stage_peaks,
                "embedded": counts,
                "failed": summary.failed,
                "seconds": time.perf_counter() - started,
            }
        )
    )


def measure(encoder: str, store: Path, root: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", encoder, str(store), str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode:
        raise SystemExit(f"child failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--encoder", choices=["builtin", "pixels"], default="builtin")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.images < 10 * PER_FOLDER and args.images % 10:
        raise SystemExit("--images: a multiple of 10 please")

    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-memory-"))
    try:
        photos = work / "photos"
        started = time.perf_counter()
        if args.images >= 10 * PER_FOLDER:
            make_photos(photos, args.images)
            tenth = photos / "d000"  # the first PER_FOLDER photos
            small_count = PER_FOLDER * max(1, args.images // (10 * PER_FOLDER))
            if small_count > PER_FOLDER:  # gather the first tenth under one root
                tenth = work / "tenth"
                tenth.mkdir()
                for number in range(small_count // PER_FOLDER):
                    os.symlink(photos / f"d{number:03d}", tenth / f"d{number:03d}")
        else:
            make_photos(photos, args.images)
            small_count = args.images // 10
            tenth = work / "tenth"
            tenth.mkdir()
            for path in sorted(photos.rglob("*.jpg"))[:small_count]:
                os.symlink(path, tenth / path.name)
        print(f"made {args.images} photos in {time.perf_counter() - started:.0f} s")
        print(
            f"{'encoder':>8} {'photos':>8} {'seconds':>8} {'models MB':>10} {'ingest MB':>10} "
            f"{'embed MB':>9} {'index MB':>9} {'peak MB':>8} {'vs N/10':>8}"
        )
        baseline = None
        for count, root in ((small_count, tenth), (args.images, photos)):
            result = measure(args.encoder, work / f"store{count}", root)
            embedded = max(result["embedded"].values(), default=0)
            if embedded != count or result["failed"]:
                raise SystemExit(f"expected {count} photos embedded: {result}")
            peaks = result["stage_peaks_mb"]
            baseline = baseline or result["peak_mb"]
            print(
                f"{args.encoder:>8} {count:>8} {result['seconds']:>8.0f} {result['floor_mb']:>10.0f} "
                f"{peaks.get('ingest', 0):>10.0f} {peaks.get('embed', 0):>9.0f} "
                f"{peaks.get('index', 0):>9.0f} {result['peak_mb']:>8.0f} "
                f"{result['peak_mb'] / baseline:>7.2f}x",
                flush=True,
            )
            verdict = "within" if result["peak_mb"] <= LIMIT_MB else "OVER"
        print(f"peak at {args.images} photos is {verdict} the {LIMIT_MB} MB target")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
