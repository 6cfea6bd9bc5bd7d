"""Reading a saved trace safely: every field checked, every size bounded, files kept in place.

A trace file is input like any other: someone else may have written it. :func:`read_trace_dict`
turns its JSON into the constructor arguments of :class:`~visprog.trace.Trace`, or raises
:class:`~visprog.errors.TraceFormatError` naming the offending field (``steps[3].output.masks``).

* Image ``src`` is a ``data:image/...;base64,`` URI, or a file directly inside the trace's own
  ``<stem>_images/`` folder: no other folder, no ``..``, no absolute path, no symbolic link, and
  only a regular file (never a FIFO, device or folder). Reads are bounded.
* Decoded images, masks and value nesting are bounded (:data:`MAX_IMAGE_PIXELS`,
  :data:`MAX_IMAGE_BYTES`, :data:`MAX_DEPTH`); numbers must be finite.
* Keys this version does not know are ignored, so traces of later versions still load.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
import re
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from visprog.config import read_bounded
from visprog.errors import TraceFormatError, VisprogError
from visprog.values import MAX_INT, Image, Objects, Points

MAX_IMAGE_PIXELS = 64_000_000
"""Largest image (or mask) a trace may hold, in pixels: the default input limit."""

MAX_IMAGE_BYTES = 256 * 2**20
"""Largest encoded image file or data URI a trace may refer to."""

MAX_DEPTH = 8
"""Deepest nesting of lists inside one value."""

MAX_DECODED_BYTES = 2 * 2**30
"""Memory all of a trace's decoded images and masks may take: a few bytes of JSON or PNG can
declare a huge mask or image, and a trace may declare many."""

_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")

Read = Callable[[Any, str], Any]


def fail(where: str, what: str) -> TraceFormatError:
    """The error for field ``where``: ``steps[3].output: expected ...``."""
    return TraceFormatError(f"{where}: {what}")


def field(obj: dict[str, Any], key: str, where: str, read: Read, default: Any = ...) -> Any:
    """``obj[key]`` read by ``read``; missing is an error unless a default is given."""
    if key not in obj:
        if default is ...:
            raise fail(f"{where}.{key}" if where else key, "missing")
        return default
    return read(obj[key], f"{where}.{key}" if where else key)


def a_dict(v: Any, where: str) -> dict[str, Any]:
    """A JSON object."""
    if not isinstance(v, dict):
        raise fail(where, f"expected an object, got {_kind(v)}")
    return v


def a_list(v: Any, where: str) -> list[Any]:
    """A JSON array."""
    if not isinstance(v, list):
        raise fail(where, f"expected a list, got {_kind(v)}")
    return v


def text(v: Any, where: str) -> str:
    """A string."""
    if not isinstance(v, str):
        raise fail(where, f"expected text, got {_kind(v)}")
    return v


def optional(read: Read) -> Read:
    """``read``, or None for a JSON null."""
    return lambda v, where: None if v is None else read(v, where)


def integer(v: Any, where: str) -> int:
    """An integer within the language's range."""
    if isinstance(v, bool) or not isinstance(v, int) or abs(v) > MAX_INT:
        raise fail(where, f"expected an integer, got {_kind(v)}")
    return v


