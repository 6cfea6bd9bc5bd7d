"""Generation grammars: the program language, narrowed for a model to write in.

Two grammars constrain decoding:

* ``grammars/generation.lark`` (shipped): the program language in canonical layout, any step,
  any argument, ending at the ``FINAL_RESULT = Result(var=...)`` line. Registry-free.
* :func:`program_grammar` (built here from the registered tools' specs): the same layout, but
  only real step names, each with its own argument names in declared order and a value of the
  declared kind (a variable for images and objects, a quoted string for text, a number, a list of
  strings, a double-quoted Eval expression). A small model then cannot misspell a step or an
  argument, and every output parses.

Grammars are kept as a tiny rule list so one definition prints as Lark (for llguidance) and as
GBNF (for llama.cpp's server). Both print the same language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from visprog import values as V
from visprog.registry import REGISTRY, Registry, ToolSpec

# Terminals, each as (Lark regex, GBNF expression, most UTF-8 bytes a match can take, for
# :meth:`Grammar.max_bytes`). Strings exclude control characters: a stray carriage return inside
# quotes would end the line for the program parser. Targets carry a digit suffix (VisProg's
# BOX0, ANSWER1), which keeps them apart from FINAL_RESULT and the input names without lookahead.
TERMINALS: dict[str, tuple[str, str, int]] = {
    "TARGET": (r"/[A-Z]{1,12}[0-9]{1,2}/", r"[A-Z]{1,12} [0-9]{1,2}", 14),
    "STRING": (
        r"/'[^'\\\x00-\x1f\x7f]{1,60}'/",
        r""" "'" [^'\\\x00-\x1f\x7f]{1,60} "'" """.strip(),
        2 + 60 * 4,
    ),
    "EXPR": (
        r'/"[^"\\\x00-\x1f\x7f]{1,160}"/',
        r""" "\"" [^"\\\x00-\x1f\x7f]{1,160} "\"" """.strip(),
        2 + 160 * 4,
    ),
    "NUMBER": (
        r"/-?[0-9]{1,6}(\.[0-9]{1,4})?/",
        r""" "-"? [0-9]{1,6} ("." [0-9]{1,4})? """.strip(),
        12,
    ),
    "ITEM": (r"/[^\x00-\x1f\x7f]{1,60}/", r"[^\x00-\x1f\x7f]{1,60}", 60 * 4),
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9]*$")


@dataclass(frozen=True)
class Grammar:
    """A context-free grammar as rules of alternatives; prints as Lark or GBNF.

    Items in an alternative are a literal (``'"text"'`` in JSON quoting), a rule name
    (lowercase), a terminal name (uppercase, from :data:`TERMINALS`), and any of these followed by
    ``?`` or ``*``. The first rule is the start rule.

    Attributes:
        rules: Rule name -> alternatives -> items.
        lexemes: Extra terminals for Lark only (name -> llguidance regex, which may use ``&``
            and ``~``); a grammar with any does not print as GBNF.
    """

    rules: dict[str, list[list[str]]] = field(default_factory=dict)
    lexemes: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, *alternatives: Sequence[str]) -> None:
        """Add a rule (``name`` lowercase letters and digits)."""
        if not _NAME_RE.match(name) or name in self.rules:
            raise ValueError(f"bad or duplicate rule name {name!r}")
        self.rules[name] = [list(a) for a in alternatives]

    def terminals(self) -> list[str]:
        """Terminal names used, in first-use order."""
        seen: list[str] = []
        for alts in self.rules.values():
            for item in (i.rstrip("?*") for alt in alts for i in alt):
                if (item in TERMINALS or item in self.lexemes) and item not in seen:
                    seen.append(item)
        return seen

    def max_bytes(self) -> int:
        """The longest sentence in UTF-8 bytes (so also in tokens of a byte-level tokenizer).

        Raises:
            ValueError: When the grammar is unbounded (uses ``*`` or recursion).
        """
        memo: dict[str, int] = {}

        def rule(name: str, active: frozenset[str]) -> int:
            if name in active:
                raise ValueError(f"rule {name!r} is recursive: no length bound")
            if name not in memo:
                memo[name] = max(
                    sum(item(i, active | {name}) for i in alt) for alt in self.rules[name]
                )
            return memo[name]

        def item(it: str, active: frozenset[str]) -> int:
            base, suffix = _split(it)
            if suffix == "*":
                raise ValueError(f"{it!r} repeats without bound")
            if base.startswith('"'):
                return len(json.loads(base).encode("utf-8"))
            if base in self.lexemes:
                raise ValueError(f"{base!r} is a Lark-only lexeme: no length bound")
            return TERMINALS[base][2] if base in TERMINALS else rule(base, active)

        return rule(next(iter(self.rules)), frozenset())

    def to_lark(self) -> str:
        """The grammar in llguidance's Lark dialect (start rule ``start``)."""
        terminals = [
            f"{t}: {self.lexemes[t] if t in self.lexemes else TERMINALS[t][0]}"
            for t in self.terminals()
        ]
        return self._render("start", ":", _lark_item, terminals)

    def to_gbnf(self) -> str:
        """The grammar in llama.cpp's GBNF (start rule ``root``).

        Raises:
            ValueError: When the grammar uses Lark-only :attr:`lexemes`.
        """
        if self.lexemes:
            raise ValueError("this grammar uses Lark-only lexemes; it has no GBNF form")
        terminals = [f"{t.lower()} ::= {TERMINALS[t][1]}" for t in self.terminals()]
        return self._render("root", " ::=", _gbnf_item, terminals)

    def _render(
        self, start: str, arrow: str, item: Callable[[str], str], terminals: list[str]
    ) -> str:
        """The rules in one dialect: the first rule is named ``start``, then the terminals."""
        first = next(iter(self.rules))
        lines = []
        for name, alts in self.rules.items():
            body = " | ".join(" ".join(item(i) for i in alt) for alt in alts)
            lines.append(f"{start if name == first else name}{arrow} {body}")
        return "\n".join(lines + terminals) + "\n"


