from __future__ import annotations

import numpy as np
import pytest

from visprog import Image, Objects, Points, execute
from visprog.context import Context
from visprog.palette import label_rgb
from visprog.registry import REGISTRY
from visprog.tools.core import count, exclude
from visprog.tools.crop import crop, crop_left_of, crop_right_of
from visprog.tools.edit import color_pop
from visprog.tools.tag import tag


def test_count_objects_and_points(two_boxes: Objects) -> None:
    assert count(two_boxes) == 2 and count(Objects.empty()) == 0
    assert count(Points(np.zeros((3, 2)), ["a", "b", "c"])) == 3


def test_exclude_leaves_out_the_objects_removed(two_boxes: Objects) -> None:
    dog = two_boxes.subset([1])
    left = exclude(two_boxes, dog)
    assert left.labels == ("cat",) and np.array_equal(left.boxes, two_boxes.boxes[:1])
    assert len(exclude(two_boxes, two_boxes)) == 0
    assert exclude(two_boxes, Objects.empty()).labels == ("cat", "dog")
    assert len(exclude(Objects.empty(), dog)) == 0
    # a box that only overlaps one of them is no object of theirs
    near = Objects(np.array([[4, 4, 21, 20]]), [1.0], ["cat"])
    assert exclude(two_boxes, near).labels == ("cat", "dog")


def test_exclude_in_a_program_on_real_faces(astronaut: Image) -> None:
    pytest.importorskip("facenet_pytorch")
    program = (
        "F = FaceDet(image=IMAGE)\nG = Exclude(object=F, remove=F)\n"
        "B = Blur(image=IMAGE, object=G)\nR = Result(var=B)"
    )
    trace = execute(program, astronaut)
    assert len(trace.steps[0].output) == 1 and len(trace.steps[1].output) == 0  # none left
    np.testing.assert_array_equal(trace.result.pixels, astronaut.pixels)


def test_count_in_a_program_keeps_the_counted_objects_in_the_trace(astronaut: Image) -> None:
    pytest.importorskip("facenet_pytorch")
    trace = execute("F = FaceDet(image=IMAGE)\nN = Count(box=F)\nR = Result(var=N)", astronaut)
    counted = trace.steps[1].args["box"]
    assert trace.result == 1 and isinstance(counted, Objects) and counted.labels == ("face",)


@pytest.mark.parametrize(
    ("step", "region"),
    [
        ("CropLeftOf", (0, 0, 40, 48)),
        ("CropRightOf", (40, 0, 64, 48)),
        ("CropAbove", (0, 0, 64, 25)),
        ("CropBelow", (0, 25, 64, 48)),
        ("Crop", (25, 2, 55, 48)),
        ("CropFrontOf", (25, 2, 55, 48)),
        ("CropBehind", (25, 2, 55, 48)),
    ],
)
def test_directional_crops_use_the_best_box(
    rgb: Image, two_boxes: Objects, step: str, region: tuple[int, int, int, int]
) -> None:
    out = REGISTRY.get(step).fn(rgb, two_boxes)  # type: ignore[union-attr]
    x0, y0, x1, y1 = region
    assert out.offset == (x0, y0) and out.size == (x1 - x0, y1 - y0)
    np.testing.assert_array_equal(out.pixels, rgb.pixels[y0:y1, x0:x1])


def test_crops_of_crops_stay_in_root_coordinates(rgb: Image) -> None:
    right = crop_right_of(rgb, Objects(np.array([[20, 0, 40, 10]]), [1.0], ["x"]))  # x >= 30
    assert right.offset == (30, 0)
    left_of_that = crop_left_of(right, Objects(np.array([[40, 0, 60, 10]]), [1.0], ["y"]))  # x < 50
    assert left_of_that.offset == (30, 0) and left_of_that.size == (20, 48)
    np.testing.assert_array_equal(left_of_that.pixels, rgb.pixels[:, 30:50])


def test_crop_without_objects_returns_the_image(rgb: Image) -> None:
    assert crop(rgb, Objects.empty()) is rgb


def test_tag_draws_boxes_and_labels_only_near_the_objects() -> None:
    image = Image(np.full((200, 200, 3), 255, np.uint8))
    objs = Objects(np.array([[60, 80, 140, 160]]), [0.87], ["dog"])
    out = tag(image, objs)
    assert out.size == image.size and out.offset == image.offset
    assert tuple(out.pixels[120, 61]) == label_rgb("dog")  # on the left edge of the box
    assert (out.pixels[170:, :] == 255).all() and (out.pixels[:, 150:] == 255).all()
    assert (out.pixels[100:150, 70:130] == 255).all()  # inside the box stays untouched


@pytest.mark.parametrize("step", ["ColorPop", "BgBlur", "Blur"])
def test_edits_keep_size_and_frame_and_change_the_right_region(step: str, astronaut: Image) -> None:
    mask = np.zeros((1, 512, 512), bool)
    mask[0, 100:300, 150:350] = True
    objs = Objects(np.array([[150, 100, 350, 300]]), [1.0], ["thing"], masks=mask)
    ctx = Context()
    out = REGISTRY.get(step).fn(image=astronaut, object=objs, ctx=ctx)  # type: ignore[union-attr]
    assert out.size == astronaut.size and out.source == astronaut.source
    diff = np.abs(out.pixels.astype(int) - astronaut.pixels.astype(int)).sum(axis=2)
    inside, outside = diff[130:270, 180:320].mean(), diff[:60, :].mean()
    if step == "Blur":
        assert inside > 5 * max(outside, 0.5)
    else:
        assert outside > 5 * max(inside, 0.5)
    assert ctx.notes == ["region: object masks"]


def test_edits_in_a_crop_land_in_the_crop_frame(astronaut: Image) -> None:
    region = astronaut.crop((100, 50, 400, 350))
    objs = Objects(np.array([[200, 100, 300, 200]]), [1.0], ["x"])  # root pixels
    out = REGISTRY.get("Blur").fn(image=region, object=objs, ctx=Context())  # type: ignore[union-attr]
    assert out.offset == region.offset and out.size == region.size
    diff = np.abs(out.pixels.astype(int) - region.pixels.astype(int)).sum(axis=2)
    assert diff[60:140, 110:190].mean() > 5 * max(diff[250:, :].mean(), 0.5)


def test_colorpop_without_masks_uses_grabcut_or_boxes(astronaut: Image) -> None:
    ctx = Context()
    out = color_pop(astronaut, Objects(np.array([[150, 20, 320, 220]]), [1.0], ["face"]), ctx)
    assert out.size == astronaut.size
    assert ctx.notes[0].startswith(("region: GrabCut", "region: boxes"))
    pixels = out.pixels.astype(int)
    far = pixels[300:, :100]  # well outside the box: grey (all channels equal), and changed
    assert (far.max(axis=2) - far.min(axis=2)).max() <= 1
    assert not np.array_equal(out.pixels[300:, :100], astronaut.pixels[300:, :100])
    centre = out.pixels[100:140, 215:255].astype(int)  # the face keeps its colours (the mask's
    assert np.abs(centre - astronaut.pixels[100:140, 215:255]).max() <= 2  # feathered edge: +-2)
    assert (centre.max(axis=2) - centre.min(axis=2)).mean() > 20  # and they are colours
