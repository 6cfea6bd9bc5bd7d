"""Crop steps. Crops keep their offset in the root image, so later boxes map back to it.

Like VisProg, each crop is taken relative to the *best* object (highest score) of ``box``; with
no objects the whole image is returned. ``CropLeftOf`` keeps what lies left of the object's
centre, and so on; ``CropFrontOf`` and ``CropBehind`` cannot be told apart in a 2-D image and
crop the object's surroundings (its box enlarged 1.5x), as VisProg does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from visprog.errors import ToolArgumentError
from visprog.geometry import clip_boxes
from visprog.registry import tool
from visprog.values import Image, Objects

ENLARGE = 1.5


def _best_box(image: Image, box: Objects) -> tuple[float, float, float, float] | None:
    """The highest-scoring box, in the image's own pixels, clipped to it; None if no objects."""
    if len(box) == 0:
        return None
    b = image.to_local(box.boxes[int(np.argmax(box.scores))])
    x0, y0, x1, y1 = clip_boxes(b, image.width, image.height)[0]
    return float(x0), float(y0), float(x1), float(y1)


def _around(
    b: tuple[float, float, float, float], image: Image
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = b
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dw, dh = ENLARGE * (x1 - x0) / 2, ENLARGE * (y1 - y0) / 2
    return (
        max(0.0, cx - dw),
        max(0.0, cy - dh),
        min(image.width, cx + dw),
        min(image.height, cy + dh),
    )


def _crop_with(
    image: Image,
    box: Objects,
    region: Callable[[tuple[float, float, float, float], Image], tuple[float, ...]],
) -> Image:
    b = _best_box(image, box)
    if b is None:
        return image
    x0, y0, x1, y1 = region(b, image)
    if x1 <= x0 or y1 <= y0:
        raise ToolArgumentError(
            f"the region to crop is empty: the best object (box {tuple(round(v) for v in b)} "
            f"in this {image.width}x{image.height} image) leaves nothing on that side"
        )
    return image.crop((x0, y0, x1, y1))


@tool("Crop")
def crop(image: Image, box: Objects) -> Image:
    """Crop to the best object, its box enlarged 1.5x around its centre (whole image if none)."""
    return _crop_with(image, box, _around)


@tool("CropLeftOf", aliases=("CropLeft",))
def crop_left_of(image: Image, box: Objects) -> Image:
    """Crop to the part of the image left of the best object's centre."""
    return _crop_with(image, box, lambda b, im: (0, 0, (b[0] + b[2]) / 2, im.height))


@tool("CropRightOf", aliases=("CropRight",))
def crop_right_of(image: Image, box: Objects) -> Image:
    """Crop to the part of the image right of the best object's centre."""
    return _crop_with(image, box, lambda b, im: ((b[0] + b[2]) / 2, 0, im.width, im.height))


@tool("CropAbove", aliases=("CropAhead",))
def crop_above(image: Image, box: Objects) -> Image:
    """Crop to the part of the image above the best object's centre."""
    return _crop_with(image, box, lambda b, im: (0, 0, im.width, (b[1] + b[3]) / 2))


@tool("CropBelow")
def crop_below(image: Image, box: Objects) -> Image:
    """Crop to the part of the image below the best object's centre."""
    return _crop_with(image, box, lambda b, im: (0, (b[1] + b[3]) / 2, im.width, im.height))


@tool("CropFrontOf", aliases=("CropInFrontOf", "CropInFront"))
def crop_front_of(image: Image, box: Objects) -> Image:
    """Crop to the best object's surroundings (its box enlarged 1.5x): what is in front of it."""
    return _crop_with(image, box, _around)


@tool("CropBehind")
def crop_behind(image: Image, box: Objects) -> Image:
    """Crop to the best object's surroundings (its box enlarged 1.5x): what is behind it."""
    return _crop_with(image, box, _around)
