"""Loc: image halves without a model, and every detector backend through its real model code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import visprog
from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.interpreter import StepFailedError
from visprog.models import ModelManager
from visprog.tools import loc as L
from visprog.values import Image

ROOT = Path(__file__).resolve().parents[2]


def ctx_with(**settings: object) -> Context:
    return Context(device="cpu", models=ModelManager(log=None), settings=dict(settings))


@pytest.mark.parametrize(
    ("which", "box"),
    [("TOP", [0, 0, 64, 24]), ("BOTTOM", [0, 24, 64, 48]), ("LEFT", [0, 0, 32, 48]),
     ("RIGHT", [32, 0, 64, 48])],
)  # fmt: skip
def test_halves_of_root_image(rgb: Image, which: str, box: list[float]) -> None:
    out = L.loc(rgb, which, ctx_with())
    assert out.boxes.tolist() == [box]
    assert out.labels == (which.lower(),) and out.scores.tolist() == [1.0]


def test_halves_of_a_crop_are_in_root_pixels(rgb: Image) -> None:
    crop = rgb.crop((10, 8, 50, 40))  # 40x32 at offset (10, 8)
    out = L.loc(crop, "RIGHT", ctx_with())
    assert out.boxes.tolist() == [[30, 8, 50, 40]]


def test_halves_program_runs_without_torch() -> None:
    # coffee_halves.vp must run where only lark, pillow and numpy exist: block the heavy imports.
    code = (
        "import sys\n"
        "for m in ('torch', 'transformers', 'ultralytics', 'sam2', 'diffusers', 'cv2'):\n"
        "    sys.modules[m] = None\n"
        "import visprog\n"
        "src = open('demos/programs/coffee_halves.vp').read()\n"
        "t = visprog.execute(src, 'demos/images/coffee.jpg', device='cpu')\n"
        "print(t.steps[2].output.boxes.tolist(), t.result.width)\n"
    )
    env = {**os.environ, "VISPROG_CONFIG": os.devnull}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    # coffee.jpg is 600x400: LEFT is 300 wide, Crop enlarges it 1.5x to 375, TOP of that.
    assert run.stdout.split() == ["[[0.0,", "0.0,", "375.0,", "200.0]]", "375"]


def test_nms_drops_overlaps_and_keeps_best_first() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=float)
    keep = L.nms(boxes, np.array([0.5, 0.9, 0.3]), 0.5)
    assert keep.tolist() == [1, 2]
    assert L.nms(boxes, np.array([0.5, 0.9, 0.3]), 1.0).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    ("model_id", "setting", "expected"),
    [("google/owlv2-base-patch16-ensemble", "auto", "owlv2"),
     ("IDEA-Research/grounding-dino-base", "auto", "grounding_dino"),
     ("yolo11x.pt", "auto", "yolo"), ("yoloe-11l-seg.pt", "auto", "yoloe"),
     ("yolov8x-worldv2.pt", "auto", "yolo_world"), ("some/model", "yolo", "yolo")],
)  # fmt: skip
def test_backend_for(model_id: str, setting: str, expected: str) -> None:
    assert L.backend_for(model_id, setting) == expected


def test_unknown_backend_is_an_argument_error() -> None:
    with pytest.raises(ToolArgumentError, match="loc.backend 'detr'"):
        L.backend_for("x", "detr")


def test_owlv2_on_a_crop_lands_in_root_frame(owlv2_dir: str, rgb: Image) -> None:
    crop = rgb.crop((10, 8, 50, 40))
    ctx = ctx_with(**{"model.loc": owlv2_dir, "loc.threshold": 0.0, "loc.nms": 1.0})
    out = L.loc(crop, "dog", ctx)
    assert len(out) > 0 and set(out.labels) == {"dog"}
    assert (out.boxes[:, [0, 2]] >= 10).all() and (out.boxes[:, [0, 2]] <= 50).all()
    assert (out.boxes[:, [1, 3]] >= 8).all() and (out.boxes[:, [1, 3]] <= 40).all()
    assert (np.diff(out.scores) <= 0).all()
    assert ctx.models_used == [f"owlv2 {owlv2_dir} on cpu"]


def test_threshold_and_max_objects(owlv2_dir: str, rgb: Image) -> None:
    models = ModelManager(log=None)
    base = {"model.loc": owlv2_dir, "loc.nms": 1.0}
    few = L.loc(
        rgb,
        "dog",
        Context("cpu", models, settings={**base, "loc.threshold": 0.0, "loc.max_objects": 3}),
    )
    none = L.loc(rgb, "dog", Context("cpu", models, settings={**base, "loc.threshold": 1.0}))
    assert len(few) == 3 and len(none) == 0
    assert len(models.loaded()) == 1  # one load shared by both steps


def test_grounding_dino_backend(grounding_dino_dir: str, rgb: Image) -> None:
    ctx = ctx_with(**{"model.loc": grounding_dino_dir, "loc.threshold": 0.0})
    out = L.loc(rgb, "dog", ctx)
    assert len(out) > 0 and set(out.labels) == {"dog"}  # threshold 0: every query survives
    assert out.boxes.shape == (len(out), 4) and (out.boxes >= 0).all()
    assert (out.boxes[:, [0, 2]] <= rgb.width).all() and (out.boxes[:, [1, 3]] <= rgb.height).all()
    assert ctx.models_used[0].startswith("grounding_dino ")


def test_yolo_closed_set(yolo_path: str, rgb: Image) -> None:
    ctx = ctx_with(**{"model.loc": yolo_path, "loc.threshold": 0.0})
    # Plural matches the class 'person'. (ultralytics keeps a box of a wanted class only where
    # that class is its best one; the random weights favour class 0, so 'dogs' finds nothing.)
    out = L.loc(rgb, "persons", ctx)
    assert len(out) > 0 and set(out.labels) == {"persons"}
    assert (out.boxes[:, [1, 3]] <= rgb.height).all() and (out.boxes[:, [0, 2]] <= rgb.width).all()
    with pytest.raises(ToolArgumentError, match="'giraffe' is not one of the 4 classes"):
        L.loc(rgb, "giraffe", ctx)


def test_loc_through_the_interpreter(owlv2_dir: str, astronaut: Image) -> None:
    program = (
        "BOX0 = Loc(image=IMAGE, object='face')\nN = Count(box=BOX0)\nFINAL_RESULT = Result(var=N)"
    )
    trace = visprog.execute(
        program, astronaut, device="cpu", settings={"model.loc": owlv2_dir, "loc.threshold": 0.0}
    )
    found = trace.steps[0].output
    assert len(found) > 0 and trace.result == len(found)  # threshold 0: OWLv2 keeps its boxes
    assert found.root_size == astronaut.size and trace.steps[0].models


def test_offline_missing_model_fails_fast(monkeypatch: pytest.MonkeyPatch, rgb: Image) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(StepFailedError) as info:
        visprog.execute(
            "B = Loc(image=IMAGE, object='dog')\nR = Result(var=B)", rgb, device="cpu",
            settings={"model.loc": "no-such-org/no-such-detector"},
        )  # fmt: skip
    assert time.perf_counter() - start < 10
    error = info.value.error
    assert isinstance(error, ModelUnavailableError)
    assert "no-such-org/no-such-detector" in str(error) and "model.loc" in str(error)


def test_a_long_running_session_that_changes_models_dtype_gets_a_new_detector(
    owlv2_dir: str, rgb: Image
) -> None:
    """The real OWLv2 through Session.run: same dtype, one load; a new models.dtype, a new model."""
    settings = {"model.loc": owlv2_dir, "loc.threshold": 0.0, "models.dtype": "float32"}
    session = visprog.Session(settings, device="cpu", environ={}, log=lambda message: None)
    program = "B = Loc(image=IMAGE, object='dog')\nR = Result(var=B)"
    first = session.run(program, rgb).result
    session.run(program, rgb)
    assert session.models.loaded() == [f"loc:{owlv2_dir}:float32@cpu"]
    session.update({"models.dtype": "bfloat16"})
    second = session.run(program, rgb)
    assert session.models.loaded() == [f"loc:{owlv2_dir}:float32@cpu",
                                       f"loc:{owlv2_dir}:bfloat16@cpu"]  # fmt: skip
    _, model = session.models.get(f"loc:{owlv2_dir}:bfloat16", "cpu", lambda d: pytest.fail())
    _, old = session.models.get(f"loc:{owlv2_dir}:float32", "cpu", lambda d: pytest.fail())
    assert str(model.dtype) == "torch.bfloat16" and str(old.dtype) == "torch.float32"
    assert len(first) > 0 and len(second.result) > 0
    assert second.steps[0].models == [f"owlv2 {owlv2_dir} on cpu"]
