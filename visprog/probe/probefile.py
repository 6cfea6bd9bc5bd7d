"""The probe: a linear head on frozen CLIP features, and its file format.

A ``.probe`` file is an uncompressed NumPy ``.npz`` archive holding exactly five arrays:
``weight`` (C, D), ``bias`` (C,), ``mean`` (D,) and ``scale`` (D,) as float32, and ``metadata``,
the UTF-8 bytes of a JSON object (uint8). It is read with ``allow_pickle=False`` after its zip
directory has been checked (member names, sizes), so a hostile file can neither run code nor
exhaust memory; every array's shape and the metadata's fields are validated before use.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visprog.errors import ProbeError
from visprog.values import FloatArray

FORMAT = "visprog-probe"
VERSION = 1
NORMALISATION = "l2-unit-rows-then-standardise"
MAX_FILE_BYTES = 256 * 2**20
MAX_META_BYTES = 2**20
MAX_CLASSES = 10_000
MAX_DIM = 16_384
MAX_NAME = 200
ARRAYS = ("weight", "bias", "mean", "scale", "metadata")
_META_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "version": int,
    "clip_model": str,
    "clip_revision": str,
    "classes": list,
    "feature_dim": int,
    "normalisation": str,
    "l2": (int, float),
    "train_accuracy": (int, float),
    "val_accuracy": (int, float),
    "val_source": str,
    "examples_per_class": dict,
}


def unit_rows(rows: FloatArray) -> FloatArray:
    """Each row divided by its length (zero rows stay zero)."""
    out: FloatArray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return out


@dataclass(frozen=True)
class Probe:
    """A trained probe: classes, a linear head and the feature normalisation it expects.

    Attributes:
        classes: Class names, in the order of the weight rows.
        weight: (C, D) weights over standardised features.
        bias: (C,) biases.
        mean: (D,) feature mean subtracted after L2 normalisation.
        scale: (D,) feature spread divided by after subtracting ``mean``.
        meta: The JSON metadata (model id and revision, accuracies, examples per class, ...).
    """

    classes: tuple[str, ...]
    weight: FloatArray
    bias: FloatArray
    mean: FloatArray
    scale: FloatArray
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The feature dimension D the probe reads."""
        return int(self.weight.shape[1])

    @property
    def clip_model(self) -> str:
        """Id (or resolved local path) of the CLIP model whose features it was trained on."""
        return str(self.meta.get("clip_model", ""))

    @property
    def clip_revision(self) -> str:
        """Revision (hub commit) or weights fingerprint of that model."""
        return str(self.meta.get("clip_revision", ""))

    def standardise(self, features: FloatArray) -> FloatArray:
        """Raw image features (N, D) -> the normalised features the head reads."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ProbeError(f"the probe reads ({self.dim},)-features, got an array {x.shape}")
        out: FloatArray = (unit_rows(x) - self.mean) / self.scale
        return out

    def logits(self, features: FloatArray) -> FloatArray:
        """Class logits (N, C) of raw features (N, D)."""
        out: FloatArray = self.standardise(features) @ self.weight.T + self.bias
        return out

    def predict(self, features: FloatArray) -> FloatArray:
        """Class probabilities (N, C) of raw image features (N, D); rows sum to 1."""
        z = self.logits(features)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        out: FloatArray = z / z.sum(axis=1, keepdims=True)
        return out

    def check_model(self, model_id: str, revision: str | None = None) -> None:
        """Refuse features of another CLIP model (by id, and by revision once it is known).

        Raises:
            ProbeError: Naming both models and how to fix it.
        """
        name = self.meta.get("name", "the probe")
        if model_id != self.clip_model:
            raise ProbeError(
                f"{name} was trained on features of the CLIP model {self.clip_model!r}, but "
                f"model.clip is {model_id!r}; set model.clip={self.clip_model} or refit the "
                "probe with this model (visprog probe fit)"
            )
        if revision is not None and revision != self.clip_revision:
            raise ProbeError(
                f"{name} was trained on {self.clip_model!r} revision {self.clip_revision!r}, "
                f"but the loaded weights are revision {revision!r}; refit the probe"
            )

    def describe(self) -> str:
        """One line for traces and the CLI: classes and validation accuracy."""
        acc = self.meta.get("val_accuracy")
        shown = ", ".join(self.classes[:8]) + (", ..." if len(self.classes) > 8 else "")
        tail = f", validation accuracy {acc:.3f}" if isinstance(acc, (int, float)) else ""
        return f"{len(self.classes)} classes ({shown}){tail}"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the probe atomically (a temporary file renamed into place); returns the path."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        arrays = {
            "weight": self.weight.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "metadata": np.frombuffer(json.dumps(dict(self.meta)).encode("utf-8"), np.uint8),
        }
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise ProbeError(f"cannot write the probe {target}: {e}") from None
        return target


def load(path: str | os.PathLike[str]) -> Probe:
    """Read and validate a ``.probe`` file (never unpickles).

    Raises:
        ProbeError: The path is not a regular file, too large, not a probe, or inconsistent.
    """
    p = Path(path)
    _check_regular(p)
    try:
        with zipfile.ZipFile(p) as zf:
            _check_members(p, zf)
        with np.load(p, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAYS}
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, EOFError) as e:
        raise ProbeError(f"{p}: not a readable probe file ({type(e).__name__}: {e})") from None
    meta = _read_meta(p, arrays.pop("metadata"))
    meta["name"] = p.name
    return _build(p, arrays, meta)


def _check_regular(p: Path) -> None:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ProbeError(f"{p}: no such probe file (make one with: visprog probe fit)") from None
    except OSError as e:
        raise ProbeError(f"{p}: cannot read the probe file ({e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ProbeError(f"{p}: not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise ProbeError(f"{p}: {st.st_size:,} bytes, more than a probe may hold")


def _check_members(p: Path, zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    names = sorted(i.filename for i in infos)
    if names != sorted(f"{a}.npy" for a in ARRAYS):
        raise ProbeError(f"{p}: not a probe file (it holds {names[:8]})")
    if sum(i.file_size for i in infos) > MAX_FILE_BYTES:
        raise ProbeError(f"{p}: its arrays are larger than a probe may hold")


def _read_meta(p: Path, raw: np.ndarray[Any, Any]) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise ProbeError(f"{p}: the metadata must be UTF-8 JSON bytes")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProbeError(f"{p}: the metadata is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ProbeError(f"{p}: the metadata must be a JSON object")
    for key, kind in _META_FIELDS.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise ProbeError(f"{p}: metadata field {key!r} is missing or of the wrong type")
    if meta["format"] != FORMAT or meta["version"] != VERSION:
        raise ProbeError(
            f"{p}: format {meta['format']!r} version {meta['version']!r}; this visprog reads "
            f"{FORMAT!r} version {VERSION}"
        )
    if meta["normalisation"] != NORMALISATION:
        raise ProbeError(f"{p}: unknown feature normalisation {meta['normalisation']!r}")
    meta["classes"] = check_classes(meta["classes"], str(p))
    counts = meta["examples_per_class"]
    if set(counts) != set(meta["classes"]) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()
    ):
        raise ProbeError(f"{p}: examples_per_class must give a count for every class")
    return meta


def check_classes(classes: Any, where: str) -> list[str]:
    """Class names: 2 .. MAX_CLASSES distinct, non-empty, printable, short strings."""
    if not isinstance(classes, (list, tuple)) or not 2 <= len(classes) <= MAX_CLASSES:
        raise ProbeError(f"{where}: a probe needs 2 to {MAX_CLASSES:,} classes")
    for c in classes:
        if not isinstance(c, str) or not c.strip() or len(c) > MAX_NAME or not c.isprintable():
            raise ProbeError(f"{where}: invalid class name {str(c)[:60]!r}")
    if len(set(classes)) != len(classes):
        raise ProbeError(f"{where}: class names repeat")
    return list(classes)


def _build(p: Path, arrays: dict[str, np.ndarray[Any, Any]], meta: dict[str, Any]) -> Probe:
    c, d = len(meta["classes"]), meta["feature_dim"]
    if not 1 <= d <= MAX_DIM:
        raise ProbeError(f"{p}: feature_dim {d} is out of range")
    shapes = {"weight": (c, d), "bias": (c,), "mean": (d,), "scale": (d,)}
    out: dict[str, FloatArray] = {}
    for name, shape in shapes.items():
        a = arrays[name]
        if a.dtype not in (np.float32, np.float64) or a.shape != shape:
            raise ProbeError(f"{p}: {name} must be a float array {shape}, got {a.dtype} {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ProbeError(f"{p}: {name} holds NaN or infinite values")
        out[name] = a.astype(np.float64)
    if np.any(out["scale"] <= 0):
        raise ProbeError(f"{p}: scale must be positive")
    acc = float(meta["val_accuracy"])
    if not (0.0 <= acc <= 1.0 and math.isfinite(acc)):
        raise ProbeError(f"{p}: val_accuracy {acc} is not in [0, 1]")
    return Probe(
        tuple(meta["classes"]), out["weight"], out["bias"], out["mean"], out["scale"], meta
    )
