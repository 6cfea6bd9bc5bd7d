"""Parsing programs with Lark (LALR), and turning parse failures into labelled diagnostics.

The grammars live in ``grammars/`` (package data). Parsers are built once per process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Token, Transformer, v_args

from visprog.errors import Diagnostic, VisprogSyntaxError
from visprog.program import Argument, ListValue, Literal, Program, Ref, Span, Statement, Value
from visprog.values import MAX_INT

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}

# How a terminal is named in a message.
_TOKEN_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "_NL": "a line break",
    "$END": "the end of the text",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'",
}
_VALUE_STARTS = {"NAME", "STRING", "NUMBER", "TRUE", "FALSE", "NONE", "LSQB"}


def load_grammar(name: str) -> str:
    """The text of a grammar shipped in ``visprog.grammars`` (e.g. ``"visprog.lark"``)."""
    return resources.files("visprog.grammars").joinpath(name).read_text(encoding="utf-8")


MAX_DEPTH = 64
"""Deepest syntax tree accepted (lists in a program nest about 60 deep at most, an Eval
expression at most 64 operators deep). Deeper input is a syntax error, not a RecursionError."""

MAX_NUMBER_CHARS = 40
"""Longest number literal; longer ones (past any int64 or finite float) are syntax errors."""


@cache
def lark_parser(grammar: str) -> lark.Lark:
    """The LALR parser for a shipped grammar, built once per process."""
    # No disk cache: Lark's cache is a pickle in a predictable place in the shared temp folder,
    # and unpickling it would run code anyone could write there. Building both parsers takes
    # about 25 ms, a small part of a cold start (see benchmarks/bench_core.py).
    return lark.Lark(load_grammar(grammar), parser="lalr", maybe_placeholders=True)


def validate_tree(tree: lark.Tree[Token], text: str, filename: str = "<program>") -> None:
    """Refuse trees too deep to transform and number literals outside the language.

    Walks the tree without recursion (it runs before anything that recurses over the tree).

    Raises:
        VisprogSyntaxError: Naming the first offending token.
    """
    stack: list[tuple[lark.Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            if node.type == "NUMBER":
                _check_number(node, text, filename)
            continue
        if depth > MAX_DEPTH:
            tok = first_token(node)
            line, col = (tok.line or 1, tok.column or 1) if tok is not None else (1, 1)
            message = f"nested too deeply (more than {MAX_DEPTH} levels); simplify the statement"
            raise VisprogSyntaxError([Diagnostic("too-deep", message, line, col)], text, filename)
        stack.extend((c, depth + 1) for c in reversed(node.children) if c is not None)


def first_token(node: lark.Tree[Token]) -> Token | None:
    """The first token under a tree node, found without recursion."""
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Token):
            return item
        if isinstance(item, lark.Tree):
            stack.extend(reversed(item.children))
    return None


def _check_number(tok: Token, text: str, filename: str) -> None:
    value: float | None = None
    if len(tok) <= MAX_NUMBER_CHARS:
        number = number_value(str(tok))
        value = number if isinstance(number, float) or abs(number) <= MAX_INT else None
    if value is None or not math.isfinite(value):
        span = span_of(tok)
        message = (
            f"the number {_clip(str(tok))} is out of range (integers up to {MAX_INT:.3g}, "
            "finite decimals)"
        )
        raise VisprogSyntaxError(
            [Diagnostic("number-range", message, span.line, span.column, span.end_column)],
            text,
            filename,
        )


def _clip(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def unescape(quoted: str) -> str:
    """The value of a quoted string token: strip the quotes, resolve backslash escapes.

    Unknown escapes keep their backslash, as Python does (a backslash and ``d`` stay two
    characters).
    """
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def number_value(text: str) -> int | float:
    """An int where the literal is integral in form (``3``), a float otherwise (``3.0``, ``1e3``)."""
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def span_of(tok: Token) -> Span:
    """The span of one token (single line)."""
    line, col = tok.line or 1, tok.column or 1
    return Span(line, col, col + len(str(tok)))


@v_args(inline=True)
class _ToAst(Transformer[Token, Any]):
    """Lark tree to :mod:`visprog.program` nodes."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__()
        self.lines = lines

    def string(self, tok: Token) -> Literal:
        return Literal(unescape(str(tok)), span_of(tok))

    def number(self, tok: Token) -> Literal:
        return Literal(number_value(str(tok)), span_of(tok))

    def true(self, tok: Token) -> Literal:
        return Literal(True, span_of(tok))

    def false(self, tok: Token) -> Literal:
        return Literal(False, span_of(tok))

    def none(self, tok: Token) -> Literal:
        return Literal(None, span_of(tok))

    def ref(self, tok: Token) -> Ref:
        return Ref(str(tok), span_of(tok))

    def list_value(self, open_: Token, *rest: Any) -> ListValue:
        close: Token = rest[-1]
        items = tuple(i for i in rest[:-1] if i is not None)
        end = (close.column or 1) + 1 if close.line == open_.line else span_of(open_).end_column
        return ListValue(items, Span(open_.line or 1, open_.column or 1, end))

    def argument(self, name: Token, value: Value) -> Argument:
        end = value.span.end_column if value.span.line == name.line else span_of(name).end_column
        return Argument(str(name), value, Span(name.line or 1, name.column or 1, end))

    def arguments(self, *args: Any) -> list[Argument]:
        return [a for a in args if isinstance(a, Argument)]

    def statement(self, target: Token, step: Token, args: list[Argument] | None) -> Statement:
        line = target.line or 1
        return Statement(
            target=str(target),
            step=str(step),
            args=tuple(args or ()),
            line=line,
            target_span=span_of(target),
            step_span=span_of(step),
            source=self.lines[line - 1].strip() if line <= len(self.lines) else "",
        )


