"""The repair loop and the program cache, against scripted backends (plumbing only)."""

from __future__ import annotations

from pathlib import Path

import pytest

import visprog
from visprog.planner import ProgramCache, generate_program
from visprog.planner.cache import cache_key
from visprog.planner.grammar import Grammar
from visprog.planner.repair import diagnose

from .conftest import ScriptedBackend

GOOD = (
    "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\nFINAL_RESULT = Result(var=ANSWER0)\n"
)
BROKEN_SYNTAX = "OBJ0 = FaceDet(image=IMAGE\nFINAL_RESULT = Result(var=OBJ0)\n"
BROKEN_CHECK = "ANSWER0 = Count(box=OBJ9)\nFINAL_RESULT = Result(var=ANSWER0)\n"


def test_first_good_program_is_used() -> None:
    backend = ScriptedBackend([GOOD])
    gen = generate_program("How many faces are in the picture?", backend)
    assert gen.program == GOOD
    assert gen.task == "count"
    assert len(gen.attempts) == 1 and gen.attempts[0].diagnostics == []
    assert "Question: How many faces are in the picture?\nProgram:\n" in backend.prompts[0]


def test_broken_programs_are_repaired_with_their_diagnostics() -> None:
    backend = ScriptedBackend([BROKEN_SYNTAX, BROKEN_CHECK, GOOD])
    gen = generate_program("How many faces are in the picture?", backend, attempts=3)
    assert gen.program == GOOD
    assert [bool(a.diagnostics) for a in gen.attempts] == [True, True, False]
    assert "line" in gen.attempts[0].diagnostics[0] or ":1:" in gen.attempts[0].diagnostics[0]
    assert "OBJ9" in gen.attempts[1].diagnostics[0]
    # the second prompt shows the first program and its error, the third the second's
    assert "FaceDet(image=IMAGE\n" in backend.prompts[1] and "# error:" in backend.prompts[1]
    assert "OBJ9" in backend.prompts[2]
    records = gen.records()
    assert [r["attempt"] for r in records] == [1, 2, 3]
    assert all({"task", "model", "program", "diagnostics"} <= set(r) for r in records)


def test_all_attempts_failing_raises_with_the_last_program() -> None:
    backend = ScriptedBackend([BROKEN_SYNTAX, BROKEN_CHECK])
    with pytest.raises(visprog.GenerationError, match="OBJ9") as info:
        generate_program("How many faces?", backend, attempts=2)
    assert "Count(box=OBJ9)" in str(info.value)
    assert len(info.value.generation.attempts) == 2  # type: ignore[attr-defined]


def test_chat_replies_are_extracted() -> None:
    reply = f"Here is the program:\n```\n{GOOD}```\nIt counts faces."
    gen = generate_program("How many faces?", ScriptedBackend([reply]))
    assert gen.program == GOOD
    assert gen.attempts[0].raw == reply


def test_grammar_goes_to_constrained_backends_only() -> None:
    constrained = ScriptedBackend([GOOD], constrained=True)
    generate_program("How many faces?", constrained)
    grammar = constrained.grammars[0]
    assert isinstance(grammar, Grammar)
    assert '"FaceDet("' in grammar.to_lark() and '"Replace("' not in grammar.to_lark()
    plain = ScriptedBackend([GOOD])
    generate_program("How many faces?", plain)
    assert plain.grammars == [None]
    unconstrained = ScriptedBackend([GOOD], constrained=True)
    generate_program("How many faces?", unconstrained, constrain=False)
    assert unconstrained.grammars == [None]


def test_runtime_diagnostics_are_repaired_too() -> None:
    calls: list[str] = []

    def runtime(program: visprog.Program) -> list[str]:
        calls.append(program.source)
        return ["line 1: FaceDet failed"] if len(calls) == 1 else []

    backend = ScriptedBackend([GOOD, GOOD])
    gen = generate_program("How many faces?", backend, runtime_check=runtime)
    assert len(gen.attempts) == 2 and gen.attempts[0].diagnostics == ["line 1: FaceDet failed"]
    assert "FaceDet failed" in backend.prompts[1]


def test_two_images_use_the_nlvr_prompt_and_inputs() -> None:
    program = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a dog?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a dog?')\n"
        'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\nFINAL_RESULT = Result(var=ANSWER2)\n'
    )
    gen = generate_program("Both images show a dog.", ScriptedBackend([program]), ["LEFT", "RIGHT"])
    assert gen.task == "nlvr" and gen.program == program


def test_cache_hit_costs_no_call(tmp_path: Path) -> None:
    cache = ProgramCache(tmp_path)
    first = generate_program("How many faces?", ScriptedBackend([GOOD]), cache=cache)
    assert not first.cached
    again = generate_program("  how many FACES? ", ScriptedBackend([]), cache=cache)
    assert again.cached and again.program == GOOD
    assert again.records()[0]["cached"] is True
    # another model, task or input set is another key
    other = ScriptedBackend([GOOD], name="other-model")
    assert not generate_program("How many faces?", other, cache=cache).cached


def test_a_cached_program_that_no_longer_checks_is_regenerated(tmp_path: Path) -> None:
    cache = ProgramCache(tmp_path)
    backend = ScriptedBackend([GOOD])
    prompt_version = visprog.planner.load_prompt("count").version()
    key = cache_key("How many faces?", "count", ("IMAGE",), backend.name, prompt_version)
    cache.put(key, {"program": BROKEN_CHECK})
    gen = generate_program("How many faces?", backend, cache=cache)
    assert not gen.cached and gen.program == GOOD


def test_unreadable_cache_entries_are_ignored(tmp_path: Path) -> None:
    cache = ProgramCache(tmp_path)
    (tmp_path / "abc.json").write_text("{not json")
    assert cache.get("abc") is None
    assert cache.get("missing") is None


def test_diagnose() -> None:
    assert diagnose(GOOD, ["IMAGE"])[1] == []
    assert diagnose("", ["IMAGE"])[1] == ["the reply contains no program"]
    assert "LEFT" in diagnose(GOOD.replace("IMAGE", "LEFT"), ["IMAGE"])[1][0]


def test_lazy_backend_loads_nothing_until_used(tmp_path: Path) -> None:
    from visprog.planner.backends import LazyBackend

    lazy = LazyBackend(f"hf:{tmp_path / 'absent'}")
    assert lazy.name == lazy.cache_id == f"hf:{tmp_path / 'absent'}"
    assert lazy.constrained  # local models are constrained
    http = LazyBackend("openai:m@http://127.0.0.1:9/v1", {"llm.grammar": "gbnf"})
    assert http.constrained and not LazyBackend("openai:m").constrained
    with pytest.raises(visprog.ModelUnavailableError):
        lazy.complete("x")


def test_backend_spec_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from visprog.planner.backends import backend_spec

    monkeypatch.delenv("VISPROG_LLM", raising=False)
    assert backend_spec() == "default"
    monkeypatch.setenv("VISPROG_LLM", "openai:env")
    assert backend_spec() == "openai:env"
    assert backend_spec(None, {"llm.backend": "openai:cfg"}) == "openai:cfg"
    assert backend_spec("openai:flag", {"llm.backend": "openai:cfg"}) == "openai:flag"
