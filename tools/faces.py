"""FaceDet: MTCNN face detection (facenet-pytorch; its wheel carries the weights).

The pattern for model tools: the module declares its model and options (:mod:`visprog.options`);
nothing heavy at import; ``ctx.load_model`` builds the model on first use through the session's
model manager (so it loads once, on cuda when present) and records which model and device it
used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.models import require
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image, Objects

MODEL = "MTCNN (facenet-pytorch)"
MIN_SCORE = 0.9


def load_mtcnn(model_id: str, device: str, dtype: str, settings: Mapping[str, Any]) -> Any:
    """Build MTCNN with its bundled weights on ``device`` (float32: its own precision)."""
    facenet = require("facenet_pytorch", "faces", "FaceDet")
    return facenet.MTCNN(keep_all=True, device=device)


MIN_SCORE_OPTION = option(
    "facedet.min_score", float, MIN_SCORE, "FaceDet's minimum face probability (0..1)", 0.0, 1.0
)
MTCNN = declare_model(
    "FaceDet",
    "model.facedet",
    "mtcnn",
    load_mtcnn,
    kind="mtcnn",
    help="FaceDet's detector (only mtcnn: facenet-pytorch's MTCNN)",
    dtype="float32",
    source="in the facenet-pytorch wheel (`pip install 'visprog[faces]'`)",
    options=(MIN_SCORE_OPTION,),
    choices=("mtcnn",),
)


def detect_faces(image: Image, mtcnn: Any, min_score: float = MIN_SCORE) -> Objects:
    """Faces as Objects in root pixels, best first, each with its eye-midpoint as point."""
    boxes, probs, landmarks = mtcnn.detect(image.to_pil(), landmarks=True)
    if boxes is None:
        return Objects.none_in(image)
    keep = np.flatnonzero(np.asarray(probs, dtype=np.float64) >= min_score)
    keep = keep[np.argsort(-np.asarray(probs)[keep])]
    boxes = np.asarray(boxes, dtype=np.float64)[keep]
    eyes = np.asarray(landmarks, dtype=np.float64)[keep][:, :2].mean(axis=1).reshape(-1, 2)
    scores = np.asarray(probs, dtype=np.float64)[keep]
    return Objects.from_local(image, boxes, scores, ["face"] * len(keep), points=eyes)


@tool("FaceDet", model=MODEL)
def face_det(image: Image, ctx: Context) -> Objects:
    """Find the faces in the image."""
    min_score = ctx.option(MIN_SCORE_OPTION)
    mtcnn, _ = ctx.load_model(MTCNN, MODEL)
    return detect_faces(image, mtcnn, min_score)
