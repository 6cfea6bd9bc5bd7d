from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visprog import Image, Objects, Points, StepFailedError, Trace, execute
from visprog.errors import TraceFormatError
from visprog.trace import StepRecord, rle_decode, rle_encode


def _rich_trace(rgb: Image) -> Trace:
    masks = np.zeros((2, 48, 64), bool)
    masks[0, 5:9, 5:30] = True
    masks[1, 0, 0] = True
    objs = Objects(
        np.array([[5, 5, 30, 9], [0, 0, 1, 1.5]]),
        [0.9, 0.25],
        ["cat", "<b>x</b>"],
        masks=masks,
        points=np.array([[10, 7], [0.5, 0.5]]),
    )
    pts = Points(np.array([[1.5, 2.5]]), ["p"], "IMAGE")
    crop = rgb.crop((10, 10, 40, 40))
    trace = Trace(program="A = X()", inputs={"IMAGE": rgb}, query="how many?")
    trace.steps.append(
        StepRecord(
            0, 1, "A", "Loc", "A = Loc()", {"image": crop, "object": "cat"}, objs, 0.5, ["m"], ["n"]
        )
    )
    trace.steps.append(
        StepRecord(1, 2, "B", "Point", "B = Point()", {"image": rgb, "cats": ["a", "b"]}, pts, 0.1)
    )
    trace.steps.append(StepRecord(2, 3, "C", "Eval", "C = Eval()", {"expr": "1"}, True, 0.0))
    trace.result = crop
    return trace


def _same(a: object, b: object) -> None:
    if isinstance(a, Image):
        assert isinstance(b, Image)
        np.testing.assert_array_equal(a.pixels, b.pixels)
        assert (a.source, a.offset, a.root_size) == (b.source, b.offset, b.root_size)
    elif isinstance(a, Objects):
        assert isinstance(b, Objects)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.masks, b.masks)  # type: ignore[arg-type]
        np.testing.assert_array_equal(a.points, b.points)  # type: ignore[arg-type]
        assert a.labels == b.labels and a.source == b.source
    elif isinstance(a, Points):
        assert isinstance(b, Points)
        np.testing.assert_array_equal(a.xy, b.xy)
        assert a.labels == b.labels
    else:
        assert a == b


@pytest.mark.parametrize("embed", [False, True])
def test_json_round_trip(tmp_path: Path, rgb: Image, embed: bool) -> None:
    trace = _rich_trace(rgb)
    path = trace.save(tmp_path / "t.json", embed=embed)
    again = Trace.load(path)
    assert again.query == trace.query and again.program == trace.program
    for a, b in zip(trace.steps, again.steps, strict=True):
        assert (a.index, a.line, a.target, a.step, a.source, a.seconds, a.models, a.notes) == (
            b.index,
            b.line,
            b.target,
            b.step,
            b.source,
            b.seconds,
            b.models,
            b.notes,
        )
        for key in a.args:
            _same(a.args[key], b.args[key])
        _same(a.output, b.output)
    _same(trace.result, again.result)
    _same(trace.inputs["IMAGE"], again.inputs["IMAGE"])
    images = list((tmp_path / "t_images").glob("*.png")) if not embed else []
    assert len(images) == (0 if embed else 2)  # the input and the crop, each stored once
    assert again.to_dict() == trace.to_dict()


def test_failed_run_round_trips_with_its_error(tmp_path: Path, rgb: Image) -> None:
    with pytest.raises(StepFailedError) as info:
        execute("A = Eval(expr='1 / 0')\nR = Result(var=A)", rgb)
    again = Trace.load(info.value.trace.save(tmp_path / "f.json"))
    assert not again.ok and again.error is not None and again.error.line == 1
    assert again.steps[0].error is not None and again.steps[0].error.type == "ToolExecutionError"


def test_not_a_trace(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(TraceFormatError, match="not a visprog trace"):
        Trace.load(tmp_path / "x.json")
    with pytest.raises(TraceFormatError, match="cannot read trace"):
        Trace.load(tmp_path / "missing.json")


@pytest.mark.parametrize("shape", [(3, 4), (1, 1), (5, 7)])
def test_rle_round_trip(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random(shape) > 0.5
        assert np.array_equal(rle_decode(rle_encode(mask), shape), mask)
