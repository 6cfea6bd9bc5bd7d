"""The value types that flow between steps: images with provenance, objects, points.

Coordinate frame: every box, mask and point is in *root-image pixels*, the frame of the input
image a value descends from. An :class:`Image` that is a crop remembers its offset in that root
image, so a detector run on a crop can report boxes that land on the original photo.

This module imports numpy only; adapters never import the library they adapt.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from visprog.errors import InvalidValueError, ToolArgumentError
from visprog.masks import BoxMasks

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]


def _fail(message: str) -> None:
    raise InvalidValueError(message)


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

    def to_root_points(self, xy: npt.ArrayLike) -> FloatArray:
        """Map (N, 2) points from this image's pixels to root pixels."""
        out: FloatArray = np.asarray(xy, dtype=np.float64).reshape(-1, 2) + np.asarray(self.offset)
        return out

    def to_local_points(self, xy: npt.ArrayLike) -> FloatArray:
        """Map (N, 2) points from root pixels to this image's pixels (not clipped)."""
        out: FloatArray = np.asarray(xy, dtype=np.float64).reshape(-1, 2) - np.asarray(self.offset)
        return out

    def masks_to_root(self, masks: npt.ArrayLike | BoxMasks) -> BoxMasks:
        """(N, h, w) masks in this image's pixels -> N masks of the root frame (within boxes).

        ``masks`` may be a :class:`~visprog.masks.BoxMasks` of this image's frame (moved without
        being made dense) or an array (bool, or scores thresholded at 0).
        """
        root_w, root_h = self.root_size
        if isinstance(masks, BoxMasks):
            if masks.shape[1:] != (self.height, self.width):
                _fail(f"masks: expected a frame of {(self.height, self.width)}, got {masks.shape}")
            return masks.moved(self.offset, root_h, root_w)
        local = np.asarray(masks).reshape(-1, self.height, self.width) > 0
        return BoxMasks.from_dense(local, self.offset, (root_h, root_w))

    def local_mask(self, root_mask: BoolArray) -> BoolArray:
        """Cut a root-frame (H_root, W_root) mask down to this image's (H, W) extent."""
        x0, y0, x1, y1 = self.root_box
        return root_mask[y0:y1, x0:x1]

    def crop(self, box: Sequence[float]) -> Image:
        """Crop to a box given in this image's pixels (clipped to bounds), keeping provenance.

        Raises:
            InvalidValueError: When the box is not finite or does not overlap the image (a crop
                outside the image is a mistake upstream, never a silent 1x1 image).
        """
        b = np.asarray(box, dtype=np.float64).reshape(-1)
        if b.shape != (4,) or not np.isfinite(b).all():
            _fail(f"Image.crop: expected a finite (x0, y0, x1, y1) box, got {box!r}")
        x0f, x1f = max(b[0], 0.0), min(b[2], float(self.width))
        y0f, y1f = max(b[1], 0.0), min(b[3], float(self.height))
        if x1f <= x0f or y1f <= y0f:
            _fail(
                f"Image.crop: the box {tuple(round(float(v), 1) for v in b)} does not overlap "
                f"the {self.width}x{self.height} image"
            )
        # Round to pixels, keeping at least one pixel of a thin but real overlap.
        x0, y0 = min(int(round(x0f)), self.width - 1), min(int(round(y0f)), self.height - 1)
        x1, y1 = max(int(round(x1f)), x0 + 1), max(int(round(y1f)), y0 + 1)
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
        masks: optional N masks of the root frame, (N, H_root, W_root) as an array would be;
            stored within their boxes (:class:`~visprog.masks.BoxMasks`; an array given here
            is converted).
        points: optional float64 (N, 2), (x, y) in root pixels (e.g. the prompt of a mask).
        source: Name of the root input the coordinates refer to.
        root_size: (width, height) of that root input; (0, 0) when unknown (built by hand).
    """

    boxes: FloatArray
    scores: FloatArray
    labels: Sequence[str]
    masks: BoxMasks | None = None
    points: FloatArray | None = None
    source: str = "IMAGE"
    root_size: tuple[int, int] = (0, 0)

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
        object.__setattr__(self, "root_size", _size(self.root_size, "Objects.root_size"))
        if self.masks is not None:
            masks: Any = self.masks
            if not isinstance(masks, BoxMasks):
                masks = np.asarray(masks)
                if masks.ndim != 3:
                    _fail(f"Objects.masks: expected shape ({n}, H, W), got {_shape(masks)}")
                masks = BoxMasks.from_dense(masks)
            if masks.shape[0] != n:
                _fail(f"Objects.masks: expected shape ({n}, H, W), got {masks.shape}")
            object.__setattr__(self, "masks", masks)
        if self.points is not None:
            points = np.asarray(self.points, dtype=np.float64)
            if points.shape != (n, 2):
                _fail(f"Objects.points: expected shape ({n}, 2), got {_shape(points)}")
            object.__setattr__(self, "points", points)

    @classmethod
    def empty(cls, source: str = "IMAGE", root_size: tuple[int, int] = (0, 0)) -> Objects:
        """No objects."""
        return cls(np.zeros((0, 4)), np.zeros(0), (), source=source, root_size=root_size)

    @classmethod
    def none_in(cls, image: Image) -> Objects:
        """No objects, in ``image``'s frame."""
        return cls.empty(image.source, image.root_size)

    @classmethod
    def from_local(
        cls,
        image: Image,
        boxes: npt.ArrayLike,
        scores: npt.ArrayLike,
        labels: Sequence[str],
        masks: npt.ArrayLike | BoxMasks | None = None,
        points: npt.ArrayLike | None = None,
    ) -> Objects:
        """Objects found in ``image``'s own pixels, placed in its root frame.

        Boxes (xyxy) are clipped to the image and shifted by its offset, points shifted, and
        (N, h, w) masks placed into the root frame; source and root size come from ``image``.
        """
        from visprog.geometry import clip_boxes

        b = image.to_root(clip_boxes(boxes, image.width, image.height))
        root_masks = None if masks is None else image.masks_to_root(masks)
        xy = None if points is None else image.to_root_points(points)
        s = np.asarray(scores, dtype=np.float64)
        return cls(b, s, labels, root_masks, xy, image.source, image.root_size)

    # Adapters (visprog.adapters): they read other libraries' results and import none of them.

    @classmethod
    def from_transformers(
        cls, image: Image, result: Mapping[str, Any], names: Any = None, label: str = "object"
    ) -> Objects:
        """From a transformers ``post_process_*`` result (see :mod:`visprog.adapters`)."""
        from visprog.adapters import from_transformers

        return from_transformers(image, result, names, label)

    @classmethod
    def from_ultralytics(cls, image: Image, result: Any) -> Objects:
        """From an ultralytics ``Results`` (see :mod:`visprog.adapters`)."""
        from visprog.adapters import from_ultralytics

        return from_ultralytics(image, result)

    @classmethod
    def from_sam2(
        cls, image: Image, masks: Any, scores: Any, label: str = "object", points: Any = None
    ) -> Objects:
        """From SAM 2 masks and scores (see :mod:`visprog.adapters`)."""
        from visprog.adapters import from_sam2

        return from_sam2(image, masks, scores, label, points)

    @classmethod
    def from_supervision(cls, image: Image, detections: Any, label: str = "object") -> Objects:
        """From ``supervision.Detections`` (see :mod:`visprog.adapters`)."""
        from visprog.adapters import from_supervision

        return from_supervision(image, detections, label)

    def to_supervision(self) -> Any:
        """As ``supervision.Detections`` in root pixels (imports supervision now)."""
        from visprog.adapters import to_supervision

        return to_supervision(self)

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
            self.root_size,
        )

    def with_labels(self, labels: Sequence[str], scores: npt.ArrayLike | None = None) -> Objects:
        """The same objects with new labels (and optionally new scores)."""
        new_scores = self.scores if scores is None else np.asarray(scores, dtype=np.float64)
        return Objects(
            self.boxes, new_scores, tuple(labels), self.masks, self.points, self.source,
            self.root_size,
        )  # fmt: skip

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
            return self.masks.window(i, image.root_box)
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
        root_size: (width, height) of that root input; (0, 0) when unknown.
    """

    xy: FloatArray
    labels: Sequence[str]
    source: str = "IMAGE"
    root_size: tuple[int, int] = (0, 0)

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
        object.__setattr__(self, "root_size", _size(self.root_size, "Points.root_size"))

    @classmethod
    def empty(cls, source: str = "IMAGE", root_size: tuple[int, int] = (0, 0)) -> Points:
        """No points."""
        return cls(np.zeros((0, 2)), (), source, root_size)

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def __repr__(self) -> str:
        return f"Points({len(self)}, labels={list(self.labels)[:6]})"


def _size(size: Any, what: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        w = h = -1
    if w < 0 or h < 0:
        _fail(f"{what}: expected (width, height) of non-negative integers, got {size!r}")
    return (w, h)


def check_frames(step: str, args: Mapping[str, Any]) -> None:
    """Refuse objects or points of one input used with an image of another (or of another size).

    Boxes, masks and points are in the pixels of the input they came from; drawn on another
    input's image they would land in the wrong place, silently.

    Raises:
        ToolArgumentError: Naming both inputs (the caller's mistake: exit 6).
    """
    images = [(n, v) for n, v in args.items() if isinstance(v, Image)]
    located = [(n, v) for n, v in args.items() if isinstance(v, (Objects, Points))]
    for (iname, image), (name, value) in ((i, x) for i in images for x in located):
        what = "objects" if isinstance(value, Objects) else "points"
        if value.source != image.source:
            raise ToolArgumentError(
                f"{step}: {name}= holds {what} found in input {value.source!r}, but image= is "
                f"from input {image.source!r}; use {what} found in {image.source!r}"
            )
        if value.root_size != (0, 0) and value.root_size != image.root_size:
            raise ToolArgumentError(
                f"{step}: {name}= holds {what} of a {value.root_size[0]}x{value.root_size[1]} "
                f"input {value.source!r}, but {iname}= comes from a "
                f"{image.root_size[0]}x{image.root_size[1]} input of that name"
            )


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
