from pathlib import Path

import pytest

from crossmodal.media.sniff import sniff_head, sniff_modality

from .conftest import write_image, write_text, write_tone


@pytest.mark.parametrize(
    ("head", "suffix", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, ".jpg", ("image", "jpeg")),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, ".png", ("image", "png")),
        (b"GIF89a" + b"\0" * 20, ".gif", ("image", "gif")),
        (b"RIFF\0\0\0\0WEBPVP8 ", ".webp", ("image", "webp")),
        (b"II*\x00" + b"\0" * 20, ".tif", ("image", "tiff")),
        (b"BM" + b"\0" * 12 + (40).to_bytes(4, "little") + b"\0" * 12, ".bmp", ("image", "bmp")),
        (b"BMW owners club newsletter, spring edition", ".txt", ("text", "utf-8")),
        (b"RIFF\0\0\0\0WAVEfmt ", ".wav", ("audio", "wav")),
        (b"fLaC" + b"\0" * 20, ".flac", ("audio", "flac")),
        (b"OggS" + b"\0" * 20, ".oga", ("audio", "ogg")),
        (b"ID3\x04" + b"\0" * 20, ".mp3", ("audio", "mp3")),
        (b"\xff\xfb\x90\x00" + b"\0" * 20, ".mp3", ("audio", "mp3")),
        ("caf\u00e9 and tea\n".encode(), ".txt", ("text", "utf-8")),
        (b"# Title\n\nbody", ".md", ("text", "utf-8")),
    ],
)
def test_sniff_head_by_content(head: bytes, suffix: str, expected: tuple[str, str]) -> None:
    assert sniff_head(head, suffix) == expected


def test_frame_sync_alone_is_not_mp3_without_the_name() -> None:
    assert sniff_head(b"\xff\xfb\x90\x00" + b"\0" * 20, ".bin") is None


def test_binary_or_foreign_text_is_not_a_document() -> None:
    assert sniff_head(b"\x00\x01\x02binary", ".txt") is None
    assert sniff_head(b"\xff\xfe\xfa invalid utf8 here" * 3, ".txt") is None
    assert sniff_head(b"import os\n", ".py") is None  # source code is not a document
    assert sniff_head(b"", ".txt") is None


def test_wrong_extension_is_classified_by_content(tmp_path: Path) -> None:
    image = write_image(tmp_path / "x.png")
    disguised = tmp_path / "photo.txt"
    disguised.write_bytes(image.read_bytes())
    assert sniff_modality(disguised) == ("image", "png")
    tone = write_tone(tmp_path / "t.wav", 440)
    renamed = tmp_path / "song.jpg"
    renamed.write_bytes(tone.read_bytes())
    assert sniff_modality(renamed) == ("audio", "wav")
    assert sniff_modality(write_text(tmp_path / "README", "plain words")) == ("text", "utf-8")
