"""Steps with no model: Count, Exclude, Eval, Result."""

from __future__ import annotations

from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolExecutionError
from visprog.expr import ExprError, evaluate, parse_expr
from visprog.registry import Expression, tool
from visprog.values import Objects, Points


@tool("Count")
def count(box: Objects | Points) -> int:
    """Count objects or points; the counted items stay visible in the trace."""
    return len(box)


@tool("Exclude")
def exclude(object: Objects, remove: Objects) -> Objects:
    """Keep the objects that are not in remove (every face but the one Select picked).

    Select, Classify and the crops return objects as they were found, so an object is the one
    removed when its box equals one of theirs.
    """
    if len(object) == 0 or len(remove) == 0:
        return object
    same = np.isclose(object.boxes[:, None, :], remove.boxes[None, :, :], atol=1e-6)
    removed = np.any(np.all(same, axis=2), axis=1)
    return object.subset(np.flatnonzero(~removed))


@tool("Eval")
def eval_step(expr: Expression, ctx: Context) -> int | float | str | bool:
    """Evaluate an expression over earlier answers, e.g. "'yes' if {ANSWER0} > 0 else 'no'".

    Operators: + - * / %, == != < <= > >=, and or xor not, A if C else B, parentheses.
    Answers written as text act as numbers ("2") or booleans ("yes") where an operator needs one.
    """
    try:
        return evaluate(parse_expr(expr), ctx.env)
    except ExprError as e:
        raise ToolExecutionError(f"Eval {expr!r}: {e}") from e


@tool("Result")
def result(var: Any) -> Any:
    """Mark the program's final answer (an image, objects, a number, text or a bool)."""
    return var
