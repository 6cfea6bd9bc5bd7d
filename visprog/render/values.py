"""Values as HTML, by type.

Images become figures, Objects and Points are drawn and tabulated, scalars show as values. Every
string a value carries (labels, answers) is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from visprog.render.figures import figure, objects_overlay, points_overlay
from visprog.render.html import esc, fmt_number, label_color, tag
from visprog.render.media import ImageStore
from visprog.values import Image, Objects, Points

MAX_TABLE_ROWS = 200
MAX_CANVAS = 100_000  # pixels: a blank canvas for objects with no image stays sane


@dataclass
class ValueRenderer:
    """Renders values for one page.

    Attributes:
        store: The page's images.
        inputs: The trace's inputs, where Objects and Points find their root image.
    """

    store: ImageStore
    inputs: Mapping[str, Any]

    def html(self, value: Any, near: Mapping[str, Any] | None = None, large: bool = False) -> str:
        """Render ``value``; ``near`` are the step's arguments (the images it may be drawn on)."""
        if isinstance(value, Image):
            return self.image(value, large)
        if isinstance(value, Objects):
            return self.objects(value, near, large)
        if isinstance(value, Points):
            return self.points(value, near, large)
        if isinstance(value, list):
            items = "".join(tag("li", self.html(v, near)) for v in value)
            return (
                tag("ul", items, class_="list")
                if value
                else tag("span", "empty list", class_="none")
            )
        return scalar(value, large)

    def image(self, image: Image, large: bool = False) -> str:
        """An image figure with its size and provenance."""
        alt = f"image {image.width}x{image.height} from {image.source}"
        return figure(self.store, image, alt, esc(_provenance(image)), large=large)

    def backdrop(self, source: str, near: Mapping[str, Any] | None) -> Image | None:
        """The image to draw objects of root ``source`` on.

        The step's own image if it shows that root (preferring the argument called ``image``),
        else the input itself.
        """
        candidates = list((near or {}).items())
        candidates.sort(key=lambda kv: kv[0] != "image")
        for _, v in candidates:
            if isinstance(v, Image) and v.source == source:
                return v
        root = self.inputs.get(source)
        return root if isinstance(root, Image) else None

    def objects(self, objs: Objects, near: Mapping[str, Any] | None, large: bool = False) -> str:
        """Objects drawn on their image, and a table of them."""
        image = self.backdrop(objs.source, near)
        frame, scale = self._frame(image, objs.boxes.reshape(-1, 2) if len(objs) else None)
        overlay = objects_overlay(objs, image, scale, frame)
        n = len(objs)
        alt = f"{n} object{'s' if n != 1 else ''} on {objs.source}: " + ", ".join(objs.labels[:20])
        cap = esc(f"{n} object{'s' if n != 1 else ''}") + (
            esc(f" drawn on {_provenance(image)}") if image is not None else ""
        )
        fig = figure(self.store, image, alt, cap, overlay, size=frame, large=large)
        return tag("div", fig + objects_table(objs), class_="drawn")

    def points(self, pts: Points, near: Mapping[str, Any] | None, large: bool = False) -> str:
        """Points as markers on their image, and a table of them."""
        image = self.backdrop(pts.source, near)
        frame, _ = self._frame(image, pts.xy if len(pts) else None)
        n = len(pts)
        alt = f"{n} point{'s' if n != 1 else ''} on {pts.source}: " + ", ".join(pts.labels[:20])
        cap = esc(f"{n} point{'s' if n != 1 else ''}")
        fig = figure(
            self.store, image, alt, cap, points_overlay(pts, image, frame), size=frame, large=large
        )
        return tag("div", fig + points_table(pts), class_="drawn")

    def _frame(self, image: Image | None, xy: Any) -> tuple[tuple[int, int], float]:
        if image is not None:
            return (image.width, image.height), self.store.add(image).scale
        # No image: a canvas just large enough for the (finite) coordinates.
        finite = np.asarray(xy, dtype=np.float64).reshape(-1, 2) if xy is not None else None
        if finite is not None:
            finite = finite[np.isfinite(finite).all(axis=1)]
        if finite is None or finite.size == 0:
            return (100, 100), 1.0
        w, h = (int(min(max(v + 1, 1), MAX_CANVAS)) for v in finite.max(axis=0))
        return (w, h), min(1.0, 512 / max(w, h))


