from __future__ import annotations

import numpy as np
import pytest

from visprog import (
    CheckError,
    Image,
    LimitError,
    Objects,
    Registry,
    StepFailedError,
    ToolArgumentError,
    ToolExecutionError,
    execute,
    tool,
)
from visprog.interpreter import Interpreter
from visprog.registry import REGISTRY


def test_runs_and_records_one_step_per_line(rgb: Image) -> None:
    program = """N = Eval(expr="2 + 3")
M = Eval(expr="{N} * 2")
FINAL_RESULT = Result(var=M)"""
    trace = execute(program, rgb)
    assert trace.ok and trace.result == 10
    assert [(s.line, s.target, s.step) for s in trace.steps] == [
        (1, "N", "Eval"),
        (2, "M", "Eval"),
        (3, "FINAL_RESULT", "Result"),
    ]
    assert trace.steps[1].args == {"expr": "{N} * 2"} and trace.steps[1].output == 10
    assert all(s.seconds >= 0 for s in trace.steps) and trace.seconds >= sum(
        s.seconds for s in trace.steps
    )


def test_check_errors_stop_before_anything_runs(rgb: Image) -> None:
    calls: list[int] = []
    reg = Registry()

    @tool("Ping", registry=reg)
    def ping(image: Image) -> int:
        """Doc."""
        calls.append(1)
        return 1

    with pytest.raises(CheckError, match="undefined variable 'Y'"):
        Interpreter(reg).run("X = Ping(image=IMAGE)\nZ = Ping(image=Y)", {"IMAGE": rgb})
    assert calls == []


def test_a_failing_step_keeps_the_partial_trace(rgb: Image) -> None:
    program = "A = Eval(expr='1')\nB = Eval(expr='{A} / 0')\nC = Eval(expr='2')\nR = Result(var=C)"
    with pytest.raises(StepFailedError, match="line 2 \\(Eval\\)") as info:
        execute(program, rgb)
    trace = info.value.trace
    assert isinstance(info.value.error, ToolExecutionError) and info.value.exit_code == 7
    assert [s.ok for s in trace.steps] == [True, False]
    assert (
        trace.error is not None
        and trace.error.line == 2
        and "division by zero" in trace.error.message
    )


def test_unexpected_tool_exceptions_are_chained(rgb: Image) -> None:
    reg = Registry()

    @tool("Boom", registry=reg)
    def boom(image: Image) -> int:
        """Doc."""
        raise RuntimeError("kaput")

    @tool("Result", registry=reg)
    def result(var: int) -> int:
        """Doc."""
        return var

    with pytest.raises(StepFailedError) as info:
        Interpreter(reg).run("A = Boom(image=IMAGE)\nR = Result(var=A)", {"IMAGE": rgb})
    err = info.value.error
    assert isinstance(err, ToolExecutionError) and isinstance(err.__cause__, RuntimeError)
    assert "Boom failed: RuntimeError: kaput" in str(err)


def test_runtime_argument_and_return_types_are_checked(rgb: Image) -> None:
    reg = Registry()

    @tool("Liar", registry=reg)
    def liar(image: Image) -> Objects:
        """Declares Objects, returns text."""
        return "not objects"  # type: ignore[return-value]

    @tool("Result", registry=reg)
    def result(var: object) -> object:
        """Doc."""
        return var

    with pytest.raises(StepFailedError, match="returned text, but declares Objects"):
        Interpreter(reg).run("A = Liar(image=IMAGE)\nR = Result(var=A)", {"IMAGE": rgb})


def test_runtime_check_catches_what_union_types_let_through(rgb: Image) -> None:
    reg = Registry()

    @tool("Half", registry=reg)
    def half(n: int) -> float:
        """Doc."""
        return n / 2

    @tool("Pick", registry=reg)
    def pick(flag: bool) -> int | str:
        """Returns a number or a text: the checker cannot know which."""
        return 4 if flag else "four"

    @tool("Result", registry=reg)
    def result(var: object) -> object:
        """Doc."""
        return var

    program = "A = Pick(flag={})\nB = Half(n=A)\nR = Result(var=B)"
    assert Interpreter(reg).run(program.format("True"), {}).result == 2.0
    with pytest.raises(StepFailedError, match="argument 'n' expects number, got text") as info:
        Interpreter(reg).run(program.format("False"), {})
    assert isinstance(info.value.error, ToolArgumentError) and info.value.exit_code == 6


def test_numpy_scalars_are_normalised(rgb: Image) -> None:
    reg = Registry()

    @tool("Np", registry=reg)
    def np_count(image: Image) -> int:
        """Doc."""
        return np.int64(4)  # type: ignore[return-value]

    @tool("Result", registry=reg)
    def result(var: int) -> int:
        """Doc."""
        return var

    trace = Interpreter(reg).run("A = Np(image=IMAGE)\nR = Result(var=A)", {"IMAGE": rgb})
    assert trace.result == 4 and type(trace.result) is int


def test_limits(rgb: Image) -> None:
    long_program = "\n".join(f"A{i} = Eval(expr='{i}')" for i in range(20)) + "\nR = Result(var=A0)"
    with pytest.raises(LimitError, match="21 statements; the limit is 10"):
        execute(long_program, rgb, max_steps=10)
    with pytest.raises(LimitError, match="more than the limit of 100"):
        Interpreter(REGISTRY, max_pixels=100).run("R = Result(var=IMAGE)", {"IMAGE": rgb})


def test_on_step_reports_progress(rgb: Image) -> None:
    seen: list[str] = []
    Interpreter(on_step=lambda r: seen.append(r.target)).run(
        "A = Eval(expr='1')\nR = Result(var=A)", {"IMAGE": rgb}
    )
    assert seen == ["A", "R"]


def test_typed_inputs_and_hostile_answers_are_data() -> None:
    assert execute("R = Result(var=X)", {"X": 1.5}).result == 1.5
    hostile = "__import__('os').system('echo hacked')"
    trace = Interpreter().run("A = Eval(expr=\"{X} == 'x'\")\nR = Result(var=A)", {"X": hostile})
    assert trace.result is False
