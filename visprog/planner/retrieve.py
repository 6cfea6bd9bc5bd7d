"""Retrieval of the bank examples closest to a query *by structure*.

A small model copies the example it read last, so what matters is that the examples shown have
the query's shape (a count on a relation, two counts compared, a Replace keeping the new
thing's words), not its content. Queries are compared after masking: a word that occurs in the
bank only inside slots (the things, people, colours) becomes ``X``, so shape words dominate:
question words, relations, comparison words, numbers (all ``N``), edit verbs, logic words.
"How many cups are to the left of the kettle?" and "How many mugs are to the left of the
sink?" then read the same: ``how many X are to left of X``.

Features of a masked query: its shape words, its pairs of neighbouring tokens (``many X``,
``left of``), pairs one apart (``more _ than``) and its opening pair (``^how many``). Likeness is
the cosine of the two feature sets. :func:`retrieve` returns the closest examples of distinct
templates (two phrasings of one template would teach one shape twice), the closest last.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from functools import cache

from visprog.planner.bank import BankExample, bank_data, load_bank

K = 3  # examples shown before the question
_WORD = re.compile(r"[a-z0-9]+")
_SKIP = frozenset({"a", "an", "the"})
_WHOLE_IMAGE = re.compile(r"\b(?:in|of|on) (?:the|this) (?:photo|picture|image)\b")
_NUMBERS = frozenset("two three four five six seven eight nine ten eleven twelve".split())
# Words that mean the same for the program's shape.
_SAME = {
    "colour": "color",
    "pictures": "images",
    "photos": "images",
    "picture": "image",
    "photo": "image",
    "everybody": "everyone",
    "each": "every",
    "all": "every",
}


def _norm(word: str) -> str:
    if word.isdigit() or word in _NUMBERS:
        return "N"
    return _SAME.get(word, word)


@cache
def shape_words() -> frozenset[str]:
    """Words the bank's phrasings use outside slots (the words that tell shapes apart)."""
    data = bank_data()
    words: set[str] = set()
    for t in data["template"]:
        for q in t["queries"]:
            text = q if isinstance(q, str) else q["q"]
            plain = string.Template(text).safe_substitute({})
            words |= set(_WORD.findall(re.sub(r"\$\w+", " ", plain.lower())))
    for phrase, _ in data["fillers"]["relations"]:
        words |= set(phrase.split())
    words |= set(data["fillers"]["halves"])
    return frozenset(_norm(w) for w in words)


def masked(query: str) -> list[str]:
    """The query's tokens with content words as ``X`` (runs of ``X`` merged), articles dropped.

    "In the picture" and the like mean the whole image and are dropped: "How many faces are in
    the picture?" matched "How many bags are in the grass?" (a crop) before.
    """
    shape = shape_words()
    out: list[str] = []
    text = _WHOLE_IMAGE.sub(" ", query.lower().replace("'s", ""))
    for w in _WORD.findall(text):
        if w in _SKIP:
            continue
        tok = _norm(w)
        tok = tok if tok in shape or tok == "N" else "X"
        if not (tok == "X" and out and out[-1] == "X"):
            out.append(tok)
    return out


def features(query: str) -> frozenset[str]:
    """What two queries are compared on (see the module docstring)."""
    toks = masked(query)
    feats = {t for t in toks if t != "X"}
    feats |= {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)}
    feats |= {f"{a} _ {b}" for a, b in zip(toks, toks[2:], strict=False)}
    feats.add("^" + " ".join(toks[:2]))
    return frozenset(feats)


def examples() -> list[BankExample]:
    """The bank and the hand-written examples of the prompt files (template ``<task>.file<i>``)."""
    from visprog.planner.prompts import TASKS, load_prompt

    written = [
        BankExample(f"{t}.file{i}", t, e.query, e.program)
        for t in TASKS
        for i, e in enumerate(load_prompt(t).examples)
    ]
    return [*load_bank(), *written]


@cache
def _indexed(task: str | None) -> tuple[tuple[BankExample, frozenset[str]], ...]:
    return tuple((e, features(e.query)) for e in examples() if task in (None, e.task))


def likeness(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine of two feature sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def ranked(query: str, task: str | None = None) -> list[tuple[float, BankExample]]:
    """Bank examples of ``task`` (every task when None) by decreasing likeness to ``query``.

    Ties keep bank order, so the result is deterministic.
    """
    q = features(query)
    scored = [(likeness(q, f), i, e) for i, (e, f) in enumerate(_indexed(task))]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(s, e) for s, _, e in scored]


def retrieve(query: str, task: str, k: int = K) -> list[BankExample]:
    """The ``k`` closest examples of distinct program shapes (:func:`shape`), the closest last."""
    chosen: list[BankExample] = []
    shapes: set[str] = set()
    for _, e in ranked(query, task):
        if (key := shape(e.program)) in shapes:
            continue
        chosen.append(e)
        shapes.add(key)
        if len(chosen) == k:
            break
    return chosen[::-1]


def shape(program: str) -> str:
    """A program without its literals and with one name for the relation crops.

    Two examples of one shape teach one pattern twice ("Blur every face" in the bank and in a
    prompt file; a count left of and one right of a thing).
    """
    text = re.sub(r"'[^']*'|\b\d+\b", "_", program)
    return re.sub(r"Crop(?:LeftOf|RightOf|Above|Below|FrontOf|Behind)\b", "CropRel", text)


def best_task(query: str, tasks: Sequence[str]) -> str | None:
    """The task of the bank example closest to ``query`` among ``tasks`` (None: no likeness)."""
    best = next(((s, e) for s, e in ranked(query) if e.task in tasks), None)
    return best[1].task if best is not None and best[0] > 0 else None
