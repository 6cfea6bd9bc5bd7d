"""The program writer's LoRA adapter: its prompt form, file format, and merge into the weights.

The offline default (Gemma 3 270M, a base model) writes programs from in-context examples; the
adapter is a low-rank update of its projections trained on the example bank
(``scripts/train_adapter.py``), so the model has seen every (query, program) pair of the bank
instead of the three retrieved for a query. With it the prompt is short
(:func:`adapter_prompt`: the task and the question), so a program is written from about twenty
prompt tokens instead of several hundred.

The file is safetensors (never a pickle): ``<weight name>.lora_A`` (rank x in) and
``.lora_B`` (out x rank) per adapted projection, and metadata with the base model's name, the
rank and ``alpha`` (the update is ``alpha / rank * B @ A``). :func:`merge_adapter` checks every
name and shape against the loaded model before it changes any weight.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from visprog.errors import ConfigurationError

# The projections adapted in every decoder layer (attention and MLP).
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FILE = Path(__file__).with_name("adapters") / "gemma3-270m-bank.safetensors"


def adapter_prompt(task: str, query: str) -> str:
    """The whole prompt the adapted model continues (no examples, no tool list)."""
    return f"Task: {task}\nQuestion: {' '.join(query.split())}\nProgram:\n"


def adapter_prefix(task: str) -> str:
    """The part of :func:`adapter_prompt` shared by every query of ``task``."""
    return f"Task: {task}\n"


def save_adapter(path: Path, matrices: dict[str, tuple[Any, Any]], meta: dict[str, str]) -> None:
    """Write ``{weight name: (A, B)}`` and ``meta`` as a safetensors file."""
    from safetensors.torch import save_file

    tensors = {}
    for name, (a, b) in matrices.items():
        tensors[f"{name}.lora_A"] = a.contiguous().cpu()
        tensors[f"{name}.lora_B"] = b.contiguous().cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


@cache  # asked for each program's cache key; the shipped file does not change under a process
def adapter_id(path: Path) -> str:
    """A short hash of the adapter file (part of the program cache key)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def merge_adapter(model: Any, path: Path, base: str) -> dict[str, str]:
    """Fold the adapter at ``path`` into ``model``'s weights, in place; returns its metadata.

    Args:
        model: The loaded causal LM.
        path: The adapter file.
        base: The name the adapter's metadata must give as its base model.

    Raises:
        ConfigurationError: When the file is unreadable, was trained for another base model,
            or names a weight the model lacks or has another shape (nothing is changed then).
    """
    import torch
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (OSError, SafetensorError) as e:
        raise ConfigurationError(f"cannot read the adapter {path}: {e}") from e
    if meta.get("base") != base:
        raise ConfigurationError(
            f"the adapter {path} was trained for {meta.get('base')!r}, not {base!r}"
        )
    try:
        scale = float(meta["alpha"]) / int(meta["rank"])
    except (KeyError, ValueError) as e:
        raise ConfigurationError(f"the adapter {path} lacks a valid rank or alpha") from e
    weights = dict(model.named_parameters())
    updates = []
    for key in sorted(k for k in tensors if k.endswith(".lora_A")):
        name = key.removesuffix(".lora_A")
        a, b = tensors[key], tensors.get(f"{name}.lora_B")
        w = weights.get(name)
        if b is None or w is None or a.ndim != 2 or b.ndim != 2:
            raise ConfigurationError(f"the adapter {path} does not fit the model at {name!r}")
        if (b.shape[0], a.shape[1]) != tuple(w.shape) or a.shape[0] != b.shape[1]:
            raise ConfigurationError(
                f"the adapter {path} does not fit the model at {name!r}: "
                f"{tuple(b.shape)} x {tuple(a.shape)} for a weight of {tuple(w.shape)}"
            )
        updates.append((w, a, b))
    if not updates or len(updates) * 2 != len(tensors):
        raise ConfigurationError(f"the adapter {path} holds no matching A/B pairs")
    with torch.no_grad():
        for w, a, b in updates:
            w.add_((b.float() @ a.float() * scale).to(w.dtype))
    return meta