def number(v: Any, where: str) -> float:
    """A finite number (JSON allows NaN and Infinity; a trace does not)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise fail(where, f"expected a number, got {_kind(v)}")
    if not math.isfinite(v) or abs(v) > 1e300:
        raise fail(where, f"expected a finite number, got {v!r}")
    return float(v)


def texts(v: Any, where: str) -> list[str]:
    """A list of strings."""
    return [text(x, f"{where}[{i}]") for i, x in enumerate(a_list(v, where))]


def _kind(v: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}
    if v is None:
        return "null"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"the number {v!r:.30}"
    return names.get(type(v), type(v).__name__)


class ValueReader:
    """Decodes tagged values (images, objects, points, scalars), bounded, with field paths.

    Args:
        base: The folder holding the trace file (None: file images are refused).
        folder: The name of the trace's image folder, ``<stem>_images``.
    """

    def __init__(self, base: Path | None, folder: str | None) -> None:
        self.base = base
        self.folder = folder
        self.cache: dict[str, np.ndarray[Any, Any]] = {}
        self.decoded_bytes = 0

    def spend(self, nbytes: int, where: str) -> None:
        """Count ``nbytes`` of decoded data against :data:`MAX_DECODED_BYTES`, before allocating."""
        self.decoded_bytes += nbytes
        if self.decoded_bytes > MAX_DECODED_BYTES:
            raise fail(
                where, f"the trace's images and masks take more than {MAX_DECODED_BYTES:,} bytes"
            )

    def value(self, v: Any, where: str, depth: int = 0) -> Any:
        """One value of the trace's JSON form."""
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return integer(v, where)
        if isinstance(v, float):
            return number(v, where)
        if isinstance(v, list):
            if depth >= MAX_DEPTH:
                raise fail(where, f"lists nested more than {MAX_DEPTH} deep")
            return [self.value(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]
        obj = a_dict(v, where)
        kind = obj.get("kind")
        readers = {"image": self.image, "objects": self.objects, "points": self.points}
        if not isinstance(kind, str) or kind not in readers:
            raise fail(f"{where}.kind", f"unknown value kind {kind!r:.40}")
        try:
            return readers[kind](obj, where)
        except TraceFormatError:
            raise
        except (VisprogError, ValueError, TypeError, OverflowError) as e:
            # The value types validate themselves ("expected (N, 4), got ..."); say where.
            raise fail(where, f"invalid {kind}: {e}") from None

    def image(self, obj: dict[str, Any], where: str) -> Image:
        """An image value; its pixels come from ``src``."""
        pixels = self.pixels(field(obj, "src", where, text), f"{where}.src")
        offset = field(obj, "offset", where, _pair(integer), [0, 0])
        root = field(obj, "root_size", where, _pair(integer), [0, 0])
        source = field(obj, "source", where, text, "IMAGE")
        declared = field(obj, "size", where, _pair(integer), None)
        image = Image(pixels, source, (offset[0], offset[1]), (root[0], root[1]))
        if declared is not None and tuple(declared) != image.size:
            from visprog.trace import Thumbnail

            return Thumbnail.of_pixels(image, (declared[0], declared[1]))
        return image

    def objects(self, obj: dict[str, Any], where: str) -> Objects:
        """An objects value (boxes, scores, labels, run-length masks, points)."""
        boxes = _array(field(obj, "boxes", where, a_list), f"{where}.boxes", 4)
        scores = _array(field(obj, "scores", where, a_list), f"{where}.scores", None)
        labels = field(obj, "labels", where, texts)
        masks = self.masks(obj, where, len(boxes))
        points = field(obj, "points", where, optional(a_list), None)
        xy = None if points is None else _array(points, f"{where}.points", 2)
        source = field(obj, "source", where, text)
        root = field(obj, "root_size", where, _pair(integer), [0, 0])  # (0, 0): older traces
        return Objects(boxes, scores, labels, masks, xy, source, (root[0], root[1]))

    def points(self, obj: dict[str, Any], where: str) -> Points:
        """A points value."""
        xy = _array(field(obj, "xy", where, a_list), f"{where}.xy", 2)
        root = field(obj, "root_size", where, _pair(integer), [0, 0])  # (0, 0): older traces
        labels, source = field(obj, "labels", where, texts), field(obj, "source", where, text)
        return Points(xy, labels, source, (root[0], root[1]))

    def masks(self, obj: dict[str, Any], where: str, n: int) -> Any:
        """Run-length masks, checked against their declared shape before anything is allocated."""
        masks = field(obj, "masks", where, optional(a_list), None)
        shape = field(obj, "mask_shape", where, optional(_pair(integer)), None)
        if masks is None or shape is None:
            return None
        h, w = shape
        if h <= 0 or w <= 0 or h * w > MAX_IMAGE_PIXELS:
            raise fail(f"{where}.mask_shape", f"{h}x{w} is not a mask size this version reads")
        if len(masks) != n:
            raise fail(f"{where}.masks", f"{len(masks)} masks for {n} boxes")
        self.spend(n * h * w, f"{where}.masks")
        out = np.zeros((n, h, w), dtype=bool)
        for i, counts in enumerate(masks):
            out[i] = _rle(counts, (h, w), f"{where}.masks[{i}]")
        return out

    def pixels(self, src: str, where: str) -> np.ndarray[Any, Any]:
        """The decoded pixels of an image ``src`` (each distinct src decoded once)."""
        if src not in self.cache:
            raw = self._data(src, where) if src.startswith("data:") else self._file(src, where)
            self.cache[src] = decode_png(raw, where, self.spend)
        return self.cache[src]

    def _data(self, src: str, where: str) -> bytes:
        if not _DATA_URI.match(src):
            raise fail(where, "a data URI must be data:image/...;base64,")
        body = src.split(",", 1)[1]
        if len(body) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            raise fail(where, f"embedded image larger than {MAX_IMAGE_BYTES:,} bytes")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise fail(where, "embedded image is not valid base64") from None

    def _file(self, src: str, where: str) -> bytes:
        folder, _, name = src.partition("/")
        if self.base is None or self.folder is None or folder != self.folder:
            allowed = f"{self.folder}/" if self.folder else "no folder (embedded images only)"
            raise fail(where, f"image files must be inside {allowed}, got {src!r:.80}")
        if not _FILE_NAME.match(name):
            raise fail(where, f"not a plain file name inside {folder}/: {name!r:.80}")
        try:
            return read_regular(self.base / folder, name, MAX_IMAGE_BYTES)
        except OSError as e:
            raise fail(where, f"cannot read image file {src!r:.80}: {e.strerror or e}") from None


def read_regular(folder: Path, name: str, limit: int) -> bytes:
    """Read ``folder/name``, refusing symbolic links (either one), non-regular files and size.

    Raises:
        OSError: Missing, a link, not a regular file, or larger than ``limit`` bytes.
    """
    if stat.S_ISLNK(os.lstat(folder).st_mode):
        raise OSError(0, "the image folder is a symbolic link")
    return read_bounded(folder / name, limit, follow_links=False)


def decode_png(
    raw: bytes, where: str, spend: Callable[[int, str], None] | None = None
) -> np.ndarray[Any, Any]:
    """Decode image bytes to RGB pixels, refusing decompression bombs before decoding.

    ``spend(nbytes, where)`` is told the decoded size first (and may refuse it).
    """
    from PIL import Image as PILImage

    from visprog.images import pil_open

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with pil_open(io.BytesIO(raw)) as img:
                w, h = img.size
                if w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
                    raise fail(where, f"a {w}x{h} image is larger than {MAX_IMAGE_PIXELS:,} pixels")
                if spend is not None:
                    spend(w * h * 3, where)
                return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except TraceFormatError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise fail(where, f"an image larger than {MAX_IMAGE_PIXELS:,} pixels") from None
    except Exception as e:  # noqa: BLE001 - any decoder failure on untrusted bytes is the file's
        raise fail(where, f"not a readable image ({type(e).__name__})") from None


def _pair(read: Read) -> Read:
    def pair(v: Any, where: str) -> list[Any]:
        items = a_list(v, where)
        if len(items) != 2:
            raise fail(where, f"expected two values, got {len(items)}")
        return [read(x, f"{where}[{i}]") for i, x in enumerate(items)]

    return pair


def _array(v: list[Any], where: str, width: int | None) -> np.ndarray[Any, Any]:
    """A float array of shape (N,) or (N, width), every entry a finite number."""
    rows = v if width is None else [a_list(r, f"{where}[{i}]") for i, r in enumerate(v)]
    out = np.zeros((len(v),) if width is None else (len(v), width), dtype=np.float64)
    for i, row in enumerate(rows):
        if width is None:
            out[i] = number(row, f"{where}[{i}]")
            continue
        if len(row) != width:
            raise fail(f"{where}[{i}]", f"expected {width} numbers, got {len(row)}")
        out[i] = [number(x, f"{where}[{i}][{j}]") for j, x in enumerate(row)]
    return out


def _rle(counts: Any, shape: tuple[int, int], where: str) -> np.ndarray[Any, Any]:
    runs = [integer(c, f"{where}[{i}]") for i, c in enumerate(a_list(counts, where))]
    if any(r < 0 for r in runs) or sum(runs) != shape[0] * shape[1]:
        raise fail(where, f"run lengths do not add up to a {shape[0]}x{shape[1]} mask")
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(shape)
