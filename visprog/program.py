"""The program's syntax tree: plain frozen dataclasses with source positions.

A :class:`Program` is what :func:`visprog.parse` returns; the checker and the interpreter read it.
Positions are 1-based (line, column) as editors show them; ``end_column`` is one past the end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of one source line (1-based line and columns, end exclusive)."""

    line: int
    column: int
    end_column: int


@dataclass(frozen=True)
class Literal:
    """A literal value: str, int, float, bool or None."""

    value: str | int | float | bool | None
    span: Span


@dataclass(frozen=True)
class Ref:
    """A reference to a variable (an input or an earlier statement's target)."""

    name: str
    span: Span


@dataclass(frozen=True)
class ListValue:
    """A list literal; items are literals, references or lists."""

    items: tuple[Value, ...]
    span: Span


Value = Literal | Ref | ListValue


@dataclass(frozen=True)
class Argument:
    """``name=value`` inside a step call."""

    name: str
    value: Value
    span: Span


@dataclass(frozen=True)
class Statement:
    """``TARGET = Step(arg=value, ...)``.

    Attributes:
        target: The variable assigned.
        step: The step name as written (``CROP_LEFTOF``); the registry canonicalises it.
        args: The arguments in source order (duplicates are kept for the checker to report).
        line: Line of the statement.
        target_span: Where the target name is.
        step_span: Where the step name is.
        source: The statement's source text (its first line).
    """

    target: str
    step: str
    args: tuple[Argument, ...]
    line: int
    target_span: Span
    step_span: Span
    source: str


@dataclass(frozen=True)
class Program:
    """A parsed program.

    Attributes:
        statements: The statements in order.
        source: The full source text.
        filename: Name used in diagnostics.
    """

    statements: tuple[Statement, ...]
    source: str
    filename: str = "<program>"

    def __len__(self) -> int:
        return len(self.statements)

    def references(self) -> set[str]:
        """Every variable name referenced by an argument (not inside Eval strings)."""
        out: set[str] = set()
        for st in self.statements:
            for arg in st.args:
                out |= _refs(arg.value)
        return out


def _refs(value: Value) -> set[str]:
    if isinstance(value, Ref):
        return {value.name}
    if isinstance(value, ListValue):
        return set().union(*(_refs(v) for v in value.items)) if value.items else set()
    return set()
