"""Seg: SAM 2 through the sam2 package with a tiny random-weight checkpoint."""

from __future__ import annotations

import time

import numpy as np
import pytest

import visprog
from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.models import ModelManager
from visprog.tools import seg as S
from visprog.values import Image, Objects, Points

pytest.importorskip("sam2")


@pytest.fixture(scope="module")
def models() -> ModelManager:
    return ModelManager(log=None)


def ctx_for(models: ModelManager, **settings: object) -> Context:
    return Context(device="cpu", models=models, settings=dict(settings))


def test_box_prompt_on_a_crop_gives_root_frame_masks(
    sam2_dir: str, models: ModelManager, rgb: Image
) -> None:
    crop = rgb.crop((10, 8, 50, 40))
    boxes = Objects(np.array([[15, 10, 40, 30]]), [0.9], ["dog"])
    out = S.seg(crop, ctx_for(models, **{"model.seg": sam2_dir}), object=boxes)
    assert out.masks is not None and out.masks.shape == (1, 48, 64)
    outside = out.masks[0].copy()
    outside[8:40, 10:50] = False
    assert not outside.any()  # nothing outside the crop
    assert out.labels == ("dog",) and out.points is not None
    x0, y0, x1, y1 = out.boxes[0]
    assert 10 <= x0 <= x1 <= 50 and 8 <= y0 <= y1 <= 40


def test_multimask_point_gives_three_scored_masks(
    sam2_dir: str, models: ModelManager, rgb: Image
) -> None:
    points = Points(np.array([[30.0, 20.0]]), ["bat"])
    ctx = ctx_for(models, **{"model.seg": sam2_dir})
    several = S.seg(rgb, ctx, point=points, multimask=True)
    single = S.seg(rgb, ctx, point=points)
    assert len(several) == 3 and len(single) == 1
    assert (np.diff(several.scores) <= 0).all()
    assert several.masks is not None and several.masks.shape == (3, 48, 64)
    assert several.points is not None and several.points.tolist() == [[30.0, 20.0]] * 3


def test_embedding_is_computed_once_per_image(
    sam2_dir: str, monkeypatch: pytest.MonkeyPatch, rgb: Image
) -> None:
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    calls: list[int] = []
    original = SAM2ImagePredictor.set_image

    def counting(self: SAM2ImagePredictor, image: np.ndarray) -> None:
        calls.append(1)
        original(self, image)

    monkeypatch.setattr(SAM2ImagePredictor, "set_image", counting)
    program = (
        "B = Loc(image=IMAGE, object='LEFT')\n"
        "M0 = Seg(image=IMAGE, object=B)\n"
        "C = Loc(image=IMAGE, object='RIGHT')\n"
        "M1 = Seg(image=IMAGE, object=C)\n"
        "R = Result(var=M1)"
    )
    trace = visprog.execute(program, rgb, device="cpu", settings={"model.seg": sam2_dir})
    assert len(calls) == 1
    assert any("reused" in n for n in trace.steps[3].notes)


def test_query_runs_loc_then_sam(
    sam2_dir: str, owlv2_dir: str, models: ModelManager, rgb: Image
) -> None:
    settings = {"model.seg": sam2_dir, "model.loc": owlv2_dir, "loc.threshold": 0.0}
    ctx = ctx_for(models, **settings, **{"loc.max_objects": 2})
    out = S.seg(rgb, ctx, query="dog")
    assert len(out) == 2 and out.masks is not None and out.masks.shape == (2, 48, 64)
    assert len(ctx.models_used) == 2  # the detector and SAM 2


def test_no_prompt_gives_automatic_masks(sam2_dir: str, models: ModelManager, rgb: Image) -> None:
    settings = {
        "model.seg": sam2_dir,
        "seg.points_per_side": 4,
        "seg.pred_iou_thresh": 0.0,
        "seg.stability_score_thresh": 0.0,
        "seg.max_objects": 5,
    }
    out = S.seg(rgb, ctx_for(models, **settings))
    assert out.masks is not None and out.masks.shape[1:] == (48, 64)
    assert 0 < len(out) <= 5


def test_empty_prompt_returns_empty_without_loading(rgb: Image) -> None:
    models = ModelManager(log=None)
    out = S.seg(rgb, ctx_for(models), object=Objects.empty())
    assert len(out) == 0 and models.loaded() == []


def test_two_prompts_are_an_argument_error(rgb: Image) -> None:
    with pytest.raises(ToolArgumentError, match="not object and query"):
        S.seg(rgb, ctx_for(ModelManager(log=None)), object=Objects.empty(), query="dog")


