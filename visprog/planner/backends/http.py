"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp's server.

Uses only the standard library (urllib). ``mode="completion"`` posts the prompt to
``/completions`` (best for base models and llama.cpp); ``mode="chat"`` sends it as one user
message to ``/chat/completions``. When the server accepts a grammar, ``grammar="gbnf"`` passes the
generation grammar as GBNF in the ``grammar`` field (llama.cpp), ``grammar="lark"`` as Lark in
``guided_grammar`` (vLLM); the default ``"none"`` sends no grammar and the planner extracts the
program from the reply. 429 and 5xx replies and connection failures are retried with
exponential backoff; every request has a timeout.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from visprog.errors import ConfigurationError, GenerationError
from visprog.planner.backends.base import cut_at_stop
from visprog.planner.grammar import Grammar

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CHAT_INSTRUCTION = (
    "Continue the text below. Reply with the program lines only, no explanation, no code fences."
)
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    """A model behind an OpenAI-compatible HTTP API.

    Args:
        model: The model name the server knows.
        base_url: API root, e.g. ``http://127.0.0.1:8080/v1`` (default: ``$OPENAI_BASE_URL``, else
            OpenAI's).
        api_key: Bearer token (default: ``$OPENAI_API_KEY``; local servers need none).
        mode: ``"chat"`` or ``"completion"``.
        grammar: ``"none"``, ``"gbnf"`` (llama.cpp) or ``"lark"`` (vLLM).
        timeout: Seconds per request.
        retries: Extra attempts after a 429/5xx reply or a connection failure.
        backoff: First wait in seconds; doubles each retry (a ``Retry-After`` header wins).
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str = "chat",
        grammar: str = "none",
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        if mode not in ("chat", "completion"):
            raise ConfigurationError(f"llm mode {mode!r}: use chat or completion")
        if grammar not in ("none", "gbnf", "lark"):
            raise ConfigurationError(f"llm grammar {grammar!r}: use none, gbnf or lark")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.mode, self.grammar_format = mode, grammar
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.name = f"{model} ({mode} at {self.base_url})"
        self.constrained = grammar != "none"

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
        """The server's continuation of ``prompt`` (servers cache prompt prefixes themselves).

        Raises:
            GenerationError: When the server keeps failing or replies with something unusable.
        """
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop and grammar is None:
            body["stop"] = list(stop)[:4]  # OpenAI accepts at most four
        if self.mode == "chat":
            body["messages"] = [
                {"role": "system", "content": CHAT_INSTRUCTION},
                {"role": "user", "content": prompt},
            ]
        else:
            body["prompt"] = prompt
        if grammar is not None and self.grammar_format == "gbnf":
            body["grammar"] = grammar.to_gbnf()
        elif grammar is not None and self.grammar_format == "lark":
            body["guided_grammar"] = grammar.to_lark()
        reply = self._post(f"/{'chat/completions' if self.mode == 'chat' else 'completions'}", body)
        return cut_at_stop(_text_of(reply), stop if grammar is None else ())

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.base_url + path, data, headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                last = f"HTTP {e.code} from {self.base_url}{path}: {detail}"
                if e.code not in _RETRY_STATUS:
                    break
                wait = _retry_after(e.headers.get("Retry-After"), self.backoff * 2**attempt)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = f"cannot reach {self.base_url}{path}: {getattr(e, 'reason', e)}"
                wait = self.backoff * 2**attempt
            except json.JSONDecodeError as e:
                raise GenerationError(f"{self.name}: the reply is not JSON ({e})") from e
            if attempt < self.retries:
                time.sleep(wait)
        raise GenerationError(f"{self.name}: {last} (after {self.retries + 1} tries)")


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(60.0, max(0.0, float(header))) if header else default
    except ValueError:
        return default


def _text_of(reply: Any) -> str:
    """The generated text of a chat or completion reply."""
    try:
        choice = reply["choices"][0]
        if "message" in choice:
            return str(choice["message"].get("content") or "")
        return str(choice.get("text") or "")
    except (KeyError, IndexError, TypeError) as e:
        raise GenerationError(f"unexpected reply from the server: {str(reply)[:200]}") from e
