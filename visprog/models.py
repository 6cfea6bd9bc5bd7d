"""Loading models: once per session, on first use, on the best device, with clear failures.

Tools ask the manager for a model by key with a loader function; the first call loads it (and
says so on stderr), later calls return the cached object. Torch is imported only here, inside
functions, and only when a model tool actually runs.
"""

from __future__ import annotations

import gc
import importlib
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from visprog.errors import ConfigurationError, ModelUnavailableError

T = TypeVar("T")

_VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


# Environment a package reads on import, set (unless the user set it) before visprog imports it.
# ultralytics otherwise pip-installs missing requirements while running ("AutoUpdate": a HEIF
# plugin on an unreadable image, CLIP for YOLOE): a run must never install packages.
_IMPORT_ENV: dict[str, dict[str, str]] = {"ultralytics": {"YOLO_AUTOINSTALL": "false"}}


def require(module: str, extra: str, purpose: str) -> Any:
    """Import an optional dependency or fail with the exact install line.

    Args:
        module: Module to import (``"facenet_pytorch"``).
        extra: The visprog extra that provides it (``"faces"``).
        purpose: What needs it, for the message (``"FaceDet"``).

    Raises:
        ModelUnavailableError: Naming ``pip install 'visprog[extra]'``.
    """
    for key, value in _IMPORT_ENV.get(module.partition(".")[0], {}).items():
        os.environ.setdefault(key, value)  # read once, when the package is first imported
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ModelUnavailableError(
            f"{purpose} needs the Python package {module!r}, which is not installed ({e}). "
            f"Install it with: pip install 'visprog[{extra}]'"
        ) from e


def validate_device(device: str) -> str:
    """Check a device string early (before any model loads)."""
    base, sep, index = device.partition(":")
    # Only CUDA has numbered devices; "auto:1" or "cpu:0" would be silently read as something else.
    numbered = base == "cuda" and index.isdigit() and len(index) <= 3
    if base not in _VALID_DEVICES or (sep and not numbered):
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
    if device.startswith("cuda:") and int(device[5:]) >= torch.cuda.device_count():
        raise ConfigurationError(
            f"device {device!r} was requested but there are {torch.cuda.device_count()} CUDA devices"
        )
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigurationError("device 'mps' was requested but MPS (Apple GPU) is not available")
    return device


class ModelManager:
    """A Session's cache of loaded models, keyed by (name, device), with an optional budget.

    With a memory budget, loading a model that brings the total over it first evicts the least
    recently used models (never the one being returned). Sizes count the parameters and buffers
    of the torch modules a loaded object holds (see :func:`model_bytes`).

    Args:
        log: Where progress messages go (stderr by default); None silences them.
        budget_bytes: Memory budget for all loaded models; None (the default) means no limit.
    """

    def __init__(
        self, log: Callable[[str], None] | None = None, budget_bytes: int | None = None
    ) -> None:
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._lock = threading.RLock()
        self.log = log if log is not None else _stderr
        self.budget_bytes = budget_bytes
        self.load_seconds: dict[str, float] = {}
        self.evicted: list[str] = []

    def set_budget(self, gigabytes: float | None) -> None:
        """Set (or with None remove) the memory budget, in GiB; evicts at the next load."""
        if gigabytes is not None and float(gigabytes) <= 0:
            raise ConfigurationError(f"models.budget_gb must be positive, got {gigabytes!r}")
        self.budget_bytes = None if gigabytes is None else int(float(gigabytes) * 2**30)

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
            self._sizes[key] = model_bytes(model)
            self.log(
                f"loaded {name} in {self.load_seconds[key]:.1f} s "
                f"({self._sizes[key] / 2**20:.0f} MiB)"
            )
            self._models[key] = model
            self._evict(keep=key)
            return model

    def _evict(self, keep: str) -> None:
        """Drop least recently used models until the total fits the budget."""
        if self.budget_bytes is None:
            return
        dropped = False
        while self.total_bytes() > self.budget_bytes and len(self._models) > 1:
            victim = next(k for k in self._models if k != keep)
            self.log(f"evicting {victim} to stay within the memory budget")
            del self._models[victim]
            self._sizes.pop(victim, None)
            self.evicted.append(victim)
            dropped = True
        if dropped:
            free_memory()

    def total_bytes(self) -> int:
        """Estimated memory held by the loaded models."""
        return sum(self._sizes.get(k, 0) for k in self._models)

    def loaded(self) -> list[str]:
        """Keys of the models currently loaded, least recently used first."""
        return list(self._models)

    def clear(self) -> None:
        """Forget every loaded model."""
        with self._lock:
            self._models.clear()
            self._sizes.clear()
        free_memory()


