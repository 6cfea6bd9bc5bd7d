"""Figures: an image (by reference into the page's image store) with an SVG overlay.

Coordinates: Objects and Points are in ROOT-image pixels; a figure's SVG coordinate frame is the
displayed image's own pixels, so overlays are shifted by the image's ``offset`` (a crop at
(400, 0) shows a root box at x=450 at x=50). Whatever falls outside the image is clipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visprog.render.html import attrs, esc, fmt_number, label_color, tag
from visprog.render.media import ImageStore, mask_tile
from visprog.values import Image, Objects, Points

MASK_OPACITY = 0.45
MAX_DRAWN = 300  # objects or points drawn on one figure (all are counted; tables list 200)
CARD = (380, 280)  # the box a figure fits in on a step card, CSS pixels
LARGE = (760, 560)  # the final result


def display_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The on-page size of a ``width`` x ``height`` image fitted into ``box``.

    Never enlarged more than 2x, so that a 10-pixel crop stays recognisably small.
    """
    s = min(box[0] / width, box[1] / height, 2.0)
    return max(1, round(width * s)), max(1, round(height * s))


def figure(
    store: ImageStore,
    image: Image | None,
    alt: str,
    caption: str,
    overlay: str = "",
    *,
    size: tuple[int, int] | None = None,
    large: bool = False,
) -> str:
    """A clickable figure: the image (or a blank canvas of ``size``) with ``overlay`` on top.

    Args:
        store: The page's image store.
        image: The image shown; None draws a neutral canvas (objects with no image known).
        alt: Text alternative (escaped here).
        caption: Caption HTML (already escaped).
        overlay: SVG elements in the image's pixel frame.
        size: Canvas (width, height) when ``image`` is None.
        large: Show it large (the final result).
    """
    if image is not None:
        stored = store.add(image)
        width, height = stored.width, stored.height
        base = f'<use href="#{stored.ref}"/>'
    else:
        width, height = size or (1, 1)
        base = f'<rect class="blank" width="{width}" height="{height}"/>'
    dw, dh = display_size(width, height, LARGE if large else CARD)
    svg = (
        "<svg"
        + attrs(
            class_="pic",
            viewBox=f"0 0 {width} {height}",
            width=dw,
            height=dh,
            role="img",
            aria_label=alt,
            preserveAspectRatio="xMidYMid meet",
        )
        + f"><title>{esc(alt)}</title>{base}{overlay}</svg>"
    )
    button = tag("button", svg, type="button", class_="thumb", aria_label=f"Enlarge: {alt}")
    cls = "fig large" if large else "fig"
    return tag("figure", button + tag("figcaption", caption), class_=cls)


def _font(width: int, height: int) -> float:
    return max(width, height) / 24.0


def objects_overlay(
    objects: Objects, image: Image | None, scale: float, frame: tuple[int, int]
) -> str:
    """SVG for every object: tinted mask, box, prompt point and a ``#i label score`` tag.

    Args:
        objects: The objects (root-pixel boxes, root-frame masks).
        image: The image shown (its offset maps root to local pixels); None for the root frame.
        scale: Thumbnail resolution, for mask tiles.
        frame: (width, height) of the figure.
    """
    font = _font(*frame)
    offset = np.array(image.offset if image is not None else (0, 0), dtype=np.float64)
    items = []
    for i in range(min(len(objects), MAX_DRAWN)):
        color = label_color(objects.labels[i])
        text = f"{i + 1} {_clip(objects.labels[i])} {objects.scores[i]:.2f}"
        box = objects.boxes[i] - np.concatenate([offset, offset])
        parts = [_mask(objects, i, image, color, scale)]
        if np.isfinite(box).all():  # a NaN coordinate would be an SVG error; the table shows it
            parts.append(_box(box, color))
            parts.append(_label(box[0], _label_y(box[1], font), text, font))
        if objects.points is not None and np.isfinite(objects.points[i]).all():
            px, py = (objects.points[i] - offset).tolist()
            parts.append(_marker(px, py, color, font))
        coords = ", ".join(_n(v) for v in objects.boxes[i])
        title = tag("title", esc(f"{i + 1} {objects.labels[i]} {objects.scores[i]:.2f} [{coords}]"))
        items.append(tag("g", title + "".join(parts), class_="obj", data_index=i))
    return tag("g", "".join(items), class_="overlay objects")


def _box(box: np.ndarray[Any, Any], color: str) -> str:
    x0, y0, x1, y1 = box.tolist()
    geometry = {
        "x": _n(x0),
        "y": _n(y0),
        "width": _n(max(x1 - x0, 0)),
        "height": _n(max(y1 - y0, 0)),
    }
    return "<rect" + attrs(class_="box", stroke=color, **geometry) + "/>"


def _label_y(y0: float, font: float) -> float:
    """Above the box when there is room, else just inside its top edge."""
    return y0 - font * 0.3 if y0 - font >= 0 else y0 + font


def _clip(label: str, n: int = 40) -> str:
    """Overlay text stays short; the table and the tooltip carry the whole label."""
    return label if len(label) <= n else label[: n - 1] + "…"


def _mask(objects: Objects, i: int, image: Image | None, color: str, scale: float) -> str:
    if objects.masks is None:
        return ""
    if image is not None:
        root_w, root_h = image.root_size
        if objects.masks.shape[1:] != (root_h, root_w):
            return ""  # a mask in another frame cannot be placed; the table still lists it
        mask = objects.masks.window(i, image.root_box)  # only this image's part, never the root
    else:
        mask = objects.masks[i]
    tile = mask_tile(mask, color, scale)
    if tile is None:
        return ""
    uri, (x0, y0, x1, y1) = tile
    return (
        "<image"
        + attrs(
            class_="mask",
            x=x0,
            y=y0,
            width=x1 - x0,
            height=y1 - y0,
            href=uri,
            opacity=MASK_OPACITY,
            preserveAspectRatio="none",
        )
        + "/>"
    )


def points_overlay(points: Points, image: Image | None, frame: tuple[int, int]) -> str:
    """SVG markers for points (root pixels), each with its label."""
    font = _font(*frame)
    off = image.offset if image is not None else (0, 0)
    items = []
    for i in range(min(len(points), MAX_DRAWN)):
        x, y = float(points.xy[i][0]) - off[0], float(points.xy[i][1]) - off[1]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        label = points.labels[i]
        color = label_color(label)
        title = tag("title", esc(f"{i + 1} {label} ({_n(x + off[0])}, {_n(y + off[1])})"))
        body = (
            title
            + _marker(x, y, color, font)
            + _label(x + font * 0.6, y - font * 0.4, f"{i + 1} {_clip(label)}", font)
        )
        items.append(tag("g", body, class_="point", data_index=i))
    return tag("g", "".join(items), class_="overlay points")


def _marker(x: float, y: float, color: str, font: float) -> str:
    return "<circle" + attrs(class_="pt", cx=_n(x), cy=_n(y), r=_n(font * 0.35), fill=color) + "/>"


def _label(x: float, y: float, text: str, font: float) -> str:
    return tag("text", esc(text), class_="lbl", x=_n(x), y=_n(y), font_size=_n(font))


def _n(v: Any) -> str:
    """A coordinate with at most one decimal (keeps the page small)."""
    return fmt_number(round(float(v), 1)).removesuffix(".0")
