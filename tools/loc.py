"""Loc: find objects by name. Open-vocabulary detection, or VisProg's image halves.

``Loc(image=IMAGE, object='TOP')`` (also ``'BOTTOM'``, ``'LEFT'``, ``'RIGHT'``) returns that half
of the image as one object, without any model or torch import. Any other name goes to a
detector chosen by settings:

- ``model.loc``: a Hugging Face id or local folder (default OWLv2, see docs/models.md for why),
  or an ultralytics weights file (``yolo11x.pt``, ``yoloe-11l-seg.pt``, ``yolov8x-worldv2.pt``)
  or model yaml;
- ``loc.backend``: ``auto`` (from the model id), ``owlv2``, ``grounding_dino`` (both through
  transformers' zero-shot detection classes), ``yolo`` (closed-set class names), ``yoloe`` or
  ``yolo_world`` (text prompts);
- ``loc.threshold`` (minimum score; per-backend default), ``loc.nms`` (IoU above which the
  lower-scored of two boxes is dropped; default 0.5, 1 disables), ``loc.max_objects``.

Detectors see the image they are given (a crop stays a crop); boxes come back in root pixels.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.geometry import clip_boxes, nms
from visprog.models import host_reachable, hub_load, inference_mode, require, torch_dtype
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image, Objects

DEFAULT_ID = "google/owlv2-base-patch16-ensemble"
HALVES = ("TOP", "BOTTOM", "LEFT", "RIGHT")
DEFAULT_THRESHOLDS = {
    "owlv2": 0.1,
    "grounding_dino": 0.3,
    "yolo": 0.25,
    "yoloe": 0.25,
    "yolo_world": 0.1,
}
DEFAULT_NMS = 0.5
BACKENDS = tuple(DEFAULT_THRESHOLDS)

BACKEND = option(
    "loc.backend",
    str,
    "auto",
    "auto (from the model id), owlv2, grounding_dino, yolo, yoloe, yolo_world",
    choices=("auto", *BACKENDS),
)
THRESHOLD = option(
    "loc.threshold", float, None, "Loc's minimum score (0..1; default per backend)", 0.0, 1.0
)
NMS = option(
    "loc.nms",
    float,
    DEFAULT_NMS,
    "Loc's IoU above which overlapping boxes are merged (0..1; 1 disables NMS)",
    0.0,
    1.0,
)
MAX_OBJECTS = option("loc.max_objects", int, None, "Loc keeps at most this many objects", 0)


def half(image: Image, which: str) -> Objects:
    """One half of ``image`` ('TOP', 'BOTTOM', 'LEFT' or 'RIGHT') as an object in root pixels."""
    w, h = image.width, image.height
    box = {
        "TOP": (0, 0, w, h / 2),
        "BOTTOM": (0, h / 2, w, h),
        "LEFT": (0, 0, w / 2, h),
        "RIGHT": (w / 2, 0, w, h),
    }[which]
    return Objects.from_local(image, box, np.ones(1), [which.lower()])


def backend_for(model_id: str, setting: str = "auto") -> str:
    """The backend for a model: the ``loc.backend`` setting, or guessed from the id."""
    if setting != "auto":
        if setting not in BACKENDS:
            raise ToolArgumentError(
                f"loc.backend {setting!r} is not one of auto, {', '.join(BACKENDS)}"
            )
        return setting
    name = model_id.lower().replace("-", "").replace("_", "")
    if "yoloe" in name:
        return "yoloe"
    if "world" in name and "yolo" in name:
        return "yolo_world"
    if name.endswith((".pt", ".yaml", ".yml")) or "yolo" in name:
        return "yolo"
    return "grounding_dino" if "grounding" in name else "owlv2"


def finish(
    image: Image, name: str, boxes: Any, scores: Any, settings: Mapping[str, Any]
) -> Objects:
    """Detections in ``image`` pixels -> Objects in root pixels, clipped, NMS'd, best first."""
    b = clip_boxes(boxes, image.width, image.height)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    keep = nms(b, s, NMS.read(settings))
    limit = MAX_OBJECTS.read(settings)
    if limit is not None:
        keep = keep[:limit]
    return Objects.from_local(image, b[keep], s[keep], [name] * len(keep))


