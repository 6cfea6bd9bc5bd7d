"""The List step: through the services' backend, or the configured one; grammar for local ones."""

from __future__ import annotations

from pathlib import Path

import pytest

import visprog
from visprog.planner.grammar import Grammar

from .conftest import ScriptedBackend

PROGRAM = "LIST0 = List(query='members of the Beatles', max=3)\nFINAL_RESULT = Result(var=LIST0)\n"


def test_list_uses_the_llm_service() -> None:
    backend = ScriptedBackend(["- John\n- Paul\n- George\n- Ringo\n"], constrained=True)
    trace = visprog.execute(PROGRAM, None, services={"llm": backend})
    assert trace.result == ["John", "Paul", "George"]
    assert "List members of the Beatles (at most 3):\n" in backend.prompts[0]
    assert isinstance(backend.grammars[0], Grammar)  # constrained backends get the list grammar
    assert trace.steps[0].models == ["scripted"]


def test_unconstrained_backends_get_no_grammar() -> None:
    backend = ScriptedBackend(["1. John\n2. Paul\n\nList other things:\n- x"])
    trace = visprog.execute(PROGRAM, None, services={"llm": backend})
    assert trace.result == ["John", "Paul"] and backend.grammars == [None]


def test_max_out_of_range_is_an_argument_error() -> None:
    program = PROGRAM.replace("max=3", "max=0")
    with pytest.raises(visprog.StepFailedError) as info:
        visprog.execute(program, None, services={"llm": ScriptedBackend([])})
    assert isinstance(info.value.error, visprog.ToolArgumentError)


@pytest.mark.usefixtures("one_thread")
def test_list_builds_the_configured_backend(tiny_lm_dir: Path) -> None:
    """Without a service, List loads the backend named by the llm.backend setting."""
    trace = visprog.execute(
        PROGRAM, None, device="cpu", settings={"llm.backend": f"hf:{tiny_lm_dir}"}
    )
    assert isinstance(trace.result, list) and 1 <= len(trace.result) <= 3
    assert all(isinstance(x, str) and x for x in trace.result)
    assert "transformers, cpu" in trace.steps[0].models[0]