def _provenance(image: Image) -> str:
    text = f"{image.width}×{image.height} from {image.source}"
    if image.offset != (0, 0) or image.root_size != image.size:
        text += f" at ({image.offset[0]}, {image.offset[1]}) of {image.root_size[0]}×{image.root_size[1]}"
    return text


def scalar(value: Any, large: bool = False) -> str:
    """Numbers, text, bools and None (and, defensively, anything else via ``repr``)."""
    cls = "answer " if large else ""
    if value is None:
        return tag("span", "none", class_=cls + "none")
    if isinstance(value, bool):
        return tag(
            "span", "True" if value else "False", class_=f"{cls}bool {'yes' if value else 'no'}"
        )
    if isinstance(value, (int, float)):
        return tag("span", esc(fmt_number(value)), class_=cls + "num")
    if isinstance(value, str):
        return tag("span", esc(value), class_=cls + "text")
    return tag("code", esc(repr(value)), class_=cls + "other")


def objects_table(objs: Objects) -> str:
    """One row per object: number, label (with its colour), score, root box, mask area, point."""
    if len(objs) == 0:
        return tag("p", "no objects", class_="none")
    names = ["#", "label", "score", "box (x0, y0, x1, y1)"]
    names += ["mask px"] if objs.masks is not None else []
    names += ["point"] if objs.points is not None else []
    head = "<tr>" + "".join(f"<th scope=col>{n}</th>" for n in names)
    rows = []
    for i in range(min(len(objs), MAX_TABLE_ROWS)):
        cells = [
            str(i + 1),
            _swatch(objs.labels[i]),
            f"{objs.scores[i]:.3f}",
            _coords(objs.boxes[i]),
        ]
        if objs.masks is not None:
            cells.append(str(objs.masks.area(i)))
        if objs.points is not None:
            cells.append(_coords(objs.points[i]))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return _table(
        head + "</tr>", rows, len(objs), f"{_plural(len(objs), 'object')} in {objs.source} pixels"
    )


def points_table(pts: Points) -> str:
    """One row per point: number, label, (x, y) in root pixels."""
    if len(pts) == 0:
        return tag("p", "no points", class_="none")
    head = "<tr><th scope=col>#</th><th scope=col>label</th><th scope=col>(x, y)</th></tr>"
    rows = [
        f"<tr><td>{i + 1}</td><td>{_swatch(pts.labels[i])}</td><td>{_coords(pts.xy[i])}</td></tr>"
        for i in range(min(len(pts), MAX_TABLE_ROWS))
    ]
    return _table(head, rows, len(pts), f"{_plural(len(pts), 'point')} in {pts.source} pixels")


def _table(head: str, rows: list[str], total: int, caption: str) -> str:
    more = total - len(rows)
    extra = f"<tr><td colspan=6>… {more} more</td></tr>" if more > 0 else ""
    body = f"<caption>{esc(caption)}</caption><thead>{head}</thead><tbody>{''.join(rows)}{extra}</tbody>"
    return tag(
        "div",
        tag("table", body),
        class_="table-wrap",
        tabindex=0,
        role="region",
        aria_label=caption,
    )


def _swatch(label: str) -> str:
    # An SVG swatch, not a style attribute: the page's CSP allows no inline style attributes.
    color = label_color(label)
    rect = f'<rect width="10" height="10" fill="{color}"/>'
    return f'<svg class="sw" width="10" height="10" aria-hidden="true">{rect}</svg>' + esc(label)


def _coords(values: Any) -> str:
    return esc(", ".join(f"{float(v):.0f}" for v in values))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
