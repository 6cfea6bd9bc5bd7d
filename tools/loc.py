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

OWLv2's image side (vision tower, box head) does not depend on the query: it is computed once per
image and kept in the run cache (batch-wide under ``visprog batch``), keyed by the image's pixels
and frame and the model, so ``Loc(face)`` and ``Loc(cup)`` on one image run the vision tower once
and only the text tower and the class head per query.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.geometry import clip_boxes, nms
from visprog.images import image_key
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
    """Loc's batched form: OWLv2 embeds each distinct image of the chunk once.

    Every call's boxes and scores are those of its single call: the same image embedding (from
    the run cache when an earlier call computed it), its own text query, its own class head.
    On a GPU the chunk's new images go through the vision tower in one forward; on a CPU one at
    a time (batching gains nothing there, and alone the outputs are bitwise the single call's).
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
        embedded = owlv2_images(model, images, ctxs, ctxs[0].model_key(DETECTOR))
        queries = {name: owlv2_query(model, name) for name in dict.fromkeys(names)}
        for i, ctx, image, name, embedding in zip(owl, ctxs, images, names, embedded, strict=True):
            ctx.used_model(f"owlv2 {model_id} on {device}")
            boxes, scores = owlv2_detect(model, embedding, queries[name], image, threshold)
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
        if backend == "owlv2":
            key = ctx.model_key(DETECTOR)
            boxes, scores = run_owlv2(model, image, name, threshold, ctx.run_cache, key, ctx.note)
        else:
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


# -- OWLv2: the image side once per image, the text side per query ------------------------------

OWL_CACHE = "owlv2-image"
REUSED = "image embedding reused from an earlier Loc on the same image"


@dataclass(frozen=True)
class OwlImage:
    """OWLv2's query-independent output for one image, which every text query reuses.

    Attributes:
        feats: (1, P, D) patch features (class token merged in, layer-normed): the class head's
            input, P = (image_size / patch_size) ** 2.
        boxes: (1, P, 4) one box per patch, (cx, cy, w, h) relative to the padded square image.
    """

    feats: Any
    boxes: Any


def run_owlv2(
    bundle: tuple[Any, Any],
    image: Image,
    name: str,
    threshold: float,
    cache: MutableMapping[str, Any] | None = None,
    model_key: str = "",
    note: Callable[[str], None] | None = None,
) -> tuple[Any, Any]:
    """Boxes (xyxy, image pixels) and scores for ``name`` from OWLv2, as its own forward gives.

    The image's embedding comes from ``cache`` when an earlier call computed it (``note`` is
    told), else it is computed and kept there under ``model_key`` and the image's content.
    """
    key = f"{OWL_CACHE}:{model_key}:{image_key(image)}"
    if cache is not None and key in cache:
        if note is not None:
            note(REUSED)
        embedding = cache[key]
    else:
        embedding = embed_owlv2_images(bundle, [image])[0]
        if cache is not None:
            cache[key] = embedding
    return owlv2_detect(bundle, embedding, owlv2_query(bundle, name), image, threshold)


def owlv2_images(
    bundle: tuple[Any, Any], images: list[Image], ctxs: list[Context], model_key: str
) -> list[OwlImage]:
    """Each image's embedding, computing each distinct one once (reusing the run caches').

    A call whose image an earlier call (in the cache, or earlier in this list) embedded gets
    :data:`REUSED` as a note, as it would running after it. New images are embedded together
    on a GPU, one at a time on a CPU.
    """
    keys = [f"{OWL_CACHE}:{model_key}:{image_key(image)}" for image in images]
    known: dict[str, OwlImage] = {}
    todo: dict[str, Image] = {}
    for key, image, ctx in zip(keys, images, ctxs, strict=True):
        if key in known or key in todo:
            ctx.note(REUSED)
        elif key in ctx.run_cache:
            ctx.note(REUSED)
            known[key] = ctx.run_cache[key]
        else:
            todo[key] = image
    if todo:
        fresh = list(todo.values())
        stacked = _on_gpu(bundle)
        parts = [fresh] if stacked else [[image] for image in fresh]
        embedded = [e for part in parts for e in embed_owlv2_images(bundle, part)]
        known.update(zip(todo, embedded, strict=True))
    for key, ctx in zip(keys, ctxs, strict=True):
        ctx.run_cache[key] = known[key]
    return [known[key] for key in keys]


def _on_gpu(bundle: tuple[Any, Any]) -> bool:
    return str(bundle[1].device.type) != "cpu"


def embed_owlv2_images(bundle: tuple[Any, Any], images: list[Image]) -> list[OwlImage]:
    """OWLv2's vision tower and box head for ``images``, in one forward.

    As the model's own forward runs them: the processor pads each image to a square and resizes
    it to the model's size.
    """
    processor, model = bundle
    pixels = processor.image_processor(
        images=[image.to_pil() for image in images], return_tensors="pt"
    )["pixel_values"].to(model.device, dtype=model.dtype)
    with inference_mode():
        feature_map, _ = model.image_embedder(pixel_values=pixels)
        n, height, width, depth = feature_map.shape
        feats = feature_map.reshape(n, height * width, depth)
        boxes = model.box_predictor(feats, feature_map)
    return [OwlImage(feats[i : i + 1], boxes[i : i + 1]) for i in range(n)]


def owlv2_query(bundle: tuple[Any, Any], name: str) -> tuple[Any, Any]:
    """The text query's (1, 1, D) normalised embedding and its (1, 1) mask.

    As OWLv2's forward computes them from the processor's tokens (a query whose first id is 0
    is padding).
    """
    processor, model = bundle
    torch = require("torch", "models", "Loc")
    tokens = processor(text=[[name]], return_tensors="pt").to(model.device)
    with inference_mode():
        pooled = model.owlv2.get_text_features(
            input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
        ).pooler_output
        embeds = pooled / torch.linalg.norm(pooled, ord=2, dim=-1, keepdim=True)
    return embeds.reshape(1, 1, -1), (tokens["input_ids"][..., 0] > 0).reshape(1, 1)


def owlv2_detect(
    bundle: tuple[Any, Any],
    embedding: OwlImage,
    query: tuple[Any, Any],
    image: Image,
    threshold: float,
) -> tuple[Any, Any]:
    """Boxes (xyxy, image pixels) and scores: the class head for one query on one embedding.

    Then the library's own post-processing with the image's (height, width) (it knows that the
    image was padded to a square at the bottom right and scales by the longer side).
    """
    processor, model = bundle
    owlv2 = require("transformers.models.owlv2.modeling_owlv2", "models", "Loc")
    with inference_mode():
        logits, _ = model.class_predictor(embedding.feats, *query)
    outputs = owlv2.Owlv2ObjectDetectionOutput(
        logits=logits.float(), pred_boxes=embedding.boxes.float()
    )
    result = processor.post_process_grounded_object_detection(
        outputs, threshold=threshold, target_sizes=[(image.height, image.width)]
    )[0]
    return result["boxes"].float().cpu().numpy(), result["scores"].float().cpu().numpy()


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
