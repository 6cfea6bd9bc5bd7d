"""Eval expressions: parsed by ``grammars/expr.lark``, evaluated on typed values. Never ``eval``.

Values take part the way VisProg's programs expect:

* arithmetic (``+ - * / %``) and ordering (``< <= > >=``) read text answers as numbers
  (``"2"`` and ``"two"`` are 2); ``+`` of two non-numeric texts joins them;
* logic (``and or xor not``, the condition of ``a if c else b``) reads ``"yes"``/``"no"`` and
  ``"true"``/``"false"`` (any case) as booleans, and numbers as non-zero;
* ``==`` / ``!=`` compare as numbers when both sides read as numbers, as booleans when both read
  as booleans, otherwise as texts, ignoring case and surrounding spaces (VQA answers vary in case).

A value that cannot be read as needed raises :class:`ExprError`; the Eval step reports it as a
tool execution error. A VQA answer is only ever data: it is never parsed as an expression.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

import lark
from lark import Token, Transformer, v_args

from visprog.errors import Diagnostic, ToolExecutionError, VisprogSyntaxError
from visprog.geometry import number_word
from visprog.syntax import describe_token, diagnose, lark_parser, number_value, unescape

Scalar = int | float | str | bool

_TRUE_WORDS, _FALSE_WORDS = {"yes", "true"}, {"no", "false"}


class ExprError(ToolExecutionError):
    """An expression could not be evaluated on the values it was given (an Eval step failure)."""


@dataclass(frozen=True)
class Const:
    """A literal."""

    value: Scalar


@dataclass(frozen=True)
class Var:
    """A ``{NAME}`` reference; ``offset`` is its 0-based position in the expression text."""

    name: str
    offset: int


@dataclass(frozen=True)
class Op:
    """An operator node: ``op`` is the operator text, ``args`` its operands."""

    op: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    """A (possibly chained) comparison ``a < b <= c``."""

    ops: tuple[str, ...]
    args: tuple[Node, ...]


Node = Const | Var | Op | Compare


@v_args(inline=True)
class _ToNodes(Transformer[Token, Node]):
    def number(self, tok: Token) -> Const:
        return Const(number_value(str(tok)))

    def string(self, tok: Token) -> Const:
        return Const(unescape(str(tok)))

    def true(self) -> Const:
        return Const(True)

    def false(self) -> Const:
        return Const(False)

    def ref(self, tok: Token) -> Var:
        return Var(str(tok), (tok.start_pos or 1) - 1)

    def binary(self, a: Node, op: Token, b: Node) -> Op:
        return Op(str(op), (a, b))

    def unary(self, op: Token, a: Node) -> Op:
        return Op("neg" if str(op) == "-" else "pos", (a,))

    def compare(self, *items: Any) -> Compare:
        return Compare(tuple(str(t) for t in items[1::2]), tuple(items[0::2]))

    def if_else(self, a: Node, cond: Node, b: Node) -> Op:
        return Op("if", (cond, a, b))

    def and_(self, a: Node, b: Node) -> Op:
        return Op("and", (a, b))

    def or_(self, a: Node, b: Node) -> Op:
        return Op("or", (a, b))

    def xor(self, a: Node, b: Node) -> Op:
        return Op("xor", (a, b))

    def not_(self, a: Node) -> Op:
        return Op("not", (a,))


@lru_cache(maxsize=4096)
def parse_expr(text: str) -> Node:
    """Parse an Eval expression (cached: the checker and the Eval step parse the same text).

    Raises:
        VisprogSyntaxError: With a diagnostic located in ``text`` (line 1 = its first line).
    """
    try:
        tree = lark_parser("expr.lark").parse(text)
    except lark.exceptions.UnexpectedInput as e:
        raise VisprogSyntaxError([diagnose(e, text, "expr.lark", _expr_hint)], text) from None
    node: Node = _ToNodes().transform(tree)
    return node


def variables(node: Node) -> list[Var]:
    """Every ``{NAME}`` reference in the expression, in source order."""
    if isinstance(node, Var):
        return [node]
    if isinstance(node, (Op, Compare)):
        return [v for a in node.args for v in variables(a)]
    return []


def _expr_hint(tok: Token, expected: set[str], prev: Token | None, toks: list[Token]) -> str | None:
    logic = {"AND", "OR", "XOR"}
    if prev is not None and prev.type in logic | {"NOT"} and tok.type not in expected:
        return f"dangling '{prev}': it needs a value on both sides"
    if tok.type in logic and (prev is None or prev.type in logic | {"IF", "ELSE", "LPAR"}):
        return f"dangling '{tok}': it needs a value on both sides"
    if tok.type == "NAME":
        return f"bare name {str(tok)!r}: write variables in braces, {{{tok}}}"
    if tok.type == "LPAR" and prev is not None and prev.type in ("RBRACE", "RPAR", "STRING"):
        return "calls are not allowed in Eval expressions"
    if tok.type == "MUL_OP" and prev is not None and prev.type == "MUL_OP":
        return "'**' (power) is not supported"
    if tok.type == "ELSE" and not any(t.type == "IF" for t in toks):
        return "'else' without 'if': write A if CONDITION else B"
    if tok.type == "$END" and prev is not None and prev.type == "IF":
        return "incomplete conditional: write A if CONDITION else B"
    if tok.type == "$END" and "ELSE" in expected:
        return "incomplete conditional: 'else' is missing (A if CONDITION else B)"
    if tok.type == "$END":
        return f"the expression ends too early after {describe_token(prev or tok)}"
    return None


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def as_number(value: Any) -> int | float:
    """Read a value as a number: numbers, numeric text (``"2"``, ``" 3.5 "``, ``"two"``)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip().lower().rstrip(".")
        word = number_word(text)
        if word is not None:
            return word
        try:
            return number_value(text.lstrip("+")) if text else _no(value, "a number")
        except ValueError:
            pass
    return _no(value, "a number")


