"""Fit and evaluate probes end to end: data set -> cached CLIP features -> head -> file / scores."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ProbeError
from visprog.models import ModelManager
from visprog.probe.data import Dataset, read_dataset
from visprog.probe.features import Encoder, cache_root, image_features, load_encoder
from visprog.probe.probefile import Probe
from visprog.probe.train import Scores, class_indices, confusion, score, train_probe
from visprog.values import FloatArray

_DEFAULT = object()
SUFFIX = ".probe"


def make_context(
    settings: Mapping[str, Any] | None, device: str, models: ModelManager | None
) -> Context:
    """A context for running CLIP outside a program (same loader and model cache as the tools)."""
    ctx = Context(device=device, settings=dict(settings or {}))
    if models is not None:
        ctx.models = models
    return ctx


@contextmanager
def progress_bar(total: int, desc: str, quiet: bool) -> Iterator[Any]:
    """A tqdm bar on stderr (``update(n)``), or a no-op when quiet or tqdm is missing."""
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        quiet = True
    if quiet:
        yield lambda n: None
        return
    with tqdm(total=total, desc=desc, unit="img", file=sys.stderr) as bar:
        yield bar.update


def dataset_features(
    encoder: Encoder, data: Dataset, cache_dir: Path | None, quiet: bool
) -> FloatArray:
    """Features of every image of ``data`` (cached), with a progress bar unless quiet."""
    with progress_bar(len(data.paths), f"features {Path(data.source).name}", quiet) as update:
        return image_features(encoder, data.paths, cache_dir, update)


def check_output(out: Path, *sources: Dataset) -> Path:
    """``out`` must end in .probe and must not be (or lie inside) any input."""
    if out.suffix != SUFFIX:
        raise ProbeError(f"{out}: a probe file name must end in {SUFFIX}")
    target = out.resolve()
    for data in sources:
        root = Path(data.source).resolve()
        inputs = {root, *(p.resolve() for p in data.paths)}
        if target in inputs or (root.is_dir() and target.is_relative_to(root)):
            raise ProbeError(f"{out}: refusing to write the probe inside its input {data.source}")
    if out.exists() and not out.is_file():
        raise ProbeError(f"{out}: exists and is not a file")
    return out


def fit(
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    val: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    device: str = "auto",
    folds: int = 5,
    cache_dir: Any = _DEFAULT,
    quiet: bool = True,
    models: ModelManager | None = None,
) -> Probe:
    """Train a probe on a labelled image set with the configured CLIP model (``model.clip``).

    Args:
        data: A folder of class folders, or a ``.csv`` / ``.jsonl`` of path,label.
        out: Where to save the ``.probe`` file (not saved when None).
        val: A separate validation set (same layouts); else k-fold CV accuracy is recorded.
        settings: visprog settings (``model.clip``, ``models.dtype``).
        device: auto, cpu, cuda, cuda:N, mps.
        folds: Cross-validation folds for choosing the L2 strength.
        cache_dir: Feature cache root; the default is ``$VISPROG_CACHE/features``, None disables.
        quiet: No progress bar.
        models: The model manager (a Session's; a new one by default).

    Returns:
        The probe (``predict(features)``, ``classes``, ``meta``).

    Raises:
        ProbeError: An invalid data set or output path. ImageLoadError: an unreadable image.
    """
    train_set = read_dataset(data)
    val_set = read_dataset(val) if val is not None else None
    target = check_output(Path(out), *[d for d in (train_set, val_set) if d]) if out else None
    cache = cache_root() if cache_dir is _DEFAULT else cache_dir
    encoder = load_encoder(make_context(settings, device, models))
    x = dataset_features(encoder, train_set, cache, quiet)
    held_out = None
    if val_set is not None:
        held_out = (
            dataset_features(encoder, val_set, cache, quiet),
            val_set.labels,
            val_set.source,
        )
    probe = train_probe(
        x, train_set.labels, model_id=encoder.model_id, revision=encoder.revision, folds=folds,
        val=held_out,
    )  # fmt: skip
    if target is not None:
        probe.save(target)
        probe.meta["name"] = target.name  # type: ignore[index]
    return probe


@dataclass(frozen=True)
class Evaluation:
    """A probe's scores on a labelled set, beside zero-shot CLIP on the same classes."""

    probe: Scores
    zero_shot: Scores


def evaluate(
    probe: Probe,
    data: str | os.PathLike[str],
    *,
    settings: Mapping[str, Any] | None = None,
    device: str = "auto",
    cache_dir: Any = _DEFAULT,
    quiet: bool = True,
    models: ModelManager | None = None,
) -> Evaluation:
    """Score ``probe`` on ``data`` and zero-shot CLIP (prompt ensembles) on the same classes.

    Raises:
        ProbeError: The data has classes the probe lacks, or the probe is for another model.
    """
    ctx = make_context(settings, device, models)
    from visprog.probe.features import configured_model_id

    probe.check_model(configured_model_id(ctx.settings))
    dataset = read_dataset(data, min_classes=1)
    truth = class_indices(dataset.labels, probe.classes, str(data))
    encoder = load_encoder(ctx)
    probe.check_model(encoder.model_id, encoder.revision)
    cache = cache_root() if cache_dir is _DEFAULT else cache_dir
    x = dataset_features(encoder, dataset, cache, quiet)
    return Evaluation(score(probe, x, dataset.labels), zero_shot(encoder, ctx, x, truth, probe))


def zero_shot(
    encoder: Encoder, ctx: Context, x: FloatArray, truth: np.ndarray[Any, Any], probe: Probe
) -> Scores:
    """Zero-shot CLIP's scores on the probe's classes (the Classify step's prompt ensembles)."""
    from visprog.tools.clip import class_vectors, templates

    vectors = class_vectors(encoder.bundle, probe.classes, templates(ctx.settings))
    return confusion(truth, (x @ vectors.T).argmax(axis=1), probe.classes)
