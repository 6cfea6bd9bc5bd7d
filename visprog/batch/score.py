"""Scoring answers against expected ones, the way the public benchmarks do.

Metrics (an item's ``metric``; ``auto`` picks one from the expected answer):

* ``vqa``: exact match after GQA / VQA normalisation (:func:`normalize_answer`: case,
  punctuation, articles, number words to digits, yes/no for booleans);
* ``bool``: NLVR2 true/false; ``yes``/``no``/``true``/``false`` and booleans compare equal;
* ``iou``: RefCOCO: the best-scoring box of an ``Objects`` result has IoU >= 0.5 with the
  expected ``[x1, y1, x2, y2]`` box (root-image pixels);
* ``count``: the result is exactly the expected whole number;
* ``none``: not scored.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from visprog.geometry import NUMBER_WORDS, iou
from visprog.values import Objects

IOU_THRESHOLD = 0.5

# One-word numbers only: answers are compared word by word ("twenty one" stays two words).
_NUMBER_WORDS = {w: str(n) for w, n in NUMBER_WORDS.items() if " " not in w}
_ARTICLES = frozenset({"a", "an", "the"})
_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})
# Punctuation goes, except a decimal point between digits ("2.5" stays a number).
_PUNCT = re.compile(r"(?!(?<=\d)\.(?=\d))[^\w\s]")


def normalize_answer(value: Any) -> str:
    """An answer as GQA / VQA compare it: lower case, no punctuation or articles, digits.

    ``True``/``False`` become ``yes``/``no``; whole floats lose their ``.0``.
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _PUNCT.sub(" ", str(value).lower().replace("_", " "))
    words = [_NUMBER_WORDS.get(w, w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def choose_metric(expected: Any, metric: str = "auto") -> str:
    """The metric for an expected answer (``auto``: box -> iou, bool -> bool, int -> count)."""
    if metric != "auto":
        return metric
    if expected is None:
        return "none"
    if isinstance(expected, list):
        return "iou"
    if isinstance(expected, bool):
        return "bool"
    if isinstance(expected, int) or (isinstance(expected, float) and expected.is_integer()):
        return "count"
    return "vqa"


def score(result: Any, expected: Any, metric: str = "auto") -> bool | None:
    """Whether ``result`` (a run's result value) matches ``expected``; None when not scored."""
    metric = choose_metric(expected, metric)
    if metric == "none" or expected is None:
        return None
    if metric == "iou":
        return best_iou(result, expected) >= IOU_THRESHOLD
    if metric == "bool":
        return _truth(result) is not None and _truth(result) == _truth(expected)
    if metric == "count":
        return _count(result) == _count(expected) and _count(expected) is not None
    return normalize_answer(result) == normalize_answer(expected) and result is not None


def _truth(value: Any) -> bool | None:
    word = normalize_answer(value)
    return True if word in _TRUE else False if word in _FALSE else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    word = normalize_answer(value)
    return int(word) if word.isdigit() else None


def best_iou(result: Any, box: list[float]) -> float:
    """IoU of the best-scoring object in ``result`` with ``box`` (0 for no objects)."""
    if not isinstance(result, Objects) or len(result) == 0:
        return 0.0
    return float(iou(result.boxes[int(np.argmax(result.scores))], box)[0])
