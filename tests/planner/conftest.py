"""Fixtures for the planner tests: a tiny random-weight causal LM saved to disk, fake backends."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from visprog.planner.backends import make_backend
from visprog.planner.backends.local import TransformersBackend
from visprog.planner.grammar import Grammar

from .tiny_lm import build_tiny_lm


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny Llama and its byte-level BPE tokenizer (built offline)."""
    pytest.importorskip("transformers")
    pytest.importorskip("llguidance")
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))


@pytest.fixture(scope="module")
def tiny(tiny_lm_dir: Path) -> TransformersBackend:
    """The tiny LM loaded through the real local backend (once per test module)."""
    backend = make_backend(str(tiny_lm_dir), device="cpu")
    assert isinstance(backend, TransformersBackend)
    return backend


@pytest.fixture
def program_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point visprog's cache at a temporary folder."""
    monkeypatch.setenv("VISPROG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class ScriptedBackend:
    """A fake backend for plumbing tests: returns the scripted replies in order.

    Records every prompt and grammar it was given. Not a model: real backends are exercised in
    test_constrained.py, test_http.py and test_gemma.py.
    """

    def __init__(self, replies: Sequence[str], constrained: bool = False, name: str = "scripted"):
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.grammars: list[Grammar | None] = []
        self.constrained = constrained
        self.name = name

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
        assert 0 <= prefix_len < len(prompt)
        self.prompts.append(prompt)
        self.grammars.append(grammar)
        if not self.replies:
            raise AssertionError("the backend was called more often than scripted")
        return self.replies.pop(0)
