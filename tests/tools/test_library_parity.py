"""Each backend against its own library's reference path, on the same tiny model and a real photo.

The tiny random-weight models give meaningless detections, but the same meaningless detections
from visprog and from the library's documented call: boxes, scores and masks must agree (to
float tolerance) after visprog maps them to the root frame. The photo is ultralytics' bus.jpg
(810x1080, not square: OWLv2 pads it), used whole and as a crop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import visprog
from visprog import Image, Objects
from visprog.context import Context
from visprog.models import ModelManager

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def bus_path() -> Path:
    utils = pytest.importorskip("ultralytics.utils")
    return Path(utils.ASSETS) / "bus.jpg"


@pytest.fixture(scope="module")
def bus(bus_path: Path) -> Image:
    return visprog.load_image(bus_path)


def _ctx(**settings: object) -> Context:
    return Context(device="cpu", models=ModelManager(log=None), settings=dict(settings))


def _by_score(boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    return boxes[order], scores[order]


def _reference_root(image: Image, boxes: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Library boxes (image pixels) by hand into the root frame: clip, then add the offset."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    b = np.clip(b, 0, [image.width, image.height, image.width, image.height])
    b = b + np.array([*image.offset, *image.offset], dtype=np.float64)
    return _by_score(b, np.asarray(scores, dtype=np.float64))


def _assert_same(found: Objects, boxes: np.ndarray, scores: np.ndarray, source: Image) -> None:
    assert len(found) == len(boxes) > 0  # something to compare: an empty match proves nothing
    np.testing.assert_allclose(found.scores, scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(found.boxes, boxes, rtol=1e-5, atol=1e-3)
    assert found.source == source.source and found.root_size == source.root_size


def _transformers_reference(model_dir: str, image: Image, name: str, gdino: bool) -> Any:
    import torch
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(model_dir).eval()
    text: Any = f"{name}." if gdino else [[name]]
    inputs = processor(images=image.to_pil(), text=text, return_tensors="pt")
    with torch.inference_mode():
        outputs = model(**inputs)
    target = [(image.height, image.width)]  # the documented call: the image's (height, width)
    if gdino:
        return processor.post_process_grounded_object_detection(
            outputs, inputs["input_ids"], threshold=0.0, text_threshold=0.0, target_sizes=target
        )[0]
    return processor.post_process_grounded_object_detection(
        outputs, threshold=0.0, target_sizes=target
    )[0]


@pytest.mark.parametrize("crop", [None, (100, 230, 700, 900)])
def test_owlv2_matches_transformers_post_processing(
    owlv2_dir: str, bus: Image, crop: tuple[int, int, int, int] | None
) -> None:
    from visprog.tools.loc import loc

    image = bus if crop is None else bus.crop(crop)
    found = loc(image, "bus", _ctx(**{"model.loc": owlv2_dir, "loc.threshold": 0.0,
                                      "loc.nms": 1.0}))  # fmt: skip
    ref = _transformers_reference(owlv2_dir, image, "bus", gdino=False)
    boxes, scores = _reference_root(image, ref["boxes"].numpy(), ref["scores"].numpy())
    _assert_same(found, boxes, scores, image)
    # Padding matters: OWLv2 sees the 810x1080 photo padded to a 1080 square on the right, and
    # the library scales its boxes by the longer side, so random boxes reach into the padding
    # (x > 810; scaling x by the width instead would keep every box inside). visprog clips them.
    if crop is None:
        assert float(ref["boxes"][:, 2].max()) > image.width >= float(found.boxes[:, 2].max())


def test_grounding_dino_matches_transformers_post_processing(
    grounding_dino_dir: str, bus: Image
) -> None:
    from visprog.tools.loc import loc

    image = bus.crop((50, 100, 760, 1000))
    found = loc(image, "bus", _ctx(**{"model.loc": grounding_dino_dir, "loc.threshold": 0.0,
                                      "loc.nms": 1.0}))  # fmt: skip
    ref = _transformers_reference(grounding_dino_dir, image, "bus", gdino=True)
    boxes, scores = _reference_root(image, ref["boxes"].numpy(), ref["scores"].numpy())
    _assert_same(found, boxes, scores, image)


def test_yolo_matches_ultralytics_predict_on_the_same_file(
    yolo_path: str, bus: Image, bus_path: Path
) -> None:
    """ultralytics reads the file itself (BGR through OpenCV); visprog hands it RGB pixels."""
    from ultralytics import YOLO

    from visprog.tools.loc import loc

    found = loc(bus, "person", _ctx(**{"model.loc": yolo_path, "loc.threshold": 1e-6,
                                    "loc.nms": 1.0}))  # fmt: skip
    result = YOLO(yolo_path).predict(
        str(bus_path), conf=1e-6, classes=[0], iou=1.0, device="cpu", verbose=False
    )[0]
    ref = Objects.from_ultralytics(bus, result)
    boxes, scores = _reference_root(bus, result.boxes.xyxy.numpy(), result.boxes.conf.numpy())
    _assert_same(found, boxes, scores, bus)
    assert set(ref.labels) == {"person"} and np.allclose(ref.boxes, boxes, atol=1e-3)


def test_sam2_matches_the_image_predictor_with_the_same_prompts(sam2_dir: str, bus: Image) -> None:
    import torch
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    from visprog.tools.seg import seg

    image = bus.crop((40, 200, 600, 900))
    prompts = Objects(np.array([[140.0, 330.0, 500.0, 700.0], [60, 250, 200, 420]]),
                      [0.9, 0.8], ["a", "b"], source=bus.source, root_size=bus.root_size)  # fmt: skip
    ctx = _ctx(**{"model.seg": sam2_dir})
    found = seg(image, ctx, object=prompts)
    model = next(iter(ctx.models._models.values()))
    predictor = SAM2ImagePredictor(model)
    with torch.inference_mode():
        predictor.set_image(image.pixels)
        for i, box in enumerate(image.to_local(prompts.boxes)):
            masks, scores, _ = predictor.predict(box=box, multimask_output=False)
            root = image.masks_to_root(masks[:1])[0]
            assert found.masks is not None
            np.testing.assert_array_equal(found.masks[i], root)
            np.testing.assert_allclose(found.scores[i], scores[0], rtol=1e-5)
    assert found.source == "IMAGE" and found.masks is not None
    assert found.masks.shape == (2, bus.height, bus.width)
