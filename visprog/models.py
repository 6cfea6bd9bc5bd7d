"""Loading models: once per process, on first use, on the best device, with clear failures.

Tools ask the manager for a model by key with a loader function; the first call loads it (and
says so on stderr), later calls return the cached object. Torch is imported only here, inside
functions, and only when a model tool actually runs.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from visprog.errors import ConfigurationError, ModelUnavailableError

T = TypeVar("T")

_VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def require(module: str, extra: str, purpose: str) -> Any:
    """Import an optional dependency or fail with the exact install line.

    Args:
        module: Module to import (``"facenet_pytorch"``).
        extra: The visprog extra that provides it (``"faces"``).
        purpose: What needs it, for the message (``"FaceDet"``).

    Raises:
        ModelUnavailableError: Naming ``pip install 'visprog[extra]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ModelUnavailableError(
            f"{purpose} needs the Python package {module!r}, which is not installed ({e}). "
            f"Install it with: pip install 'visprog[{extra}]'"
        ) from e


def validate_device(device: str) -> str:
    """Check a device string early (before any model loads)."""
    base = device.split(":", 1)[0]
    if base not in _VALID_DEVICES or (":" in device and not device.split(":", 1)[1].isdigit()):
        raise ConfigurationError(
            f"unknown device {device!r}; use one of auto, cpu, cuda, cuda:N, mps"
        )
    return device


def resolve_device(device: str = "auto") -> str:
    """The torch device to use: ``auto`` picks cuda, then mps, then cpu.

    Raises:
        ConfigurationError: When an explicitly requested device is not available.
    """
    validate_device(device)
    torch = require("torch", "faces", "running a model")
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigurationError(f"device {device!r} was requested but CUDA is not available")
    return device


class ModelManager:
    """A per-process cache of loaded models, keyed by (name, device).

    Args:
        log: Where progress messages go (stderr by default); None silences them.
    """

    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.log = log if log is not None else _stderr
        self.load_seconds: dict[str, float] = {}

    def get(self, name: str, device: str, loader: Callable[[str], T]) -> T:
        """The model ``name`` on ``device``, loading it with ``loader(device)`` on first use.

        Args:
            name: A model id or path (the cache key, with the device).
            device: A resolved device (``"cpu"``, ``"cuda"``, ...).
            loader: Builds the model on that device.
        """
        key = f"{name}@{device}"
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]  # type: ignore[no-any-return]
            self.log(f"loading {name} on {device} ...")
            start = time.perf_counter()
            model = loader(device)
            self.load_seconds[key] = time.perf_counter() - start
            self.log(f"loaded {name} in {self.load_seconds[key]:.1f} s")
            self._models[key] = model
            return model

    def loaded(self) -> list[str]:
        """Keys of the models currently loaded, least recently used first."""
        return list(self._models)

    def clear(self) -> None:
        """Forget every loaded model."""
        with self._lock:
            self._models.clear()


def _stderr(message: str) -> None:
    print(f"visprog: {message}", file=sys.stderr, flush=True)


_HUB_HOST = ("huggingface.co", 443)
_hub_reachable_cache: bool | None = None


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub can be reached (asked once per process, within seconds).

    ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) answers no without asking.
    """
    global _hub_reachable_cache
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get(
        "TRANSFORMERS_OFFLINE", "0"
    ) not in ("", "0"):
        return False
    if _hub_reachable_cache is None:
        try:
            socket.create_connection(_HUB_HOST, timeout=timeout).close()
            _hub_reachable_cache = True
        except OSError:
            _hub_reachable_cache = False
    return _hub_reachable_cache


def hub_load(what: str, model_id: str, load: Callable[..., T], setting: str, **kwargs: Any) -> T:
    """Call a ``from_pretrained``-style ``load(model_id, **kwargs)``, failing fast and clearly.

    A local folder loads directly. A hub id loads from the local cache when the hub cannot be
    reached (``local_files_only=True``, so no retry loops), and downloads with the library's own
    progress bars when it can.

    Args:
        what: Who needs the model, for the message (``"VQA"``).
        model_id: A Hugging Face id or a local path.
        load: The loader, e.g. ``AutoModel.from_pretrained``.
        setting: The setting that chooses this model (``"model.vqa"``), named in the message.
        **kwargs: Passed to ``load``.

    Raises:
        ModelUnavailableError: When the weights are neither local nor downloadable.
    """
    if os.path.isdir(model_id):
        return load(model_id, **kwargs)
    online = hub_reachable()
    if not online:
        kwargs["local_files_only"] = True
    try:
        return load(model_id, **kwargs)
    except OSError as e:
        where = "the hub cannot be reached" if not online else f"loading failed ({e})"
        raise ModelUnavailableError(
            f"{what}: the model {model_id!r} is not available: it is not in the local Hugging "
            f"Face cache and {where}. Download it on a machine with network "
            f"(huggingface-cli download {model_id}) or set {setting} to a local folder "
            "(see 'Models' in the README)."
        ) from e


_DEFAULT: ModelManager | None = None


def default_manager() -> ModelManager:
    """The process-wide model manager."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ModelManager()
    return _DEFAULT
