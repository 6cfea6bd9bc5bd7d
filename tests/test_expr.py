from __future__ import annotations

import pytest

from visprog import VisprogSyntaxError
from visprog.expr import ExprError, as_bool, as_number, eval_text, parse_expr, variables

ENV = {"TWO": "2", "THREE": 3, "YES": "Yes", "NO": "no", "T": True, "BLUE": "blue", "HALF": 0.5}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 % 4 - -1", 4),
        ("{TWO} + {THREE}", 5),
        ("{TWO} * 2.5", 5.0),
        ("{THREE} / 2", 1.5),
        ("'yes' if {THREE} > 0 else 'no'", "yes"),
        ("'yes' if {TWO} == 2 and {YES} else 'no'", "yes"),
        ("{YES} and {NO}", False),
        ("{YES} or {NO}", True),
        ("{YES} xor {NO}", True),
        ("{YES} xor {T}", False),
        ("not {NO}", True),
        ("not {NO} and {NO}", False),
        ("{BLUE} == 'Blue '", True),
        ("{BLUE} != 'red'", True),
        ("{BLUE} + 'ish'", "blueish"),
        ("1 < {TWO} <= 2", True),
        ("1 < {TWO} < 2", False),
        ("{YES} == True", True),
        ("'two' == 2", True),
        ("{HALF} >= .5", True),
        ("'a' if False else 'b' if {T} else 'c'", "b"),
        ("1e2", 100.0),
        ("True", True),
    ],
)
def test_values_act_as_visprog_programs_expect(expr: str, expected: object) -> None:
    got = eval_text(expr, ENV)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("{BLUE} > 1", "expected a number, got 'blue'"),
        ("{BLUE} and {YES}", "expected yes/no, got 'blue'"),
        ("1 / 0", "division by zero"),
        ("{MISSING} + 1", "undefined variable"),
        ("{TWO} - 'x'", "expected a number"),
    ],
)
def test_evaluation_errors(expr: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        eval_text(expr, ENV)


def test_short_circuit_skips_the_unneeded_side() -> None:
    assert eval_text("{NO} and 1 / 0", ENV) is False
    assert eval_text("'a' if {YES} else 1 / 0", ENV) == "a"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("{A}.upper()", "attribute access"),
        ("{A}[0]", "subscripts"),
        ("{A}(1)", "calls are not allowed"),
        ("__import__('os')", "bare name"),
        ("ANSWER0 > 0", r"write variables in braces, \{ANSWER0\}"),
        ("'y' if {A} > 0 and else 'n'", "dangling 'and'"),
        ("{A} or", "dangling 'or'"),
        ("{A} = 1", "use '=='"),
        ("{A} && {B}", "use 'and'"),
        ("2 ** 3", "power"),
        ("'a' if {A}", "'else' is missing"),
        ("(1 + 2", "unclosed parenthesis"),
        ("'open", "unclosed string"),
        ("lambda: 1", "bare name"),
    ],
)
def test_code_is_a_syntax_error_never_run(expr: str, message: str) -> None:
    with pytest.raises(VisprogSyntaxError, match=message):
        parse_expr(expr)


def test_a_hostile_answer_is_only_data() -> None:
    answer = "'); __import__('os').system('echo pwned'); ('"
    assert eval_text("{A} + '!'", {"A": answer}) == answer + "!"
    assert eval_text("'yes' if {A} == 'x' else 'no'", {"A": answer}) == "no"


def test_variables_are_listed_with_offsets() -> None:
    found = variables(parse_expr("{A} + {BB} * {A}"))
    assert [(v.name, v.offset) for v in found] == [("A", 0), ("BB", 6), ("A", 13)]


@pytest.mark.parametrize(
    ("value", "number"), [("2", 2), (" 3.5 ", 3.5), ("Two.", 2), (True, 1), (4, 4)]
)
def test_as_number(value: object, number: float) -> None:
    assert as_number(value) == number


@pytest.mark.parametrize(
    ("value", "flag"), [("YES", True), ("no.", False), ("true", True), (0, False), (2.5, True)]
)
def test_as_bool(value: object, flag: bool) -> None:
    assert as_bool(value) is flag
