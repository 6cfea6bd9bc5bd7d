"""Static checking: every issue in a program, each with its line, before anything runs or loads.

Checks: unknown steps (with "did you mean"), unknown / missing / duplicate arguments, undefined,
early or reassigned variables (inside Eval expressions too), inputs that were not provided,
argument types against the tools' declared types, and the ``Result`` statement.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from visprog import values as V
from visprog.errors import MAX_REPORTED, Diagnostic, VisprogSyntaxError
from visprog.expr import parse_expr, shift_diagnostic, variables
from visprog.program import Argument, ListValue, Literal, Program, Ref, Span, Statement, Value
from visprog.registry import REGISTRY, Param, Registry, ToolSpec

# Names that are inputs by convention (VisProg's): referencing one that was not provided is a
# missing input, not an undefined variable.
CONVENTIONAL_INPUTS = ("IMAGE", "LEFT", "RIGHT")
_EVAL_TYPES = frozenset({V.NUMBER, V.TEXT, V.BOOL, V.ANY})
_INPUT_NAME = re.compile(r"^(IMAGE\d*|LEFT|RIGHT|[A-Z][A-Z0-9_]*_IMAGE)$")


def normalize_inputs(inputs: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """Input names with their type tags; bare names are images. None means ``IMAGE``."""
    if inputs is None:
        return {"IMAGE": V.IMAGE}
    if isinstance(inputs, Mapping):
        return dict(inputs)
    if isinstance(inputs, str):
        inputs = [n for n in inputs.split(",") if n.strip()]
    return {name.strip(): V.IMAGE for name in inputs}


@dataclass
class _State:
    program: Program
    inputs: dict[str, str]
    registry: Registry
    types: dict[str, frozenset[str]] = field(default_factory=dict)
    defined_at: dict[str, int] = field(default_factory=dict)
    assigned_lines: dict[str, list[int]] = field(default_factory=dict)
    issues: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, span: Span) -> None:
        self.issues.append(Diagnostic(code, message, span.line, span.column, span.end_column))

    def hint(self, candidates: Callable[[], list[str]]) -> str:
        """A "did you mean" for the next issue; past those shown, none (difflib is costly)."""
        return _did_you_mean(candidates()) if len(self.issues) < MAX_REPORTED else ""


def check(
    program: Program,
    inputs: Mapping[str, str] | Iterable[str] | None = None,
    registry: Registry | None = None,
) -> list[Diagnostic]:
    """Check a parsed program; return every issue found, sorted by position (empty when fine).

    Args:
        program: From :func:`visprog.parse`.
        inputs: Input names (images), or a mapping of name to type tag. Default ``IMAGE``.
        registry: The tools; the default registry when omitted.
    """
    state = _State(program, normalize_inputs(inputs), registry or REGISTRY)
    for st in program.statements:
        state.assigned_lines.setdefault(st.target, []).append(st.line)
    for st in program.statements:
        _check_statement(state, st)
    _check_result(state)
    return sorted(state.issues, key=lambda d: (d.line, d.column))


def _check_statement(state: _State, st: Statement) -> None:
    spec = state.registry.get(st.step)
    if spec is None:
        hint = state.hint(lambda: state.registry.suggest(st.step))
        state.add("unknown-step", f"unknown step {st.step!r}{hint}", st.step_span)
    seen: dict[str, Argument] = {}
    for arg in st.args:
        if arg.name in seen:
            state.add("duplicate-argument", f"argument {arg.name!r} is given twice", arg.span)
        seen[arg.name] = arg
        param = spec.param(arg.name) if spec is not None else None
        if spec is not None and param is None:
            names = [p.name for p in spec.params]
            hint = state.hint(partial(difflib.get_close_matches, arg.name, names, n=1))
            state.add(
                "unknown-argument",
                f"{spec.name} has no argument {arg.name!r}{hint} (it takes {', '.join(names) or 'none'})",
                arg.span,
            )
        _check_value(state, st, arg, param)
    if spec is not None:
        for p in spec.params:
            if p.required and p.name not in seen:
                state.add(
                    "missing-argument",
                    f"{spec.name} needs the argument {p.name!r} ({V.describe_type(p.types)})",
                    st.step_span,
                )
    _define(state, st, spec)


def _define(state: _State, st: Statement, spec: ToolSpec | None) -> None:
    if st.target in state.inputs:
        state.add("reassigned", f"{st.target!r} is an input and cannot be assigned", st.target_span)
    elif st.target in state.defined_at:
        first = state.defined_at[st.target]
        state.add(
            "reassigned",
            f"{st.target!r} is already assigned on line {first}; use a new name",
            st.target_span,
        )
    else:
        state.defined_at[st.target] = st.line
        state.types[st.target] = spec.returns if spec is not None else frozenset({V.ANY})


def _check_value(state: _State, st: Statement, arg: Argument, param: Param | None) -> None:
    found = _value_types(state, arg.value)
    if param is None or found is None:
        return
    if param.expression:
        _check_expression(state, st, arg)
    if V.ANY in found or V.ANY in param.types or found & param.types:
        return
    state.add(
        "type-mismatch",
        f"argument {arg.name!r} of {st.step} expects {V.describe_type(param.types)}, "
        f"got {V.describe_type(found)}{_origin(arg.value, state)}",
        arg.value.span,
    )


def _origin(value: Value, state: _State) -> str:
    if isinstance(value, Ref) and value.name in state.defined_at:
        return f" ({value.name} from line {state.defined_at[value.name]})"
    return ""


def _value_types(state: _State, value: Value) -> frozenset[str] | None:
    """Type tags of an argument value; None when it is undefined (already reported)."""
    if isinstance(value, Literal):
        tag = V.type_of(value.value)
        return frozenset({tag}) if tag else None
    if isinstance(value, ListValue):
        if all(isinstance(i, Literal) and isinstance(i.value, str) for i in value.items):
            return frozenset({V.TEXT_LIST})
        state.add(
            "list-items", "lists may only hold text literals, like ['cat', 'dog']", value.span
        )
        return None
    return _ref_types(state, value.name, value.span)


def _ref_types(state: _State, name: str, span: Span) -> frozenset[str] | None:
    if name in state.types:
        return state.types[name]
    if name in state.inputs:
        return frozenset({state.inputs[name]})
    if name in state.assigned_lines:
        lines = state.assigned_lines[name]
        state.add(
            "used-before-assigned",
            f"{name!r} is used before it is assigned (line {lines[0]})",
            span,
        )
    elif name in CONVENTIONAL_INPUTS or _INPUT_NAME.match(name):
        given = ", ".join(state.inputs) or "none"
        state.add(
            "missing-input",
            f"the input {name!r} was not provided (inputs: {given}); "
            f"pass it with --image {name}=PATH or declare it with --inputs",
            span,
        )
    else:
        # The candidates are listed only when the hint is shown: per issue, they cost O(names).
        hint = state.hint(
            lambda: difflib.get_close_matches(name, [*state.types, *state.inputs], n=1)
        )
        state.add("undefined-variable", f"undefined variable {name!r}{hint}", span)
    return None


def _check_expression(state: _State, st: Statement, arg: Argument) -> None:
    value = arg.value
    if not (isinstance(value, Literal) and isinstance(value.value, str)):
        state.add(
            "expression-not-literal",
            f"the {arg.name!r} of {st.step} must be written in the program as a string",
            value.span,
        )
        return
    # Columns inside the string map to the program when it has no escapes (the usual case).
    col = value.span.column + 1
    try:
        node = parse_expr(value.value)
    except VisprogSyntaxError as e:
        for d in e.diagnostics:
            shifted = shift_diagnostic(d, value.span.line, col)
            state.issues.append(
                Diagnostic(
                    "expression-syntax",
                    f"in Eval expression: {shifted.message}",
                    shifted.line,
                    shifted.column,
                    shifted.end_column,
                )
            )
        return
    for var in variables(node):
        span = Span(value.span.line, col + var.offset, col + var.offset + len(var.name) + 2)
        found = _ref_types(state, var.name, span)
        if found is not None and not found & _EVAL_TYPES:
            state.add(
                "type-mismatch",
                f"{{{var.name}}} is {V.describe_type(found)}; Eval works on numbers, text and bools",
                span,
            )


def _check_result(state: _State) -> None:
    statements = state.program.statements
    results = [st for st in statements if _is_result(state, st)]
    if not statements:
        state.add(
            "empty-program",
            "the program is empty; end it with FINAL_RESULT = Result(var=...)",
            Span(1, 1, 2),
        )
    elif not results:
        last = statements[-1]
        state.add(
            "missing-result",
            f"the program has no Result step; end it with FINAL_RESULT = Result(var={last.target})",
            Span(last.line, 1, len(last.source) + 1),
        )
    elif len(results) > 1:
        first = results[0].line
        state.add(
            "result-not-last",
            f"only one Result is allowed (the first is on line {first})",
            results[1].step_span,
        )
    elif results[0] is not statements[-1]:
        last_line = statements[-1].line
        state.add(
            "result-not-last",
            f"Result must be the last statement (line {last_line} comes after it)",
            results[0].step_span,
        )


def _is_result(state: _State, st: Statement) -> bool:
    spec = state.registry.get(st.step)
    return spec is not None and spec.name == "Result"


def _did_you_mean(candidates: list[str]) -> str:
    if not candidates:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in candidates) + "?"
