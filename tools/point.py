"""Point: Molmo 2 points at every instance of an object; the points come back in root pixels.

The model answers in text; :func:`parse_points` (a pure function) reads both pointing formats:

- Molmo 2: ``<points coords="1 1 424 446 2 610 400" alt="dog">dog</points>``: an optional
  image index, then ``id x y`` triples in thousandths of the width and height (frames or images
  separated by tabs);
- Molmo (1): ``<point x="61.5" y="40.6" alt="dog">dog</point>`` and ``<points x1="61.5"
  y1="40.6" x2=".." y2=".." alt="..">``, in percent of the width and height.

Out-of-range coordinates and malformed tags are skipped: garbage in, no points out.
``Count(box=POINTS)`` counts them, and ``Seg(image=IMAGE, point=POINTS)`` segments them.

Settings: ``model.point`` (default ``allenai/Molmo2-4B``), ``point.prompt`` (``{object}`` is
replaced by the name), ``point.max_new_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image, Points

DEFAULT_ID = "allenai/Molmo2-4B"
DEFAULT_PROMPT = "Point to {object}."
MAX_NEW_TOKENS = 256

_TAG = re.compile(r"<(points?)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*["']([^"']*)["']""")
_XY = re.compile(r"^([xy])(\d*)$")


def parse_points(text: str) -> list[tuple[float, float, str]]:
    """Every point in a Molmo answer as (x, y, alt), x and y fractions of width and height (0..1).

    Args:
        text: The model's raw answer (may be empty, partial or garbage).

    Returns:
        Points in order of appearance; empty when there are none. ``alt`` is the tag's ``alt``
        attribute ('' when absent).
    """
    out: list[tuple[float, float, str]] = []
    for match in _TAG.finditer(text or ""):
        attrs = dict(_ATTR.findall(match.group(2)))
        alt = attrs.get("alt", "").strip()
        if "coords" in attrs:
            pairs = _coords_pairs(attrs["coords"], 1000.0)
        else:
            pairs = _xy_pairs(attrs, 100.0)
        out.extend((x, y, alt) for x, y in pairs)
    return out


def _coords_pairs(coords: str, scale: float) -> list[tuple[float, float]]:
    """Molmo 2's ``[image] id x y id x y ...`` (tab-separated groups), scaled to 0..1."""
    pairs: list[tuple[float, float]] = []
    for group in coords.split("\t"):
        tokens = [t for t in re.split(r"[\s,;:]+", group.strip()) if t]
        if not tokens or not all(_is_number(t) for t in tokens):
            continue
        if len(tokens) % 3 == 1:  # a leading image index
            tokens = tokens[1:]
        for i in range(0, len(tokens) - 2, 3):
            pairs.extend(_in_range(float(tokens[i + 1]), float(tokens[i + 2]), scale))
    return pairs


def _xy_pairs(attrs: dict[str, str], scale: float) -> list[tuple[float, float]]:
    """Molmo (1)'s ``x= y=`` or ``x1= y1= x2= y2=`` attributes, scaled to 0..1."""
    xs: dict[str, str] = {}
    ys: dict[str, str] = {}
    for key, value in attrs.items():
        m = _XY.match(key.lower())
        if m:
            (xs if m.group(1) == "x" else ys)[m.group(2)] = value
    pairs: list[tuple[float, float]] = []
    for index in sorted(set(xs) & set(ys), key=lambda k: int(k) if k else 0):
        if _is_number(xs[index]) and _is_number(ys[index]):
            pairs.extend(_in_range(float(xs[index]), float(ys[index]), scale))
    return pairs


def _is_number(text: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)?", text.strip()) is not None


def _in_range(x: float, y: float, scale: float) -> list[tuple[float, float]]:
    if 0.0 <= x <= scale and 0.0 <= y <= scale:
        return [(x / scale, y / scale)]
    return []


def to_points(image: Image, parsed: list[tuple[float, float, str]], name: str) -> Points:
    """Parsed fractions of ``image`` -> Points in root pixels, labelled ``name``."""
    if not parsed:
        return Points.empty(image.source, image.root_size)
    frac = np.asarray([(x, y) for x, y, _ in parsed], dtype=np.float64)
    xy = image.to_root_points(frac * np.asarray([image.width, image.height]))
    return Points(xy, [name] * len(parsed), image.source, image.root_size)


def load_molmo(
    model_id: str, device: str, dtype_name: str, settings: Mapping[str, Any] | None = None
) -> tuple[Any, Any]:
    """(processor, model) of a Molmo 2 checkpoint on ``device`` in dtype ``dtype_name``."""
    tf = require("transformers", "models", "Point")
    dtype = torch_dtype(device, dtype_name)
    processor = hub_load("Point", model_id, tf.AutoProcessor.from_pretrained, "model.point")
    model = hub_load(
        "Point",
        model_id,
        tf.AutoModelForImageTextToText.from_pretrained,
        "model.point",
        dtype=dtype,
    )
    return processor, model.to(device).eval()


PROMPT = option(
    "point.prompt",
    str,
    DEFAULT_PROMPT,
    "Point's instruction to Molmo, with {object}",
    contains="{object}",
)
MAX_TOKENS = option("point.max_new_tokens", int, MAX_NEW_TOKENS, "Point's generation budget", 1)
MOLMO = declare_model(
    "Point",
    "model.point",
    DEFAULT_ID,
    load_molmo,
    kind="molmo",
    help="Point's Molmo 2 model: a Hugging Face id or a local folder",
    options=(PROMPT, MAX_TOKENS),
)


def ask(bundle: tuple[Any, Any], image: Image, prompt: str, max_new_tokens: int) -> str:
    """Molmo's answer (special tokens kept, since pointing tags may use them) to ``prompt``."""
    processor, model = bundle
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[image.to_pil()], text=text, return_tensors="pt")
    inputs = inputs.to(model.device, dtype=model.dtype)
    with inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    answer = processor.batch_decode(out[:, inputs["input_ids"].shape[1] :])[0]
    return str(answer)


@tool("Point", model=f"Molmo 2 ({DEFAULT_ID})")
def point(image: Image, object: str, ctx: Context) -> Points:
    """Point at every instance of an object (a grounded answer for Count, or prompts for Seg)."""
    name = object.strip()
    if not name:
        raise ToolArgumentError("Point: the object name is empty")
    prompt = ctx.option(PROMPT).replace("{object}", name)
    limit = ctx.option(MAX_TOKENS)
    bundle, _ = ctx.load_model(MOLMO, f"Molmo 2 {ctx.settings.get(MOLMO.setting, MOLMO.default)}")
    answer = ask(bundle, image, prompt, limit)
    parsed = parse_points(answer)
    ctx.note(f"Molmo answered {answer[:200]!r}: {len(parsed)} points")
    return to_points(image, parsed, name)
