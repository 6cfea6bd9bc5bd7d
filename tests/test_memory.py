"""Bounded memory on long runs (issue 8, item 6): values dropped after last use, trace thumbnails."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import visprog.trace
from visprog import Image
from visprog.interpreter import Interpreter, last_uses
from visprog.registry import REGISTRY
from visprog.syntax import parse
from visprog.trace import Thumbnail, images_in

STEPS = 200
SIDE = 400  # 480 kB a step: 200 steps kept in full would be 96 MB


def blur_chain(n: int) -> str:
    lines = ["B = Loc(image=IMAGE, object='TOP')", "I0 = Blur(image=IMAGE, object=B)"]
    lines += [f"I{i} = Blur(image=I{i - 1}, object=B)" for i in range(1, n)]
    return "\n".join([*lines, f"R = Result(var=I{n - 1})"])


def _image() -> Image:
    rng = np.random.default_rng(0)
    return Image(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))


def test_last_uses_include_eval_references() -> None:
    program = parse(
        "A = Eval(expr='1')\nB = Eval(expr=\"{A} + 1\")\nC = Eval(expr='2')\nR = Result(var=B)"
    )
    assert last_uses(program, REGISTRY) == {1: ["A"], 2: ["C"], 3: ["B", "R"]}


def test_a_long_blur_chain_keeps_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(visprog.trace, "THUMBNAIL_SIDE", 40)  # 4.8 kB thumbnails
    budget = 4 * 2**20
    interp = Interpreter(device="cpu", max_steps=STEPS + 2, trace_budget_bytes=budget)
    image = _image()
    tracemalloc.start()
    try:
        trace = interp.run(blur_chain(STEPS), {"IMAGE": image})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    step_bytes = image.pixels.nbytes
    # The environment holds one or two images at a time and the trace at most the budget; the
    # rest are thumbnails. Temporaries of one Blur step come on top. Keeping every image would
    # be STEPS * step_bytes = 96 MB.
    assert peak < budget + 40 * step_bytes, f"peak {peak / 2**20:.1f} MB"
    full = {
        id(im): im for s in trace.steps for v in [*s.args.values(), s.output] for im in images_in(v)
    }
    full.pop(id(image))
    assert sum(im.pixels.nbytes for im in full.values()) <= budget
    outputs = [s.output for s in trace.steps[1:-1]]
    assert all(isinstance(o, Image) for o in outputs)
    assert sum(isinstance(o, Thumbnail) for o in outputs) >= STEPS - budget // step_bytes - 1
    assert trace.result.size == (SIDE, SIDE) and not isinstance(trace.result, Thumbnail)
    assert all(o.size == (SIDE, SIDE) for o in outputs)  # a thumbnail keeps the full frame


def test_a_thumbnail_replaces_the_image_in_every_record_that_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(visprog.trace, "THUMBNAIL_SIDE", 40)
    budget = 2 * SIDE * SIDE * 3  # two full images: most are swapped
    interp = Interpreter(device="cpu", max_steps=40, trace_budget_bytes=budget)
    trace = interp.run(blur_chain(30), {"IMAGE": _image()})
    blurs = trace.steps[1:-1]
    # Step i reads step i-1's output: both records must hold the very same (swapped) object,
    # else the page would show a full image in one place and its thumbnail in another.
    for before, after in zip(blurs, blurs[1:], strict=False):
        assert after.args["image"] is before.output
    assert sum(isinstance(s.output, Thumbnail) for s in blurs) >= 27
    assert trace.steps[-1].args["var"] is blurs[-1].output
