"""A local transformers causal LM (a hub id, a folder, or a GGUF file), grammar-constrained."""

from __future__ import annotations

import copy
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visprog.models import hub_load, inference_mode, require, resolve_device, torch_dtype
from visprog.planner.backends.base import Progress, cut_at_stop
from visprog.planner.constrained import GrammarMatcher, ll_tokenizer
from visprog.planner.grammar import Grammar
from visprog.planner.scope import RESULT_LINE, ScopedProgram


def split_gguf(path: str) -> tuple[str, str | None]:
    """``(folder or id, gguf file name)`` for a path to a ``.gguf`` file, else ``(path, None)``."""
    if path.lower().endswith(".gguf"):
        p = Path(path)
        return str(p.parent), p.name
    return path, None


def load_causal_lm(model: str, device: str, progress: Progress | None = None) -> tuple[Any, Any]:
    """(tokenizer, model) from a hub id, a local folder, or a ``.gguf`` file path.

    GGUF weights are de-quantized by transformers (the ``gguf`` package is needed).

    Raises:
        ModelUnavailableError: When transformers is missing or the weights are not available.
    """
    transformers = require("transformers", "llm", "the local language model")
    where, gguf = split_gguf(model)
    if gguf is not None and not Path(model).is_file():
        from visprog.errors import ModelUnavailableError

        raise ModelUnavailableError(f"the GGUF file {model!r} does not exist")
    kwargs: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    if progress:
        progress(f"loading {model} on {device} ...")
    tok = hub_load(
        "program writer", where, transformers.AutoTokenizer.from_pretrained, "llm", **kwargs
    )
    lm = hub_load(
        "program writer",
        where,
        transformers.AutoModelForCausalLM.from_pretrained,
        "llm",
        dtype=torch_dtype(device),
        **kwargs,
    )
    return tok, lm.to(device).eval()


PREFIX_SLOTS = 5  # one per prompt task
LINE_TOKENS = 120  # with fewer tokens left, a scoped program is ended with its Result line


