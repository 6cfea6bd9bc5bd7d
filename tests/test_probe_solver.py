"""The NumPy logistic-regression solver, cross-validation and scores (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from visprog.errors import ProbeError
from visprog.probe.solver import _loss_grad, choose_l2, fit_head, log_softmax, stratified_folds
from visprog.probe.train import confusion, format_confusion, train_probe


def blobs(
    n: int, centres: np.ndarray, noise: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(centres)), n)
    return centres[labels] + noise * rng.standard_normal((len(labels), centres.shape[1])), labels


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    onehot = np.eye(3)[y]
    theta = rng.standard_normal(3 * 5) * 0.3
    _, grad = _loss_grad(theta, x, onehot, 0.1)
    eps = 1e-6
    numeric = np.array(
        [
            (
                _loss_grad(theta + eps * e, x, onehot, 0.1)[0]
                - _loss_grad(theta - eps * e, x, onehot, 0.1)[0]
            )
            / (2 * eps)
            for e in np.eye(len(theta))
        ]
    )
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_fit_reaches_the_minimum_and_separates_blobs() -> None:
    centres = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0]])
    x, y = blobs(30, centres, 0.5)
    head = fit_head(x, y, 3, l2=1e-2)
    theta = np.concatenate([head.weight.ravel(), head.bias])
    _, grad = _loss_grad(theta, x, np.eye(3)[y], 1e-2)
    assert np.abs(grad).max() < 1e-5  # a stationary point of a convex objective: the minimum
    pred = log_softmax(x @ head.weight.T + head.bias).argmax(axis=1)
    assert (pred == y).mean() > 0.95


def test_stronger_l2_gives_smaller_weights() -> None:
    x, y = blobs(20, np.array([[1.0, 0], [0, 1.0]]), 0.7)
    small = fit_head(x, y, 2, 1e-4).weight
    large = fit_head(x, y, 2, 10.0).weight
    assert np.linalg.norm(large) < np.linalg.norm(small)


def test_folds_spread_every_class() -> None:
    labels = np.repeat(np.arange(3), [10, 5, 7])
    folds = stratified_folds(labels, 5)
    for c in range(3):
        per_fold = np.bincount(folds[labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1


def test_cross_validation_picks_the_best_held_out_strength() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 30)), np.repeat([0, 1], 20)  # labels unrelated to features
    cv = choose_l2(x, y, 2, folds=4)
    assert cv.folds == 4 and len(cv.scores) == 8
    assert cv.accuracy == cv.scores[cv.l2] == max(cv.scores.values())
    assert cv.l2 == 10.0  # here weak penalties overfit the noise and lose on held-out folds


def test_folds_are_lowered_to_the_smallest_class() -> None:
    x, y = blobs(3, np.eye(2) * 3, 0.3)
    assert choose_l2(x, y, 2, folds=5).folds == 3


def test_train_probe_records_metadata_and_beats_chance() -> None:
    centres = np.eye(4) * 2.0
    x, y = blobs(10, centres, 0.6)
    names = ["a", "b", "c", "d"]
    labels = [names[i] for i in y]
    vx, vy = blobs(5, centres, 0.6, seed=9)
    probe = train_probe(
        x, labels, model_id="m", revision="r", val=(vx, [names[i] for i in vy], "v")
    )
    assert probe.classes == tuple(names)
    assert probe.meta["val_accuracy"] > 0.8 and probe.meta["val_source"] == "held-out set v"
    assert probe.meta["examples_per_class"] == {n: 10 for n in names}
    assert np.trace(probe.meta["val_confusion"]) / 20 == probe.meta["val_accuracy"]
    cv_only = train_probe(x, labels, model_id="m", revision="r")
    assert np.sum(cv_only.meta["val_confusion"]) == 40  # out-of-fold predictions of all 40
    assert np.trace(cv_only.meta["val_confusion"]) / 40 == cv_only.meta["val_accuracy"]
    probs = probe.predict(vx)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "labels",
    [["a"] * 6, ["a", "a", "a", "b"]],
    ids=["single-class", "one-example-class"],
)
def test_train_probe_refuses_too_little_data(labels: list[str]) -> None:
    with pytest.raises(ProbeError, match="at least 2 classes"):
        train_probe(np.ones((len(labels), 3)), labels, model_id="m", revision="r")


def test_confusion_precision_recall() -> None:
    scores = confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["x", "y"])
    assert scores.confusion.tolist() == [[1, 1], [0, 2]]
    assert scores.accuracy == 0.75
    np.testing.assert_allclose(scores.precision(), [1.0, 2 / 3])
    np.testing.assert_allclose(scores.recall(), [0.5, 1.0])
    text = format_confusion(scores)
    assert "P 1.00  R 0.50" in text and "x" in text
