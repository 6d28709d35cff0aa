"""Thumbnails in the terminal: the kitty or iTerm2 image protocols, or sixel, when the terminal
speaks them; otherwise truecolor half blocks ("▀" with the upper pixel as foreground and the
lower one as background), which any modern terminal shows. CROSSMODAL_PREVIEW=blocks|kitty|
iterm|sixel overrides the detection."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

from rich.style import Style
from rich.text import Text

PROTOCOLS = ("blocks", "kitty", "iterm", "sixel")


def detect_protocol(env: dict[str, str] | None = None) -> str:
    """Which way of drawing pictures this terminal understands, from what it says about itself."""
    env = dict(os.environ) if env is None else env
    chosen = env.get("CROSSMODAL_PREVIEW", "").lower()
    if chosen in PROTOCOLS:
        return chosen
    if env.get("KITTY_WINDOW_ID") or env.get("TERM") == "xterm-kitty":
        return "kitty"
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm") or env.get("LC_TERMINAL") == "iTerm2":
        return "iterm"
    if "sixel" in env.get("TERM", "") or env.get("TERM_PROGRAM") == "mlterm":
        return "sixel"
    return "blocks"


def thumbnail(path: str, width: int, height: int, seconds: float | None = None) -> Any:
    """An RGB thumbnail that fits width x height pixels, or None when the file does not decode;
    with `seconds`, the frame a video shows then."""
    from crossmodal.media.image import thumbnail as still

    return still(Path(path), width, height, seconds)


def half_blocks(image: Any) -> Text:
    """Two pixel rows per text row: '▀' coloured with the upper pixel, on the lower pixel."""
    pixels = image.convert("RGB").load()
    width, height = image.size
    text = Text()
    for top in range(0, height, 2):
        for x in range(width):
            upper = pixels[x, top]
            lower = pixels[x, top + 1] if top + 1 < height else None
            style = Style(
                color=f"rgb({upper[0]},{upper[1]},{upper[2]})",
                bgcolor=f"rgb({lower[0]},{lower[1]},{lower[2]})" if lower else None,
            )
            text.append("▀", style)
        if top + 2 < height:
            text.append("\n")
    return text


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def kitty(image: Any, columns: int) -> str:
    """The kitty graphics protocol: PNG data in chunks of 4096 base64 characters. q=2 on every
    chunk (kitty reads it per chunk) keeps the terminal from answering into stdin."""
    data = base64.standard_b64encode(_png(image)).decode()
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)] or [""]
    out = []
    for number, chunk in enumerate(chunks):
        more = 1 if number < len(chunks) - 1 else 0
        head = f"a=T,f=100,c={columns},m={more},q=2" if number == 0 else f"m={more},q=2"
        out.append(f"\x1b_G{head};{chunk}\x1b\\")
    return "".join(out)


def iterm(image: Any, columns: int) -> str:
    """iTerm2's inline images (also WezTerm): one OSC 1337 sequence."""
    data = base64.standard_b64encode(_png(image)).decode()
    return f"\x1b]1337;File=inline=1;width={columns};preserveAspectRatio=1:{data}\x07"


def sixel(image: Any) -> str:
    """DEC sixel: the picture quantised to 64 colours, drawn six pixel rows at a time."""
    quantised = image.convert("RGB").quantize(colors=64)
    palette = quantised.getpalette()[: 64 * 3]
    width, height = quantised.size
    pixels = quantised.load()
    out = ['\x1bPq"1;1;' + f"{width};{height}"]
    for index in range(len(palette) // 3):
        r, g, b = (round(c * 100 / 255) for c in palette[index * 3 : index * 3 + 3])
        out.append(f"#{index};2;{r};{g};{b}")
    for band in range(0, height, 6):
        rows = range(band, min(band + 6, height))
        used = sorted({pixels[x, y] for y in rows for x in range(width)})
        for colour in used:
            out.append(f"#{colour}")
            for x in range(width):
                bits = sum(1 << (y - band) for y in rows if pixels[x, y] == colour)
                out.append(chr(63 + bits))
            out.append("$")
        out.append("-")
    out.append("\x1b\\")
    return "".join(out)
