"""Tag: draw objects (boxes, masks, points, labels and scores) on an image."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from visprog.palette import label_rgb
from visprog.registry import tool
from visprog.values import Image, Objects


@cache
def font(size: int) -> Any:
    """Pillow's bundled scalable font at ``size`` pixels (works offline)."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def draw_objects(image: Image, objects: Objects, show_scores: bool = True) -> Image:
    """Draw each object's mask (tinted), box, point and ``label score`` text."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    pixels = image.pixels.astype(np.float32)
    for i in range(len(objects)):
        if objects.masks is not None:
            m = objects.object_mask(i, image)
            pixels[m] = 0.55 * pixels[m] + 0.45 * np.array(label_rgb(objects.labels[i]))
    canvas = PILImage.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas)
    size = max(12, min(image.width, image.height) // 30)
    width = max(2, size // 6)
    for i in range(len(objects)):
        color = label_rgb(objects.labels[i])
        x0, y0, x1, y1 = image.to_local(objects.boxes[i])[0].tolist()
        draw.rectangle((x0, y0, x1, y1), outline=color, width=width)
        if objects.points is not None:
            px, py = image.to_local_points(objects.points[i])[0]
            draw.ellipse(
                (px - width * 2, py - width * 2, px + width * 2, py + width * 2), fill=color
            )
        text = objects.labels[i] + (f" {objects.scores[i]:.2f}" if show_scores else "")
        left, top, right, bottom = draw.textbbox((x0, y0), text, font=font(size))
        ty = y0 - (bottom - top) - 2 * width if y0 - (bottom - top) - 2 * width >= 0 else y0
        draw.rectangle(
            (x0, ty, x0 + right - left + 2 * width, ty + bottom - top + 2 * width), fill=color
        )
        draw.text((x0 + width, ty + width - (top - y0)), text, fill=(0, 0, 0), font=font(size))
    return image.with_pixels(np.asarray(canvas, dtype=np.uint8).copy())


@tool("Tag")
def tag(image: Image, object: Objects) -> Image:
    """Draw the objects on the image: boxes, masks, points, labels and scores."""
    return draw_objects(image, object)
