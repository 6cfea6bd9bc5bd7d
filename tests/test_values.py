from __future__ import annotations

import numpy as np
import pytest

from visprog import Image, InvalidValueError, Objects, Points
from visprog import values as V


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Image(np.zeros((4, 4), np.uint8)),
            r"expected an array of shape \(H, W, 3\), got \(4, 4\)",
        ),
        (lambda: Image(np.zeros((4, 4, 3), np.float32)), "expected dtype uint8, got float32"),
        (lambda: Image(np.zeros((0, 4, 3), np.uint8)), "non-empty"),
        (
            lambda: Objects(np.zeros((2, 3)), [1, 1], ["a", "b"]),
            r"expected shape \(N, 4\), got \(2, 3\)",
        ),
        (
            lambda: Objects(np.zeros((2, 4)), [1], ["a", "b"]),
            r"scores: expected shape \(2,\), got \(1,\)",
        ),
        (lambda: Objects(np.zeros((2, 4)), [1, 1], ["a"]), "expected 2 labels, got 1"),
        (
            lambda: Objects(np.zeros((1, 4)), [1], ["a"], masks=np.zeros((2, 5, 5))),
            r"masks: expected shape \(1, H, W\)",
        ),
        (lambda: Points(np.zeros((2, 3)), ["a", "b"]), r"expected shape \(N, 2\)"),
    ],
)
def test_validation_says_expected_and_got(make: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        make()  # type: ignore[operator]


def test_empty_values_are_values_not_none() -> None:
    assert len(Objects.empty()) == 0 and Objects.empty().boxes.shape == (0, 4)
    assert len(Points.empty()) == 0 and Points.empty().xy.shape == (0, 2)


def test_crop_keeps_provenance_and_maps_boxes_back(rgb: Image) -> None:
    crop = rgb.crop((10, 5, 40, 30))
    assert crop.size == (30, 25) and crop.offset == (10, 5) and crop.root_size == (64, 48)
    np.testing.assert_array_equal(crop.pixels, rgb.pixels[5:30, 10:40])
    inner = crop.crop((2, 3, 12, 13))
    assert inner.offset == (12, 8)
    np.testing.assert_array_equal(inner.pixels, rgb.pixels[8:18, 12:22])
    np.testing.assert_array_equal(inner.to_root([[0, 0, 10, 10]]), [[12, 8, 22, 18]])
    np.testing.assert_array_equal(inner.to_local([[12, 8, 22, 18]]), [[0, 0, 10, 10]])


def test_crop_clips_and_refuses_a_box_outside_the_image(rgb: Image) -> None:
    assert rgb.crop((-10, -10, 1000, 1000)).size == (64, 48)
    assert rgb.crop((10.2, 5, 10.4, 9)).size == (1, 4)  # a thin overlap keeps one pixel
    for outside in [(70, 70, 80, 80), (10, 5, 10, 30), (30, 5, 10, 20), (float("nan"), 0, 5, 5)]:
        with pytest.raises(InvalidValueError, match="Image.crop"):
            rgb.crop(outside)


def test_masks_and_boxes_in_root_frame_give_local_masks(rgb: Image) -> None:
    root_mask = np.zeros((1, 48, 64), bool)
    root_mask[0, 10:20, 30:40] = True
    objs = Objects(np.array([[30, 10, 40, 20]]), [1.0], ["x"], masks=root_mask)
    crop = rgb.crop((25, 5, 64, 48))
    local = objs.union_mask(crop)
    assert local.shape == (43, 39) and local.sum() == 100 and local[5:15, 5:15].all()
    boxes_only = Objects(np.array([[30, 10, 40, 20]]), [1.0], ["x"])
    assert boxes_only.union_mask(crop).sum() == 100


def test_subset_and_labels(two_boxes: Objects) -> None:
    sub = two_boxes.subset([1])
    assert sub.labels == ("dog",) and sub.scores.tolist() == [0.9]
    relabelled = two_boxes.with_labels(["a", "b"], [0.1, 0.2])
    assert relabelled.labels == ("a", "b") and relabelled.scores.tolist() == [0.1, 0.2]


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        (True, V.BOOL),
        (3, V.NUMBER),
        (2.5, V.NUMBER),
        (float("nan"), None),
        ("x", V.TEXT),
        (None, V.NONE),
        (["a"], V.TEXT_LIST),
        ([1], None),
        ({}, None),
    ],
)
def test_type_of(value: object, tag: str | None) -> None:
    assert V.type_of(value) == tag
