from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from crossmodal.errors import MediaError
from crossmodal.media import image as image_mod
from crossmodal.media.audio import load_audio, name_words, probe_audio
from crossmodal.media.image import load_image, probe_image
from crossmodal.media.text import load_text, probe_text

from .conftest import write_image, write_tone


def test_probe_image_reads_size_format_and_exif_date(tmp_path: Path) -> None:
    path = tmp_path / "p.jpg"
    exif = Image.Exif()
    exif[0x0132] = "2021:06:01 12:30:00"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(path, exif=exif)
    meta = probe_image(path)
    assert meta["width"] == 40 and meta["height"] == 30 and meta["format"] == "JPEG"
    assert meta["exif_date"] == "2021-06-01T12:30:00"


def test_load_image_applies_exif_orientation_and_flattens_alpha(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.new("RGB", (40, 20), (200, 0, 0)).save(path, exif=exif)
    assert load_image(path).size == (20, 40)
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(rgba)
    loaded = load_image(rgba)
    assert loaded.mode == "RGB" and loaded.getpixel((0, 0)) == (255, 255, 255)


def test_truncated_and_fake_images_raise_media_error(tmp_path: Path) -> None:
    good = write_image(tmp_path / "g.png", size=(300, 300))
    truncated = tmp_path / "t.png"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(MediaError):
        probe_image(truncated)
    fake = tmp_path / "f.jpg"
    fake.write_bytes(b"\xff\xd8\xff" + b"garbage" * 10)
    with pytest.raises(MediaError):
        probe_image(fake)


def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_image(tmp_path / "big.png", size=(200, 200))
    monkeypatch.setattr(image_mod, "MAX_PIXELS", 10_000)
    with pytest.raises(MediaError, match="too large"):
        probe_image(path)


def test_audio_probe_tags_sidecar_and_name_words(tmp_path: Path) -> None:
    tagged = write_tone(tmp_path / "t.wav", 440, title="Morning birds")
    meta, words = probe_audio(tagged)
    assert meta["sample_rate"] == 8000 and meta["duration"] == pytest.approx(0.5)
    assert words == "Morning birds"
    plain = write_tone(tmp_path / "dog_bark-02.wav", 440)
    assert probe_audio(plain)[1] == "dog bark"
    (tmp_path / "dog_bark-02.lrc").write_text("[00:01.00] woof woof\n[00:02.00] good dog")
    assert probe_audio(plain)[1] == "dog bark. woof woof good dog"
    assert name_words(Path("rain__on_roof_2019.flac")) == "rain on roof"


def test_load_audio_is_mono_resampled_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "stereo.flac"
    stereo = np.random.default_rng(0).uniform(-0.3, 0.3, size=(16000, 2))
    sf.write(path, stereo, 16000)
    samples = load_audio(path, sample_rate=8000, max_seconds=0.5)
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert len(samples) == 4000


def test_bad_audio_raises_media_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 8)
    with pytest.raises(MediaError):
        probe_audio(broken)


def test_text_rules(tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_bytes("\ufeffhello   world\n".encode())
    meta, text = probe_text(good)
    assert text.startswith("hello") and meta["snippet"] == "hello world"
    legacy = tmp_path / "b.txt"
    legacy.write_bytes(
        "le caf\u00e9 cr\u00e8me est tr\u00e8s bon, d\u00e9j\u00e0 servi".encode("cp1252")
    )
    assert "café crème" in load_text(legacy)  # a legacy encoding is decoded, not refused
    empty = tmp_path / "c.txt"
    empty.write_text("   \n")
    with pytest.raises(MediaError, match="empty"):
        load_text(empty)
