from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import visprog
from visprog import Image, Objects, execute
from visprog.context import Context
from visprog.models import ModelManager
from visprog.tools.faces import face_det

pytest.importorskip("facenet_pytorch")


def test_real_mtcnn_finds_the_astronauts_face(astronaut: Image) -> None:
    ctx = Context(device="cpu")
    faces = face_det(astronaut, ctx)
    assert isinstance(faces, Objects) and len(faces) == 1 and faces.labels == ("face",)
    x0, y0, x1, y1 = faces.boxes[0]
    assert 150 < (x0 + x1) / 2 < 300 and 40 < (y0 + y1) / 2 < 200  # the face, upper middle
    assert faces.scores[0] > 0.9 and faces.points is not None
    assert ctx.models_used == ["MTCNN (facenet-pytorch) on cpu"]


# The people in ultralytics' sample photos (xyxy root pixels, drawn by eye around each whole
# person): every face MTCNN reports must lie inside exactly one of them, one face per person.
PEOPLE = {
    "zidane.jpg": [(740, 40, 1150, 720), (120, 190, 720, 720)],  # Zidane, Ancelotti (left)
    "bus.jpg": [(50, 400, 245, 905), (220, 405, 345, 860), (670, 380, 810, 875),
                (0, 550, 65, 875)],  # the two at the front left face the camera
}  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), [("zidane.jpg", 2), ("bus.jpg", 2)])
def test_real_mtcnn_finds_each_face_inside_its_person(name: str, expected: int) -> None:
    utils = pytest.importorskip("ultralytics.utils")
    image = visprog.load_image(Path(utils.ASSETS) / name)
    faces = face_det(image, Context(device="cpu"))
    assert len(faces) == expected and faces.root_size == image.size
    owners = []
    assert faces.points is not None
    for (x0, y0, x1, y1), (ex, ey) in zip(faces.boxes, faces.points, strict=True):
        assert x1 - x0 >= 25 and y1 - y0 >= 25  # a face, not a speck
        assert x0 <= ex <= x1 and y0 <= ey <= y1  # the eyes are inside the face
        inside = [i for i, (a, b, c, d) in enumerate(PEOPLE[name])
                  if a <= x0 and b <= y0 and x1 <= c and y1 <= d]  # fmt: skip
        assert len(inside) == 1, (name, (x0, y0, x1, y1))
        owners.append(inside[0])
    assert len(set(owners)) == len(owners)  # one face per person
    assert (np.diff(faces.scores) <= 0).all() and (faces.scores >= 0.9).all()


def test_faces_found_in_a_crop_land_in_root_coordinates(astronaut: Image) -> None:
    full = face_det(astronaut, Context(device="cpu"))
    crop = astronaut.crop((100, 0, 400, 300))
    in_crop = face_det(crop, Context(device="cpu"))
    assert len(in_crop) == 1
    np.testing.assert_allclose(in_crop.boxes, full.boxes, atol=6)


def test_model_loads_once_per_process(astronaut: Image) -> None:
    manager = ModelManager(log=lambda message: None)
    program = "F = FaceDet(image=IMAGE)\nG = FaceDet(image=IMAGE)\nR = Result(var=G)"
    from visprog.interpreter import Interpreter

    trace = Interpreter(device="cpu", models=manager).run(program, {"IMAGE": astronaut})
    assert len(manager.loaded()) == 1 and len(manager.load_seconds) == 1
    assert trace.steps[1].models == ["MTCNN (facenet-pytorch) on cpu"]


def test_blur_every_face_end_to_end(astronaut: Image) -> None:
    trace = execute(
        "F = FaceDet(image=IMAGE)\nB = Blur(image=IMAGE, object=F)\nR = Result(var=B)",
        astronaut,
        device="cpu",
    )
    face = trace.steps[0].output.boxes[0].astype(int)
    x0, y0, x1, y1 = face
    before = astronaut.pixels[y0:y1, x0:x1].astype(float)
    after = trace.result.pixels[y0:y1, x0:x1].astype(float)
    # Blurring removes fine detail: the high-frequency energy inside the face drops sharply.
    assert np.abs(np.diff(after, axis=1)).mean() < 0.5 * np.abs(np.diff(before, axis=1)).mean()


def test_import_visprog_does_not_import_torch() -> None:
    import subprocess

    code = "import sys, visprog, visprog.tools; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("size", [(1, 1), (1, 500), (500, 1), (12, 12), (19, 40)])
def test_a_tiny_image_has_no_faces(size: tuple[int, int]) -> None:
    # MTCNN itself crashes on these (torch.cat of an empty list of candidate windows).
    pytest.importorskip("facenet_pytorch")
    image = Image(np.full((*size, 3), 128, np.uint8))
    trace = execute("F = FaceDet(image=IMAGE)\nR = Result(var=F)", image, device="cpu")
    assert len(trace.result) == 0
