"""Compound edits: one request that makes two or three edits, written one edit at a time.

A query's vocabulary (:mod:`visprog.planner.vocab`) is one bag of words for the whole query, so a
request with two edits mixed them: "blur the faces and replace the car with a truck" located
'truck truck car'; "replace the cat with a tiger and the dog with a wolf" made one Replace, of
the cat, with 'a wolf'; "blur the top half and put a smiley on every face" blurred the faces.

Here such a request is split into its edits (:func:`edit_clauses`), each clause is written as a
program of its own, under its own grammar, and the programs are chained (:func:`chain`): each
later clause edits the image the clause before returned, while its finders (Loc, FaceDet, Seg,
...) still look at the input photo (faces already blurred are no longer found). Every box and
mask is in the input's frame (:mod:`visprog.values`), so an edit or a crop of an image another
edit made takes them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from visprog import values as V
from visprog.planner.vocab import COLOURS
from visprog.program import ListValue, Literal, Program, Ref, Span, Statement, Value
from visprog.registry import Registry
from visprog.syntax import parse

MAX_CLAUSES = 3
"""Most edits one request is split into (more are written as one program)."""

_VERB = (
    r"(?:blur|pixelate|pixelize|pixellate|censor|obscure|hide|cover|mask|replace|swap|"
    r"substitute|remove|erase|delete|get rid of|crop|cut out|zoom in(?:to)?|put|place|add|stick|paint|"
    r"colou?r|recolou?r|turn|change|make|tint|grey out|gray out|black out|smudge|"
    r"gr[ae]yscale|desaturate|colou?r ?pop)"
)
# a request may open politely ("please blur ...", "can you crop ...")
_OPENING = re.compile(
    rf"^\s*(?:(?:please|pls|now|first|then)\s*,?\s+|(?:can|could|would) you\s+)*{_VERB}\b",
    re.IGNORECASE,
)
# where one edit ends and the next begins: "and", "then", a comma or a full stop, before a verb
_BREAK = re.compile(
    rf"\s*(?:[,;.!]\s*)?(?:\b(?:and then|and also|and|then|after that|afterwards|also)\b\s*,?\s*"
    rf"|(?<=[,;.!])\s*)(?=(?:please\s+)?{_VERB}\b)",
    re.IGNORECASE,
)
# What makes a request one edit whatever its verbs: "keep the umbrella in colour and make the
# rest grey" is one colour pop; "blur the background" blurs around what another clause names.
_ONE_EDIT = re.compile(
    r"\b(?:the rest|everything else|all else|rest of|remainder|everything but|except|"
    r"background|backdrop|surroundings|in focus|sharp|in colou?r)\b",
    re.IGNORECASE,
)
# what one clause keeps as it is, named in that clause: "everything but the bus"
_KEPT = re.compile(
    r"\b(?:everything|everyone|all)(?: else)? (?:except(?: for)?|but|apart from|other than|"
    r"besides)\s+(?:the\s+|a\s+|an\s+|his\s+|her\s+|their\s+)?[a-z-]+(?:'s)?",
    re.IGNORECASE,
)
# a clause that edits "it", "them" or "the one on the right" edits what the clause before made
# or found
_PRONOUN = re.compile(
    rf"^\s*(?:please\s+)?{_VERB}\s+(?:it|them|that|this|those|these)\b"
    r"|\b(?:the|that|this) (?:other )?ones?\b|\bthe others?\b"
    # "... and put a hat on it"
    r"|\b(?:on|to|over|onto|from|around|of) (?:it|them|him|her|its|their)\b",
    re.IGNORECASE,
)
_ARTICLE = r"(?:the|a|an|his|her|their|its|all the|every|each)"
# "replace the cat with a tiger and the dog with a wolf": the second edit's verb is implied
_ELLIPSIS_REPLACE = re.compile(
    rf"^\s*(?P<verb>(?:please\s+)?(?:replace|swap|substitute|change|turn))\s+{_ARTICLE}\s+.+?"
    r"\s+(?:with|to|into|for)\s+.+$",
    re.IGNORECASE,
)
_REPLACE_REST = re.compile(rf"^{_ARTICLE}\s+\S.*?\s+(?:with|to|into|for)\s+\S.*$", re.IGNORECASE)
# "make the sky orange and the grass brown"
_COLOUR_WORDS = "|".join(sorted(COLOURS, key=len, reverse=True))
_ELLIPSIS_COLOUR = re.compile(
    rf"^\s*(?P<verb>(?:please\s+)?(?:make|turn|paint|colou?r))\s+{_ARTICLE}\s+.+?\s+"
    rf"(?:{_COLOUR_WORDS})\s*$",
    re.IGNORECASE,
)
_COLOUR_REST = re.compile(rf"^{_ARTICLE}\s+\S.*?\s+(?:{_COLOUR_WORDS})[.!]?\s*$", re.IGNORECASE)
# "blur the license plates and the faces", "remove the bird and the kite"
_ELLIPSIS_THING = re.compile(
    r"^\s*(?P<verb>(?:please\s+)?(?:blur|pixelate|pixelize|censor|obscure|remove|erase|"
    r"delete|get rid of))\s+(?:(?!\bof\b).)+$",
    re.IGNORECASE,
)
# (and "the plate from the table": the place the things are taken from)
_THING_REST = re.compile(
    rf"^{_ARTICLE}\s+[a-z-]+(?:\s+[a-z-]+){{0,2}}"
    r"(?:\s+(?:from|off|on|in|at)\s+(?:the\s+|his\s+|her\s+|their\s+)?[a-z-]+(?:\s+[a-z-]+)?)?"
    r"[.!]?\s*$",
    re.IGNORECASE,
)


# "remove the wine glass and put a coffee mug there instead" is one replacement (it removed the
# mug it had located)
_INSTEAD = re.compile(
    r"^\s*(?:please\s+)?(?:remove|erase|delete|take out|take away|get rid of)\s+(?P<old>.+?)\s+"
    r"and\s+(?:then\s+)?(?:put|place|add|paint|draw|insert|stick)\s+(?P<new>.+?)\s+"
    r"(?:there|in its place|in their place|instead|where (?:it|they) (?:was|were|used to be))"
    r"(?:\s+instead)?\s*[.!]?\s*$",
    re.IGNORECASE,
)


def edit_clauses(query: str) -> list[str]:
    """The edits a request makes, one clause each, in order; ``[query]`` when it makes one.

    A request is split where a new edit verb starts ("blur the faces and crop to the left
    half", "Pixelate the plates. Then put a star on each face.") or where the verb of the first
    edit is implied ("replace the cat with a tiger and the dog with a wolf", "make the sky
    orange and the grass brown", "blur the plates and the faces"). It is not split when it
    speaks of "the rest", "everything else", the background or what stays in focus or in
    colour (one colour pop or background blur), or when a later clause edits "it" or "them".
    A removal followed by what to put "there" or "instead" is one replacement, said as such
    ("replace the wine glass with a coffee mug").
    """
    text = query.strip()
    if m := _INSTEAD.match(text):
        return [f"replace {m.group('old')} with {m.group('new')}"]
    # "everything but the bus" says what it keeps within its own clause ("grayscale everything
    # but the bus and blur the faces" colour-popped the faces)
    if not _OPENING.match(text) or _ONE_EDIT.search(_KEPT.sub(" ", text)):
        return [query]
    parts = [c.strip(" ,;.") for c in _BREAK.split(text)]
    clauses = [e for c in parts if c for e in _elided(c)]
    if len(clauses) < 2 or len(clauses) > MAX_CLAUSES:
        return [query]
    if any(_PRONOUN.search(c) for c in clauses[1:]) or not all(_OPENING.match(c) for c in clauses):
        return [query]
    return clauses


def _elided(text: str) -> list[str]:
    """The two edits of "VERB A ... and B ..." whose second verb is implied, else ``[text]``."""
    for m in re.finditer(r"\s+and\s+", text):
        first, rest = text[: m.start()].strip(), text[m.end() :].strip(" .!")
        for whole, tail in (
            (_ELLIPSIS_REPLACE, _REPLACE_REST),
            (_ELLIPSIS_COLOUR, _COLOUR_REST),
            (_ELLIPSIS_THING, _THING_REST),
        ):
            head = whole.match(first)
            if head and tail.match(rest):
                return [first, f"{head.group('verb')} {rest}"]
    return [text]


class ChainError(ValueError):
    """Clause programs that cannot be chained (a clause returned no image)."""


def chain(programs: Sequence[str], registry: Registry) -> str:
    """One program that makes the clause programs' edits in turn.

    Each program after the first is renamed past the names before it, and the first step of
    the chain of images that makes its result, where that step reads the input image, reads
    the image the program before returned instead. Its other steps (finders, and crops that
    only place what is found) still read the input.

    Args:
        programs: Clause programs, each parsing and checking on its own, with one image input.
        registry: The tools (for what each step returns).

    Returns:
        The chained program's text.

    Raises:
        ChainError: When a clause program's result is no image, or its chain of images does
            not start at the input.
    """
    lines: list[str] = []
    defined: set[str] = set()
    previous = ""
    result = ""
    for k, text in enumerate(programs):
        program = parse(text)
        body, result_var = _split_result(program)
        made = {st.target: st for st in body}
        head = _chain_head(made, result_var, registry)
        if head is None:
            raise ChainError(f"clause {k + 1}'s result {result_var} is no edited image")
        names = _renames([st.target for st in body], defined)
        for st in body:
            lines.append(_rename_line(st, names, previous if k and st.target == head[0] else ""))
        defined |= set(names.values())
        previous = names[result_var]
        result = previous
    lines.append(f"FINAL_RESULT = Result(var={result})")
    return "\n".join(lines) + "\n"


def _split_result(program: Program) -> tuple[list[Statement], str]:
    """The statements before ``Result`` and the variable it names."""
    *body, last = program.statements
    var = next((a.value for a in last.args if a.name == "var"), None)
    if last.step != "Result" or not isinstance(var, Ref):
        raise ChainError("a clause program does not end with Result(var=...)")
    return body, var.name


def _chain_head(made: dict[str, Statement], var: str, registry: Registry) -> tuple[str, str] | None:
    """The step that starts the chain of images making ``var``, and the image it reads.

    Walks back from ``var`` along each image-making step's ``image`` argument to the step that
    reads an input; None when ``var`` or a step on the way makes no image.
    """
    seen: set[str] = set()
    while var in made and var not in seen:
        seen.add(var)
        st = made[var]
        spec = registry.get(st.step)
        if spec is None or V.IMAGE not in spec.returns:
            return None
        image = next((a.value for a in st.args if a.name == "image"), None)
        if not isinstance(image, Ref):
            return None
        if image.name not in made:
            return st.target, image.name
        var = image.name
    return None


def _renames(targets: Sequence[str], defined: set[str]) -> dict[str, str]:
    """New names for a clause's targets that none before it used (``BOX0`` -> ``BOX2``)."""
    taken = set(defined)
    out: dict[str, str] = {}
    for t in targets:
        m = re.fullmatch(r"([A-Z_]*[A-Z])(\d+)", t)
        prefix = m.group(1) if m else t
        n = 0
        while f"{prefix}{n}" in taken:
            n += 1
        out[t] = f"{prefix}{n}"
        taken.add(out[t])
    return out


def _rename_line(st: Statement, names: dict[str, str], image: str) -> str:
    """A statement's source with its names replaced (and its ``image`` read from ``image``)."""
    edits: list[tuple[Span, str]] = [(st.target_span, names[st.target])]
    for arg in st.args:
        if image and arg.name == "image" and isinstance(arg.value, Ref):
            edits.append((arg.value.span, image))
            continue
        edits += _value_edits(arg.value, names)
    line = st.source
    for span, new in sorted(edits, key=lambda e: e[0].column, reverse=True):
        line = line[: span.column - 1] + new + line[span.end_column - 1 :]
    return line


def _value_edits(value: Value, names: dict[str, str]) -> list[tuple[Span, str]]:
    """Renames inside one argument value: references, list items, Eval's ``{VAR}``."""
    if isinstance(value, Ref):
        return [(value.span, names[value.name])] if value.name in names else []
    if isinstance(value, ListValue):
        return [e for item in value.items for e in _value_edits(item, names)]
    if isinstance(value, Literal) and isinstance(value.value, str) and "{" in value.value:
        raise ChainError("an Eval expression in an edit clause")  # edits compute nothing
    return []
