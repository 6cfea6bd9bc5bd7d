"""List: VisProg's knowledge step ("main characters of Friends", max=6), by the program writer.

The step asks the same language model that writes programs: the Session's ``llm`` service
(tools never build backends themselves). Local models
write under a grammar of ``- item`` lines, so the answer always reads as a list.
"""

from __future__ import annotations

import re
from typing import Any

from visprog.context import Context
from visprog.errors import ModelUnavailableError, ToolArgumentError
from visprog.registry import tool

MODEL = "the program-writing language model (--llm)"
MAX_ITEMS = 50

EXAMPLES = """\
List the planets of the solar system (at most 8):
- Mercury
- Venus
- Earth
- Mars
- Jupiter
- Saturn
- Uranus
- Neptune

List the members of the Beatles (at most 4):
- John Lennon
- Paul McCartney
- George Harrison
- Ringo Starr

List the primary colors (at most 3):
- red
- yellow
- blue
"""

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


def list_prompt(query: str, max_items: int) -> str:
    """The few-shot prompt the model continues."""
    return f"{EXAMPLES}\nList {' '.join(query.split())} (at most {max_items}):\n"


def parse_list(text: str, max_items: int) -> list[str]:
    """Items of a model's list reply, at most ``max_items``.

    Bullets and numbering are stripped, duplicates (any case) and blanks dropped; reading stops
    at the first blank line after an item.
    """
    items: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if items:
                break
            continue
        item = _BULLET.sub("", line).strip().strip(",;")
        if item and item.lower() not in (i.lower() for i in items):
            items.append(item)
        if len(items) >= max_items:
            break
    return items


def _backend(ctx: Context) -> Any:
    llm = ctx.services.get("llm")
    if llm is None:
        raise ModelUnavailableError(
            "List needs the program-writing language model, and this run has none: run "
            "through a visprog.Session (it provides one), or pass services={'llm': backend}"
        )
    return llm


@tool("List", model=MODEL)
def list_step(query: str, ctx: Context, max: int = 5) -> list[str]:
    """List up to max names of a kind, from the language model ('members of the Beatles')."""
    if not 1 <= max <= MAX_ITEMS:
        raise ToolArgumentError(f"List: max must be between 1 and {MAX_ITEMS}, got {max}")
    from visprog.planner.grammar import list_grammar

    backend = _backend(ctx)
    grammar = list_grammar(max) if backend.constrained else None
    text = backend.complete(
        list_prompt(query, max), grammar=grammar, max_tokens=16 * max, stop=("\n\n",)
    )
    ctx.used_model(backend.name)  # after the call: a lazy backend knows its model only then
    items = parse_list(text, max)
    if not items:
        ctx.note(f"the model returned no items: {text[:200]!r}")
    return items
