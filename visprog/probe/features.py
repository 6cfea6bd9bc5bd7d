"""CLIP image features for probes and few-shot examples, cached by image content on disk.

The cache lives in ``$VISPROG_CACHE/features`` (``~/.cache/visprog/features``): one ``.npy``
file per (model, image) pair, under a folder named by the model's key (its id plus revision or
weights fingerprint) and a file named by the SHA-256 of the image file's bytes. Entries are read
with ``allow_pickle=False`` and checked for shape and finiteness; a bad entry is recomputed.
Torch and transformers are imported only when a model has to run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ProbeError
from visprog.images import DEFAULT_MAX_PIXELS, load_image
from visprog.values import FloatArray

BATCH = 32
HASH_CHUNK = 2**20
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def cache_root() -> Path:
    """``$VISPROG_CACHE/features`` or ``~/.cache/visprog/features``."""
    from visprog.planner.cache import default_dir

    return default_dir().parent / "features"


@dataclass
class Encoder:
    """The configured CLIP model, loaded through the tool's loader, with its identity.

    Attributes:
        bundle: (processor, model) as ``tools.clip.load_clip`` returns it.
        model_id: The id as configured, or the resolved path of a local folder.
        revision: The hub commit, or a fingerprint of a local folder's files.
        calls: How many batches the image tower has encoded (for tests and benchmarks).
    """

    bundle: tuple[Any, Any]
    model_id: str
    revision: str
    calls: int = 0

    @property
    def key(self) -> str:
        """Cache folder name: a hash of the id and revision."""
        return hashlib.sha256(f"{self.model_id}\n{self.revision}".encode()).hexdigest()[:24]

    def encode(self, images: Sequence[Any]) -> FloatArray:
        """Unit image features (N, D) of PIL images (one tower call per batch)."""
        from visprog.tools.clip import embed_images

        self.calls += 1
        out: FloatArray = embed_images(self.bundle, images)
        return out


def configured_model_id(settings: Any) -> str:
    """The CLIP model ``model.clip`` names (a local folder as its resolved path)."""
    from visprog.tools.clip import DEFAULT_ID, SETTING

    model_id = str(settings.get(SETTING, DEFAULT_ID))
    return str(Path(model_id).resolve()) if os.path.isdir(model_id) else model_id


def load_encoder(ctx: Context) -> Encoder:
    """The CLIP model of ``ctx``'s settings, through ``ctx.load_model`` (shared with the tools)."""
    from visprog.tools.clip import MODEL

    bundle, _ = ctx.load_model(MODEL)
    model_id = configured_model_id(ctx.settings)
    key = f"clip.revision:{model_id}"  # fingerprinting reads files: once per run is enough
    if key not in ctx.run_cache:
        ctx.run_cache[key] = model_revision(model_id, bundle[1])
    return Encoder(bundle, model_id, str(ctx.run_cache[key]))


def model_revision(model_id: str, model: Any) -> str:
    """A hub model's commit hash, or a fingerprint of a local folder's config and weights."""
    if os.path.isdir(model_id):
        return "local-" + folder_fingerprint(Path(model_id))
    commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    return str(commit) if commit else "unknown"


def folder_fingerprint(folder: Path) -> str:
    """SHA-256 over the folder's JSON configs and each weight file's size, head and tail.

    Reading a MiB from each end of each weight file (rather than all of it) keeps this under a
    second for multi-GB checkpoints while still telling apart any two trainings.
    """
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        if f.suffix == ".json" and f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        elif f.suffix in _WEIGHT_SUFFIXES and f.is_file():
            size = f.stat().st_size
            with open(f, "rb") as fh:
                head = fh.read(HASH_CHUNK)
                fh.seek(max(0, size - HASH_CHUNK))
                tail = fh.read(HASH_CHUNK)
            h.update(f"{f.name}\0{size}\0".encode() + head + tail)
    return h.hexdigest()[:32]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (the image's content, whatever its name)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class FeatureCache:
    """Image features on disk, one ``.npy`` per (model, image content).

    Args:
        encoder: Whose features (its key names the cache folder).
        root: The cache folder (``cache_root()`` by default); None disables caching.
    """

    def __init__(self, encoder: Encoder, root: Path | None) -> None:
        self.folder = None if root is None else root / encoder.key
        self.encoder = encoder

    def get(self, digest: str, dim: int | None) -> FloatArray | None:
        """A cached feature vector, or None when absent or unusable."""
        if self.folder is None:
            return None
        path = self.folder / digest[:2] / f"{digest}.npy"
        try:
            vec = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        ok = vec.ndim == 1 and vec.dtype == np.float32 and np.all(np.isfinite(vec))
        return vec.astype(np.float64) if ok and (dim is None or vec.shape[0] == dim) else None

    def put(self, digest: str, vec: FloatArray) -> None:
        """Store a vector atomically; a cache that cannot be written is skipped silently."""
        if self.folder is None:
            return
        path = self.folder / digest[:2] / f"{digest}.npy"
        tmp = path.with_name(f".{digest}.{os.getpid()}.tmp.npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(tmp, vec.astype(np.float32), allow_pickle=False)
            os.replace(tmp, path)
            self._write_info()
        except OSError:
            tmp.unlink(missing_ok=True)

    def _write_info(self) -> None:
        assert self.folder is not None  # noqa: S101 - put() returns early without a folder
        info = self.folder / "model.json"
        if not info.exists():
            text = json.dumps({"model": self.encoder.model_id, "revision": self.encoder.revision})
            info.write_text(text, encoding="utf-8")


Progress = Callable[[int], None]


def image_features(
    encoder: Encoder,
    paths: Sequence[Path],
    cache_dir: Path | None,
    progress: Progress | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> FloatArray:
    """Unit CLIP features (N, D) of image files, from the cache where possible.

    Args:
        encoder: The CLIP model.
        paths: Image files.
        cache_dir: The cache root (None: no cache).
        progress: Called with the number of images done after each cached hit or batch.
        max_pixels: Larger images are refused (ImageLoadError).

    Raises:
        ImageLoadError: A file is not a readable image.
    """
    cache = FeatureCache(encoder, cache_dir)
    digests = [file_digest(p) for p in paths]
    found: dict[int, FloatArray] = {}
    for i, d in enumerate(digests):
        vec = cache.get(d, None)
        if vec is not None:
            found[i] = vec
    if found and progress is not None:
        progress(len(found))
    todo = [i for i in range(len(paths)) if i not in found]
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        pils = [load_image(paths[i], "EXAMPLE", max_pixels).to_pil() for i in batch]
        for i, vec in zip(batch, encoder.encode(pils), strict=True):
            cache.put(digests[i], vec)
            found[i] = vec.astype(np.float32).astype(np.float64)  # as a cache hit reads it
        if progress is not None:
            progress(len(batch))
    return _stack(found, len(paths))


def _stack(found: dict[int, FloatArray], n: int) -> FloatArray:
    dims = {v.shape[0] for v in found.values()}
    if len(dims) > 1:  # a cache written by a different model under the same key
        raise ProbeError(f"the feature cache holds vectors of sizes {sorted(dims)}; clear it")
    return np.stack([found[i] for i in range(n)]) if n else np.zeros((0, 0))
