"""Classical edits over objects: ColorPop, BgBlur, Blur.

Regions come from the objects' masks when they carry them. Without masks, ColorPop and BgBlur
cut each object out of its box with OpenCV's GrabCut (``pip install 'visprog[cv]'``) and fall
back to the boxes themselves when OpenCV is absent; Blur uses the boxes. The trace notes which.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from visprog.context import Context
from visprog.geometry import feather, mask_box
from visprog.registry import tool
from visprog.values import BoolArray, FloatArray, Image, Objects, UInt8Array


def region(image: Image, objects: Objects, ctx: Context, grabcut: bool = True) -> BoolArray:
    """Union of the objects as an (H, W) mask in ``image`` pixels (masks > GrabCut > boxes)."""
    if objects.masks is not None:
        ctx.note("region: object masks")
        return objects.union_mask(image)
    if grabcut and len(objects) and importlib.util.find_spec("cv2") is not None:
        ctx.note("region: GrabCut inside each box (objects carry no masks)")
        return grabcut_union(image, objects)
    ctx.note("region: boxes (objects carry no masks)")
    return objects.union_mask(image)


def grabcut_union(image: Image, objects: Objects, iterations: int = 3) -> BoolArray:
    """Foreground of GrabCut run in each object's box, united."""
    import cv2

    bgr = np.ascontiguousarray(image.pixels[:, :, ::-1])
    out = np.zeros((image.height, image.width), dtype=bool)
    for i in range(len(objects)):
        box_mask = objects.object_mask(i, image)
        found = mask_box(box_mask)
        if found is None:
            continue
        x0, y0, x1, y1 = found
        if (
            (x1 - x0) < 8
            or (y1 - y0) < 8
            or (x1 - x0) * (y1 - y0) >= 0.98 * image.width * image.height
        ):
            out |= box_mask  # too small or the whole frame: GrabCut has no background to learn
            continue
        mask = np.zeros(box_mask.shape, np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        rect = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        cv2.grabCut(bgr, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
        fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
        out |= fg if fg.any() else box_mask
    return out


def _blurred(image: Image, radius: float) -> UInt8Array:
    from PIL import ImageFilter

    return np.asarray(image.to_pil().filter(ImageFilter.GaussianBlur(radius)), dtype=np.uint8)


def _blend(inside: UInt8Array, outside: UInt8Array, alpha: FloatArray) -> UInt8Array:
    mixed = alpha * inside.astype(np.float32) + (1 - alpha) * outside.astype(np.float32)
    out: UInt8Array = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def _scale(image: Image) -> float:
    return max(image.width, image.height) / 100.0


@tool("ColorPop")
def color_pop(image: Image, object: Objects, ctx: Context) -> Image:
    """Keep the objects in colour and turn everything else grey."""
    mask = region(image, object, ctx)
    gray = np.asarray(image.to_pil().convert("L").convert("RGB"), dtype=np.uint8)
    return image.with_pixels(_blend(image.pixels, gray, feather(mask, _scale(image) * 0.15)))


@tool("BgBlur")
def bg_blur(image: Image, object: Objects, ctx: Context) -> Image:
    """Blur the background, keeping the objects sharp."""
    mask = region(image, object, ctx)
    blurred = _blurred(image, _scale(image) * 1.5)
    return image.with_pixels(_blend(image.pixels, blurred, feather(mask, _scale(image) * 0.3)))


@tool("Blur")
def blur(image: Image, object: Objects, ctx: Context) -> Image:
    """Blur the objects (e.g. faces, for privacy), keeping the rest sharp."""
    mask = region(image, object, ctx, grabcut=False)
    radius = _strength(object, image)
    blurred = _blurred(image, radius)
    return image.with_pixels(_blend(blurred, image.pixels, feather(mask, radius * 0.2)))


def _strength(objects: Objects, image: Image) -> float:
    """Blur radius: a fifth of the typical object size, so a face becomes unrecognisable."""
    if len(objects) == 0:
        return 1.0
    sizes = np.minimum(
        objects.boxes[:, 2] - objects.boxes[:, 0], objects.boxes[:, 3] - objects.boxes[:, 1]
    )
    return float(max(2.0, np.median(sizes) / 5.0, _scale(image) * 0.5))
