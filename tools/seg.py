"""Seg: SAM 2 masks for objects, points, a text query, or everything in the image.

Prompts (give at most one): ``object`` (each object's box), ``point`` (each point, a positive
click), ``query`` (text: Loc finds boxes, then SAM 2 segments them), or none (SAM 2's automatic
mask generator over the whole image, as VisProg's SEG). ``multimask=True`` returns SAM 2's three
candidate masks per prompt (whole, part, sub-part for an ambiguous click) with their predicted
IoU as scores; otherwise the best one.

The image embedding is computed once per image and model and kept in the run cache, so later
Seg calls on the same image (or the same crop) in one run only decode masks. Masks are returned
in the root frame (N, H_root, W_root) even when the input is a crop.

Model (``model.seg``): a SAM 2 Hugging Face id (``facebook/sam2.1-hiera-large``, the default),
a local ``.pt`` checkpoint, or a folder holding one ``.pt`` and its ``.yaml`` config. A local
checkpoint without a config beside it names one with ``seg.config`` (``sam2.1_hiera_l`` or a
path); otherwise the config is guessed from the file name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError, ToolExecutionError
from visprog.geometry import clip_boxes, mask_boxes
from visprog.images import image_key
from visprog.masks import BoxMasks
from visprog.models import hub_file, inference_mode, require
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image, Objects, Points, check_frames

DEFAULT_ID = "facebook/sam2.1-hiera-large"
DEFAULT_MAX_AUTO = 64
_POSTPROCESS = {  # what sam2.build_sam.build_sam2 applies for image prediction
    "sam_mask_decoder_extra_args": {
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    }
}
_SIZES = {"tiny": "t", "small": "s", "base_plus": "b+", "large": "l"}


# -- loading --------------------------------------------------------------------------------------


def package_config(name: str) -> str:
    """Path of a config shipped in the sam2 package (``sam2.1_hiera_l`` or ``sam2_hiera_t``)."""
    sam2 = require("sam2", "seg", "Seg")
    stem = Path(name).name.removesuffix(".yaml")  # not .stem: "sam2.1_hiera_l" has a dot
    folder = "sam2.1" if stem.startswith("sam2.1") else "sam2"
    path = Path(sam2.__file__).parent / "configs" / folder / f"{stem}.yaml"
    if not path.is_file():
        raise ToolArgumentError(f"seg.config {name!r}: no such SAM 2 config ({path})")
    return str(path)


def config_from_filename(ckpt: str) -> str | None:
    """The packaged config for a checkpoint named like the released ones, else None."""
    stem = Path(ckpt).name.removesuffix(".pt")  # sam2.1_hiera_large -> sam2.1_hiera_l
    for long, short in _SIZES.items():
        if stem.endswith(f"hiera_{long}"):
            return package_config(stem[: -len(long)] + short)
    return None


def locate(model_id: str, settings: Mapping[str, Any]) -> tuple[str, str]:
    """(config path, checkpoint path) for ``model.seg`` (downloads a hub checkpoint if needed).

    Raises:
        ModelUnavailableError: When the checkpoint or its config cannot be found.
    """
    config = CONFIG.read(settings)
    if os.path.isdir(model_id):
        ckpts = sorted(Path(model_id).glob("*.pt"))
        yamls = sorted(Path(model_id).glob("*.yaml"))
        if len(ckpts) != 1:
            raise ModelUnavailableError(
                f"Seg: the folder {model_id} must hold exactly one SAM 2 .pt checkpoint"
            )
        ckpt = str(ckpts[0])
        cfg = (package_config(config) if config else None) or (str(yamls[0]) if yamls else None)
    elif os.path.isfile(model_id):
        ckpt = model_id
        cfg = package_config(config) if config else config_from_filename(model_id)
    else:
        build = require("sam2.build_sam", "seg", "Seg")
        if model_id not in build.HF_MODEL_ID_TO_FILENAMES:
            known = ", ".join(build.HF_MODEL_ID_TO_FILENAMES)
            raise ModelUnavailableError(
                f"Seg: {model_id!r} is neither a local SAM 2 checkpoint nor a known SAM 2 model "
                f"id ({known}); set model.seg to one of them or to a .pt file"
            )
        cfg_name, filename = build.HF_MODEL_ID_TO_FILENAMES[model_id]
        cfg = package_config(cfg_name)
        ckpt = hub_file("Seg", model_id, filename, "model.seg")
    if cfg is None:
        raise ModelUnavailableError(
            f"Seg: cannot tell which SAM 2 config fits {model_id}; set seg.config "
            "(e.g. sam2.1_hiera_l) or put the .yaml beside the checkpoint"
        )
    return cfg, ckpt


def build_sam2(config: str, ckpt: str | None, device: str) -> Any:
    """A SAM 2 model from a config file and a checkpoint (random weights when ``ckpt`` is None)."""
    require("sam2", "seg", "Seg")
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.merge(OmegaConf.load(config), {"model": _POSTPROCESS})
    OmegaConf.resolve(cfg)
    model = instantiate(cfg.model, _recursive_=True)
    if ckpt is not None:
        import torch

        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"] if "model" in state else state)
    return model.to(device).eval()


def load_sam2(model_id: str, device: str, dtype: str, settings: Mapping[str, Any]) -> Any:
    """Locate and build the configured SAM 2 model on ``device``.

    Weights stay float32; on CUDA it runs under bf16 autocast, SAM 2's own recipe.
    """
    config, ckpt = locate(model_id, settings)
    return build_sam2(config, ckpt, device)


CONFIG = option(
    "seg.config", str, None, "SAM 2 config for a local checkpoint, e.g. sam2.1_hiera_l or a .yaml"
)
POINTS_PER_SIDE = option(
    "seg.points_per_side", int, 32, "Seg's automatic mask generator grid (no prompt)", 1, 256
)
PRED_IOU = option(
    "seg.pred_iou_thresh", float, 0.8, "Seg's automatic masks: minimum predicted IoU", 0.0, 1.0
)
STABILITY = option(
    "seg.stability_score_thresh",
    float,
    0.95,
    "Seg's automatic masks: minimum stability score",
    0.0,
    1.0,
)
MAX_AUTO = option(
    "seg.max_objects",
    int,
    DEFAULT_MAX_AUTO,
    "Seg keeps at most this many automatic masks (the largest)",
    1,
)
SAM2 = declare_model(
    "Seg",
    "model.seg",
    DEFAULT_ID,
    load_sam2,
    kind="sam2",
    help="Seg's SAM 2 checkpoint: a Hugging Face id, a .pt file or a folder",
    dtype="float32",
    options=(CONFIG, POINTS_PER_SIDE, PRED_IOU, STABILITY, MAX_AUTO),
    key_settings=("seg.config",),
)


# -- running --------------------------------------------------------------------------------------


def autocast(device: str) -> Any:
    """bf16 autocast on CUDA (SAM 2's recommended precision); nothing elsewhere."""
    if not device.startswith("cuda"):
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cuda", dtype=torch.bfloat16)


def predictor_for(image: Image, model: Any, model_key: str, ctx: Context, device: str) -> Any:
    """A SAM 2 image predictor with ``image`` set, from the run cache when already embedded."""
    key = f"seg-embedding:{model_key}:{image_key(image)}"
    if key in ctx.run_cache:
        ctx.note("image embedding reused from an earlier Seg step")
        return ctx.run_cache[key]
    sam2_predictor = require("sam2.sam2_image_predictor", "seg", "Seg")
    predictor = sam2_predictor.SAM2ImagePredictor(model)
    with inference_mode(), autocast(device):
        predictor.set_image(image.pixels)
    ctx.run_cache[key] = predictor
    return predictor


def prompt_masks(
    predictor: Any, device: str, multimask: bool, box: Any = None, point: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Masks (K, h, w) and scores (K,) for one prompt, best first (K = 3 with multimask).

    A single point is ambiguous, so SAM 2 is always asked for its three candidates there and,
    without ``multimask``, the best-scored one is kept (what SAM's authors recommend).
    """
    kwargs: dict[str, Any] = {"multimask_output": multimask or point is not None}
    if box is not None:
        kwargs["box"] = np.asarray(box, dtype=np.float32).reshape(4)
    if point is not None:
        kwargs["point_coords"] = np.asarray(point, dtype=np.float32).reshape(1, 2)
        kwargs["point_labels"] = np.ones(1, dtype=np.int32)
    with inference_mode(), autocast(device):
        masks, scores, _ = predictor.predict(**kwargs)
    order = np.argsort(-scores)
    if not multimask:
        order = order[:1]
    return masks[order], scores[order]


def segment_prompts(
    image: Image,
    predictor: Any,
    device: str,
    prompts: list[tuple[str, Any, Any]],
    multimask: bool,
) -> Objects:
    """One object per (label, box, point) prompt (three with multimask), masks in root frame."""
    masks: list[np.ndarray] = []
    scores: list[float] = []
    labels: list[str] = []
    points: list[Any] = []
    fallback: list[Any] = []
    for label, box, point in prompts:
        m, s = prompt_masks(predictor, device, multimask, box, point)
        masks.append(m.reshape(-1, image.height, image.width))
        scores.extend(float(v) for v in s)
        labels.extend([label] * len(s))
        local_box = box if box is not None else (0, 0, image.width, image.height)
        fallback.extend([local_box] * len(s))
        centre = point if point is not None else _centre(local_box)
        points.extend([centre] * len(s))
    local = np.concatenate(masks) > 0
    boxes = mask_boxes(local, np.asarray(fallback))
    return Objects.from_local(image, boxes, np.asarray(scores), labels, local, points)


def _centre(box: Any) -> tuple[float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0 + x1) / 2, (y0 + y1) / 2


def automatic_masks(image: Image, model: Any, ctx: Context) -> Objects:
    """SAM 2's automatic mask generator over the whole image (largest masks first).

    The generator is asked for run-length encoded masks, and only the kept ones are decoded, one
    at a time, each straight into its box: N full-size masks never exist at once (64 of a
    12-megapixel photo would be 768 MB, and the generator finds more than it keeps).
    """
    amg = require("sam2.automatic_mask_generator", "seg", "Seg")
    generator = amg.SAM2AutomaticMaskGenerator(
        model,
        points_per_side=ctx.option(POINTS_PER_SIDE),
        pred_iou_thresh=ctx.option(PRED_IOU),
        stability_score_thresh=ctx.option(STABILITY),
        output_mode="uncompressed_rle",
    )
    device = str(model.device)
    with inference_mode(), autocast(device):
        found = generator.generate(image.pixels)
    found.sort(key=lambda r: -int(r["area"]))
    limit = ctx.option(MAX_AUTO)
    if len(found) > limit:
        ctx.note(f"kept the {limit} largest of {len(found)} masks (seg.max_objects)")
        found = found[:limit]
    if not found:
        return Objects.none_in(image)
    decoded = (rle_mask(r["segmentation"]) for r in found)
    local = BoxMasks.from_iter(decoded, image.height, image.width)
    whole = (0, 0, image.width, image.height)
    boxes = np.asarray([local.box(i) or whole for i in range(len(local))], dtype=np.float64)
    scores = np.asarray([float(r["predicted_iou"]) for r in found])
    return Objects.from_local(image, boxes, scores, ["object"] * len(found), local)


def rle_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """An (H, W) bool mask from SAM's uncompressed RLE (column-major runs, zeros first)."""
    height, width = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], dtype=np.int64)
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    if flat.size != height * width:
        raise ToolExecutionError(
            f"Seg: SAM 2 returned a run-length mask of {flat.size} pixels for a "
            f"{width}x{height} image"
        )
    return flat.reshape(width, height).T


# -- the step -------------------------------------------------------------------------------------


def _prompts(image: Image, object: Objects | None, point: Points | None) -> list[Any]:
    """(label, local box, local point) prompts from objects or points given in root pixels."""
    if object is not None:
        boxes = clip_boxes(image.to_local(object.boxes), image.width, image.height)
        return [(object.labels[i], boxes[i], None) for i in range(len(object))]
    assert point is not None  # noqa: S101 - the caller passes one of the two
    xy = image.to_local_points(point.xy)
    return [(point.labels[i], None, xy[i]) for i in range(len(point))]


@tool("Seg", model=f"SAM 2 ({DEFAULT_ID})")
def seg(
    image: Image,
    ctx: Context,
    object: Objects | None = None,
    point: Points | None = None,
    query: str | None = None,
    multimask: bool = False,
) -> Objects:
    """Segment objects (their boxes), points, a text query, or (no prompt) everything.

    multimask=True returns several candidate masks per prompt (e.g. whole / part for one point).
    """
    given = [
        n for n, v in (("object", object), ("point", point), ("query", query)) if v is not None
    ]
    if len(given) > 1:
        raise ToolArgumentError(
            f"Seg: give one of object, point or query, not {' and '.join(given)}"
        )
    if query is not None:
        from visprog.tools.loc import loc

        object = loc(image, query, ctx)
        ctx.note(f"query {query!r}: {len(object)} boxes from Loc")
    prompt_value = object if object is not None else point
    if prompt_value is not None:
        # The interpreter checked the arguments; objects from the query's Loc are checked here.
        check_frames("Seg", {"image": image, given[0] if given else "object": prompt_value})
        if len(prompt_value) == 0:
            return Objects.none_in(image)
    model_id = str(ctx.settings.get(SAM2.setting, SAM2.default))
    model, device = ctx.load_model(SAM2, f"SAM 2 {model_id}")
    if prompt_value is None:
        ctx.note("no prompt: automatic masks over the whole image")
        return automatic_masks(image, model, ctx)
    predictor = predictor_for(image, model, f"{model_id}@{device}", ctx, device)
    return segment_prompts(image, predictor, device, _prompts(image, object, point), multimask)
