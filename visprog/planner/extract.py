"""Pull a program out of a model's reply (pure functions, tested on raw strings).

Constrained output is already a program. Unconstrained replies (HTTP chat models, the
no-grammar benchmark) may wrap it in code fences, add prose, or run on past the Result line.
"""

from __future__ import annotations

import re

_STATEMENT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*[A-Za-z_][A-Za-z0-9_]*\s*\(")
_RESULT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*result\s*\(", re.IGNORECASE)


def extract_program(text: str) -> str:
    """The statement lines of ``text``, from the first statement through the first Result line.

    Code fences, prose before the program, and anything after the Result line are dropped.
    Lines inside the program that are not statements are kept (the parser then reports them),
    except blank lines and fences. Returns ``""`` when no statement is found.
    """
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    start = next((i for i, ln in enumerate(lines) if _STATEMENT.match(ln)), None)
    if start is None:
        return ""
    out: list[str] = []
    for ln in lines[start:]:
        if not ln.strip() or ln.strip().startswith("```"):
            if out and _RESULT.match(out[-1]):
                break
            continue
        out.append(ln.strip())
        if _RESULT.match(ln):
            break
    return "\n".join(out) + "\n"
