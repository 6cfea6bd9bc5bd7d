"""Statements the result never reads are dropped from a written program (plumbing only)."""

from __future__ import annotations

import visprog
from visprog.planner import generate_program
from visprog.planner.prune import live_statements, prune_unused
from visprog.registry import REGISTRY

from .conftest import ScriptedBackend

STRAY = (
    "BOX0 = Loc(image=LEFT, object='cat')\n"
    "ANSWER0 = VQA(image=LEFT, question='Is there a cat on the sofa?')\n"
    "ANSWER1 = VQA(image=RIGHT, question='Is there a dog on the floor?')\n"
    'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\n'
    "FINAL_RESULT = Result(var=ANSWER2)\n"
)


def test_a_step_nobody_reads_is_dropped_and_eval_references_count() -> None:
    visprog.api.ensure_tools()
    program = visprog.parse(STRAY)
    # the Eval reads its answers through its expression only
    assert live_statements(program, REGISTRY) == [1, 2, 3, 4]
    pruned = prune_unused(STRAY, program, REGISTRY)
    assert pruned == STRAY.split("\n", 1)[1]
    assert visprog.check(visprog.parse(pruned), ["LEFT", "RIGHT"]) == []


def test_a_chain_into_the_result_is_kept_whole() -> None:
    visprog.api.ensure_tools()
    text = (
        "BOX0 = Loc(image=IMAGE, object='LEFT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "OBJ0 = FaceDet(image=IMAGE0)\nOBJ1 = FaceDet(image=IMAGE)\n"
        "ANSWER0 = Count(box=OBJ0)\nFINAL_RESULT = Result(var=ANSWER0)\n"
    )
    program = visprog.parse(text)
    assert live_statements(program, REGISTRY) == [0, 1, 2, 4, 5]
    assert "OBJ1" not in prune_unused(text, program, REGISTRY)
    # without a Result every statement stays
    headless = text.rsplit("FINAL_RESULT", 1)[0]
    assert prune_unused(headless, visprog.parse(headless), REGISTRY) == headless


def test_the_written_program_runs_without_its_stray_step_and_raw_keeps_it() -> None:
    gen = generate_program(
        "The left image shows a cat on a sofa and the right image shows a dog on the floor",
        ScriptedBackend([STRAY]),
        ("LEFT", "RIGHT"),
    )
    assert gen.program == STRAY.split("\n", 1)[1]
    assert gen.attempts[0].raw == STRAY  # the model's whole reply stays for the trace
    assert gen.attempts[0].diagnostics == []
