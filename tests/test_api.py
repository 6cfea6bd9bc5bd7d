from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

import visprog
from visprog import Context, Image, Objects, Registry


def test_parse_check_execute_with_a_user_tool() -> None:
    reg = Registry()
    for spec in visprog.REGISTRY:
        reg.add(spec)

    @visprog.tool("Brightest", registry=reg)
    def brightest(image: Image, ctx: Context, size: int = 4) -> Objects:
        """The brightest size x size block as one object."""
        gray = image.pixels.mean(axis=2)
        y, x = np.unravel_index(int(gray.argmax()), gray.shape)
        box = image.to_root([[x, y, x + size, y + size]])
        return Objects(box, [1.0], ["bright"], source=image.source)

    program = visprog.parse(
        "B = Brightest(image=IMAGE, size=2)\nC = Crop(image=IMAGE, box=B)\nR = Result(var=C)"
    )
    assert visprog.check(program, registry=reg) == []
    assert [d.code for d in visprog.check(program)] == [
        "unknown-step"
    ]  # not in the default registry
    pixels = np.zeros((30, 40, 3), np.uint8)
    pixels[10, 20] = 255
    trace = visprog.execute(program, PILImage.fromarray(pixels), registry=reg)
    assert isinstance(trace.result, Image) and trace.result.source == "IMAGE"
    assert trace.steps[0].output.boxes.tolist() == [[20, 10, 22, 12]]


def test_images_can_be_paths_pil_arrays_or_images(astronaut_path: object) -> None:
    arr = np.zeros((5, 6, 3), np.uint8)
    for value in (astronaut_path, PILImage.fromarray(arr), arr, Image(arr)):
        trace = visprog.execute("R = Result(var=LEFT)", {"LEFT": value})
        assert isinstance(trace.result, Image) and trace.result.source == "LEFT"


def test_public_names() -> None:
    for name in ["parse", "check", "execute", "tool", "register_tool", "Trace", "VisprogError"]:
        assert hasattr(visprog, name)


def test_a_pair_of_images_is_left_and_right(astronaut_path: object) -> None:
    arr = np.zeros((5, 6, 3), np.uint8)
    trace = visprog.execute("R = Result(var=RIGHT)", [astronaut_path, arr])
    assert trace.result.source == "RIGHT" and trace.result.size == (6, 5)
    assert isinstance(trace.inputs["LEFT"], Image) and trace.inputs["LEFT"].size == (512, 512)
    with pytest.raises(visprog.ImageLoadError, match="3 images given"):
        visprog.execute("R = Result(var=RIGHT)", [arr, arr, arr])
