"""Dropping the statements of a written program that the result never reads.

A small model sometimes writes a step it then leaves unused ("the left image shows a cat on a
sofa" located the cat and then asked VQA about the whole image). The statement changes no answer
but costs its model's loading and forward (an OWLv2 load for a Loc nobody reads) and shows a step
in the trace that did nothing. Steps have no side effects, so a statement the Result does not
depend on, directly or through other statements, is dropped from the program that runs; the
model's full reply stays in the attempt's ``raw`` for the trace.
"""

from __future__ import annotations

from visprog.interpreter import argument_refs
from visprog.program import Program
from visprog.registry import Registry


def live_statements(program: Program, registry: Registry) -> list[int]:
    """Indices of the statements the Result statements depend on (all, without a Result)."""
    statements = program.statements
    specs = [registry.get(st.step) for st in statements]
    results = {i for i, spec in enumerate(specs) if spec is not None and spec.name == "Result"}
    if not results:
        return list(range(len(statements)))
    needed: set[str] = set()
    live: set[int] = set()
    # Backwards: a statement is live when a later live statement reads its target (a name is
    # assigned once in a checked program, so the latest assignment is the one read).
    for i in range(len(statements) - 1, -1, -1):
        st = statements[i]
        if i in results or st.target in needed:
            live.add(i)
            needed.discard(st.target)
            for arg in st.args:
                needed |= argument_refs(arg, specs[i])
    return sorted(live)


def prune_unused(text: str, program: Program, registry: Registry) -> str:
    """``text`` without the lines of statements the result does not depend on.

    Args:
        text: The program's source (one statement per line, as the generation grammar writes).
        program: ``text`` parsed (and checked).
        registry: The tool registry (for Eval's expression parameters).

    Returns:
        The pruned source; ``text`` itself when every statement is live or when a statement
        spans several lines (then the lines cannot be dropped one by one).
    """
    lines = text.splitlines(keepends=True)
    statements = program.statements
    if len({st.line for st in statements}) != len(statements) or any(
        st.source.strip() != lines[st.line - 1].strip() for st in statements
    ):
        return text
    live = live_statements(program, registry)
    if len(live) == len(statements):
        return text
    dead = {statements[i].line for i in range(len(statements)) if i not in live}
    return "".join(line for n, line in enumerate(lines, 1) if n not in dead)
