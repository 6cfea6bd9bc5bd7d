"""The value types that flow between steps: images with provenance, objects, points.

Coordinate frame: every box, mask and point is in *root-image pixels*, the frame of the input
image a value descends from. An :class:`Image` that is a crop remembers its offset in that root
image, so a detector run on a crop can report boxes that land on the original photo.

This module imports numpy only; adapters never import the library they adapt.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from visprog.errors import ToolArgumentError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]


def _fail(message: str) -> None:
    raise ToolArgumentError(message)


def _shape(a: Any) -> str:
    return str(tuple(a.shape)) if hasattr(a, "shape") else type(a).__name__


@dataclass(frozen=True, eq=False)
class Image:
    """An RGB image and where it came from.

    Attributes:
        pixels: uint8 array of shape (H, W, 3), RGB.
        source: Name of the input this image descends from (``"IMAGE"``, ``"LEFT"``, ...).
        offset: (x, y) of this image's top-left pixel in the root image.
        root_size: (width, height) of the root image; (0, 0) means "this image is the root".
    """

    pixels: UInt8Array
    source: str = "IMAGE"
    offset: tuple[int, int] = (0, 0)
    root_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        p = self.pixels
        if not isinstance(p, np.ndarray) or p.ndim != 3 or p.shape[2] != 3:
            _fail(f"Image pixels: expected an array of shape (H, W, 3), got {_shape(p)}")
        if p.dtype != np.uint8:
            _fail(f"Image pixels: expected dtype uint8, got {p.dtype}")
        if p.shape[0] == 0 or p.shape[1] == 0:
            _fail(f"Image pixels: expected a non-empty image, got {_shape(p)}")
        if tuple(self.root_size) == (0, 0):
            object.__setattr__(self, "root_size", (p.shape[1], p.shape[0]))
        object.__setattr__(self, "offset", (int(self.offset[0]), int(self.offset[1])))

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), PIL order."""
        return (self.width, self.height)

    @property
    def root_box(self) -> tuple[int, int, int, int]:
        """This image's extent in root pixels, xyxy."""
        x, y = self.offset
        return (x, y, x + self.width, y + self.height)

    def to_root(self, boxes: npt.ArrayLike) -> FloatArray:
        """Map (N, 4) xyxy boxes from this image's pixels to root pixels."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        x, y = self.offset
        return b + np.array([x, y, x, y], dtype=np.float64)

    def to_local(self, boxes: npt.ArrayLike) -> FloatArray:
        """Map (N, 4) xyxy boxes from root pixels to this image's pixels (not clipped)."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        x, y = self.offset
        return b - np.array([x, y, x, y], dtype=np.float64)

    def local_mask(self, root_mask: BoolArray) -> BoolArray:
        """Cut a root-frame (H_root, W_root) mask down to this image's (H, W) extent."""
        x0, y0, x1, y1 = self.root_box
        return root_mask[y0:y1, x0:x1]

    def crop(self, box: Sequence[float]) -> Image:
        """Crop to a box given in this image's pixels (clipped to bounds), keeping provenance.

        An empty or inverted box after clipping yields a 1x1 crop rather than an invalid image.
        """
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, x1 = sorted((min(max(x0, 0), self.width), min(max(x1, 0), self.width)))
        y0, y1 = sorted((min(max(y0, 0), self.height), min(max(y1, 0), self.height)))
        x1, y1 = max(x1, min(x0 + 1, self.width)), max(y1, min(y0 + 1, self.height))
        x0, y0 = min(x0, x1 - 1), min(y0, y1 - 1)
        pixels = np.ascontiguousarray(self.pixels[y0:y1, x0:x1])
        ox, oy = self.offset
        return Image(pixels, self.source, (ox + x0, oy + y0), self.root_size)

    def with_pixels(self, pixels: UInt8Array) -> Image:
        """A new image in the same frame (an edit of this one: same size, offset, source)."""
        return Image(pixels, self.source, self.offset, self.root_size)

    def to_pil(self) -> Any:
        """This image as a ``PIL.Image.Image`` (RGB)."""
        from PIL import Image as PILImage

        return PILImage.fromarray(self.pixels, "RGB")

    @classmethod
    def from_pil(cls, image: Any, source: str = "IMAGE") -> Image:
        """Build a root image from a PIL image (converted to RGB)."""
        return cls(np.asarray(image.convert("RGB"), dtype=np.uint8).copy(), source)

    def __repr__(self) -> str:
        return f"Image({self.width}x{self.height}, source={self.source!r}, offset={self.offset})"


