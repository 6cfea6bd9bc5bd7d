"""Objects from (and to) other libraries' detection results, without importing those libraries.

Each adapter reads the library's result object by its documented attributes (tensors become
numpy through ``.detach().cpu().numpy()``), takes the :class:`~visprog.values.Image` the model
saw, and returns :class:`~visprog.values.Objects` in that image's root frame (boxes clipped to it).
Only :func:`to_supervision` imports its library, inside the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visprog.geometry import FloatArray, as_float_array, mask_boxes
from visprog.values import Image, Objects


def _numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu()
        if values.is_floating_point():
            values = values.float()
        values = values.numpy()
    return np.asarray(values)


def _names(raw: Any, names: Mapping[int, str] | Sequence[str] | None, default: str) -> list[str]:
    """Labels from class ids (via ``names``) or strings; ``default`` when there are none."""
    values = list(_numpy(raw).reshape(-1)) if raw is not None and not isinstance(raw, list) else raw
    if values is None:
        return []
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif names is not None:
            out.append(str(names[int(v)]))
        else:
            out.append(default)
    return out


def from_transformers(
    image: Image,
    result: Mapping[str, Any],
    names: Mapping[int, str] | Sequence[str] | None = None,
    label: str = "object",
) -> Objects:
    """A transformers ``post_process_*object_detection`` result for one image.

    Args:
        image: The image the model saw; ``target_sizes`` must have been its (height, width),
            so the boxes are in its pixels.
        result: One dict of the post-processor's list: ``boxes`` (N, 4) xyxy, ``scores`` (N,),
            and ``labels`` / ``text_labels`` (class ids or strings), when present.
        names: Class names for integer labels (``model.config.id2label``, or the text queries).
        label: The label of every object when the result names none.
    """
    boxes = as_float_array(result["boxes"], (-1, 4))
    scores = as_float_array(result["scores"], (-1,))
    raw = result.get("text_labels", result.get("labels"))
    labels = _names(raw, names, label) or [label] * len(boxes)
    order = np.argsort(-scores, kind="stable")
    return Objects.from_local(image, boxes[order], scores[order], [labels[i] for i in order])


def from_ultralytics(image: Image, result: Any) -> Objects:
    """One ultralytics ``Results`` (``model.predict(...)[0]``) for ``image``: boxes and classes.

    Masks of segmentation models are not taken (they come at the model's letterboxed size);
    run Seg on the boxes for masks in the image frame.
    """
    boxes = as_float_array(result.boxes.xyxy, (-1, 4))
    scores = as_float_array(result.boxes.conf, (-1,))
    labels = _names(result.boxes.cls, result.names, "object")
    order = np.argsort(-scores, kind="stable")
    return Objects.from_local(image, boxes[order], scores[order], [labels[i] for i in order])


def from_sam2(
    image: Image,
    masks: Any,
    scores: Any,
    label: str = "object",
    points: Any = None,
    boxes: Any = None,
) -> Objects:
    """Masks from SAM 2 (``SAM2ImagePredictor.predict`` or the automatic generator's stack).

    Args:
        image: The image given to ``set_image``.
        masks: (N, H, W) masks (bool, or logits/probabilities thresholded at 0) in its pixels.
        scores: (N,) predicted IoUs.
        label: The label of every object.
        points: Optional (N, 2) prompt points in its pixels.
        boxes: Optional (N, 4) fallback boxes for empty masks (default: the whole image).
    """
    local = _numpy(masks).reshape(-1, image.height, image.width) > 0
    fallback: FloatArray = (
        np.tile([0.0, 0.0, image.width, image.height], (len(local), 1))
        if boxes is None
        else as_float_array(boxes, (-1, 4))
    )
    s = as_float_array(scores, (-1,))
    xy = None if points is None else as_float_array(points, (-1, 2))
    return Objects.from_local(
        image, mask_boxes(local, fallback), s, [label] * len(local), local, xy
    )


def to_supervision(objects: Objects) -> Any:
    """``supervision.Detections`` in root pixels: xyxy, confidence, class names and masks.

    Raises:
        ModelUnavailableError: When supervision is not installed (names the pip line).
    """
    from visprog.models import require

    sv = require("supervision", "supervision", "Objects.to_supervision")
    classes = sorted(set(objects.labels))
    return sv.Detections(
        xyxy=objects.boxes.astype(np.float32),
        confidence=objects.scores.astype(np.float32),
        class_id=np.asarray([classes.index(x) for x in objects.labels], dtype=int),
        mask=None if objects.masks is None else objects.masks.copy(),
        data={"class_name": np.asarray(objects.labels, dtype=str)},
    )


def from_supervision(image: Image, detections: Any, label: str = "object") -> Objects:
    """``supervision.Detections`` found in ``image``'s pixels, as Objects in its root frame.

    Labels come from ``data["class_name"]`` when present, else ``label``; masks are kept when
    they are (N, H, W) of the image's size.
    """
    boxes = as_float_array(detections.xyxy, (-1, 4))
    n = len(boxes)
    conf = detections.confidence
    scores = np.ones(n) if conf is None else as_float_array(conf, (-1,))
    names = getattr(detections, "data", {}).get("class_name")
    labels = [str(x) for x in names] if names is not None else [label] * n
    mask = detections.mask
    ok = mask is not None and tuple(np.shape(mask)[1:]) == (image.height, image.width)
    return Objects.from_local(image, boxes, scores, labels, mask if ok else None)