def parse(source: str, filename: str = "<program>") -> Program:
    """Parse program text into a :class:`~visprog.program.Program`.

    Args:
        source: The program text (LF or CRLF line ends, trailing newline optional).
        filename: Shown in diagnostics.

    Returns:
        The parsed program.

    Raises:
        VisprogSyntaxError: With one labelled, located diagnostic.
    """
    if not isinstance(source, str):
        raise VisprogSyntaxError(
            [Diagnostic("not-text", f"expected program text, got {type(source).__name__}", 1, 1)]
        )
    # Editors on Windows may save a byte-order mark and CRLF line ends; neither is a mistake.
    text = source.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = lark_parser("visprog.lark").parse(text)
    except lark.exceptions.UnexpectedInput as e:
        diag = diagnose(e, text, "visprog.lark", _program_hint)
        raise VisprogSyntaxError([diag], text, filename) from None
    validate_tree(tree, text, filename)
    statements = _ToAst(text.split("\n")).transform(tree).children
    return Program(tuple(s for s in statements if isinstance(s, Statement)), text, filename)


# ---------------------------------------------------------------------------------------------
# Diagnosis: a parse failure becomes one message that says what is wrong in a user's terms.
# ---------------------------------------------------------------------------------------------

Hint = Callable[[Token, set[str], Token | None, list[Token]], str | None]


def tokens_before(text: str, grammar: str, line: int, column: int) -> list[Token]:
    """The tokens that lex cleanly before a position (used to read the context of an error)."""
    out: list[Token] = []
    try:
        for tok in lark_parser(grammar).lex(text):
            if (tok.line or 0, tok.column or 0) >= (line, column):
                break
            out.append(tok)
    except lark.exceptions.UnexpectedInput:
        pass
    return out


def unclosed(tokens: list[Token], open_type: str, close_type: str) -> Token | None:
    """The innermost opening token (of ``open_type``) that is still unclosed, if any."""
    stack: list[Token] = []
    for tok in tokens:
        if tok.type == open_type:
            stack.append(tok)
        elif tok.type == close_type and stack:
            stack.pop()
    return stack[-1] if stack else None


def describe_token(tok: Token) -> str:
    """``'='``, ``a name 'dog'``, ``the end of the text``..."""
    if tok.type in ("NAME", "STRING", "NUMBER"):
        return f"{_TOKEN_WORDS[tok.type]} {str(tok)!r}"
    if tok.type in _TOKEN_WORDS:
        return _TOKEN_WORDS[tok.type]
    return repr(str(tok))


