"""Terminal previews: the half-block renderer on a known tiny image, protocol detection, and the
kitty / iTerm2 / sixel encoders producing what those protocols specify."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from cli import preview, render
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def tiny(rows: list[list[tuple[int, int, int]]]) -> Image.Image:
    image = Image.new("RGB", (len(rows[0]), len(rows)))
    for y, row in enumerate(rows):
        for x, colour in enumerate(row):
            image.putpixel((x, y), colour)
    return image


def test_half_blocks_put_two_pixel_rows_in_one_text_row() -> None:
    image = tiny([[RED, GREEN], [BLUE, WHITE], [BLACK, RED]])  # 2 wide, 3 high
    text = preview.half_blocks(image)
    assert text.plain == "▀▀\n▀▀"
    styles = [span.style for span in text.spans]
    assert [(s.color.triplet, s.bgcolor.triplet if s.bgcolor else None) for s in styles] == [
        (RED, BLUE),
        (GREEN, WHITE),
        (BLACK, None),  # odd height: the last row has no lower pixel
        (RED, None),
    ]
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(text)
    out = console.file.getvalue()
    assert "\x1b[38;2;255;0;0;48;2;0;0;255m▀" in out  # truecolor fg red on bg blue


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"KITTY_WINDOW_ID": "1", "TERM": "xterm-256color"}, "kitty"),
        ({"TERM_PROGRAM": "iTerm.app"}, "iterm"),
        ({"LC_TERMINAL": "iTerm2"}, "iterm"),
        ({"TERM": "xterm-sixel"}, "sixel"),
        ({"TERM": "xterm-256color"}, "blocks"),
        ({"TERM": "xterm-kitty", "CROSSMODAL_PREVIEW": "blocks"}, "blocks"),
    ],
)
def test_protocol_detection(env: dict[str, str], expected: str) -> None:
    assert preview.detect_protocol(env) == expected


def _decoded_png(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.standard_b64decode(data)))


def test_kitty_and_iterm_sequences_carry_the_png() -> None:
    image = Image.effect_noise((90, 70), 60).convert("RGB")  # noise: several kitty chunks
    sequence = preview.kitty(image, 16)
    chunks = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", sequence)
    # q=2 on every chunk (kitty reads it per chunk): the terminal sends no reply into stdin
    assert chunks[0][0] == "a=T,f=100,c=16,m=1,q=2" and chunks[-1][0] == "m=0,q=2"
    assert all(keys.endswith(",q=2") for keys, _ in chunks) and len(chunks) > 2
    assert all(len(data) <= 4096 for _, data in chunks)
    assert _decoded_png("".join(data for _, data in chunks)).size == (90, 70)
    inline = preview.iterm(image, 16)
    assert inline.startswith("\x1b]1337;File=inline=1;width=16;") and inline.endswith("\x07")
    assert _decoded_png(inline.split(":", 1)[1][:-1]).size == (90, 70)


def test_sixel_has_one_band_per_six_rows_and_a_palette() -> None:
    image = tiny([[RED, BLUE]] * 7)  # 7 rows: two bands
    sequence = preview.sixel(image)
    assert sequence.startswith('\x1bPq"1;1;2;7') and sequence.endswith("\x1b\\")
    assert sequence.count("-") == 2 and "#0;2;" in sequence
    assert len(re.findall(r"#\d+;2;\d+;\d+;\d+", sequence)) >= 2


def test_table_shows_block_thumbnails_of_images(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    update(fake_store, [collection])
    hits = SearchEngine(fake_store).search(build_query("red picture", type="all", k=4))
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=160)
    monkeypatch.setattr(render, "stdout", console)
    render.hits_table("red picture", hits, "blocks")
    out = console.file.getvalue()
    assert "▀" in out and "\x1b[38;2;220;30;30" in out  # the red test photo's colour
    assert "\x1b]8;" in out  # paths are terminal hyperlinks


def test_preview_degrades_to_nothing_in_a_pipe(fake_store: Store, collection: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    update(fake_store, [collection])
    args = ["search", "red", "--store", str(fake_store.root), "--preview", "--format", "table"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "red" in result.output
    assert "▀" not in result.output and "\x1b_G" not in result.output