def load_detector(model_id: str, device: str, dtype: str, settings: Mapping[str, Any]) -> Any:
    """The detector ``model.loc`` names: (processor, model) from transformers, or a YOLO."""
    backend = backend_for(model_id, BACKEND.read(settings))
    if backend in ("owlv2", "grounding_dino"):
        return load_transformers(model_id, device, dtype)
    return load_yolo(model_id, backend)


DETECTOR = declare_model(
    "Loc",
    "model.loc",
    DEFAULT_ID,
    load_detector,
    kind="loc",
    help="Loc's detector: a Hugging Face id, a local folder, or a YOLO .pt/.yaml",
    options=(BACKEND, THRESHOLD, NMS, MAX_OBJECTS),
    key_settings=("loc.backend",),
)


def loc_batched(calls: list[dict[str, Any]]) -> list[Objects]:
    """Loc's batched form: OWLv2 looks at every call's image and query in one forward.

    Halves need no model and other backends run one call at a time (Grounding DINO's phrases
    pad differently per call; ultralytics sets one text class per model).
    """
    out: list[Objects | None] = [None] * len(calls)
    owl: list[int] = []
    for i, call in enumerate(calls):
        name, ctx = call["object"].strip(), call["ctx"]
        model_id = str(ctx.settings.get("model.loc", DEFAULT_ID))
        if name in HALVES or not name or backend_for(model_id, ctx.option(BACKEND)) != "owlv2":
            out[i] = loc(**call)
        else:
            owl.append(i)
    if owl:
        ctxs: list[Context] = [calls[i]["ctx"] for i in owl]
        bundles = [ctx.load_model(DETECTOR, record=False) for ctx in ctxs]
        (model, device), model_id = bundles[0], str(ctxs[0].settings.get("model.loc", DEFAULT_ID))
        if "grounding" in model[1].config.model_type:  # a folder whose config says otherwise
            for i in owl:
                out[i] = loc(**calls[i])
            return [o for o in out if o is not None]
        threshold = ctxs[0].option(THRESHOLD, DEFAULT_THRESHOLDS["owlv2"])
        images = [calls[i]["image"] for i in owl]
        names = [calls[i]["object"].strip() for i in owl]
        found = run_owlv2_many(model, images, names, threshold)
        for i, ctx, image, name, (boxes, scores) in zip(
            owl, ctxs, images, names, found, strict=True
        ):
            ctx.used_model(f"owlv2 {model_id} on {device}")
            ctx.note(f"owlv2: kept scores >= {threshold}")
            out[i] = finish(image, name, boxes, scores, ctx.settings)
    return [o for o in out if o is not None]


@tool(
    "Loc",
    model=f"OWLv2 ({DEFAULT_ID}); Grounding DINO, YOLO, YOLOE, YOLO-World by config",
    batched=loc_batched,
)
def loc(image: Image, object: str, ctx: Context) -> Objects:
    """Find every instance of an object by name; 'TOP', 'BOTTOM', 'LEFT', 'RIGHT' give halves."""
    name = object.strip()
    if name in HALVES:
        ctx.note(f"{name}: the {name.lower()} half of the image (no model)")
        return half(image, name)
    if not name:
        raise ToolArgumentError("Loc: the object name is empty")
    return detect(image, name, ctx)


