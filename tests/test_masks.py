"""Masks stored within their box behave like the (N, H, W) array they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from visprog import Image, Objects
from visprog.masks import BoxMasks


@pytest.fixture
def dense() -> np.ndarray:
    rng = np.random.default_rng(1)
    out = np.zeros((4, 30, 40), dtype=bool)
    out[0, 3:9, 5:20] = True
    out[1] = rng.random((30, 40)) > 0.7  # spread over the whole frame
    out[3, 29, 39] = True  # a corner pixel; mask 2 stays empty
    return out


def test_round_trip_and_indexing(dense: np.ndarray) -> None:
    masks = BoxMasks.from_dense(dense)
    assert masks.shape == (4, 30, 40) and len(masks) == 4 and masks.dtype == bool
    np.testing.assert_array_equal(np.asarray(masks), dense)
    for i in range(4):
        np.testing.assert_array_equal(masks[i], dense[i])
        assert masks.area(i) == int(dense[i].sum())
    sub = masks[np.array([3, 0])]
    assert isinstance(sub, BoxMasks)
    np.testing.assert_array_equal(sub.dense(), dense[[3, 0]])
    np.testing.assert_array_equal(np.stack(list(masks)), dense)
    assert masks.nbytes == 6 * 15 + dense[1].nbytes + 0 + 1  # each crop: its tight box


def test_window_is_the_region_of_the_dense_mask(dense: np.ndarray) -> None:
    masks = BoxMasks.from_dense(dense)
    for box in [(0, 0, 40, 30), (10, 5, 25, 20), (30, 20, 40, 30), (0, 0, 3, 3)]:
        x0, y0, x1, y1 = box
        for i in range(4):
            np.testing.assert_array_equal(masks.window(i, box), dense[i, y0:y1, x0:x1])


def test_objects_convert_arrays_and_crops_place_masks_in_the_root(dense: np.ndarray) -> None:
    objs = Objects(np.zeros((4, 4)), np.ones(4), list("abcd"), dense)
    assert isinstance(objs.masks, BoxMasks) and objs.subset([1]).masks is not None
    root = Image(np.zeros((30, 40, 3), np.uint8))
    crop = root.crop((10, 5, 30, 25))
    local = np.zeros((2, 20, 20), dtype=bool)
    local[0, 2:4, 3:6] = True
    found = Objects.from_local(crop, [[3, 2, 6, 4], [0, 0, 1, 1]], [0.9, 0.1], ["x", "y"], local)
    assert found.masks is not None and found.masks.shape == (2, 30, 40)
    expected = np.zeros((30, 40), dtype=bool)
    expected[7:9, 13:16] = True
    np.testing.assert_array_equal(found.masks[0], expected)
    np.testing.assert_array_equal(found.object_mask(0, crop), local[0])
    assert found.masks.nbytes == 6  # a 2x3 crop, and nothing for the empty mask


def test_masks_one_at_a_time_moved_into_a_root_frame(dense: np.ndarray) -> None:
    masks = BoxMasks.from_iter(iter(dense), 30, 40)  # a generator: never all four at once
    np.testing.assert_array_equal(masks.dense(), dense)
    assert [masks.box(i) for i in range(4)] == [(5, 3, 20, 9), masks.box(1), None, (39, 29, 40, 30)]
    root = Image(np.zeros((60, 100, 3), np.uint8))
    crop = root.crop((50, 20, 90, 50))  # 40x30 at (50, 20)
    moved = crop.masks_to_root(masks)  # a BoxMasks moves without becoming dense
    assert moved.shape == (4, 60, 100) and moved.nbytes == masks.nbytes
    expected = np.zeros((4, 60, 100), dtype=bool)
    expected[:, 20:50, 50:90] = dense
    np.testing.assert_array_equal(moved.dense(), expected)
    assert moved.box(0) == (55, 23, 70, 29) and moved.box(2) is None
    with pytest.raises(ValueError, match=r"expected a frame of \(60, 100\), got \(4, 30, 40\)"):
        root.masks_to_root(masks)
