from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.interpreter import Interpreter
from visprog.models import ModelManager
from visprog.tools.replace import (
    MODEL,
    grow,
    inpaint,
    load_inpainting,
    model_size,
    native_size,
    replace,
    window,
)
from visprog.values import Image, Objects

from .fixtures_hf import save_tiny_inpainting

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_tiny_inpainting(tmp_path_factory.mktemp("tiny-sd-inpaint"))


def _ctx(sd_dir: str, **settings: object) -> Context:
    base = {"model.replace": sd_dir, "replace.steps": 2}
    return Context(device="cpu", models=ModelManager(log=None), settings={**base, **settings})


class Spy:
    """Forwards to a real pipeline and records the arguments of each call."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


# -- pure parts -------------------------------------------------------------------------------


def test_window_grows_the_mask_box_and_stays_inside() -> None:
    mask = np.zeros((100, 200), bool)
    mask[40:60, 80:120] = True
    assert window(mask) == (70, 32, 130, 68)  # 25% of 40x20, at least 8 px
    mask[:] = False
    mask[0:5, 195:200] = True
    assert window(mask) == (187, 0, 200, 13)


@pytest.mark.parametrize(
    ("size", "long_side", "expected"),
    [((100, 50), 512, (512, 256)), ((37, 91), 512, (208, 512)), ((3, 400), 64, (8, 64))],
)
def test_model_size_scales_the_long_side_to_multiples_of_8(
    size: tuple[int, int], long_side: int, expected: tuple[int, int]
) -> None:
    assert model_size(*size, long_side) == expected


def test_grow_dilates() -> None:
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    assert grow(mask, 2).sum() == 25 and grow(mask, 0).sum() == 1


# -- the tiny pipeline through the real loading path ------------------------------------------


def test_loads_with_auto_pipeline(sd_dir: str) -> None:
    pipe = load_inpainting(sd_dir, "cpu")
    assert type(pipe).__name__ == "StableDiffusionInpaintPipeline"
    assert native_size(pipe) == 32  # sample_size 16 x VAE scale 2


def test_replace_keeps_size_frame_and_the_rest_of_the_image(
    sd_dir: str, rgb: Image, two_boxes: Objects
) -> None:
    one = two_boxes.subset([0])  # box (4, 4, 20, 20), no mask
    ctx = _ctx(sd_dir)
    out = replace(rgb, one, "a blue bus", ctx)
    assert isinstance(out, Image) and out.size == rgb.size
    assert (out.source, out.offset, out.root_size) == (rgb.source, rgb.offset, rgb.root_size)
    assert not np.array_equal(out.pixels[4:20, 4:20], rgb.pixels[4:20, 4:20])
    np.testing.assert_array_equal(out.pixels[:, 32:], rgb.pixels[:, 32:])  # far away: untouched
    np.testing.assert_array_equal(out.pixels[32:], rgb.pixels[32:])
    assert "region: boxes (no masks)" in ctx.notes
    assert ctx.models_used == [f"{sd_dir} on cpu"]


def test_replace_uses_masks_in_a_crop(sd_dir: str, rgb: Image) -> None:
    crop = rgb.crop((16, 8, 64, 48))  # offset (16, 8)
    masks = np.zeros((1, 48, 64), bool)
    masks[0, 20:30, 40:50] = True  # root frame
    objs = Objects(np.array([[40, 20, 50, 30]]), [1.0], ["bus"], masks=masks)
    ctx = _ctx(sd_dir)
    out = replace(crop, objs, "a blue bus", ctx)
    assert out.size == crop.size and out.offset == (16, 8)
    changed = np.any(out.pixels != crop.pixels, axis=2)
    ys, xs = np.nonzero(changed)
    # Changes stay near the mask, which sits at (24..34, 12..22) in the crop's pixels.
    assert xs.min() >= 24 - 8 and xs.max() < 34 + 8 and ys.min() >= 12 - 8 and ys.max() < 22 + 8
    assert "region: object masks" in ctx.notes


def test_pipeline_gets_a_window_at_native_size_and_the_seed(
    sd_dir: str, rgb: Image, two_boxes: Objects
) -> None:
    pipe = Spy(load_inpainting(sd_dir, "cpu"))
    mask = two_boxes.subset([1]).union_mask(rgb)
    options = {"seed": 3, "steps": 2, "guidance": 5.0, "size": None}
    inpaint(pipe, rgb, mask, "grass", options)
    (call,) = pipe.calls
    assert max(call["width"], call["height"]) == 32
    assert call["width"] % 8 == 0 and call["height"] % 8 == 0
    assert call["image"].size == (call["width"], call["height"]) == call["mask_image"].size
    assert call["num_inference_steps"] == 2 and call["guidance_scale"] == 5.0
    assert call["prompt"] == "grass" and call["generator"].initial_seed() == 3


def test_seed_makes_results_repeatable(sd_dir: str, rgb: Image, two_boxes: Objects) -> None:
    first = replace(rgb, two_boxes, "sand", _ctx(sd_dir, **{"replace.seed": 7}))
    again = replace(rgb, two_boxes, "sand", _ctx(sd_dir, **{"replace.seed": 7}))
    other = replace(rgb, two_boxes, "sand", _ctx(sd_dir, **{"replace.seed": 8}))
    np.testing.assert_array_equal(first.pixels, again.pixels)
    assert not np.array_equal(first.pixels, other.pixels)


def test_no_objects_returns_the_image_unchanged_without_a_model(rgb: Image) -> None:
    ctx = Context(device="cpu", models=ModelManager(log=None), settings={"model.replace": "/x"})
    assert replace(rgb, Objects.empty(), "grass", ctx) is rgb
    outside = Objects(np.array([[100, 100, 120, 120]]), [1.0], ["far"])
    assert replace(rgb, outside, "grass", ctx) is rgb
    assert ctx.models.loaded() == [] and any("unchanged" in n for n in ctx.notes)


def test_empty_prompt_is_an_argument_error(rgb: Image, two_boxes: Objects) -> None:
    with pytest.raises(ToolArgumentError, match="prompt is empty"):
        replace(rgb, two_boxes, " ", Context(device="cpu", models=ModelManager(log=None)))


def test_missing_pipeline_offline_fails_fast(
    rgb: Image, two_boxes: Objects, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx = Context(
        device="cpu",
        models=ModelManager(log=None),
        settings={"model.replace": "nobody/no-such-inpainting"},
    )
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match=r"no-such-inpainting.*model\.replace"):
        replace(rgb, two_boxes, "grass", ctx)
    assert time.perf_counter() - start < 10


def test_replace_in_a_program(sd_dir: str, rgb: Image, two_boxes: Objects) -> None:
    program = (
        "IMAGE0 = Replace(image=IMAGE, object=OBJ, prompt='blue bus')\n"
        "FINAL_RESULT = Result(var=IMAGE0)"
    )
    settings = {"model.replace": sd_dir, "replace.steps": 2}
    trace = Interpreter(device="cpu", models=ModelManager(log=None), settings=settings).run(
        program, {"IMAGE": rgb, "OBJ": two_boxes}
    )
    assert isinstance(trace.result, Image) and trace.result.size == rgb.size
    for x0, y0, x1, y1 in two_boxes.boxes.astype(int):  # each object was painted over
        assert not np.array_equal(trace.result.pixels[y0:y1, x0:x1], rgb.pixels[y0:y1, x0:x1])
    np.testing.assert_array_equal(trace.result.pixels[44:, 56:], rgb.pixels[44:, 56:])  # far corner
    assert trace.steps[0].models == [f"{sd_dir} on cpu"]


def test_half_precision_plumbing(sd_dir: str, rgb: Image, two_boxes: Objects) -> None:
    ctx = _ctx(sd_dir, **{"models.dtype": "bfloat16"})
    out = replace(rgb, two_boxes, "grass", ctx)
    assert out.size == rgb.size and not np.array_equal(
        out.pixels[4:20, 4:20], rgb.pixels[4:20, 4:20]
    )
    pipe = ctx.models.get(ctx.model_key(MODEL), "cpu", lambda d: pytest.fail("reloaded"))
    assert str(pipe.unet.dtype) == "torch.bfloat16"
