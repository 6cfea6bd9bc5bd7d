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
from visprog.planner.backends.base import (
    Progress,
    complete_each,
    cut_at_stop,
    eos_ids,
    hit_stop,
)
from visprog.planner.backends.batched import (
    BatchDecoder,
    batchable,
    head_logits,
    output_layer,
)
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
    adapted = ""  # the id of a program-writer adapter folded into the weights, if any

    def __init__(self, tokenizer: Any, model: Any, name: str, seed: int = 0) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.name = name
        self._ll: Any = None
        self._prefixes: dict[str, Any] = {}  # prompt prefix -> its key/value cache
        self._cache_kw: str | None = None
        self._keep_kw: bool | None = None
        self._head: tuple[Any, float] | None = None  # (output layer or None, soft-cap)
        self._batch_prefixes: dict[str, Any] = {}  # prompt prefix -> its cache for batches
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

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        grammars: Sequence[Grammar | ScopedProgram | str | None] | None = None,
        max_tokens: int = 320,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        prefix_len: int | Sequence[int] = 0,
        batch_size: int = 32,
    ) -> list[str]:
        """:meth:`complete` for several prompts, decoded together (one forward per step).

        Prompts with the same ``prompt[:prefix_len]`` share that prefix's key/value cache;
        prompts are decoded in batches of up to ``batch_size`` (a batch may mix prefixes, so
        prompts of several tasks decode together); each keeps its own grammar (a
        :class:`ScopedProgram` line by line, as :meth:`complete` does). Greedy output equals
        :meth:`complete`'s for each prompt (see :mod:`visprog.planner.backends.batched`).
        A model whose attention this cannot mask (a sliding window without per-layer types)
        is run one prompt at a time.

        Raises:
            ValueError: When ``grammars`` or ``prefix_len`` do not match ``prompts`` in length.
        """
        n = len(prompts)
        grams = list(grammars) if grammars is not None else [None] * n
        lens = [prefix_len] * n if isinstance(prefix_len, int) else list(prefix_len)
        if len(grams) != n or len(lens) != n:
            raise ValueError(f"{n} prompts need as many grammars and prefix lengths")
        if not batchable(self.model):
            return complete_each(
                self,
                prompts,
                grams,
                lens,
                max_tokens=max_tokens,
                stop=stop,
                temperature=temperature,
            )
        # Prompts of one prefix next to each other (they share its cache and, in sorted order,
        # more); a batch may hold several prefixes, so prompts of different tasks decode together.
        first_seen: dict[str, int] = {}
        prefixes = [p[: max(k, 0)] for p, k in zip(prompts, lens, strict=True)]
        for prefix in prefixes:
            first_seen.setdefault(prefix, len(first_seen))
        order = sorted(range(n), key=lambda i: first_seen[prefixes[i]])
        size = max(1, batch_size)
        out = [""] * n
        with inference_mode():
            for first in range(0, n, size):
                part = order[first : first + size]
                decoder = BatchDecoder(self, max_tokens, stop, temperature)
                texts = decoder.run(
                    [prefixes[i] for i in part],
                    [prompts[i][len(prefixes[i]) :] for i in part],
                    [grams[i] for i in part],
                )
                for i, text in zip(part, texts, strict=True):
                    out[i] = text
        return out

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
        """The last position's :class:`LastLogits` and the updated key/value cache.

        For models whose logits are just the output layer of the decoder's last hidden state,
        the decoder runs alone and the layer is applied later, to the tokens the grammar
        allows only: for Gemma 3's 262k-word vocabulary that layer is more than half of a
        decoding step on a CPU (it reads 670 MB of weights per token).
        """
        torch = require("torch", "llm", "the local language model")
        device = next(self.model.parameters()).device
        tensor = torch.tensor([ids], dtype=torch.long, device=device)
        kw = self._cache_kw_name()
        if self._head is None:
            self._head = output_layer(self.model)
        head, softcap = self._head
        if head is None:
            res = self.model(input_ids=tensor, use_cache=True, **self._keep(), **{kw: past})
            return LastLogits(logits=res.logits[0, -1].float().cpu().numpy()), getattr(res, kw)
        res = self.model.get_decoder()(input_ids=tensor, use_cache=True, **{kw: past})
        last = LastLogits(hidden=res.last_hidden_state[0, -1], head=head, softcap=softcap)
        return last, getattr(res, kw)

    def _cache_kw_name(self) -> str:
        """The forward's name for the key/value cache (transformers >= 5.2x: ``cache``)."""
        if self._cache_kw is None:
            params = inspect.signature(self.model.forward).parameters
            self._cache_kw = "cache" if "cache" in params else "past_key_values"
        return self._cache_kw

    def _keep(self) -> dict[str, int]:
        """``logits_to_keep=1`` where the model takes it: only the last position's logits.

        The logits of earlier positions are never read, and a 262k-word output layer over a
        whole prompt would cost more than the rest of the forward.
        """
        if self._keep_kw is None:
            self._keep_kw = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        return {"logits_to_keep": 1} if self._keep_kw else {}

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
        eos = eos_ids(self.tokenizer, self.model)
        while len(out) < max_tokens:
            token = self._pick(logits, matcher, temperature)
            if token in eos or token < 0:
                break
            out.append(token)
            feed = [token]
            if matcher is not None:
                forced = matcher.take(token)
                out += forced
                feed += forced
                if matcher.done():
                    if feed_last:
                        logits, past = self._forward(feed, past)
                    break
            elif stop and hit_stop(self.tokenizer, out, stop):
                break
            logits, past = self._forward(feed, past)
        return out, logits, past

    def _pick(self, logits: Any, matcher: GrammarMatcher | None, temperature: float) -> int:
        """Greedy or sampled next token among those the grammar allows; -1 when none is.

        ``logits``: a :class:`LastLogits` (only the allowed tokens' logits are computed) or
        an array of every token's logits.
        """
        last = logits if isinstance(logits, LastLogits) else LastLogits(logits=logits)
        if matcher is not None:
            columns = np.flatnonzero(matcher.allowed(last.vocab()))
            if columns.size == 0:
                return -1
            z = last.over(columns)
        else:
            columns, z = None, last.full()
        if temperature <= 0:
            best = int(np.argmax(z))
        else:
            e = np.exp((z - np.max(z)) / temperature)
            best = int(self._rng.choice(len(e), p=e / e.sum()))
        return best if columns is None else int(columns[best])


class LastLogits:
    """The next-token scores of one position, computed for the tokens asked for only.

    Either the logits themselves (``logits``: every token's, from a model run whole), or the
    decoder's last hidden state with the output layer and its soft-cap, applied on demand.
    """

    def __init__(
        self, logits: Any = None, hidden: Any = None, head: Any = None, softcap: float = 0.0
    ) -> None:
        self.logits, self.hidden, self.head, self.softcap = logits, hidden, head, softcap

    def vocab(self) -> int:
        """How many scores there are (the output layer's rows: the grammar mask's length)."""
        if self.logits is not None:
            return int(self.logits.shape[0])
        return int(self.head.weight.shape[0])

    def full(self) -> Any:
        """Every token's logit (numpy, float32)."""
        if self.logits is None:
            with inference_mode():  # may run after the forward's own block has ended
                self.logits = head_logits(self.hidden, self.head, self.softcap)
        return self.logits

    def over(self, columns: Any) -> Any:
        """The logits of the tokens ``columns`` (numpy indices), in that order."""
        if self.logits is not None:
            return self.logits[columns]
        with inference_mode():
            return head_logits(self.hidden, self.head, self.softcap, columns)
