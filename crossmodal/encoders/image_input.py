"""Pictures -> the builtin image model's input, in Pillow and numpy.

The same arithmetic as the torchvision transforms the model was trained with (Resize of the short
side, bicubic; CenterCrop; ToTensor; Normalize to [-1, 1]), equal to them bit for bit (tested),
without torchvision: ONNX Runtime needs no torch, and the decode workers can prepare a picture
while the model runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_SIZE = 224


def plain_backdrop(image: Any, tolerance: int = 24, share: float = 0.9) -> bool:
    """Whether the picture's edge is one flat colour (a cut-out, clip art, an emoji on white),
    judged on its border pixels: `share` of them within `tolerance` of their mean colour."""
    image = image.convert("RGB") if image.mode != "RGB" else image
    width, height = image.size
    # Only the four edges are read: converting the whole picture cost 2 ms a photo (measured).
    strips = [(0, 0, width, 1), (0, height - 1, width, height), (0, 0, 1, height)]
    strips.append((width - 1, 0, width, height))
    border = np.concatenate(
        [np.asarray(image.crop(box), dtype=np.int16).reshape(-1, 3) for box in strips]
    )
    return bool((np.abs(border - border.mean(axis=0)).max(axis=1) < tolerance).mean() > share)


def letterbox(image: Any, size: int) -> Any:
    """The picture scaled to fit a size x size white square, centred."""
    from PIL import Image, ImageOps

    fitted = ImageOps.contain(image, (size, size), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2))
    return canvas


def centre_crop(image: Any, size: int) -> Any:
    """torchvision's Resize(size, bicubic) then CenterCrop(size), on a Pillow image."""
    from PIL import Image

    width, height = image.size
    if width <= height:
        new = (size, int(size * height / width))
    else:
        new = (int(size * width / height), size)
    if new != (width, height):
        image = image.resize(new, Image.Resampling.BICUBIC)
    width, height = image.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_input(image: Any) -> np.ndarray:
    """(3, H, W) float32 in [-1, 1] from an RGB picture: ToTensor + Normalize(0.5, 0.5)."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return ((array / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1)


def prepare(image: Any, mode: str = "auto", size: int = IMAGE_SIZE) -> np.ndarray:
    """A picture as model input. "auto": a cut-out (a picture on a plain backdrop: clip art,
    emoji, a transparent PNG on white) is letterboxed whole, because a centre crop cuts the ends
    off a wide or tall object; a photograph gets the ImageNet centre crop the classifier was
    trained on. "crop" and "pad" do one or the other to every picture."""
    if isinstance(image, np.ndarray):
        return image  # prepared already (in a decode worker)
    padded = mode == "pad" or (mode == "auto" and plain_backdrop(image))
    return to_input(letterbox(image, size) if padded else centre_crop(image, size))
