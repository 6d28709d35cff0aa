"""Decode throughput per format, against a baseline of the same content measured in the same run:
images/s for HEIC, AVIF and camera RAW (DNG with and without a preview) against JPEG of the same
pixels, PDF pages/s, and audio seconds decoded per second for M4A, Opus, WebM, WMA and AMR
against WAV (and FLAC) of the same sound. Each figure is the decode the embed stage runs
(crossmodal.media.image.load_image, media.audio.load_audio, the document readers).

    .venv/bin/python bench/bench_formats.py [--megapixels 12] [--repeat 5] [--pages 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sample_data"))

import make_formats  # noqa: E402

from crossmodal.media.audio import load_audio  # noqa: E402
from crossmodal.media.documents.pdf import read_pdf  # noqa: E402
from crossmodal.media.image import load_image  # noqa: E402


def best_of(run: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs after one warm-up (imports, caches)."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def photo(megapixels: float) -> Image.Image:
    """A phone-sized photo: a sample photo upscaled to about `megapixels` (4:3)."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    return (
        Image.open(ROOT / "sample_data/images/rocket_launch.jpg")
        .convert("RGB")
        .resize((width, height), Image.Resampling.BICUBIC)
    )


def bench_images(folder: Path, megapixels: float, repeat: int) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = photo(megapixels)
    paths = {
        "JPEG (baseline)": folder / "p.jpg",
        "HEIC": folder / "p.heic",
        "HEIC + 320 px thumbnail": folder / "thumb.heic",
        "AVIF": folder / "p.avif",
        "DNG, RGB preview": folder / "preview.dng",
        "DNG, mosaic only (demosaic)": folder / "mosaic.dng",
    }
    image.save(paths["JPEG (baseline)"], quality=90)
    image.save(paths["HEIC"], format="HEIF", quality=80)
    image.save(paths["HEIC + 320 px thumbnail"], format="HEIF", quality=80, thumbnails=[320])
    image.save(paths["AVIF"], format="AVIF", quality=70)
    make_formats.write_dng(image, paths["DNG, RGB preview"], preview=True)
    make_formats.write_dng(image, paths["DNG, mosaic only (demosaic)"], preview=False)
    print(f"\nimages: {image.size[0]}x{image.size[1]} ({megapixels} Mpx), load_image to 224 px")
    print(f"{'format':30} {'MB':>6} {'ms/image':>9} {'images/s':>9} {'vs JPEG':>8}")
    base = None
    for name, path in paths.items():
        seconds = best_of(lambda p=path: load_image(p), repeat)
        base = base or seconds
        size = path.stat().st_size / 1e6
        print(
            f"{name:30} {size:6.2f} {seconds * 1e3:9.1f} {1 / seconds:9.2f} {base / seconds:7.2f}x"
        )


def bench_pdf(folder: Path, pages: int, repeat: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    text = make_formats._rst_paragraphs("wine_data.rst")
    story = []
    for _ in range(pages):
        story += [Paragraph(p, getSampleStyleSheet()["BodyText"]) for p in text[:6]]
        story.append(PageBreak())
    path = folder / "pages.pdf"
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    seconds = best_of(lambda: read_pdf(path), repeat)
    doc = read_pdf(path)
    print(
        f"\nPDF: {doc.meta['pages']} pages, {len(doc.text):,} characters: {seconds:.3f} s, "
        f"{doc.meta['pages'] / seconds:,.0f} pages/s"
    )


def bench_audio(folder: Path, seconds_of_sound: int, repeat: int) -> None:
    clip, rate = sf.read(ROOT / "sample_data/audio/speech_weather.flac", dtype="float32")
    reps = int(np.ceil(seconds_of_sound * rate / len(clip)))
    sound = np.tile(clip, reps)[: seconds_of_sound * rate]
    wav = folder / "a.wav"
    sf.write(wav, sound, rate, subtype="PCM_16")
    paths = {"WAV (baseline)": wav, "FLAC": folder / "a.flac"}
    sf.write(paths["FLAC"], sound, rate)
    for name, suffix, fmt, codec, out_rate in (
        ("M4A (AAC)", ".m4a", "ipod", "aac", 44100),
        ("M4A (ALAC)", ".m4a", "ipod", "alac", rate),
        ("Opus (Ogg, FFmpeg)", ".opus", "ogg", "libopus", 48000),
        ("WebM (Opus, FFmpeg)", ".webm", "webm", "libopus", 48000),
        ("WMA", ".wma", "asf", "wmav2", 44100),
        ("AMR-NB", ".amr", "amr", "libopencore_amrnb", 8000),
    ):
        path = folder / f"{codec}{suffix}"
        make_formats.encode_audio(sound, rate, path, fmt, codec, out_rate)
        paths[name] = path
    print(f"\naudio: {seconds_of_sound} s of speech, load_audio (mono, 22.05 kHz, whole clip)")
    print(f"{'format':26} {'ms':>8} {'audio s/s':>10} {'vs WAV':>8}")
    base = None
    for name, path in paths.items():
        spent = best_of(lambda p=path: load_audio(p, max_seconds=seconds_of_sound + 1), repeat)
        base = base or spent
        print(f"{name:26} {spent * 1e3:8.1f} {seconds_of_sound / spent:10.0f} {base / spent:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--audio-seconds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_images(folder, args.megapixels, args.repeat)
        bench_pdf(folder, args.pages, args.repeat)
        bench_audio(folder, args.audio_seconds, args.repeat)


if __name__ == "__main__":
    main()
