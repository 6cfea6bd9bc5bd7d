"""The tools' precheck hook: run on literal arguments and settings before any step runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from visprog import Registry, tool
from visprog.errors import ConfigurationError, ProbeError, ToolDeclarationError
from visprog.interpreter import Interpreter
from visprog.registry import UNRESOLVED


def test_precheck_sees_literals_and_stops_the_run_before_any_step() -> None:
    registry = Registry()
    seen: list[dict[str, Any]] = []
    ran: list[str] = []

    def precheck(args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        seen.append(dict(args))
        if args.get("name") == "bad" or settings.get("x.fail"):
            raise ProbeError("refused")

    @tool("Echo", registry=registry, precheck=precheck)
    def echo(name: str, other: str | None = None, names: list[str] | None = None) -> str:
        """Return the name."""
        ran.append(name)
        return name

    @tool("Result", registry=registry)
    def result(var: str) -> str:
        """The result."""
        return var

    program = "A = Echo(name='ok', names=['a', 'b'])\nB = Echo(name=A)\nR = Result(var=B)"
    trace = Interpreter(registry, device="cpu").run(program, {})
    assert trace.result == "ok" and ran == ["ok", "ok"]
    assert seen == [{"name": "ok", "names": ["a", "b"]}, {"name": UNRESOLVED}]
    ran.clear()
    bad = "A = Echo(name='ok')\nB = Echo(name='bad')\nR = Result(var=B)"
    with pytest.raises(ProbeError, match=r"^line 2 \(Echo\): refused$"):
        Interpreter(registry, device="cpu").run(bad, {})
    with pytest.raises(ProbeError, match="line 1"):
        Interpreter(registry, device="cpu", settings={"x.fail": True}).run(program, {})
    assert ran == []  # nothing ran


def test_a_precheck_must_be_callable() -> None:
    with pytest.raises(ToolDeclarationError, match="precheck"):

        @tool("Bad", registry=Registry(), precheck="no")  # type: ignore[arg-type]
        def bad(x: str) -> str:
            """Bad."""
            return x

    assert issubclass(ToolDeclarationError, ConfigurationError)
