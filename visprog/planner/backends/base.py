"""The one small interface every program-writing backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, runtime_checkable

from visprog.planner.grammar import Grammar

if TYPE_CHECKING:
    from visprog.planner.scope import ScopedProgram

Progress = Callable[[str], None]
"""Receives one-line progress messages (model loading, generating); the CLI prints them."""


@runtime_checkable
class Backend(Protocol):
    """A language model that continues a text prompt.

    Attributes:
        name: What produced the text, e.g. ``"gemma-3-270m (transformers, cpu)"``; part of the
            program-cache key and of the trace.
        constrained: True when ``complete`` honours ``grammar`` (output is then a sentence of it).
    """

    @property
    def name(self) -> str:
        """What produced the text (see the class docstring)."""
        ...

    @property
    def constrained(self) -> bool:
        """True when ``complete`` honours ``grammar``."""
        ...

    def complete(
        self,
        prompt: str,
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 320,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        prefix_len: int = 0,
    ) -> str:
        """The model's continuation of ``prompt`` (without the prompt).

        Args:
            prompt: The text to continue.
            grammar: Constrain the continuation to this grammar (when :attr:`constrained`).
            max_tokens: Most tokens to generate.
            stop: Cut the continuation at the first of these strings (unconstrained output).
            temperature: 0 for greedy decoding; above 0 samples.
            prefix_len: ``prompt[:prefix_len]`` is shared with other calls; a backend may cache
                its reading (local models keep its key/value cache). A hint only.
        """
        ...


class StepwiseBackend(Backend, Protocol):
    """A backend that can also write a program line by line under scoped grammars.

    Under a :class:`~visprog.planner.scope.ScopedProgram` each line follows the grammar built
    from the lines before it. Local models can; HTTP servers take one grammar per request.

    Attributes:
        stepwise: True when ``complete`` accepts a ``ScopedProgram``.
    """

    @property
    def stepwise(self) -> bool:
        """True when ``complete`` accepts a ``ScopedProgram`` as ``grammar``."""
        ...

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
        """As :meth:`Backend.complete`; a ``ScopedProgram`` is followed line by line."""
        ...


def is_stepwise(backend: Backend) -> TypeGuard[StepwiseBackend]:
    """Whether ``backend`` writes line by line under scoped grammars."""
    return bool(getattr(backend, "stepwise", False))


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first occurrence of any stop string."""
    cut = len(text)
    for s in stop:
        i = text.find(s) if s else -1
        if i >= 0:
            cut = min(cut, i)
    return text[:cut]


def eos_ids(tokenizer: Any, model: Any) -> set[int]:
    """The token ids that end a generation (the tokenizer's and the generation config's)."""
    ids = {tokenizer.eos_token_id}
    gen = getattr(model, "generation_config", None)
    extra = getattr(gen, "eos_token_id", None)
    ids |= set(extra) if isinstance(extra, list) else {extra}
    return {int(i) for i in ids if i is not None}


def hit_stop(tokenizer: Any, out: list[int], stop: Sequence[str]) -> bool:
    """Whether the decoded end of ``out`` contains a stop string."""
    tail = str(tokenizer.decode(out[-16:], skip_special_tokens=True))
    return any(s in tail for s in stop)


def complete_each(
    backend: Any,
    prompts: Sequence[str],
    grammars: Sequence[Any] | None,
    prefix_len: int | Sequence[int],
    **options: Any,
) -> list[str]:
    """``backend.complete`` for each prompt in turn.

    The ``complete_batch`` of a backend (or a model) that cannot decode several together.

    Args:
        backend: Has ``complete(prompt, grammar=..., prefix_len=..., **options)``.
        prompts: The prompts.
        grammars: One constraint per prompt (None: none for any).
        prefix_len: One shared-prefix length for all, or one per prompt.
        **options: ``max_tokens``, ``stop``, ``temperature``.
    """
    grams = list(grammars) if grammars is not None else [None] * len(prompts)
    lens = [prefix_len] * len(prompts) if isinstance(prefix_len, int) else list(prefix_len)
    return [
        backend.complete(p, grammar=g, prefix_len=k, **options)
        for p, g, k in zip(prompts, grams, lens, strict=True)
    ]
