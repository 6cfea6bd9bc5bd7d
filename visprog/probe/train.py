"""Fitting a probe on features, and scoring predictions (accuracy, precision, recall, confusion)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from visprog.errors import ProbeError
from visprog.probe.probefile import FORMAT, NORMALISATION, VERSION, Probe, unit_rows
from visprog.probe.solver import IntArray, choose_l2, fit_head
from visprog.values import FloatArray

MIN_PER_CLASS = 2


def class_indices(labels: Sequence[str], classes: Sequence[str], where: str) -> IntArray:
    """Index of each label in ``classes``; a label outside them is a ProbeError."""
    pos = {c: i for i, c in enumerate(classes)}
    unknown = sorted({label for label in labels if label not in pos})
    if unknown:
        raise ProbeError(
            f"{where}: classes {unknown[:5]} are not among the probe's {list(classes)}"
        )
    return np.array([pos[label] for label in labels], dtype=np.int64)


def _standardisation(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean, np.where(std > 1e-8, std, 1.0)  # a constant feature is left unscaled


def train_probe(
    features: FloatArray,
    labels: Sequence[str],
    *,
    model_id: str,
    revision: str,
    folds: int = 5,
    val: tuple[FloatArray, Sequence[str], str] | None = None,
) -> Probe:
    """Fit the multinomial logistic-regression head, its L2 strength chosen by k-fold CV.

    Args:
        features: Raw CLIP image features (N, D).
        labels: Class name of each row.
        model_id: The CLIP model the features came from (recorded, checked on use).
        revision: Its revision or weights fingerprint.
        folds: Cross-validation folds (lowered to the smallest class size).
        val: Optional separate split (features, labels, its name); its accuracy is the one
            recorded, otherwise the cross-validated accuracy is.

    Raises:
        ProbeError: Fewer than two classes, or a class with fewer than two examples.
    """
    classes = sorted(set(labels))
    counts = {c: list(labels).count(c) for c in classes}
    small = [c for c, n in counts.items() if n < MIN_PER_CLASS]
    if len(classes) < 2 or small:
        raise ProbeError(
            f"a probe needs at least 2 classes with {MIN_PER_CLASS}+ examples each "
            f"(got {counts}); for one example per class use Classify(..., examples=FOLDER)"
        )
    y = class_indices(labels, classes, "training set")
    unit = unit_rows(np.asarray(features, dtype=np.float64))
    mean, scale = _standardisation(unit)
    x = (unit - mean) / scale
    cv = choose_l2(x, y, len(classes), folds)
    head = fit_head(x, y, len(classes), cv.l2)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "clip_model": model_id,
        "clip_revision": revision,
        "classes": classes,
        "feature_dim": int(x.shape[1]),
        "normalisation": NORMALISATION,
        "l2": cv.l2,
        "cv_folds": cv.folds,
        "cv_accuracy": {f"{k:g}": v for k, v in cv.scores.items()},
        "train_accuracy": 0.0,
        "val_accuracy": cv.accuracy,
        "val_source": f"{cv.folds}-fold cross-validation",
        "examples_per_class": counts,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    probe = Probe(tuple(classes), head.weight, head.bias, mean, scale, meta)
    meta["train_accuracy"] = score(probe, features, labels).accuracy
    held_out = confusion(y, cv.predicted, classes)
    if val is not None:
        held_out = score(probe, val[0], val[1])
        meta["val_accuracy"] = held_out.accuracy
        meta["val_source"] = f"held-out set {val[2]}"
    meta["val_confusion"] = held_out.confusion.tolist()
    return probe


@dataclass(frozen=True)
class Scores:
    """How predictions compare with the truth.

    Attributes:
        classes: Class names (rows and columns of ``confusion``).
        confusion: (C, C) counts, rows the true class, columns the predicted one.
    """

    classes: tuple[str, ...]
    confusion: np.ndarray[tuple[int, int], np.dtype[np.int64]]

    @property
    def accuracy(self) -> float:
        """Fraction predicted right (0 for an empty set)."""
        total = int(self.confusion.sum())
        return float(np.trace(self.confusion)) / total if total else 0.0

    def precision(self) -> FloatArray:
        """Per class: right / predicted as it (0 where nothing was predicted)."""
        predicted = self.confusion.sum(axis=0)
        out: FloatArray = np.diag(self.confusion) / np.maximum(predicted, 1)
        return out

    def recall(self) -> FloatArray:
        """Per class: right / truly it (0 for a class with no examples)."""
        actual = self.confusion.sum(axis=1)
        out: FloatArray = np.diag(self.confusion) / np.maximum(actual, 1)
        return out


def confusion(
    truth: np.ndarray[Any, Any], predicted: np.ndarray[Any, Any], classes: Sequence[str]
) -> Scores:
    """Scores of predicted class indices against true ones."""
    c = len(classes)
    table = np.zeros((c, c), dtype=np.int64)
    np.add.at(table, (truth, predicted), 1)
    return Scores(tuple(classes), table)


def score(probe: Probe, features: FloatArray, labels: Sequence[str]) -> Scores:
    """The probe's scores on labelled features."""
    truth = class_indices(labels, probe.classes, "evaluation set")
    return confusion(truth, probe.predict(features).argmax(axis=1), probe.classes)


def format_confusion(scores: Scores) -> str:
    """A plain-text confusion table (rows: true class, columns: predicted), with P/R columns."""
    names = [c[:16] for c in scores.classes]
    width = max(6, *(len(n) for n in names))
    head = " " * (width + 3) + " ".join(f"{i:>5}" for i in range(len(names)))
    lines = ["confusion (rows: true class; columns: predicted, numbered as the rows)", head]
    prec, rec = scores.precision(), scores.recall()
    for i, name in enumerate(names):
        cells = " ".join(f"{v:>5}" for v in scores.confusion[i])
        lines.append(f"{i:>2} {name:<{width}}{cells}   P {prec[i]:.2f}  R {rec[i]:.2f}")
    return "\n".join(lines)
