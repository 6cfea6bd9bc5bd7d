"""Adapters: other libraries' results as Objects in the root frame, importing none of them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from visprog import Image, Objects


@pytest.fixture
def crop(rgb: Image) -> Image:
    return rgb.crop((10, 8, 50, 40))  # 40x32 at (10, 8) in the 64x48 root


def test_adapters_import_no_library() -> None:
    code = (
        "import sys\n"
        "for m in ('torch', 'transformers', 'ultralytics', 'sam2', 'supervision'):\n"
        "    sys.modules[m] = None\n"
        "import numpy as np, visprog.adapters\n"
        "from visprog import Image, Objects\n"
        "im = Image(np.zeros((4, 6, 3), np.uint8))\n"
        "o = Objects.from_transformers(im, {'boxes': [[0, 0, 2, 2]], 'scores': [0.5]})\n"
        "print(len(o), o.labels)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "('object',)"]


def test_from_transformers_sorts_clips_and_maps_into_the_root(crop: Image) -> None:
    result = {"boxes": np.array([[-5.0, 2, 10, 12], [20, 4, 60, 30]]), "scores": [0.2, 0.9],
              "labels": np.array([1, 0])}  # fmt: skip
    found = Objects.from_transformers(crop, result, names={0: "dog", 1: "cat"})
    assert found.labels == ("dog", "cat") and found.scores.tolist() == [0.9, 0.2]
    assert found.boxes.tolist() == [[30, 12, 50, 38], [10, 10, 20, 20]]  # clipped, then shifted
    assert (found.source, found.root_size) == ("IMAGE", (64, 48))
    texts = Objects.from_transformers(crop, {**result, "text_labels": ["a bus", "a car"]})
    assert texts.labels == ("a car", "a bus")


def test_from_transformers_reads_torch_tensors(crop: Image) -> None:
    torch = pytest.importorskip("torch")
    result = {"boxes": torch.tensor([[1.0, 2, 3, 4]], dtype=torch.bfloat16),
              "scores": torch.tensor([0.5]), "labels": torch.tensor([0])}  # fmt: skip
    found = Objects.from_transformers(crop, result, names=["dog"])
    assert found.boxes.tolist() == [[11, 10, 13, 12]] and found.labels == ("dog",)


def test_from_sam2_gives_tight_boxes_and_root_frame_masks(crop: Image) -> None:
    masks = np.zeros((2, 32, 40), dtype=np.float32)  # logits: > 0 is inside
    masks[0, 5:9, 3:20] = 4.0
    found = Objects.from_sam2(crop, masks, [0.9, 0.4], "bat", points=[[4, 6], [0, 0]])
    assert found.boxes.tolist() == [[13, 13, 30, 17], [10, 8, 50, 40]]  # empty: the whole crop
    assert found.masks is not None and found.masks.shape == (2, 48, 64)
    expected = np.zeros((48, 64), dtype=bool)
    expected[13:17, 13:30] = True
    np.testing.assert_array_equal(found.masks[0], expected)
    assert found.masks.area(1) == 0 and found.labels == ("bat", "bat")
    assert found.points is not None and found.points.tolist() == [[14, 14], [10, 8]]


def test_supervision_round_trip(rgb: Image) -> None:
    sv = pytest.importorskip("supervision")
    masks = np.zeros((2, 48, 64), dtype=bool)
    masks[0, 4:20, 4:20] = True
    masks[1, 10:40, 30:50] = True
    objects = Objects(np.array([[4.0, 4, 20, 20], [30, 10, 50, 40]]), [0.4, 0.9], ["cat", "dog"],
                      masks=masks, root_size=(64, 48))  # fmt: skip
    detections = objects.to_supervision()
    assert isinstance(detections, sv.Detections) and len(detections) == 2
    np.testing.assert_allclose(detections.xyxy, objects.boxes)
    assert detections.data["class_name"].tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(detections.mask, masks)
    back = Objects.from_supervision(rgb, detections)
    np.testing.assert_allclose(back.boxes, objects.boxes)
    np.testing.assert_allclose(back.scores, objects.scores, rtol=1e-6)
    assert back.labels == objects.labels and back.masks is not None
    np.testing.assert_array_equal(np.asarray(back.masks), masks)
