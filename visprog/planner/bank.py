"""The example bank: (query, program) pairs expanded from the templates in ``prompts/bank.toml``.

A template is one kind of request (count the things on a relation, two counts compared, a
colour pop of a described object, ...): several phrasings of the query and one program, with
``$slots`` for the content (``$x`` a thing, ``$rel`` a spatial relation with ``$crop`` its step,
``$n`` a number with ``$num`` its digits, ...; the file's header lists them). :func:`load_bank`
expands every phrasing with every relation it may state and a few draws of filler words, from a
fixed seed, so the bank is the same on every machine and for every run (about 1,500 examples,
built in well under a second).

The retrieval (:mod:`visprog.planner.retrieve`) picks the examples shown to the model from it;
the tests check that every expanded program parses, checks, and is admitted by the scoped
grammar of its own query.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from visprog.errors import ConfigurationError
from visprog.planner.vocab import plural

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DRAWS = 2  # filler draws per phrasing (and per relation, for phrasings that state one)
SEED = "visprog-bank-1"
_PERSON_PLURALS = {"man": "men", "woman": "women", "child": "children", "person": "people"}


@dataclass(frozen=True)
class BankExample:
    """One expanded example.

    Attributes:
        template: The template's id (``count.rel``); examples of one template share a program shape.
        task: The prompt task it belongs to.
        query: The query text.
        program: The program text (no trailing newline).
    """

    template: str
    task: str
    query: str
    program: str


def article(word: str) -> str:
    """``word`` with ``a`` or ``an`` before it (by its first letter)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _quoted(items: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)


def _draw(rng: random.Random, fillers: Mapping[str, Any], rel: list[str] | None) -> dict[str, str]:
    """One draw of every slot's value (the template uses the ones it names)."""
    x, y = rng.sample(fillers["things"], 2)
    p = rng.choice(fillers["people"])
    col, col2 = rng.sample(fillers["colours"], 2)
    kind = rng.choice(fillers["kinds"])
    c1, c2, c3 = rng.sample(kind[1:], 3)
    n1, n2, n3 = rng.sample(fillers["names"], 3)
    n = rng.choice(fillers["numbers"])
    half = rng.choice(fillers["halves"])
    e = rng.choice(fillers["emoji"])
    wear = rng.choice(fillers["wear"])
    slots = {
        "x": x, "xs": plural(x), "ax": article(x), "AX": article(x).capitalize(),
        "y": y, "ys": plural(y), "ay": article(y),
        "p": p, "ps": _PERSON_PLURALS.get(p, plural(p)), "ap": article(p),
        "place": rng.choice(fillers["places"]),
        "col": col, "col2": col2, "acol": article(f"{col} {x}").rsplit(" ", 1)[0],
        "acol2": article(col2).split(" ")[0] + f" {col2}",
        "verb": rng.choice(fillers["verbs"]), "adj": rng.choice(fillers["adjectives"]),
        "emotion": rng.choice(fillers["emotions"]), "wear": wear, "awear": article(wear),
        "act": rng.choice(fillers["acts"]), "e": e, "ae": article(e),
        "k": kind[0], "ks": plural(kind[0]), "c1": c1, "c2": c2, "c3": c3,
        "ac1": article(c1), "ac2": article(c2), "name1": n1, "name2": n2, "name3": n3,
        "group": rng.choice(fillers["groups"]), "attr": rng.choice(fillers["attributes"]),
        "stuff": rng.choice(fillers["stuff"]), "newstuff": rng.choice(fillers["new_stuff"]),
        "cmp": rng.choice(fillers["comparatives"]), "n": n, "num": _digits(n),
        "half": half, "HALF": half.upper(),
    }  # fmt: skip
    if rel is not None:
        slots["rel"], slots["crop"] = rel
    return slots


_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}


def _digits(n: str) -> str:
    return _NUMBERS.get(n, n)


def _listed(query: str, slots: Mapping[str, str], prefix: str, count: int) -> str:
    """The program's category list: the ``$<prefix>1..`` values the query names, in order."""
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    return _quoted([slots[k] for k in names if f"${k}" in query or f"$a{k}" in query])


def _phrasings(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each phrasing's text and its fixed slot values (a table phrasing's extra keys)."""
    for q in template["queries"]:
        if isinstance(q, str):
            yield q, {}
        else:
            yield q["q"], {k: str(v) for k, v in q.items() if k != "q"}


def expand(template: Mapping[str, Any], fillers: Mapping[str, Any]) -> list[BankExample]:
    """Every example of one template (deterministic: seeded by the template's id).

    Raises:
        ConfigurationError: When a phrasing or the program names an unknown slot.
    """
    rng = random.Random(f"{SEED}:{template['id']}")
    program = string.Template(template["program"].strip())
    out = []
    for text, fixed in _phrasings(template):
        query = string.Template(text)
        relations = fillers["relations"] if "$rel" in text else [None]
        for rel in relations:
            for _ in range(DRAWS):
                slots = _draw(rng, fillers, rel)
                slots |= {k: string.Template(v).safe_substitute(slots) for k, v in fixed.items()}
                slots["cats"] = _listed(text, slots, "c", 3)
                slots["names"] = _listed(text, slots, "name", 3)
                try:
                    q, prog = query.substitute(slots), program.substitute(slots)
                except (KeyError, ValueError) as e:
                    raise ConfigurationError(f"bank template {template['id']}: {e}") from e
                out.append(BankExample(template["id"], template["task"], q, prog))
    return _unique(out)


def _unique(examples: list[BankExample]) -> list[BankExample]:
    seen: set[str] = set()
    out = []
    for e in examples:
        key = re.sub(r"\s+", " ", e.query.lower())
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


@cache
def bank_data() -> dict[str, Any]:
    """``prompts/bank.toml`` parsed: its ``template`` list and ``fillers`` table.

    Raises:
        ConfigurationError: When the file is malformed.
    """
    try:
        data = tomllib.loads(bank_text())
        if not isinstance(data["template"], list) or not isinstance(data["fillers"], dict):
            raise KeyError("template or fillers")
    except (tomllib.TOMLDecodeError, KeyError) as e:
        raise ConfigurationError(f"prompts/bank.toml is malformed: {e}") from e
    return data


@cache
def load_bank() -> tuple[BankExample, ...]:
    """Every example of ``prompts/bank.toml``, in file order.

    Raises:
        ConfigurationError: When the file is malformed.
    """
    data = bank_data()
    return tuple(ex for t in data["template"] for ex in expand(t, data["fillers"]))


def bank_text() -> str:
    """The bank file's text (part of the prompt version: a changed bank changes the hash)."""
    return resources.files("visprog.prompts").joinpath("bank.toml").read_text("utf-8")
