"""Scoring: GQA normalisation, NLVR2 truth, RefCOCO IoU, exact counts."""

from __future__ import annotations

import numpy as np
import pytest

from visprog.batch.score import best_iou, choose_metric, normalize_answer, score
from visprog.values import Objects


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("The Dog.", "dog"),
        ("  a   red, shiny car!  ", "red shiny car"),
        ("Two", "2"),
        ("an apple", "apple"),
        (True, "yes"),
        (False, "no"),
        (3.0, "3"),
        ("2.5", "2.5"),
        ("t-shirt", "t shirt"),
        ("None", "0"),
    ],
)
def test_normalize_answer(raw: object, normal: str) -> None:
    assert normalize_answer(raw) == normal


@pytest.mark.parametrize(
    ("result", "expected", "metric", "correct"),
    [
        ("Yes.", "yes", "vqa", True),
        ("two", "2", "vqa", True),
        ("the cat", "dog", "vqa", False),
        (None, "none", "vqa", False),
        (True, True, "auto", True),
        ("yes", True, "bool", True),
        ("no", "True", "bool", False),
        ("maybe", False, "bool", False),
        (3, 3, "auto", True),
        (3.0, 3, "count", True),
        ("three", 3, "count", True),
        (True, 1, "count", False),
        (2, 3, "auto", False),
        ("x", None, "auto", None),
        ("x", "y", "none", None),
    ],
)
def test_score(result: object, expected: object, metric: str, correct: bool | None) -> None:
    assert score(result, expected, metric) is correct


def test_iou_scores_the_best_object() -> None:
    boxes = np.array([[0, 0, 10, 10], [100, 100, 200, 200]], dtype=float)
    objects = Objects(boxes, [0.2, 0.9], ["a", "b"])
    assert score(objects, [110, 100, 200, 200], "auto") is True  # IoU 0.9 with the best one
    assert score(objects, [0, 0, 10, 10], "iou") is False  # matches only the weaker object
    assert score(Objects.empty(), [0, 0, 1, 1], "iou") is False
    assert score("a box", [0, 0, 1, 1], "iou") is False
    one = Objects(np.array([[0, 0, 2, 2]], dtype=float), [1.0], ["a"])
    assert best_iou(one, [1, 0, 3, 2]) == pytest.approx(1 / 3)


def test_choose_metric() -> None:
    assert [choose_metric(v) for v in ([1, 2, 3, 4], True, 3, 2.0, "x", None)] == [
        "iou",
        "bool",
        "count",
        "count",
        "vqa",
        "none",
    ]
