"""Grammar-constrained decoding with llguidance: which tokens may come next.

llguidance compiles a Lark grammar against the tokenizer's vocabulary and, at each step, gives
the set of tokens that keep the text inside the grammar. The decoder masks every other token, so
the output is always a sentence of the grammar (and ends when the grammar does).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visprog.models import require
from visprog.planner.grammar import Grammar

BoolMask = np.ndarray[Any, np.dtype[np.bool_]]


def ll_tokenizer(hf_tokenizer: Any) -> Any:
    """An ``llguidance.LLTokenizer`` for a Hugging Face fast tokenizer (about a second; cache it).

    Raises:
        ModelUnavailableError: When llguidance is not installed.
        ConfigurationError: When the tokenizer has no fast (Rust) backend.
    """
    llg = require("llguidance", "llm", "constrained decoding")
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        from visprog.errors import ConfigurationError

        raise ConfigurationError(
            f"{type(hf_tokenizer).__name__} has no fast tokenizer; constrained decoding needs one"
        )
    from copy import copy

    rust = copy(backend)  # copy: padding and truncation settings must not leak into the model
    rust.no_padding()
    rust.no_truncation()
    return llg.LLTokenizer(rust.to_str(), eos_token=hf_tokenizer.eos_token_id)


class GrammarMatcher:
    """Tracks one generation against a grammar.

    Args:
        tokenizer: An ``LLTokenizer`` (see :func:`ll_tokenizer`).
        grammar: A :class:`Grammar`, or Lark text in llguidance's dialect.

    Raises:
        ValueError: When the grammar does not compile.
    """

    def __init__(self, tokenizer: Any, grammar: Grammar | str) -> None:
        llg = require("llguidance", "llm", "constrained decoding")
        lark = grammar.to_lark() if isinstance(grammar, Grammar) else grammar
        self._m = llg.LLMatcher(tokenizer, llg.LLMatcher.grammar_from_lark(lark))
        if self._m.is_error():
            raise ValueError(f"grammar does not compile: {self._m.get_error()}")
        self.vocab_size: int = tokenizer.vocab_size

    def allowed(self, n_logits: int) -> BoolMask:
        """Which of ``n_logits`` token ids may come next (False beyond the tokenizer's vocab)."""
        bits = np.frombuffer(self._m.compute_bitmask(), dtype=np.uint8)
        mask = np.unpackbits(bits, bitorder="little").astype(bool)
        out = np.zeros(n_logits, dtype=bool)
        n = min(n_logits, mask.size, self.vocab_size)
        out[:n] = mask[:n]
        return out

    def consume(self, token: int) -> None:
        """Advance past a sampled token (which must have been allowed)."""
        if not self._m.consume_token(token):
            raise ValueError(f"token {token} rejected by the grammar: {self._m.get_error()}")

    def take(self, token: int) -> list[int]:
        """Consume ``token`` and then every token the grammar forces; returns the forced ones.

        Both decoders feed the forced run to the model in one forward with the chosen token.
        """
        self.consume(token)
        if self.done():
            return []
        forced = self.forced()
        for t in forced:
            self.consume(t)
        return forced

    def forced(self) -> list[int]:
        """Tokens the grammar forces next (fast-forward: no choice, so no sampling needed)."""
        return list(self._m.compute_ff_tokens())

    def done(self) -> bool:
        """True when the grammar admits nothing more (the program is complete)."""
        return bool(self._m.is_stopped())

    def accepting(self) -> bool:
        """True when the text so far is a complete sentence."""
        return bool(self._m.is_accepting())
