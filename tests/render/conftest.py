"""Traces for the viewer tests, built without model weights.

Real runs use tools that need no model (Loc's image halves, Crop, Blur, Count, Eval, Result);
overlay traces are assembled from Trace/StepRecord directly so that masks, points and crops with
offsets are covered exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import visprog
from visprog.interpreter import StepFailedError
from visprog.trace import ErrorInfo, StepRecord, Trace
from visprog.values import Image, Objects, Points

HALVES = """# No model: Loc's 'LEFT' / 'TOP' are halves of the image.
BOX0 = Loc(image=IMAGE, object='LEFT')
IMAGE0 = Crop(image=IMAGE, box=BOX0)
BOX1 = Loc(image=IMAGE0, object='TOP')
IMAGE1 = Blur(image=IMAGE0, object=BOX1)
ANSWER0 = Count(box=BOX1)
FINAL_RESULT = Result(var=IMAGE1)
"""

DIVIDE_BY_ZERO = """BOX0 = Loc(image=IMAGE, object='LEFT')
ANSWER0 = Count(box=BOX0)
ANSWER1 = Eval(expr="{ANSWER0} / 0")
ANSWER2 = Eval(expr="{ANSWER1} + 1")
FINAL_RESULT = Result(var=ANSWER2)
"""


@pytest.fixture(scope="session")
def photo() -> Image:
    """The astronaut photo (512x512), from scikit-image's data."""
    from skimage import data

    return Image(np.ascontiguousarray(data.astronaut()), "IMAGE")


@pytest.fixture(scope="session")
def halves_trace(photo: Image) -> Trace:
    """A real six-step run over a photo: boxes, a crop with an offset, an edit, a count."""
    return visprog.execute(HALVES, photo, query="Blur the top of the left half")


@pytest.fixture(scope="session")
def failed_trace(photo: Image) -> Trace:
    """A real run whose third statement divides by zero: two later statements never run."""
    with pytest.raises(StepFailedError) as info:
        visprog.execute(DIVIDE_BY_ZERO, photo, query="What is the count divided by zero?")
    return info.value.trace


def masks_for(image: Image) -> np.ndarray:
    """Two disc-shaped masks in the root frame of ``image``."""
    h, w = image.height, image.width
    ys, xs = np.mgrid[0:h, 0:w]
    disc = lambda cx, cy, r: (xs - cx) ** 2 + (ys - cy) ** 2 < r**2  # noqa: E731
    return np.stack([disc(w * 0.3, h * 0.4, h * 0.15), disc(w * 0.7, h * 0.6, h * 0.2)])


def overlay_trace(photo: Image, label: str = "cat", text: str = "two cats") -> Trace:
    """Objects with masks and points, drawn on the photo and on a crop with an offset;
    Points; a text result. ``label`` and ``text`` let tests inject payloads."""
    objs = Objects(
        np.array([[100.0, 120, 210, 290], [280, 200, 440, 420]]),
        [0.91, 0.47],
        [label, "dog"],
        masks_for(photo),
        np.array([[150.0, 200], [360, 310]]),
        "IMAGE",
    )
    crop = photo.crop((256, 0, 512, 512))
    pts = Points(np.array([[300.0, 100], [400, 450]]), [label, "ear"], "IMAGE")
    program = (
        "OBJ0 = Seg(image=IMAGE, query='cat')\n"
        "IMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
        "PTS0 = Point(image=IMAGE0, object='ear')\n"
        "ANSWER0 = Eval(expr=\"'two cats'\")\n"
        "FINAL_RESULT = Result(var=ANSWER0)\n"
    )
    steps = [
        StepRecord(
            0,
            1,
            "OBJ0",
            "Seg",
            program.split("\n")[0],
            {"image": photo, "query": "cat"},
            objs,
            0.5,
            ["SAM 2 tiny on cpu"],
            ["2 masks"],
        ),
        StepRecord(
            1,
            2,
            "IMAGE0",
            "Crop",
            program.split("\n")[1],
            {"image": photo, "box": objs},
            crop,
            0.01,
        ),
        StepRecord(
            2,
            3,
            "PTS0",
            "Point",
            program.split("\n")[2],
            {"image": crop, "object": "ear"},
            pts,
            0.2,
            ["Molmo 2 on cpu"],
        ),
        StepRecord(
            3, 4, "ANSWER0", "Eval", program.split("\n")[3], {"expr": "'two cats'"}, text, 0.001
        ),
        StepRecord(
            4, 5, "FINAL_RESULT", "Result", program.split("\n")[4], {"var": text}, text, 0.0
        ),
    ]
    return Trace(
        program,
        {"IMAGE": photo},
        steps,
        text,
        query="How many cats?",
        filename="cats.vp",
        device="cpu",
        started="2026-01-01T00:00:00+00:00",
        seconds=0.7,
    )


@pytest.fixture(scope="session")
def objects_trace(photo: Image) -> Trace:
    """See :func:`overlay_trace`."""
    return overlay_trace(photo)


@pytest.fixture(scope="session")
def pair_trace(photo: Image) -> Trace:
    """Two inputs (LEFT, RIGHT) and a named third one, answered with a bool."""
    right = Image(np.ascontiguousarray(photo.pixels[:, ::-1]), "RIGHT")
    left = Image(photo.pixels, "LEFT")
    other = Image(np.ascontiguousarray(photo.pixels[::2, ::2]), "OTHER")
    program = (
        "BOX0 = Loc(image=LEFT, object='TOP')\n"
        "BOX1 = Loc(image=RIGHT, object='BOTTOM')\n"
        "ANSWER0 = Count(box=BOX0)\n"
        "ANSWER1 = Count(box=BOX1)\n"
        'ANSWER2 = Eval(expr="{ANSWER0} == {ANSWER1}")\n'
        "FINAL_RESULT = Result(var=ANSWER2)\n"
    )
    return visprog.execute(
        program,
        {"LEFT": left, "RIGHT": right, "OTHER": other},
        query="Do both images show the same number of halves?",
    )


def error_trace(photo: Image, message: str) -> Trace:
    """A hand-built failed trace (error message chosen by the test)."""
    program = "ANSWER0 = VQA(image=IMAGE, question='q')\nFINAL_RESULT = Result(var=ANSWER0)\n"
    err = ErrorInfo("ToolExecutionError", message, 1, 7)
    steps = [
        StepRecord(
            0,
            1,
            "ANSWER0",
            "VQA",
            program.split("\n")[0],
            {"image": photo, "question": "q"},
            None,
            0.1,
            [],
            [],
            err,
        )
    ]
    return Trace(program, {"IMAGE": photo}, steps, None, err)
