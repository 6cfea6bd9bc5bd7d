"""Point: Molmo 2 points at every instance of an object; the points come back in root pixels.

The model answers in text; :func:`parse_points` (a pure function) reads the pointing formats
documented by the models' authors:

- Molmo 2 (model card of ``allenai/Molmo2-4B`` / ``-8B``, "Multi-Image Point QA" and "Pointing
  Video QA"): ``<points alt="dog" coords="1 1 424 446 2 610 400">dog</points>``. ``coords``
  holds groups separated by a tab, ``;``, ``,`` or ``:``; each group is an image index (a
  timestamp for video, where the tag may be ``<tracks``) followed by ``id x y`` triples, x and
  y in thousandths of the width and height (written ``%03d``). The tag may close with ``/>``.
- Molmo (1) (``allenai/Molmo-7B-O-0924``, answer in the model's discussion #1):
  ``<point x="61.5" y="40.6" alt="dog">dog</point>`` and ``<points x1="61.5" y1="40.6"
  x2=".." y2=".." alt="..">``, in percent of the width and height.

Text without a pointing tag ("There are none.") has no points. A point outside the image
(above 1000 or 100) is dropped, as the model card's own extractor drops it. A pointing tag that
cannot be read (cut off, a coordinate without its partner, words where numbers belong) is a
:class:`~visprog.errors.ToolExecutionError` rather than zero points: a silently wrong count is
worse than a failed step. ``Count(box=POINTS)`` counts the points, and
``Seg(image=IMAGE, point=POINTS)`` segments them.

Settings: ``model.point`` (default ``allenai/Molmo2-4B``), ``point.prompt`` (``{object}`` is
replaced by the name), ``point.max_new_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolArgumentError, ToolExecutionError
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image, Points

DEFAULT_ID = "allenai/Molmo2-4B"
DEFAULT_PROMPT = "Point to {object}."
MAX_NEW_TOKENS = 256

# An opening pointing tag and its attributes; group 3 is empty when the tag never closes.
_TAG = re.compile(r"<(points?|tracks)\b([^<>]*)(>?)", re.IGNORECASE)
_ATTR = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XY = re.compile(r"^([xy])(\d*)$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_COORDS = re.compile(r"[0-9\t:;, .]*")  # the characters Molmo 2's coords may hold
_GROUP_SEP = re.compile(r"[\t:;,]")

Parsed = list[tuple[float, float, str]]


def parse_points(text: str) -> Parsed:
    """Every point in a Molmo answer as (x, y, alt), x and y fractions of width and height (0..1).

    Args:
        text: The model's raw answer (may be empty, prose, or garbage).

    Returns:
        Points in order of appearance; empty when the answer holds no pointing tag. ``alt`` is
        the tag's ``alt`` attribute ('' when absent). Points outside the image are dropped.

    Raises:
        ToolExecutionError: For a pointing tag that cannot be read (see the module docstring).
    """
    return read_points(text)[0]


def read_points(text: str) -> tuple[Parsed, int]:
    """:func:`parse_points`, and how many points outside the image it dropped."""
    out: Parsed = []
    dropped = 0
    for match in _TAG.finditer(text or ""):
        if not match.group(3):
            _malformed(
                match.group(0), "the tag is cut off (did the answer hit point.max_new_tokens?)"
            )
        attrs = {k.lower(): a or b for k, a, b in _ATTR.findall(match.group(2))}
        alt = attrs.get("alt", "").strip()
        if "coords" in attrs:
            pairs, lost = _coords_pairs(attrs["coords"], match.group(0))
        else:
            pairs, lost = _xy_pairs(attrs, match.group(0))
        out.extend((x, y, alt) for x, y in pairs)
        dropped += lost
    return out, dropped


def _malformed(tag: str, why: str) -> None:
    shown = tag if len(tag) <= 120 else tag[:117] + "..."
    raise ToolExecutionError(
        f"Point: Molmo's answer holds a pointing tag it cannot read ({why}): {shown!r}"
    )


def _coords_pairs(coords: str, tag: str) -> tuple[list[tuple[float, float]], int]:
    """Molmo 2's ``index id x y id x y ...`` groups, scaled to 0..1 (and the number dropped)."""
    if not _COORDS.fullmatch(coords):
        _malformed(tag, "coords holds something other than numbers and separators")
    pairs: list[tuple[float, float]] = []
    dropped = 0
    for group in _GROUP_SEP.split(coords):
        tokens = group.split()
        if not tokens:
            continue
        numbers = tokens[1:]  # tokens[0] is the image index (a timestamp for video)
        if len(numbers) % 3 or not all(_NUMBER.fullmatch(t) for t in tokens):
            _malformed(tag, "each group of coords must be an image index, then id x y triples")
        for i in range(0, len(numbers), 3):
            kept = _in_range(float(numbers[i + 1]), float(numbers[i + 2]), 1000.0)
            pairs.extend(kept)
            dropped += not kept
    return pairs, dropped


def _xy_pairs(attrs: dict[str, str], tag: str) -> tuple[list[tuple[float, float]], int]:
    """Molmo (1)'s ``x= y=`` or ``x1= y1= x2= y2=`` attributes, scaled to 0..1."""
    xs: dict[str, str] = {}
    ys: dict[str, str] = {}
    for key, value in attrs.items():
        m = _XY.match(key)
        if m:
            (xs if m.group(1) == "x" else ys)[m.group(2)] = value.strip()
    if not xs and not ys:
        _malformed(tag, "no coords, x or y attributes")
    if set(xs) != set(ys):
        _malformed(tag, "an x without its y, or a y without its x")
    pairs: list[tuple[float, float]] = []
    dropped = 0
    for index in sorted(xs, key=lambda k: int(k) if k else 0):
        if not (_NUMBER.fullmatch(xs[index]) and _NUMBER.fullmatch(ys[index])):
            _malformed(tag, f"x{index} and y{index} must be numbers")
        kept = _in_range(float(xs[index]), float(ys[index]), 100.0)
        pairs.extend(kept)
        dropped += not kept
    return pairs, dropped


def _in_range(x: float, y: float, scale: float) -> list[tuple[float, float]]:
    if 0.0 <= x <= scale and 0.0 <= y <= scale:
        return [(x / scale, y / scale)]
    return []


def to_points(image: Image, parsed: Parsed, name: str) -> Points:
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
    """Molmo's answer to ``prompt``, decoded as its model card does (special tokens skipped)."""
    processor, model = bundle
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[image.to_pil()], text=text, return_tensors="pt")
    inputs = inputs.to(model.device, dtype=model.dtype)
    with inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    generated = out[:, inputs["input_ids"].shape[1] :]
    answer = processor.batch_decode(generated, skip_special_tokens=True)[0]
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
    parsed, dropped = read_points(answer)
    outside = f" ({dropped} outside the image dropped)" if dropped else ""
    ctx.note(f"Molmo answered {answer[:200]!r}: {len(parsed)} points{outside}")
    return to_points(image, parsed, name)
