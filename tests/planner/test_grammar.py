"""Generation grammars: one definition, printed as Lark and GBNF, with a length bound."""

from __future__ import annotations

import re

import lark
import pytest

from visprog.planner.grammar import Grammar, list_grammar, lit, program_grammar
from visprog.registry import REGISTRY


def test_program_grammar_names_only_registered_steps_and_their_arguments() -> None:
    g = program_grammar(("IMAGE",), ["FaceDet", "Blur", "Count"])
    text = g.to_lark()
    assert '"FaceDet(" "image=" ' in text
    assert re.search(r'c\d+: "Blur\(" "image=" v\d+ ", object=" v\d+ "\)"', text)
    assert "Loc(" not in text
    assert '"FINAL_RESULT = Result(var=" ref ")"' in text


def test_all_registered_steps_by_default() -> None:
    text = program_grammar().to_lark()
    for spec in REGISTRY:
        if spec.name != "Result":
            assert f'"{spec.name}("' in text


def test_lark_form_accepts_programs_and_rejects_others() -> None:
    parser = lark.Lark(program_grammar(("LEFT", "RIGHT")).to_lark(), parser="earley")
    parser.parse(
        "BOX0 = Loc(image=LEFT, object='dog')\nANSWER0 = Count(box=BOX0)\n"
        'ANSWER1 = Eval(expr="{ANSWER0} > 2")\nFINAL_RESULT = Result(var=ANSWER1)'
    )
    for bad in [
        "BOX0 = Loc(image=IMAGE, object='dog')\nFINAL_RESULT = Result(var=BOX0)",  # no IMAGE
        "BOX0 = Lock(image=LEFT, object='dog')\nFINAL_RESULT = Result(var=BOX0)",  # no step
        "BOX0 = Loc(img=LEFT, object='dog')\nFINAL_RESULT = Result(var=BOX0)",  # no argument
        "BOX0 = Loc(image=LEFT, object=dog)\nFINAL_RESULT = Result(var=BOX0)",  # text unquoted
        "BOX0 = Loc(image=LEFT, object='dog')\n",  # no Result line
    ]:
        with pytest.raises(lark.exceptions.LarkError):
            parser.parse(bad)


def test_gbnf_form() -> None:
    text = program_grammar(("IMAGE",), ["FaceDet", "Count", "Eval"]).to_gbnf()
    lines = text.splitlines()
    assert lines[0].startswith("root ::= s0? ")
    assert any(re.fullmatch(r'c\d+ ::= "FaceDet\(" "image=" v\d+ "\)"', ln) for ln in lines)
    assert "target ::= [A-Z]{1,12} [0-9]{1,2}" in lines
    assert all("::=" in ln for ln in lines)
    assert "_" not in "".join(ln.split("::=")[0] for ln in lines)  # GBNF rule names


def test_max_bytes_bounds_sentences() -> None:
    g = Grammar()
    g.add("a", [lit("ab"), "b?"])
    g.add("b", [lit("héllo")])
    assert g.max_bytes() == 2 + 6
    g2 = Grammar()
    g2.add("a", [lit("x"), "a?"])
    with pytest.raises(ValueError, match="recursive"):
        g2.max_bytes()
    assert program_grammar(max_statements=1).max_bytes() < program_grammar().max_bytes()
    assert list_grammar(3).max_bytes() == 3 * (2 + 60 * 4 + 1)


def test_bad_rule_names_are_refused() -> None:
    g = Grammar()
    with pytest.raises(ValueError):
        g.add("Bad_Name", [lit("x")])