def detect(image: Image, name: str, ctx: Context) -> Objects:
    """Run the configured detector for ``name`` on ``image``; Objects in root pixels."""
    model_id = str(ctx.settings.get("model.loc", DEFAULT_ID))
    backend = backend_for(model_id, ctx.option(BACKEND))
    if backend in ("owlv2", "grounding_dino"):
        model, device = ctx.load_model(DETECTOR, record=False)
        # The checkpoint's own config says which of the two it is (a local folder's name may not).
        backend = "grounding_dino" if "grounding" in model[1].config.model_type else "owlv2"
        ctx.used_model(f"{backend} {model_id} on {device}")
        threshold = ctx.option(THRESHOLD, DEFAULT_THRESHOLDS[backend])
        boxes, scores = run_transformers(model, image, name, threshold)
    else:
        model, device = ctx.load_model(DETECTOR, f"{backend} {model_id}")
        threshold = ctx.option(THRESHOLD, DEFAULT_THRESHOLDS[backend])
        boxes, scores = run_yolo(model, backend, image, name, threshold, device)
    ctx.note(f"{backend}: kept scores >= {threshold}")
    return finish(image, name, boxes, scores, ctx.settings)


# -- transformers: OWLv2 and Grounding DINO ------------------------------------------------------


def load_transformers(model_id: str, device: str, dtype_name: str) -> tuple[Any, Any]:
    """(processor, model) of a zero-shot detector, on ``device`` in dtype ``dtype_name``."""
    tf = require("transformers", "models", "Loc")
    dtype = torch_dtype(device, dtype_name)
    processor = hub_load("Loc", model_id, tf.AutoProcessor.from_pretrained, "model.loc")
    model = hub_load(
        "Loc", model_id, tf.AutoModelForZeroShotObjectDetection.from_pretrained, "model.loc"
    )
    return processor, model.to(device=device, dtype=dtype).eval()


def run_transformers(
    bundle: tuple[Any, Any], image: Image, name: str, threshold: float
) -> tuple[Any, Any]:
    """Boxes (xyxy, image pixels) and scores for ``name`` from OWLv2 or Grounding DINO."""
    processor, model = bundle
    gdino = "grounding" in model.config.model_type
    # Grounding DINO reads a lower-case phrase ending in '.'; OWLv2 one query per class.
    text: Any = f"{name.lower().rstrip('.')}." if gdino else [[name]]
    inputs = processor(images=image.to_pil(), text=text, return_tensors="pt")
    inputs = inputs.to(model.device, dtype=model.dtype)
    with inference_mode():
        outputs = model(**inputs)
    outputs = _to_float(outputs)
    # The library's own path with the image's (height, width): OWLv2's processor knows that it
    # padded the image to a square at the bottom right and scales by the longer side itself.
    target = [(image.height, image.width)]
    if gdino:
        result = processor.post_process_grounded_object_detection(
            outputs,
            inputs["input_ids"],
            threshold=threshold,
            text_threshold=threshold,
            target_sizes=target,
        )[0]
    else:
        result = processor.post_process_grounded_object_detection(
            outputs, threshold=threshold, target_sizes=target
        )[0]
    return result["boxes"].float().cpu().numpy(), result["scores"].float().cpu().numpy()


def run_owlv2_many(
    bundle: tuple[Any, Any], images: list[Image], names: list[str], threshold: float
) -> list[tuple[Any, Any]]:
    """:func:`run_transformers` for OWLv2 over several (image, name) pairs in one forward.

    The processor pads every image to a square and resizes it to the model's size; every query
    is padded to the text model's length (what OWLv2's own processor does by default, and
    masked), so the batch stacks without changing what any one input sees.
    """
    processor, model = bundle
    inputs = processor(
        images=[image.to_pil() for image in images],
        text=[[name] for name in names],
        padding="max_length",
        truncation=True,
        max_length=model.config.text_config.max_position_embeddings,
        return_tensors="pt",
    )
    inputs = inputs.to(model.device, dtype=model.dtype)
    with inference_mode():
        outputs = _to_float(model(**inputs))
    results = processor.post_process_grounded_object_detection(
        outputs, threshold=threshold, target_sizes=[(im.height, im.width) for im in images]
    )
    return [(r["boxes"].float().cpu().numpy(), r["scores"].float().cpu().numpy()) for r in results]


