"""Syntax highlighting of programs: a small tokenizer that emits escaped ``<span>`` elements.

It mirrors the terminals of ``grammars/visprog.lark`` (NAME, STRING, NUMBER, True/False/None,
comments) but never fails: anything it does not recognise is emitted as plain escaped text, so a
program that does not parse (a failed generation attempt) still shows.
"""

from __future__ import annotations

import re

from visprog.render.html import esc

_TOKEN = re.compile(
    r"""(?P<comment>\#.*)
      |(?P<string>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)
      |(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<punct>[=(),\[\]{}])
      |(?P<other>[^\#'"\w=(),\[\]{}]+|.)""",
    re.VERBOSE,
)
_CONSTANTS = {"True", "False", "None"}


def highlight_line(line: str) -> str:
    """One line of program text as HTML with ``<span class="t-...">`` tokens."""
    out = []
    for m in _TOKEN.finditer(line):
        kind, text = m.lastgroup or "other", m.group(0)
        if kind == "name":
            kind = _name_kind(line, m.start(), m.end(), first=not line[: m.start()].strip())
        plain = kind in ("other", "punct")
        out.append(esc(text) if plain else f'<span class="t-{kind}">{esc(text)}</span>')
    return "".join(out)


def _name_kind(line: str, start: int, end: int, first: bool) -> str:
    """Tell a target, a step, an argument name, a constant and a variable reference apart."""
    word = line[start:end]
    after = line[end:].lstrip()
    if word in _CONSTANTS:
        return "const"
    if after.startswith("("):
        return "step"
    if after.startswith("=") and not after.startswith("=="):
        return "target" if first else "arg"
    return "ref"


def highlight(source: str) -> list[str]:
    """Every line of ``source`` highlighted, one string per source line."""
    return [highlight_line(line.rstrip("\r")) for line in source.split("\n")]
