"""FaceDet: MTCNN face detection (facenet-pytorch; its wheel carries the weights).

The pattern for model tools: nothing heavy at import; the model is built on first use through the
process-wide model manager (so it loads once, on cuda when present) and the step records which
model and device it used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visprog.config import number_setting
from visprog.context import Context
from visprog.models import require, resolve_device
from visprog.registry import tool
from visprog.values import Image, Objects

MODEL = "MTCNN (facenet-pytorch)"
MIN_SCORE = 0.9
MIN_SIDE = 20  # MTCNN's smallest face (min_face_size): it cannot look at a smaller image


def load_mtcnn(device: str) -> Any:
    """Build MTCNN with its bundled weights on ``device``."""
    facenet = require("facenet_pytorch", "faces", "FaceDet")
    return facenet.MTCNN(keep_all=True, device=device)


def detect_faces(image: Image, mtcnn: Any, min_score: float = MIN_SCORE) -> Objects:
    """Faces as Objects in root pixels, best first, each with its eye-midpoint as point.

    An image narrower than MTCNN's smallest face (20 pixels) holds no face it can find: MTCNN would fail
    on it (it concatenates an empty list of candidate boxes), so it is not asked.
    """
    if min(image.width, image.height) < MIN_SIDE:
        return Objects.empty(image.source)
    boxes, probs, landmarks = mtcnn.detect(image.to_pil(), landmarks=True)
    if boxes is None:
        return Objects.empty(image.source)
    keep = np.flatnonzero(np.asarray(probs, dtype=np.float64) >= min_score)
    keep = keep[np.argsort(-np.asarray(probs)[keep])]
    boxes = np.asarray(boxes, dtype=np.float64)[keep]
    eyes = np.asarray(landmarks, dtype=np.float64)[keep][:, :2].mean(axis=1).reshape(-1, 2)
    offset = np.asarray(image.offset, dtype=np.float64)
    return Objects(
        image.to_root(boxes),
        np.asarray(probs, dtype=np.float64)[keep],
        ["face"] * len(keep),
        points=eyes + offset,
        source=image.source,
    )


@tool("FaceDet", model=MODEL)
def face_det(image: Image, ctx: Context) -> Objects:
    """Find the faces in the image."""
    device = resolve_device(ctx.device)
    mtcnn = ctx.models.get(MODEL, device, load_mtcnn)
    ctx.used_model(f"{MODEL} on {device}")
    min_score = number_setting(ctx.settings, "facedet.min_score", MIN_SCORE, 0.0, 1.0)
    return detect_faces(image, mtcnn, min_score)
