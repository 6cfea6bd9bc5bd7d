"""Property-based tests: whatever text arrives, only visprog's own errors come out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visprog import VisprogError, check, parse
from visprog.expr import evaluate, parse_expr

PROGRAM_TOKENS = [
    "BOX0",
    "IMAGE",
    "ANSWER0",
    "Loc",
    "Count",
    "Eval",
    "Result",
    "FaceDet",
    "CROP_LEFTOF",
    "=",
    "(",
    ")",
    "[",
    "]",
    ",",
    "'dog'",
    '"x"',
    "'",
    '"',
    "3",
    "-2.5",
    "True",
    "None",
    "\n",
    "\r\n",
    "#",
    " ",
    "image",
    "object",
    "box",
    "expr",
    "var",
    "\\",
    "{",
    "}",
    ".",
    "é",
    "\t",
]
EXPR_TOKENS = [
    "{A}",
    "{B}",
    "{C}",
    "1",
    "2.5",
    "'yes'",
    "'no'",
    '"x"',
    "True",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    ">=",
    "and",
    "or",
    "xor",
    "not",
    "if",
    "else",
    "(",
    ")",
    "{",
    "}",
    "A",
    ".",
    "[",
    "]",
    "=",
    "'",
    " ",
    "**",
    "lambda",
    "__import__",
]
ENV = {"A": "2", "B": "yes", "C": 0}
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_and_check(text: str) -> None:
    try:
        program = parse(text)
        check(program, ["IMAGE"])
    except VisprogError:
        pass


@FAST
@given(st.text(max_size=200))
def test_random_text_gives_only_visprog_errors(text: str) -> None:
    _parse_and_check(text)


@FAST
@given(st.lists(st.sampled_from(PROGRAM_TOKENS), max_size=40))
def test_random_token_sequences_give_only_visprog_errors(tokens: list[str]) -> None:
    _parse_and_check(" ".join(tokens))
    _parse_and_check("".join(tokens))


def _expr(text: str) -> None:
    try:
        evaluate(parse_expr(text), ENV)
    except VisprogError:  # ExprError included: it is the Eval step's ToolExecutionError
        pass


@FAST
@given(st.lists(st.sampled_from(EXPR_TOKENS), max_size=30))
def test_random_expressions_give_only_expression_errors(tokens: list[str]) -> None:
    _expr(" ".join(tokens))
    _expr("".join(tokens))


@FAST
@given(st.text(max_size=80))
def test_random_text_in_eval_strings(text: str) -> None:
    _expr(text)
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    _parse_and_check(f'A = Eval(expr="{escaped}")\nR = Result(var=A)')