class TransformersBackend:
    """A causal LM run locally with transformers; generation follows the grammar when given.

    Args:
        tokenizer: A fast Hugging Face tokenizer.
        model: A causal LM (``AutoModelForCausalLM``).
        name: Shown in traces and part of the cache key.
        seed: Seed for sampling (temperature > 0).
    """

    constrained = True
    stepwise = True  # takes a ScopedProgram: one grammar per statement

    def __init__(self, tokenizer: Any, model: Any, name: str, seed: int = 0) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.name = name
        self._ll: Any = None
        self._prefixes: dict[str, Any] = {}  # prompt prefix -> its key/value cache
        self._cache_kw: str | None = None
        self._keep_kw: bool | None = None  # whether forward takes logits_to_keep
        self._rng = np.random.default_rng(seed)

    @classmethod
    def load(
        cls, model: str, device: str = "auto", progress: Progress | None = None
    ) -> TransformersBackend:
        """Load from a hub id, a local folder or a ``.gguf`` file (see :func:`load_causal_lm`)."""
        dev = resolve_device(device)
        tok, lm = load_causal_lm(model, dev, progress)
        return cls(tok, lm, f"{os.path.basename(model.rstrip('/')) or model} (transformers, {dev})")

    def matcher(self, grammar: Grammar | str) -> GrammarMatcher:
        """A fresh matcher for one generation (the llguidance tokenizer is built once)."""
        if self._ll is None:
            self._ll = ll_tokenizer(self.tokenizer)
        return GrammarMatcher(self._ll, grammar)

    def complete(
        self,
        prompt: str,
        *,
        grammar: Grammar | ScopedProgram | str | None = None,
        max_tokens: int = 320,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        prefix_len: int = 0,
    ) -> str:
        """Continue ``prompt``; under ``grammar`` the output is always a sentence of it.

        ``prompt[:prefix_len]`` is text shared by many calls (the prompt's header and examples):
        its key/value cache is computed once and reused, so only the rest is read each time.
        A :class:`ScopedProgram` is followed one statement at a time, each line under the
        grammar built from the lines before it.
        """
        if isinstance(grammar, ScopedProgram):
            return self._complete_scoped(prompt, grammar, max_tokens, temperature, prefix_len)
        matcher = self.matcher(grammar) if grammar is not None else None
        with inference_mode():
            logits, past = self._read(prompt, prefix_len)
            tokens, _, _ = self._decode(logits, past, matcher, max_tokens, temperature, stop)
        text = str(self.tokenizer.decode(tokens, skip_special_tokens=True))
        return text if matcher is not None else cut_at_stop(text, stop)

    def _complete_scoped(
        self,
        prompt: str,
        scoped: ScopedProgram,
        max_tokens: int,
        temperature: float,
        prefix_len: int,
    ) -> str:
        """Write the program line by line, rebuilding the grammar after each line."""
        tokens: list[int] = []
        text = ""
        with inference_mode():
            logits, past = self._read(prompt, prefix_len)
            while len(tokens) < max_tokens:
                final = max_tokens - len(tokens) < LINE_TOKENS  # keep room for the Result line
                matcher = self.matcher(scoped.grammar(text, final))
                line, logits, past = self._decode(
                    logits, past, matcher, max_tokens - len(tokens), temperature, (), True
                )
                tokens += line
                text = str(self.tokenizer.decode(tokens, skip_special_tokens=True))
                if (
                    not line
                    or not matcher.done()
                    or text.rsplit("\n", 1)[-1].startswith(RESULT_LINE)
                ):
                    break
        return text

    def _encode(self, text: str, special: bool = True) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _forward(self, ids: list[int], past: Any) -> tuple[Any, Any]:
        """Last-position logits (numpy) and the updated key/value cache."""
        torch = require("torch", "llm", "the local language model")
        device = next(self.model.parameters()).device
        tensor = torch.tensor([ids], dtype=torch.long, device=device)
        if self._cache_kw is None:  # transformers >= 5.2x calls it ``cache``
            self._cache_kw = (
                "cache"
                if "cache" in inspect.signature(self.model.forward).parameters
                else "past_key_values"
            )
        if self._keep_kw is None:
            self._keep_kw = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        # Only the last position's logits are read: asking for those alone skips the LM head
        # (262k x 640 for Gemma 3) on every other prompt token, ~2.7x faster prefill on a CPU.
        keep = {"logits_to_keep": 1} if self._keep_kw else {}
        res = self.model(input_ids=tensor, use_cache=True, **{self._cache_kw: past}, **keep)
        return res.logits[0, -1].float().cpu().numpy(), getattr(res, self._cache_kw)

    def _read(self, prompt: str, prefix_len: int) -> tuple[Any, Any]:
        """Run the prompt through the model, reusing the cached prefix when it matches."""
        if prefix_len <= 0:
            return self._forward(self._encode(prompt), None)
        prefix, rest = prompt[:prefix_len], prompt[prefix_len:]
        if prefix not in self._prefixes:
            if len(self._prefixes) >= PREFIX_SLOTS:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[prefix] = self._forward(self._encode(prefix), None)[1]
        past = copy.deepcopy(self._prefixes[prefix])  # decoding appends to it: keep it clean
        return self._forward(self._encode(rest, special=False), past)

    def _decode(
        self,
        logits: Any,
        past: Any,
        matcher: GrammarMatcher | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        feed_last: bool = False,
    ) -> tuple[list[int], Any, Any]:
        """The decoding loop: one forward pass per token, forced tokens fed in one batch.

        Returns the tokens and, when ``feed_last`` (more text follows under another grammar),
        the logits and cache after the last of them; else the ones before it.
        """
        out: list[int] = []
        eos = _eos_ids(self.tokenizer, self.model)
        while len(out) < max_tokens:
            token = self._pick(logits, matcher, temperature)
            if token in eos or token < 0:
                break
            out.append(token)
            feed = [token]
            if matcher is not None:
                matcher.consume(token)
                if not matcher.done():
                    forced = matcher.forced()
                    for t in forced:
                        matcher.consume(t)
                    out += forced
                    feed += forced
                if matcher.done():
                    if feed_last:
                        logits, past = self._forward(feed, past)
                    break
            elif stop and _hit_stop(self.tokenizer, out, stop):
                break
            logits, past = self._forward(feed, past)
        return out, logits, past

    def _pick(self, logits: Any, matcher: GrammarMatcher | None, temperature: float) -> int:
        """Greedy or sampled next token among those the grammar allows; -1 when none is."""
        if matcher is not None:
            allowed = matcher.allowed(logits.shape[0])
            if not allowed.any():
                return -1
            logits = np.where(allowed, logits, -np.inf)
        if temperature <= 0:
            return int(np.argmax(logits))
        z = (logits - np.max(logits)) / temperature
        p = np.exp(z)
        p /= p.sum()
        return int(self._rng.choice(len(p), p=p))


def _eos_ids(tokenizer: Any, model: Any) -> set[int]:
    ids = {tokenizer.eos_token_id}
    gen = getattr(model, "generation_config", None)
    extra = getattr(gen, "eos_token_id", None)
    ids |= set(extra) if isinstance(extra, list) else {extra}
    return {int(i) for i in ids if i is not None}


def _hit_stop(tokenizer: Any, out: list[int], stop: Sequence[str]) -> bool:
    tail = str(tokenizer.decode(out[-16:], skip_special_tokens=True))
    return any(s in tail for s in stop)
