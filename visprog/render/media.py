"""Image encoding for the page: bounded thumbnails, each distinct image stored once, mask tiles.

Every distinct image (by pixel content) is encoded once and defined once in a hidden SVG
``<defs>`` block; figures show it with ``<use href="#im3">``, so an input image passed to ten
steps costs its bytes once. Thumbnails keep the longest side at or below ``max_side`` pixels and
are JPEG when that is smaller than PNG (photos), PNG otherwise (drawings, masks, flat colours).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visprog.geometry import mask_box
from visprog.render.html import attrs
from visprog.values import Image

DEFAULT_MAX_SIDE = 768
JPEG_QUALITY = 82
FLAT_COLOURS = 4096  # fewer distinct colours than this: not a photo


@dataclass(frozen=True)
class Stored:
    """An image defined on the page.

    Attributes:
        ref: Element id of its ``<image>`` definition.
        width: Width of the original image (the figure's coordinate frame).
        height: Height of the original image.
        scale: Thumbnail pixels per original pixel (1.0 at full resolution).
    """

    ref: str
    width: int
    height: int
    scale: float


@dataclass
class ImageStore:
    """Encodes images for one page and remembers which are already defined.

    Attributes:
        max_side: Longest thumbnail side in pixels; ``None`` keeps full resolution (PNG).
    """

    max_side: int | None = DEFAULT_MAX_SIDE
    _by_id: dict[int, Stored] = field(default_factory=dict)
    _by_digest: dict[str, Stored] = field(default_factory=dict)
    _defs: list[str] = field(default_factory=list)
    _keep: list[Image] = field(default_factory=list)

    def add(self, image: Image) -> Stored:
        """Define ``image`` on the page (once) and return how to refer to it."""
        known = self._by_id.get(id(image))
        if known is not None:
            return known
        pixels = image.pixels
        digest = hashlib.sha1(pixels.tobytes() + repr(pixels.shape).encode()).hexdigest()
        stored = self._by_digest.get(digest)
        if stored is None:
            stored = self._define(image)
            self._by_digest[digest] = stored
        self._by_id[id(image)] = stored
        self._keep.append(image)  # keeps id() unique while the page is built
        return stored

    def _define(self, image: Image) -> Stored:
        pil = image.to_pil()
        scale = self._scale(image.width, image.height)
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            pil = pil.resize(size, resample=_lanczos(), reducing_gap=2.0)
        uri = encode_photo(pil, lossless=self.max_side is None)
        stored = Stored(f"im{len(self._defs)}", image.width, image.height, scale)
        self._defs.append(
            "<image"
            + attrs(id=stored.ref, width=image.width, height=image.height, href=uri)
            + ' preserveAspectRatio="none"/>'
        )
        return stored

    def _scale(self, width: int, height: int) -> float:
        if self.max_side is None:
            return 1.0
        return min(1.0, self.max_side / max(width, height))

    def defs(self) -> str:
        """The hidden ``<svg>`` holding every image defined so far."""
        body = "".join(self._defs)
        return (
            '<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false">'
            f"<defs>{body}</defs></svg>"
        )


def _lanczos() -> Any:
    from PIL import Image as PILImage

    return PILImage.Resampling.LANCZOS


def encode_photo(pil: Any, lossless: bool = False) -> str:
    """A ``data:`` URI for a PIL RGB image.

    Lossless PNG when asked; otherwise JPEG for photos, and PNG for flat images (few colours:
    drawings, masks, diagrams) when it is not much larger than JPEG, so they stay crisp.
    """
    if not lossless and pil.getcolors(maxcolors=FLAT_COLOURS) is None:
        # Many colours: a photo. Skip the PNG attempt, which costs more than the JPEG.
        return _uri("jpeg", _save(pil, "JPEG", quality=JPEG_QUALITY, optimize=True))
    png = _save(pil, "PNG", optimize=False, compress_level=6)
    if lossless:
        return _uri("png", png)
    jpeg = _save(pil, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return _uri("jpeg", jpeg) if len(jpeg) * 1.25 < len(png) else _uri("png", png)


def _uri(kind: str, data: bytes) -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


def _save(pil: Any, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **options)
    return buf.getvalue()


def mask_tile(
    local: np.ndarray[Any, Any], color: str, scale: float
) -> tuple[str, tuple[int, int, int, int]] | None:
    """A mask as a one-colour transparent PNG cropped to its extent.

    Args:
        local: bool (H, W) mask in the displayed image's pixels.
        color: ``#rrggbb`` fill colour.
        scale: Thumbnail pixels per image pixel (the tile is stored at that resolution).

    Returns:
        ``(data URI, (x0, y0, x1, y1))`` with the extent in image pixels, or None when the mask
        is empty.
    """
    from PIL import Image as PILImage

    found = mask_box(local)
    if found is None:
        return None
    x0, y0, x1, y1 = found
    bits = local[y0:y1, x0:x1]
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        small = PILImage.fromarray(bits.astype(np.uint8) * 255, "L").resize(
            size, resample=PILImage.Resampling.BILINEAR
        )
        bits = np.asarray(small) >= 128
    tile = PILImage.fromarray(bits.astype(np.uint8), "P")
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    tile.putpalette([0, 0, 0, r, g, b])
    data = _save(tile, "PNG", transparency=0, optimize=True)
    return _uri("png", data), (x0, y0, x1, y1)
