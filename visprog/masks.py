"""Masks stored within their box: N masks of a root image without N full-size arrays.

SAM 2's automatic generator gives up to ``seg.max_objects`` (64) masks; as (N, H, W) bools of a
12-megapixel photo that is 768 MB, most of it False. :class:`BoxMasks` keeps each mask as the
bool array inside its tight box plus that box's corner, and behaves like the (N, H, W) bool array
it stands for where visprog reads masks: ``shape``, ``len``, ``masks[i]`` (one full-size
(H, W) mask, built on demand), ``masks[index_array]`` (a BoxMasks), iteration, ``np.asarray``.
Imports numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


class BoxMasks:
    """N bool masks of an (H, W) frame, each stored as the crop of its tight box.

    Args:
        parts: Per mask, ``(x0, y0, bits)``: the crop's top-left corner in the frame and the
            bool crop (an empty mask is a (0, 0) crop).
        height: The frame's height.
        width: The frame's width.
    """

    __slots__ = ("_parts", "_size")

    def __init__(self, parts: Sequence[tuple[int, int, BoolArray]], height: int, width: int):
        self._parts = tuple(parts)
        self._size = (int(height), int(width))

    @classmethod
    def from_dense(cls, masks: npt.ArrayLike, offset: tuple[int, int] = (0, 0),
                   frame: tuple[int, int] | None = None) -> BoxMasks:  # fmt: skip
        """From (N, h, w) masks placed at ``offset`` (x, y) in a frame of (H, W) ``frame``.

        With no ``frame`` the masks fill it: the frame is (h, w) and the offset (0, 0).
        """
        dense = np.asarray(masks)
        if dense.ndim != 3:
            raise ValueError(f"expected masks of shape (N, H, W), got {dense.shape}")
        height, width = frame if frame is not None else dense.shape[1:]
        return cls.from_iter(dense, height, width, offset)

    @classmethod
    def from_iter(cls, masks: Iterable[npt.ArrayLike], height: int, width: int,
                  offset: tuple[int, int] = (0, 0)) -> BoxMasks:  # fmt: skip
        """From (h, w) masks one at a time (so N full-size masks never exist at once).

        Each mask is placed at ``offset`` (x, y) in a frame of ``height`` x ``width`` and kept
        as the crop of its tight box.
        """
        ox, oy = offset
        parts = []
        for m in masks:
            bits = np.asarray(m).astype(bool, copy=False)
            rows, cols = np.flatnonzero(bits.any(axis=1)), np.flatnonzero(bits.any(axis=0))
            if rows.size == 0:
                parts.append((0, 0, np.zeros((0, 0), dtype=bool)))
                continue
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            parts.append((ox + int(x0), oy + int(y0), bits[y0:y1, x0:x1].copy()))
        return cls(parts, height, width)

    def moved(self, offset: tuple[int, int], height: int, width: int) -> BoxMasks:
        """The same masks shifted by ``offset`` (x, y) into a frame of ``height`` x ``width``."""
        ox, oy = offset
        parts = [
            (x + ox, y + oy, bits) if bits.size else (0, 0, bits) for x, y, bits in self._parts
        ]
        return BoxMasks(parts, height, width)

    def box(self, i: int) -> tuple[int, int, int, int] | None:
        """Mask ``i``'s tight box (x0, y0, x1, y1), exclusive end; None when it is empty."""
        x0, y0, bits = self._parts[i]
        if bits.size == 0:
            return None
        return (x0, y0, x0 + bits.shape[1], y0 + bits.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, H, W), as the dense array would have."""
        return (len(self._parts), *self._size)

    @property
    def dtype(self) -> np.dtype[np.bool_]:
        """Always bool."""
        return np.dtype(bool)

    @property
    def nbytes(self) -> int:
        """Bytes held by the crops (the dense form would hold N * H * W)."""
        return sum(bits.nbytes for _, _, bits in self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.dense_one(int(index))
        picked = np.arange(len(self._parts))[index]
        return BoxMasks([self._parts[int(i)] for i in np.atleast_1d(picked)], *self._size)

    def __iter__(self) -> Iterator[BoolArray]:
        return (self.dense_one(i) for i in range(len(self._parts)))

    def dense_one(self, i: int) -> BoolArray:
        """Mask ``i`` as a full (H, W) bool array."""
        out = np.zeros(self._size, dtype=bool)
        x0, y0, bits = self._parts[i]
        out[y0 : y0 + bits.shape[0], x0 : x0 + bits.shape[1]] = bits
        return out

    def window(self, i: int, box: tuple[int, int, int, int]) -> BoolArray:
        """Mask ``i`` inside the frame region ``box`` (x0, y0, x1, y1), as a (y1-y0, x1-x0) array."""
        bx0, by0, bx1, by1 = box
        out = np.zeros((by1 - by0, bx1 - bx0), dtype=bool)
        x0, y0, bits = self._parts[i]
        h, w = bits.shape
        xa, ya, xb, yb = max(x0, bx0), max(y0, by0), min(x0 + w, bx1), min(y0 + h, by1)
        if xb > xa and yb > ya:
            out[ya - by0 : yb - by0, xa - bx0 : xb - bx0] = bits[
                ya - y0 : yb - y0, xa - x0 : xb - x0
            ]
        return out

    def area(self, i: int) -> int:
        """Pixels in mask ``i``."""
        return int(self._parts[i][2].sum())

    def dense(self) -> BoolArray:
        """All masks as one (N, H, W) bool array (large: for export, not for the engine)."""
        out = np.zeros(self.shape, dtype=bool)
        for i, (x0, y0, bits) in enumerate(self._parts):
            out[i, y0 : y0 + bits.shape[0], x0 : x0 + bits.shape[1]] = bits
        return out

    def copy(self) -> BoolArray:
        """The dense (N, H, W) array (as ``ndarray.copy`` would give)."""
        return self.dense()

    def __array__(self, dtype: Any = None, copy: Any = None) -> BoolArray:
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        n, h, w = self.shape
        return f"BoxMasks({n} masks of {w}x{h}, {self.nbytes / 2**20:.1f} MiB stored)"