def _split(item: str) -> tuple[str, str]:
    if item.startswith('"'):
        return item, ""
    suffix = item[-1] if item[-1] in "?*" else ""
    return item[: len(item) - len(suffix)], suffix


def _lark_item(item: str) -> str:
    base, suffix = _split(item)
    return f"{base}{suffix}"  # JSON string quoting is valid Lark string quoting


def _gbnf_item(item: str) -> str:
    base, suffix = _split(item)
    if base in TERMINALS:
        base = base.lower()
    return f"{base}{suffix}"


def lit(text: str) -> str:
    """A literal item."""
    return json.dumps(text)


def _value_rule(types: frozenset[str], expression: bool) -> list[list[str]]:
    """Alternatives for an argument value of the given type tags."""
    if expression:
        return [["EXPR"]]
    alts: list[list[str]] = []
    if types & {V.IMAGE, V.OBJECTS, V.POINTS, V.ANY, V.TEXT_LIST, V.NUMBER, V.BOOL}:
        alts.append(["ref"])
    if V.TEXT in types or V.ANY in types:
        alts.append(["STRING"])
    if V.TEXT_LIST in types:
        alts.append([lit("["), "STRING", "m0?", lit("]")])
    if V.NUMBER in types:
        alts.append(["NUMBER"])
    if V.BOOL in types:
        alts += [[lit("True")], [lit("False")]]
    if V.NONE in types:
        alts.append([lit("None")])
    return alts


def _call_rule(spec: ToolSpec, index: int, g: Grammar, kinds: dict[str, str]) -> str:
    """Add ``c<index>`` for one step: its name, then its arguments in declared order."""
    items = [lit(f"{spec.name}(")]
    for n, p in enumerate(p for p in spec.params):
        sep = "" if n == 0 else ", "
        key = ("x" if p.expression else "") + "|".join(sorted(p.types))
        if key not in kinds:
            kinds[key] = f"v{len(kinds)}"
            g.add(kinds[key], *_value_rule(p.types, p.expression))
        part = [lit(f"{sep}{p.name}="), kinds[key]]
        if p.required:
            items += part
        else:  # optional arguments are rare in examples: allow but never require them
            opt = f"o{index}x{n}"
            g.add(opt, part)
            items.append(f"{opt}?")
    items.append(lit(")"))
    g.add(f"c{index}", items)
    return f"c{index}"


def program_grammar(
    inputs: Iterable[str] = ("IMAGE",),
    steps: Iterable[str] | None = None,
    registry: Registry | None = None,
    max_statements: int = 12,
) -> Grammar:
    """The generation grammar for programs over the registered tools.

    Args:
        inputs: Input names a program may reference (``IMAGE``; ``LEFT``, ``RIGHT``).
        steps: Step names allowed (canonical or alias); all registered tools when None.
            ``Result`` is always the last line and is not listed here.
        registry: The tools (the default registry when omitted).
        max_statements: Most statements before the Result line.

    Returns:
        A grammar whose every sentence is ``TARGET = Step(arg=value, ...)`` lines followed by
        ``FINAL_RESULT = Result(var=NAME)``.
    """
    reg = registry if registry is not None else REGISTRY
    specs = _allowed_specs(reg, steps)
    g = Grammar()
    g.add("program", ["s0?", lit("FINAL_RESULT = Result(var="), "ref", lit(")")])
    _chain(g, "s", "stmt", max_statements)
    g.add("stmt", ["TARGET", lit(" = "), "call", lit("\n")])
    g.add("ref", ["TARGET"], *[[lit(name)] for name in inputs])
    g.add("moretext", [lit(", "), "STRING"])
    _chain(g, "m", "moretext", 7)  # lists of at most 8 strings keep every sentence finite
    kinds: dict[str, str] = {}
    calls = [_call_rule(spec, i, g, kinds) for i, spec in enumerate(specs)]
    g.add("call", *[[c] for c in calls])
    return g


def _chain(g: Grammar, prefix: str, item: str, count: int) -> None:
    """``<prefix>0`` = one to ``count`` ``item``s, as an unambiguous chain of optionals."""
    for i in range(count - 1):
        g.add(f"{prefix}{i}", [item, f"{prefix}{i + 1}?"])
    g.add(f"{prefix}{count - 1}", [item])


def _allowed_specs(reg: Registry, steps: Iterable[str] | None) -> list[ToolSpec]:
    if steps is None:
        return [s for s in reg if s.name != "Result"]
    out: list[ToolSpec] = []
    for name in steps:
        spec = reg.get(name)
        if spec is not None and spec.name != "Result" and spec not in out:
            out.append(spec)
    return out


def list_grammar(max_items: int) -> Grammar:
    """Grammar for a ``List`` answer: 1 to ``max_items`` lines of ``- item``."""
    g = Grammar()
    g.add("items", ["s0"])
    _chain(g, "s", "item", max(1, max_items))
    g.add("item", [lit("- "), "ITEM", lit("\n")])
    return g