def as_bool(value: Any) -> bool:
    """Read a value as a boolean: bools, ``yes/no/true/false`` text, numbers (non-zero)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower().rstrip(".")
        if text in _TRUE_WORDS:
            return True
        if text in _FALSE_WORDS:
            return False
    return _no(value, "yes/no")


def _no(value: Any, wanted: str) -> NoReturn:
    raise ExprError(f"expected {wanted}, got {_show(value)}")


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def _readable(value: Any, reader: Callable[[Any], Any]) -> bool:
    try:
        reader(value)
    except ExprError:
        return False
    return True


def _arith(op: str, a: Any, b: Any) -> Scalar:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        if not (_readable(a, as_number) and _readable(b, as_number)):
            return a + b
    x, y = as_number(a), as_number(b)
    if op in "/%" and y == 0:
        raise ExprError(f"division by zero in {_show(a)} {op} {_show(b)}")
    fn: dict[str, Callable[[Any, Any], Any]] = {
        "+": operator.add,
        "-": operator.sub,
        "*": operator.mul,
        "/": operator.truediv,
        "%": operator.mod,
    }
    result = fn[op](x, y)
    if isinstance(result, float) and not math.isfinite(result):
        raise ExprError(f"{_show(a)} {op} {_show(b)} is not a finite number")
    return result  # type: ignore[no-any-return]


def _equal(a: Any, b: Any) -> bool:
    if _readable(a, as_number) and _readable(b, as_number):
        return as_number(a) == as_number(b)
    if _readable(a, as_bool) and _readable(b, as_bool):
        return as_bool(a) == as_bool(b)
    return str(a).strip().lower() == str(b).strip().lower()


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    return _ORDER[op](as_number(a), as_number(b))


def evaluate(node: Node, env: Mapping[str, Any]) -> Scalar:
    """Evaluate an expression tree over the values in ``env``.

    Args:
        node: A tree from :func:`parse_expr`.
        env: Variable values (numbers, texts, bools).

    Returns:
        A number, text or bool.

    Raises:
        ExprError: An unknown variable, or a value that cannot be read as an operator needs.
    """
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Var):
        return _lookup(node.name, env)
    if isinstance(node, Compare):
        vals = [evaluate(a, env) for a in node.args]
        return all(_compare(op, x, y) for op, x, y in zip(node.ops, vals, vals[1:], strict=False))
    return _eval_op(node, env)


def _lookup(name: str, env: Mapping[str, Any]) -> Scalar:
    if name not in env:
        raise ExprError(f"undefined variable {{{name}}}")
    value = env[name]
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ExprError(f"{{{name}}} is {type(value).__name__}; Eval works on numbers, text and bools")


def _eval_op(node: Op, env: Mapping[str, Any]) -> Scalar:
    op, args = node.op, node.args
    if op == "if":
        return evaluate(args[1] if as_bool(evaluate(args[0], env)) else args[2], env)
    if op == "and":
        return as_bool(evaluate(args[0], env)) and as_bool(evaluate(args[1], env))
    if op == "or":
        return as_bool(evaluate(args[0], env)) or as_bool(evaluate(args[1], env))
    if op == "xor":
        return as_bool(evaluate(args[0], env)) != as_bool(evaluate(args[1], env))
    if op == "not":
        return not as_bool(evaluate(args[0], env))
    if op in ("neg", "pos"):
        x = as_number(evaluate(args[0], env))
        return -x if op == "neg" else x
    return _arith(op, evaluate(args[0], env), evaluate(args[1], env))


def eval_text(text: str, env: Mapping[str, Any]) -> Scalar:
    """Parse and evaluate in one call (for the API and tests)."""
    return evaluate(parse_expr(text), env)


def shift_diagnostic(diag: Diagnostic, line: int, column: int) -> Diagnostic:
    """Move a diagnostic located in an expression string to its place in the program."""
    width = (diag.end_column or diag.column + 1) - diag.column
    if diag.line == 1:
        col = column + diag.column - 1
        return Diagnostic(diag.code, diag.message, line, col, col + width)
    return Diagnostic(diag.code, diag.message, line + diag.line - 1, diag.column, diag.end_column)