def test_objects_from_another_image_are_refused(rgb: Image) -> None:
    other = Objects(np.array([[0, 0, 4, 4]]), [1.0], ["x"], source="LEFT")
    with pytest.raises(ToolArgumentError, match="object= holds objects found in input 'LEFT'"):
        S.seg(rgb, ctx_for(ModelManager(log=None)), object=other)


def test_config_from_released_filename() -> None:
    assert S.config_from_filename("/m/sam2.1_hiera_large.pt").endswith("sam2.1_hiera_l.yaml")
    assert S.config_from_filename("/m/sam2_hiera_base_plus.pt").endswith("sam2_hiera_b+.yaml")
    assert S.config_from_filename("/m/weights.pt") is None


def test_offline_hub_checkpoint_fails_fast(monkeypatch: pytest.MonkeyPatch, rgb: Image) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    points = Points(np.array([[3.0, 3.0]]), ["x"])
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="facebook/sam2.1-hiera-tiny.*model.seg"):
        S.seg(rgb, ctx_for(ModelManager(log=None), **{"model.seg": "facebook/sam2.1-hiera-tiny"}),
              point=points)  # fmt: skip
    assert time.perf_counter() - start < 10


def test_unknown_hub_id_names_the_known_ones(rgb: Image) -> None:
    points = Points(np.array([[3.0, 3.0]]), ["x"])
    with pytest.raises(ModelUnavailableError, match="facebook/sam2.1-hiera-large"):
        S.seg(rgb, ctx_for(ModelManager(log=None), **{"model.seg": "someone/sam-x"}), point=points)


def test_crop_loc_seg_program_lands_in_root_frame(
    sam2_dir: str, owlv2_dir: str, rgb: Image
) -> None:
    program = (
        "BOX0 = Loc(image=IMAGE, object='BOTTOM')\n"
        "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "BOX1 = Loc(image=IMAGE0, object='dog')\n"
        "OBJ0 = Seg(image=IMAGE0, object=BOX1)\n"
        "FINAL_RESULT = Result(var=OBJ0)"
    )
    settings = {"model.seg": sam2_dir, "model.loc": owlv2_dir, "loc.threshold": 0.0,
                "loc.max_objects": 2}  # fmt: skip
    trace = visprog.execute(program, rgb, device="cpu", settings=settings)
    crop, objects = trace.steps[1].output, trace.result
    x0, y0, x1, y1 = crop.root_box
    assert y0 > 0 and len(objects) == 2 and objects.masks.shape == (2, 48, 64)
    outside = objects.masks.copy()
    outside[:, y0:y1, x0:x1] = False
    assert not outside.any()
    assert (objects.boxes[:, 1] >= y0).all() and (objects.boxes[:, 3] <= y1).all()


def test_rle_masks_decode_like_sam2s_own_decoder() -> None:
    torch = pytest.importorskip("torch")
    from sam2.utils.amg import mask_to_rle_pytorch, rle_to_mask

    rng = np.random.default_rng(0)
    masks = rng.random((3, 7, 5)) > 0.6
    masks[1] = False  # an empty mask
    masks[2, 0, 0] = True  # a run starting at the first pixel (counts begin with 0)
    for mask, rle in zip(masks, mask_to_rle_pytorch(torch.from_numpy(masks)), strict=True):
        np.testing.assert_array_equal(S.rle_mask(rle), rle_to_mask(rle))
        np.testing.assert_array_equal(S.rle_mask(rle), mask)
    with pytest.raises(visprog.ToolExecutionError, match="run-length mask of 6 pixels"):
        S.rle_mask({"size": [7, 5], "counts": [2, 4]})


def test_automatic_masks_on_a_crop_are_within_their_boxes_in_the_root_frame(
    sam2_dir: str, models: ModelManager, rgb: Image
) -> None:
    settings = {"model.seg": sam2_dir, "seg.points_per_side": 4, "seg.pred_iou_thresh": 0.0,
                "seg.stability_score_thresh": 0.0, "seg.max_objects": 3}  # fmt: skip
    crop = rgb.crop((8, 4, 56, 44))
    out = S.seg(crop, ctx_for(models, **settings))
    assert 0 < len(out) <= 3 and out.masks is not None and out.masks.shape == (len(out), 48, 64)
    areas = [out.masks.area(i) for i in range(len(out))]
    assert areas == sorted(areas, reverse=True) and areas[0] > 0  # largest first
    for i in range(len(out)):
        dense = out.masks[i]
        ys, xs = np.nonzero(dense)
        assert xs.min() >= 8 and xs.max() < 56 and ys.min() >= 4 and ys.max() < 44
        np.testing.assert_array_equal(
            out.boxes[i], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        )
    assert out.masks.nbytes <= sum(areas) * 4  # stored within boxes, not as full frames
