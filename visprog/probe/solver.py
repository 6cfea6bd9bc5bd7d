"""Multinomial logistic regression in NumPy: an L-BFGS solver and k-fold choice of its L2 strength.

The objective is the mean cross-entropy of ``softmax(X @ W.T + b)`` plus ``l2 / 2 * |W|^2`` (the
bias is not penalised). It is convex, so L-BFGS with a backtracking (Armijo) line search reaches
its minimum; features are standardised first, which keeps the problem well conditioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visprog.values import FloatArray

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]

L2_GRID = tuple(10.0**e for e in range(-6, 2))
"""Candidate L2 strengths tried by cross-validation (1e-6 .. 10)."""
MAX_ITER = 300
HISTORY = 10


@dataclass(frozen=True)
class Head:
    """A fitted linear head: ``logits = features @ weight.T + bias`` (standardised features)."""

    weight: FloatArray  # (C, D)
    bias: FloatArray  # (C,)


def log_softmax(logits: FloatArray) -> FloatArray:
    """Row-wise log-softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    out: FloatArray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return out


def _loss_grad(
    theta: FloatArray, x: FloatArray, onehot: FloatArray, l2: float
) -> tuple[float, FloatArray]:
    """Objective and gradient at the flat parameters ``theta`` = [W (C*D), b (C)]."""
    n, d = x.shape
    c = onehot.shape[1]
    w, b = theta[: c * d].reshape(c, d), theta[c * d :]
    logp = log_softmax(x @ w.T + b)
    loss = -float((onehot * logp).sum()) / n + 0.5 * l2 * float((w * w).sum())
    diff = (np.exp(logp) - onehot) / n
    grad = np.concatenate([(diff.T @ x + l2 * w).ravel(), diff.sum(axis=0)])
    return loss, grad


def _direction(grad: FloatArray, steps: list[tuple[FloatArray, FloatArray]]) -> FloatArray:
    """L-BFGS two-loop recursion: an approximation of ``-H^-1 grad``."""
    q = grad.copy()
    alphas = []
    for s, y in reversed(steps):
        a = float(s @ q) / float(y @ s)
        alphas.append(a)
        q -= a * y
    if steps:
        s, y = steps[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y), a in zip(steps, reversed(alphas), strict=True):
        q += (a - float(y @ q) / float(y @ s)) * s
    return -q


def fit_head(x: FloatArray, labels: IntArray, n_classes: int, l2: float, tol: float = 1e-6) -> Head:
    """Minimise the regularised cross-entropy with L-BFGS.

    Args:
        x: Standardised features, (N, D).
        labels: Class index of each row, (N,), in ``0 .. n_classes - 1``.
        n_classes: Number of classes C.
        l2: L2 strength on the weights.
        tol: Stop when the largest gradient component is below this.
    """
    n, d = x.shape
    onehot = np.eye(n_classes)[labels]
    theta = np.zeros(n_classes * (d + 1))
    loss, grad = _loss_grad(theta, x, onehot, l2)
    steps: list[tuple[FloatArray, FloatArray]] = []
    for _ in range(MAX_ITER):
        if float(np.abs(grad).max()) < tol:
            break
        direction = _direction(grad, steps)
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction (numerical trouble): restart from the gradient
            steps, direction, slope = [], -grad, -float(grad @ grad)
        t = 1.0
        while True:
            new_theta = theta + t * direction
            new_loss, new_grad = _loss_grad(new_theta, x, onehot, l2)
            if new_loss <= loss + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        s, y = new_theta - theta, new_grad - grad
        if float(s @ y) > 1e-12:  # keep the curvature pair only when it is positive
            steps = [*steps[-(HISTORY - 1) :], (s, y)]
        theta, loss, grad = new_theta, new_loss, new_grad
    c = n_classes
    return Head(theta[: c * d].reshape(c, d).copy(), theta[c * d :].copy())


def stratified_folds(labels: IntArray, k: int, seed: int = 0) -> IntArray:
    """Fold number (0 .. k-1) of each example, spreading every class over the folds."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(labels), dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        folds[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)  # classes start at different folds so small folds stay balanced
    return folds


@dataclass(frozen=True)
class CvResult:
    """Cross-validation outcome: the chosen strength and held-out accuracy of every candidate.

    Attributes:
        predicted: Each example's class as predicted by the fold model that did not see it, at
            the chosen strength (for the validation confusion table).
    """

    l2: float
    accuracy: float
    scores: dict[float, float]
    folds: int
    predicted: IntArray


def choose_l2(
    x: FloatArray,
    labels: IntArray,
    n_classes: int,
    folds: int = 5,
    grid: Sequence[float] = L2_GRID,
) -> CvResult:
    """Pick the L2 strength with the best k-fold held-out accuracy (ties: lower log-loss).

    ``k`` is ``folds``, lowered to the size of the smallest class (at least 2).
    """
    counts = np.bincount(labels, minlength=n_classes)
    k = int(max(2, min(folds, counts.min())))
    fold = stratified_folds(labels, k)
    scores: dict[float, float] = {}
    best: tuple[float, float, float] | None = None  # (accuracy, -logloss, l2)
    predicted: dict[float, IntArray] = {}
    for l2 in grid:
        logp = _out_of_fold(x, labels, n_classes, l2, fold, k)
        predicted[l2] = logp.argmax(axis=1)
        scores[l2] = float((predicted[l2] == labels).mean())
        key = (scores[l2], float(logp[np.arange(len(labels)), labels].sum()), l2)
        if best is None or key > best:
            best = key
    if best is None:
        raise ValueError("choose_l2 needs at least one candidate strength")
    return CvResult(best[2], best[0], scores, k, predicted[best[2]])


def _out_of_fold(
    x: FloatArray, labels: IntArray, n_classes: int, l2: float, fold: IntArray, k: int
) -> FloatArray:
    """Log-probabilities of every example from the model fitted on the other folds."""
    logp = np.zeros((len(labels), n_classes))
    for f in range(k):
        train, test = fold != f, fold == f
        head = fit_head(x[train], labels[train], n_classes, l2)
        logp[test] = log_softmax(x[test] @ head.weight.T + head.bias)
    return logp