@dataclass(frozen=True, eq=False)
class Objects:
    """Detected objects as parallel arrays (empty is valid; never use None for "nothing").

    Attributes:
        boxes: float64 (N, 4), xyxy in root-image pixels.
        scores: float64 (N,), detector confidence in [0, 1] (1.0 where not applicable).
        labels: N strings.
        masks: optional bool (N, H_root, W_root), in the root frame.
        points: optional float64 (N, 2), (x, y) in root pixels (e.g. the prompt of a mask).
        source: Name of the root input the coordinates refer to.
    """

    boxes: FloatArray
    scores: FloatArray
    labels: Sequence[str]
    masks: BoolArray | None = None
    points: FloatArray | None = None
    source: str = "IMAGE"

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            _fail(f"Objects.boxes: expected shape (N, 4), got {_shape(boxes)}")
        n = boxes.shape[0]
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if scores.shape != (n,):
            _fail(f"Objects.scores: expected shape ({n},), got {_shape(scores)}")
        labels = tuple(str(x) for x in self.labels)
        if len(labels) != n:
            _fail(f"Objects.labels: expected {n} labels, got {len(labels)}")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)
        if self.masks is not None:
            masks = np.asarray(self.masks).astype(bool, copy=False)
            if masks.ndim != 3 or masks.shape[0] != n:
                _fail(f"Objects.masks: expected shape ({n}, H, W), got {_shape(masks)}")
            object.__setattr__(self, "masks", masks)
        if self.points is not None:
            points = np.asarray(self.points, dtype=np.float64)
            if points.shape != (n, 2):
                _fail(f"Objects.points: expected shape ({n}, 2), got {_shape(points)}")
            object.__setattr__(self, "points", points)

    @classmethod
    def empty(cls, source: str = "IMAGE") -> Objects:
        """No objects."""
        return cls(np.zeros((0, 4)), np.zeros(0), (), source=source)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    def subset(self, index: Sequence[int] | npt.NDArray[np.int_]) -> Objects:
        """The objects at the given indices, in that order."""
        idx = np.asarray(index, dtype=np.int64).reshape(-1)
        return Objects(
            self.boxes[idx],
            self.scores[idx],
            tuple(self.labels[int(i)] for i in idx),
            None if self.masks is None else self.masks[idx],
            None if self.points is None else self.points[idx],
            self.source,
        )

    def with_labels(self, labels: Sequence[str], scores: npt.ArrayLike | None = None) -> Objects:
        """The same objects with new labels (and optionally new scores)."""
        new_scores = self.scores if scores is None else np.asarray(scores, dtype=np.float64)
        return Objects(self.boxes, new_scores, tuple(labels), self.masks, self.points, self.source)

    def union_mask(self, image: Image) -> BoolArray:
        """Union of all objects as a bool (H, W) mask in ``image``'s own pixels.

        Uses each object's mask where present, its box otherwise.
        """
        out = np.zeros((image.height, image.width), dtype=bool)
        for i in range(len(self)):
            out |= self.object_mask(i, image)
        return out

    def object_mask(self, i: int, image: Image) -> BoolArray:
        """Object ``i`` as a bool (H, W) mask in ``image``'s pixels (its mask, else its box)."""
        root_w, root_h = image.root_size
        if self.masks is not None and self.masks.shape[1:] == (root_h, root_w):
            return image.local_mask(self.masks[i]).copy()
        out = np.zeros((image.height, image.width), dtype=bool)
        x0, y0, x1, y1 = image.to_local(self.boxes[i])[0]
        xa, ya = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
        xb, yb = min(int(np.ceil(x1)), image.width), min(int(np.ceil(y1)), image.height)
        if xb > xa and yb > ya:
            out[ya:yb, xa:xb] = True
        return out

    def __repr__(self) -> str:
        extra = " with masks" if self.masks is not None else ""
        return f"Objects({len(self)}{extra}, labels={list(self.labels)[:6]})"


@dataclass(frozen=True, eq=False)
class Points:
    """Points in root-image pixels, each with a label.

    Attributes:
        xy: float64 (N, 2), (x, y) in root pixels.
        labels: N strings.
        source: Name of the root input the coordinates refer to.
    """

    xy: FloatArray
    labels: Sequence[str]
    source: str = "IMAGE"

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        if xy.size == 0:
            xy = xy.reshape(0, 2)
        if xy.ndim != 2 or xy.shape[1] != 2:
            _fail(f"Points.xy: expected shape (N, 2), got {_shape(xy)}")
        labels = tuple(str(x) for x in self.labels)
        if len(labels) != xy.shape[0]:
            _fail(f"Points.labels: expected {xy.shape[0]} labels, got {len(labels)}")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def empty(cls, source: str = "IMAGE") -> Points:
        """No points."""
        return cls(np.zeros((0, 2)), (), source)

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def __repr__(self) -> str:
        return f"Points({len(self)}, labels={list(self.labels)[:6]})"


# ---------------------------------------------------------------------------------------------
# Type tags: the small type system shared by tool specs, the checker and the runtime check.
# ---------------------------------------------------------------------------------------------

IMAGE, OBJECTS, POINTS = "Image", "Objects", "Points"
NUMBER, TEXT, BOOL, TEXT_LIST, NONE = "number", "text", "bool", "list[text]", "none"
ANY = "any"
MAX_INT = 2**63 - 1
"""Largest integer magnitude in the language (an int64); larger ones are outside it."""
MAX_TEXT = 100_000
"""Longest text value a step may produce (Eval joins, model answers), in characters."""
ALL_TYPES = frozenset({IMAGE, OBJECTS, POINTS, NUMBER, TEXT, BOOL, TEXT_LIST, NONE})


def type_of(value: object) -> str | None:
    """The type tag of a runtime value, or None for a value outside the language."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return NUMBER if abs(value) <= MAX_INT else None
    if isinstance(value, float):
        return NUMBER if math.isfinite(value) else None
    if isinstance(value, str):
        return TEXT
    if value is None:
        return NONE
    if isinstance(value, Image):
        return IMAGE
    if isinstance(value, Objects):
        return OBJECTS
    if isinstance(value, Points):
        return POINTS
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return TEXT_LIST
    return None


def describe_type(tags: frozenset[str] | set[str]) -> str:
    """Human form of a set of type tags: ``"Objects or Points"``."""
    if ANY in tags:
        return "any value"
    return " or ".join(sorted(tags))