def _to_float(outputs: Any) -> Any:
    """Half-precision outputs as float32 (post-processing sorts and rescales in float)."""
    for key, value in outputs.items():
        if hasattr(value, "is_floating_point") and value.is_floating_point():
            outputs[key] = value.float()
    return outputs


# -- ultralytics: YOLO (closed set), YOLOE and YOLO-World (text prompts) ----------------------


def load_yolo(model_id: str, backend: str) -> Any:
    """An ultralytics model from a weights file or model yaml (downloads named weights)."""
    ul = require("ultralytics", "yolo", "Loc with a YOLO model")
    cls = {"yolo": ul.YOLO, "yoloe": ul.YOLOE, "yolo_world": ul.YOLOWorld}[backend]
    if not os.path.exists(model_id) and not model_id.endswith((".yaml", ".yml")):
        if not host_reachable(("github.com", 443)):
            raise ModelUnavailableError(
                f"Loc: the YOLO weights {model_id!r} are not here and cannot be downloaded "
                "(no network). Download them on a machine with network (yolo export is not "
                f"needed: python -c \"from ultralytics import YOLO; YOLO('{model_id}')\") and "
                "set model.loc to the .pt file's path."
            )
    try:
        return cls(model_id)
    except (OSError, ConnectionError) as e:
        raise ModelUnavailableError(f"Loc: cannot load the YOLO model {model_id!r}: {e}") from e


def run_yolo(
    model: Any, backend: str, image: Image, name: str, threshold: float, device: str
) -> tuple[Any, Any]:
    """Boxes and scores for ``name`` from an ultralytics model (pixels of ``image``)."""
    if backend == "yolo":
        wanted = yolo_classes(model.names, name)
        classes: list[int] | None = wanted
    else:
        set_text_classes(model, backend, name)
        classes = None
    bgr = np.ascontiguousarray(image.pixels[:, :, ::-1])
    result = model.predict(
        bgr, conf=threshold, classes=classes, device=device, verbose=False, iou=1.0
    )[0]
    return result.boxes.xyxy.float().cpu().numpy(), result.boxes.conf.float().cpu().numpy()


def yolo_classes(names: dict[int, str], wanted: str) -> list[int]:
    """Class ids of a closed-set model whose name is ``wanted`` (case and plural 's' ignored).

    Raises:
        ToolArgumentError: When the model has no such class (naming the closest ones).
    """
    key = _singular(wanted)
    ids = [i for i, n in names.items() if _singular(n) == key]
    if ids:
        return ids
    close = difflib.get_close_matches(wanted.lower(), [n.lower() for n in names.values()], n=3)
    hint = f" (closest: {', '.join(close)})" if close else ""
    raise ToolArgumentError(
        f"Loc: {wanted!r} is not one of the {len(names)} classes of this closed-set YOLO "
        f"model{hint}; use an open-vocabulary detector (loc.backend=owlv2, yoloe or yolo_world)"
    )


def _singular(name: str) -> str:
    n = name.strip().lower()
    return n[:-1] if n.endswith("s") and not n.endswith("ss") else n


def set_text_classes(model: Any, backend: str, name: str) -> None:
    """Point a YOLOE / YOLO-World model at one text class (its text encoder may download)."""
    if getattr(model, "_visprog_classes", None) == [name]:
        return
    try:
        if backend == "yoloe":
            model.set_classes([name], model.get_text_pe([name]))
        else:
            model.set_classes([name])
    except (OSError, ConnectionError, ImportError) as e:
        raise ModelUnavailableError(
            f"Loc: {backend} needs its text encoder, which could not be loaded ({e}); run it "
            "once on a machine with network so ultralytics caches it"
        ) from e
    model._visprog_classes = [name]
