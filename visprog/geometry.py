"""Box, mask and number helpers, one place each (numpy only; PIL imported where it is needed).

Boxes are float (N, 4) xyxy arrays, masks bool (H, W) or (N, H, W) arrays, in whatever frame the
caller works in: these functions never move between frames (see
:meth:`visprog.values.Image.to_root` for that).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def as_boxes(boxes: npt.ArrayLike) -> FloatArray:
    """``boxes`` as a float64 (N, 4) array (an empty input gives (0, 4))."""
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def box_area(boxes: npt.ArrayLike) -> FloatArray:
    """Areas of (N, 4) xyxy boxes; inverted boxes have area 0."""
    b = as_boxes(boxes)
    area: FloatArray = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    return area


def iou(box: npt.ArrayLike, boxes: npt.ArrayLike) -> FloatArray:
    """Intersection over union of one xyxy box with each of (N, 4) boxes (0 where both empty)."""
    a, b = as_boxes(box)[0], as_boxes(boxes)
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = box_area(a)[0] + box_area(b) - inter
    out: FloatArray = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return out


def nms(boxes: npt.ArrayLike, scores: npt.ArrayLike, threshold: float) -> npt.NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression, best score first.

    A box is dropped when its IoU with a better-scored kept box is above ``threshold``;
    ``threshold >= 1`` keeps every box (sorted by score).
    """
    b = as_boxes(boxes)
    order = np.argsort(-np.asarray(scores, dtype=np.float64).reshape(-1), kind="stable")
    if threshold >= 1.0:
        return order.astype(np.int64)
    keep: list[int] = []
    while order.size:
        i, rest = int(order[0]), order[1:]
        keep.append(i)
        order = rest[iou(b[i], b[rest]) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def clip_boxes(boxes: npt.ArrayLike, width: float, height: float) -> FloatArray:
    """(N, 4) xyxy boxes clipped to ``[0, width] x [0, height]`` (a copy)."""
    b = as_boxes(boxes).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def mask_box(mask: BoolArray) -> tuple[int, int, int, int] | None:
    """The tight xyxy box (exclusive end) of a (H, W) mask's pixels; None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def mask_boxes(masks: BoolArray, fallback: npt.ArrayLike) -> FloatArray:
    """Tight boxes of (N, H, W) masks; ``fallback[i]`` where mask ``i`` is empty."""
    boxes = as_boxes(fallback).copy()
    for i, m in enumerate(masks):
        box = mask_box(m)
        if box is not None:
            boxes[i] = box
    return boxes


def feather(mask: BoolArray, radius: float) -> FloatArray:
    """A soft alpha (H, W, 1) in [0, 1] from a hard mask (Gaussian blur), so edits blend."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    pil = PILImage.fromarray(mask.astype(np.uint8) * 255, "L")
    if radius > 0:
        pil = pil.filter(ImageFilter.GaussianBlur(radius))
    alpha: FloatArray = (np.asarray(pil, dtype=np.float64) / 255.0)[:, :, None]
    return alpha


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
NUMBER_WORDS.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
NUMBER_WORDS.update({"hundred": 100, "a hundred": 100, "one hundred": 100, "none": 0})
_COMPOUND = re.compile(r"^([a-z]+)[\s-]([a-z]+)$")


def number_word(text: str) -> int | None:
    """``"two"`` -> 2, ``"twenty one"`` / ``"twenty-one"`` -> 21; None for anything else.

    ``text`` is compared as given (lower-case, stripped text is the caller's to make).
    """
    if text in NUMBER_WORDS:
        return NUMBER_WORDS[text]
    match = _COMPOUND.match(text)
    if match and match.group(1) in _TENS and match.group(2) in _UNITS[1:10]:
        return NUMBER_WORDS[match.group(1)] + NUMBER_WORDS[match.group(2)]
    return None


def as_float_array(values: Any, shape: tuple[int, ...]) -> FloatArray:
    """``values`` as float64 reshaped to ``shape`` (-1 allowed), for adapters' tensors/lists."""
    if hasattr(values, "detach"):  # a torch tensor: to numpy without importing torch here
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=np.float64).reshape(shape)
