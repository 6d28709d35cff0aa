"""The basic colour terms a picture shows (screened for issue 18 by bench/screen_images.py with
--variants colour:GAMMA:SHARE; neutral on the large eval, so not in the encoder).

ImageNet classes say what a thing is, rarely its colour. Berlin & Kay's eleven basic colour terms
are the words every language names colours with; each pixel of a small copy of the picture goes to
the nearest term's focal colour in CIELAB (where distance follows perceived difference), and terms
that cover enough of the picture are its colours. A white or transparent background (cut-outs,
clip art, emoji) is left out when it frames the picture, so the object's colours count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Focal colours (sRGB) of the basic terms, after Berlin & Kay (1969) as rendered by Sturges &
# Whitfield (1995).
TERMS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (200, 20, 30),
    "green": (30, 150, 50),
    "yellow": (250, 220, 20),
    "blue": (30, 70, 200),
    "brown": (120, 70, 30),
    "purple": (120, 40, 150),
    "pink": (245, 150, 180),
    "orange": (245, 130, 20),
    "gray": (128, 128, 128),
}
SIDE = 48  # pixels on the long side of the copy that is counted
MIN_SHARE = 0.2  # a term names the picture when it covers this share of the counted pixels


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0..255, shape (..., 3)) to CIELAB under D65."""
    c = rgb.astype(np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    matrix = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = c @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


_FOCAL = _lab(np.array(list(TERMS.values())))
_NAMES = list(TERMS)


def colour_shares(image: Any) -> dict[str, float]:
    """Each basic term's share of the picture (background that frames it left out)."""
    small = image.convert("RGB")
    small.thumbnail((SIDE, SIDE))
    pixels = np.asarray(small, dtype=np.uint8)
    labels = np.argmin(
        ((_lab(pixels)[..., None, :] - _FOCAL) ** 2).sum(axis=-1), axis=-1
    )  # (h, w) term index
    keep = np.ones(labels.shape, dtype=bool)
    white = _NAMES.index("white")
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    if np.mean(border == white) > 0.6:  # a white frame: the backdrop of a cut-out
        keep = labels != white
    counted = labels[keep]
    if counted.size == 0:
        return {"white": 1.0}
    counts = np.bincount(counted, minlength=len(_NAMES)) / counted.size
    return {name: float(share) for name, share in zip(_NAMES, counts, strict=True) if share > 0}


def colour_terms(image: Any, min_share: float = MIN_SHARE) -> list[str]:
    """The terms covering at least min_share of the picture, most covering first."""
    shares = colour_shares(image)
    return [n for n, s in sorted(shares.items(), key=lambda kv: -kv[1]) if s >= min_share]