def describe_expected(expected: set[str]) -> str:
    """A short list of what the parser would have accepted."""
    words = sorted({_TOKEN_WORDS.get(t, repr(t.lower())) for t in expected if t != "_NL"})
    if len(words) > 5:
        words = words[:5] + ["..."]
    return ", ".join(words) if words else "nothing more"


def diagnose(
    err: lark.exceptions.UnexpectedInput, text: str, grammar: str, hint: Hint
) -> Diagnostic:
    """One labelled diagnostic for a Lark parse or lex failure."""
    line, column = err.line if err.line > 0 else 1, err.column if err.column > 0 else 1
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        return _diagnose_char(err, text, line, column)
    assert isinstance(err, lark.exceptions.UnexpectedToken)  # noqa: S101 - Lark's own contract
    tok: Token = err.token
    if tok.type == "$END":
        line, column = _end_position(text)
    toks = tokens_before(text, grammar, line, column)
    prev = toks[-1] if toks else None
    expected = set(err.expected)
    message = hint(tok, expected, prev, toks) or (
        f"unexpected {describe_token(tok)}; expected {describe_expected(expected)}"
    )
    for open_type, close_type, word in (
        ("LPAR", "RPAR", "parenthesis"),
        ("LSQB", "RSQB", "bracket"),
    ):
        opened = unclosed(toks, open_type, close_type)
        stray_close = tok.type in ("RPAR", "RSQB") and tok.type != close_type
        if (
            opened is not None
            and close_type in expected
            and (tok.type in ("$END", "_NL") or stray_close)
        ):
            message = (
                f"unclosed {word}: the '{opened}' at line {opened.line}, column {opened.column} "
                "is never closed"
            )
            if tok.type == "_NL":
                message += " (or a comma is missing before the line break)"
            return Diagnostic("unclosed-" + word, message, opened.line or 1, opened.column or 1)
    width = len(str(tok)) if tok.type not in ("$END", "_NL") else 1
    return Diagnostic("syntax", message, line, column, column + width)


def _diagnose_char(
    err: lark.exceptions.UnexpectedCharacters, text: str, line: int, column: int
) -> Diagnostic:
    char = err.char
    if char in "'\"":
        return Diagnostic(
            "unclosed-string", f"unclosed string: add the closing {char}", line, column
        )
    special = {
        ".": "attribute access ('.') is not allowed",
        "[": "subscripts ('[') are not allowed here",
        "=": "a lone '=' is not allowed here; use '==' to compare",
        "&": "use 'and' instead of '&'",
        "|": "use 'or' instead of '|'",
        "!": "use 'not' instead of '!'",
        "^": "use 'xor' instead of '^'",
    }
    message = special.get(char, f"unexpected character {char!r}")
    return Diagnostic("syntax", message, line, column, column + 1)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return len(lines), len(lines[-1]) + 1


def _program_hint(
    tok: Token, expected: set[str], prev: Token | None, toks: list[Token]
) -> str | None:
    """Labels for the usual mistakes in program statements."""
    in_call = unclosed(toks, "LPAR", "RPAR") is not None
    if "COMMA" in expected and tok.type in _VALUE_STARTS and tok.type != "LSQB":
        return f"missing comma before {describe_token(tok)}"
    if "EQUAL" in expected:
        if not in_call and tok.type == "LPAR" and prev is not None:
            return f"a statement must assign its result: write TARGET = {prev}(...)"
        if in_call and tok.type in ("COMMA", "RPAR"):
            return (
                f"arguments must be named: write name=value (after {describe_token(prev or tok)})"
            )
        name = f" after {str(prev)!r}" if prev is not None else ""
        return f"missing '='{name}"
    if "LPAR" in expected and prev is not None and prev.type == "NAME":
        return f"missing '(' after the step name {str(prev)!r}"
    if prev is not None and prev.type == "EQUAL" and tok.type in ("COMMA", "RPAR", "_NL", "$END"):
        return "missing value after '='"
    if not in_call and tok.type == "NAME" and prev is not None and prev.type == "RPAR":
        return "one statement per line: put a line break before " + describe_token(tok)
    return None
