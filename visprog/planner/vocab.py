"""The words a query lets a program use: object names, questions, categories, emoji names.

A small model copies the content of its in-context examples (a question about tableware got a
face crop; "Is a dog a mammal?" about animals nobody mentioned). The scoped grammar
(:mod:`visprog.planner.scope`) therefore builds quoted object names, questions, prompts and
List queries only from the query's own words (with singular and lower-case forms, and a few
function words for questions), closes ``Classify`` categories to those the query lists, and
offers only the emoji names the query points at. Pure functions of the query text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words a question or phrase may use although the query does not say them: VQA questions are
# rephrasings ("Is there a horse?" for "Each image contains at least one horse").
QUESTION_WORDS = tuple(
    "what which who whom whose where when how is are was were does do did can there a an the "
    "this that these those of in on at to from with by for any some it its he she they them "
    "his her their color colour kind type many much made wearing holding doing and or not "
    "yes no left right top bottom front behind above below under next".split()
)
# Generic words a program may need for any image: OWLv2 finds "person" better than "everybody".
ALWAYS = ("person", "people", "face", "object", "thing", "animal")
_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_ARTICLE = re.compile(r"^(?:(?:either|both|a|an|the)\s+)+", re.IGNORECASE)
_ITEM = r"(?:(?:either|both|a|an|the)\s+)*[A-Za-z][A-Za-z-]*"
# "apple, banana or orange", "happy, sad, or angry", "Messi and Ronaldo", "a sparrow or a pigeon"
_LIST = re.compile(rf"{_ITEM}(?:\s*,\s*{_ITEM})*\s*,?\s+(?:or|and)\s+{_ITEM}")
_SPLIT = re.compile(r"\s*,\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+")
_NOT_CATEGORY = frozenset(
    "is are was were be has have there it them they this that what which who how many much "
    "more fewer less image images picture pictures photo photos left right".split()
)
# Words too common to pick an emoji by ("with" is in 200 names).
_COMMON = frozenset(
    "with face faces over every each their them cover hide replace emoji emojis photo picture "
    "image person people everyone everybody".split()
)
EMOJI_FALLBACK = 400  # names offered when the query names no emoji word: the face emoji first


@dataclass(frozen=True)
class Vocabulary:
    """What quoted strings in a program for one query may contain.

    Attributes:
        words: Query words in their written, lower-case and singular forms, plus :data:`ALWAYS`.
        categories: Categories the query lists ("as apple, banana or orange"), in order.
        emoji: Emoji names (the Emoji step's vocabulary) the query points at.
    """

    words: tuple[str, ...]
    categories: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()


def singular(word: str) -> str:
    """A naive singular (``faces`` -> ``face``, ``berries`` -> ``berry``); unchanged otherwise."""
    low = word.lower()
    if len(low) > 4 and low.endswith("ies"):
        return word[:-3] + "y"
    if len(low) > 4 and low.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def query_words(query: str) -> tuple[str, ...]:
    """Every form of every word of ``query``, first-seen order, plus :data:`ALWAYS`."""
    out: dict[str, None] = {}
    for w in _WORD.findall(query):
        for form in (w, w.lower(), singular(w), singular(w.lower())):
            out[form] = None
    for w in ALWAYS:
        out[w] = None
    return tuple(out)


def listed_categories(query: str) -> tuple[str, ...]:
    """The categories a query enumerates ("... as apple, banana or orange"), else ``()``.

    The last enumeration wins ("black and white cats: tag them as Tom, Felix or Garfield").
    """
    found: tuple[str, ...] = ()
    for m in _LIST.finditer(query):
        items = [_ARTICLE.sub("", i) for i in _SPLIT.split(m.group(0)) if i]
        if any(i.lower() in _NOT_CATEGORY for i in items):
            continue
        found = tuple(dict.fromkeys(items))
    return found if len(found) >= 2 else ()


def emoji_vocabulary(query: str, names: Iterable[str]) -> tuple[str, ...]:
    """Emoji names the query points at (skin-tone variants left out).

    The word before "emoji" ("a heart emoji" -> ``red_heart``, ``heart_suit``, ...), else any
    less common query word that is part of a name ("a smiley" -> ``smiley``), else the face
    emoji, so the step always gets a real name.
    """
    plain = [n for n in names if "skin_tone" not in n]
    named = re.findall(r"([A-Za-z]+)[\s-]+emojis?\b", query, re.IGNORECASE)
    pool = named or [w for w in _WORD.findall(query) if len(w) >= 4 and w.lower() not in _COMMON]
    words = {f for w in pool for f in (w.lower(), singular(w.lower()))}
    hits = [n for n in plain if words & set(n.split("_"))] if words else []
    if hits:
        return tuple(hits)
    faces = [n for n in plain if "face" in n.split("_")]
    return tuple(faces[:EMOJI_FALLBACK] or plain[:EMOJI_FALLBACK])


def query_vocabulary(query: str, emoji_names: Iterable[str] = ()) -> Vocabulary:
    """The :class:`Vocabulary` of ``query`` (``emoji_names``: the Emoji step's known names)."""
    names = list(emoji_names)
    return Vocabulary(
        query_words(query),
        listed_categories(query),
        emoji_vocabulary(query, names) if names else (),
    )