def model_bytes(obj: Any, _depth: int = 0) -> int:
    """Bytes of the parameters and buffers of the torch modules held by ``obj``.

    Looks into tuples, lists, dicts and (two levels of) object attributes, so a bundle such as
    ``(processor, model)`` or a predictor holding ``.model`` is measured. Shared tensors count
    once. Objects without torch modules weigh 0.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    seen: set[int] = set()
    total = 0
    for module in _modules(obj, torch, _depth):
        for t in [*module.parameters(), *module.buffers()]:
            if id(t) not in seen:
                seen.add(id(t))
                total += t.numel() * t.element_size()
    return total


def _modules(obj: Any, torch: Any, depth: int) -> list[Any]:
    if isinstance(obj, torch.nn.Module):
        return [obj]
    if depth > 2:
        return []
    if isinstance(obj, (list, tuple)):
        children: list[Any] = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    else:
        children = list(getattr(obj, "__dict__", {}).values())
    return [m for child in children for m in _modules(child, torch, depth + 1)]


def free_memory() -> None:
    """Collect garbage and return cached GPU memory to the driver (after an eviction)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def torch_dtype(device: str, setting: str | None = "auto") -> Any:
    """The dtype to load weights in: half precision on GPU, fp32 on CPU.

    bf16 on CUDA (fp16 where bf16 is unsupported), fp16 on MPS, fp32 on CPU, unless ``setting``
    (``models.dtype``) names one.

    Raises:
        ConfigurationError: For an unknown dtype name.
    """
    torch = require("torch", "models", "running a model")
    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    choice = (setting or "auto").lower()
    if choice != "auto":
        if choice not in names:
            raise ConfigurationError(f"models.dtype {setting!r}: use auto, {', '.join(names)}")
        return names[choice]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device.startswith("mps") else torch.float32


def dtype_name(device: str, settings: Mapping[str, Any]) -> str:
    """The name of the dtype :func:`torch_dtype` picks for ``models.dtype`` on ``device``.

    Part of every model's cache key, so changing ``models.dtype`` loads the model anew.
    """
    return str(torch_dtype(device, settings.get("models.dtype"))).removeprefix("torch.")


def inference_mode() -> Any:
    """``torch.inference_mode()``: no autograd bookkeeping while a tool runs a model."""
    torch = require("torch", "models", "running a model")
    return torch.inference_mode()


def _stderr(message: str) -> None:
    print(f"visprog: {message}", file=sys.stderr, flush=True)


_HUB_HOST = ("huggingface.co", 443)
_hub_reachable_cache: bool | None = None


def host_reachable(host: tuple[str, int], timeout: float = 2.0) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds.

    ``HF_HUB_OFFLINE=1`` answers no without asking (offline means offline for every download).
    """
    if _offline_env():
        return False
    try:
        socket.create_connection(host, timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_env() -> bool:
    return any(
        os.environ.get(var, "0") not in ("", "0", "false", "False")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub can be reached (asked once per process, within seconds).

    ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) answers no without asking.
    """
    global _hub_reachable_cache
    if _offline_env():
        return False
    if _hub_reachable_cache is None:
        _hub_reachable_cache = host_reachable(_HUB_HOST, timeout)
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
    if model_id.startswith(("/", "./", "../", "~", ".\\")) or os.path.isabs(model_id):
        raise ModelUnavailableError(
            f"{what}: {setting} names the local folder {model_id!r}, which does not exist"
        )
    online = hub_reachable()
    if not online:
        kwargs["local_files_only"] = True
    try:
        return load(model_id, **kwargs)
    except OSError as e:
        if online:
            where = f"loading failed ({e})"
        else:
            where = "HF_HUB_OFFLINE is set" if _offline_env() else "the hub cannot be reached"
        raise ModelUnavailableError(
            f"{what}: the model {model_id!r} is not available: it is not in the local Hugging "
            f"Face cache and {where}. Download it on a machine with network "
            f"(hf download {model_id}) or set {setting} to a local folder "
            "(see docs/models.md)."
        ) from e


def hub_file(what: str, repo_id: str, filename: str, setting: str) -> str:
    """The local path of one file of a hub repository (downloaded with a progress bar if needed).

    Like :func:`hub_load`: the local cache only, without network retries, when the hub cannot be
    reached.

    Raises:
        ModelUnavailableError: When the file is neither cached nor downloadable.
    """
    hf = require("huggingface_hub", "models", what)

    def fetch(rid: str, **kw: Any) -> str:
        return str(hf.hf_hub_download(rid, filename, **kw))

    return hub_load(what, repo_id, fetch, setting)
