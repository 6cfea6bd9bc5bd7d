"""Prompts as data: one file per task in ``prompts/`` (shipped as ``visprog.prompts``).

A prompt file (TOML) holds ``task``, ``title``, ``inputs``, ``tools`` (the steps the task may
use), a ``header`` and ``[[examples]]`` of ``query`` and ``program``. The tool list shown to the
model is rendered from the registered tools' specs (signature and docstring summary), so it
cannot drift from the code.

Task choice (:func:`choose_task`): two images or more -> ``nlvr``; else the first keyword group
that matches the query: editing words (blur, replace, color pop, emoji, hide, ...) -> ``edit``;
tagging words (tag, label, identify, name the) -> ``tag``; counting and pointing words (how many,
count, number of, point, segment, outline, where, "are there more/fewer") -> ``count``; otherwise
the task of the closest bank example, else ``gqa``.

The prompt (:meth:`PromptSet.render`): the header and tool list (the cached prefix), the bank
examples closest to the query in shape (:mod:`visprog.planner.retrieve`), then the question.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources

from visprog.errors import ConfigurationError
from visprog.planner import retrieve
from visprog.planner.bank import bank_text
from visprog.planner.vocab import person_names
from visprog.registry import REGISTRY, Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("gqa", "nlvr", "edit", "tag", "count")

# Words of a question that counts ("Are there as many plates as glasses?").
_COUNTING = re.compile(r"\b(?:many|more|fewer|less|number|total|count(?:s|ed|ing)?)\b")
_QUESTION = re.compile(
    r"^\s*(?:what|what's|who|whose|which|where|when|why|how|is|are|was|were|does|do|did|"
    r"can|could|has|have)\b"
)
# what a question labels many of ("what are the names of these people?")
_MANY = re.compile(r"\b(?:names|each|every|all|these|those|them|people|everyone)\b")
_REQUEST = re.compile(r"^\s*(?:can|could|would|will) (?:you|we|i)\b")
_KEYWORDS: list[tuple[str, str]] = [
    (
        "edit",
        r"\b(blur\w*|black(?:ed|en)? out|cut out|smudge\w*|smear\w*|replace\w*|swap|"
        r"colou?r ?pop|pop the colou?r|grey|gray|"
        r"emoji\w*|hide|"
        r"smiley\w*|smilies|emoticons?|"
        r"anonymi[sz]e|anonymous\w*|pixelate|repaint|recolou?r|turn (?:the|it|them)\b.*\binto|"
        r"change (?:the|it|them)\b.*\b(?:to|into)|make (?:the|it)\b.*\b(?:look|into)|"
        r"keep only|only keep|keep (?:only |just )?the colou?rs? (?:of|on|in)|"
        r"(?:show|leave|display) (?:only|just) the (?:top|bottom|left|right|upper|lower|middle|"
        r"centre|center) (?:half|part|side|third|portion|quarter)|in colou?r|background|"
        r"censor\w*|obscur\w*|black and white|desaturat\w*|"
        r"gr[ae]yscale\w*|monochrome|make (?:the|its|his|her|their) [a-z ]+? (?:show|display)|"
        r"(?:cover|paint) (?:the|every|all|each|their|his|her)\b|"
        r"(?:make|turn|change|paint) (?:the|it|them|every|all|each)\b"
        r".*\b(?:to|into|like|look|red|blue|green|yellow|black|white|pink|purple|orange)|"
        r"stand out|remove|erase|delete|get rid of|inpaint\w*|crop\w*|zoom in|"
        r"colou?r ?splash\w*|enlarge|blow up|magnify|close[- ]?up|zoom(?:ed|ing)? into|"
        r"obliterat\w*|darken|brighten|lighten|"
        # "put sunglasses on the dog" paints; "put a dot on each face" marks
        r"(?:put|stick|place) (?:a |an |some )?(?!(?:dots?|box(?:es)?|bounding|marks?|labels?|"
        r"circles?|points?|tags?|pins?|numbers?|names?|captions?)\b)[a-z]+ (?:on|over)\b|"
        # "give the woman a hat" paints the hat on (it counted the women)
        r"give (?:the|him|her|them|it|every|each|all)\b(?!.*\b(?:names?|labels?|tags?)\b)|"
        r"add (?:a|an|some) (?!(?:dots?|box(?:es)?|bounding|marks?|labels?|circles?|points?|"
        r"tags?|pins?|numbers?|names?)\b)[a-z ]+? (?:to|on|onto|in|into) (?:the|his|her|their))\b",
    ),
    (
        "tag",
        # "who is in this photo", not "who is holding the umbrella, a man or a woman?"
        r"\b(tag\w*|label\w*|identify|classif\w*|name (?:the|each|every)|caption\w*|annotat\w*|"
        # "write what brand each car is": a label on each
        r"write (?:down )?(?:what|which|who|the|their|its|his|her|each)|"
        r"(?:put|write|add) (?:a |their |the |his |her )?names? (?:on|to|by)|"
        r"who(?: is|'s| are) (?:in|this|that|these|those|here|there|it|on)|who(?: is|'s| are)$)\b",
    ),
    (
        "count",
        r"\b(how many|count(?:s|ed|ing)?|number of|point\w*|segment\w*|outline\w*|where|"
        r"(?:are|is) there (?:more|fewer|less|at least|at most|exactly|over|under)|"
        r"more \w+ than|fewer \w+ than|"
        # "put a dot on each person's face" points (its closest example was an Emoji edit)
        r"(?:put|place|add|draw) (?:a |an )?(?:dots?|pins?|marks?|markers?|points?) "
        r"(?:on|at|over))\b",
    ),
    # Finding things without counting them is drawing labelled boxes.
    (
        "tag",
        r"\b(?:find|detect|locate|mark|highlight|highlite|circle|(?:draw )?box(?:es)? around|"
        r"(?:(?<=^)|(?<=and )|(?<=then )|(?<=please ))box|"  # "box every laptop": a verb
        r"(?:put|draw|add) (?:bounding )?box(?:es)? (?:on|around|over)) "
        r"(?:the|all|every|each|any)\b",
    ),
]


@dataclass(frozen=True)
class Example:
    """One in-context example: a query and the program that answers it."""

    query: str
    program: str


@dataclass(frozen=True)
class PromptSet:
    """A task's prompt file, loaded.

    Attributes:
        task: The task name (``gqa``, ``nlvr``, ``edit``, ``tag``, ``count``).
        title: One line describing the task.
        inputs: Input names the examples use (``IMAGE``, or ``LEFT`` and ``RIGHT``).
        tools: Step names the task may use (``Result`` is always allowed).
        header: The instructions shown before the tool list.
        examples: The in-context examples.
    """

    task: str
    title: str
    inputs: tuple[str, ...]
    tools: tuple[str, ...]
    header: str
    examples: tuple[Example, ...]

    def tool_list(self, registry: Registry | None = None) -> str:
        """The task's tools, one per line, rendered from their registered specs.

        Raises:
            ConfigurationError: When a listed tool is not registered.
        """
        reg = registry if registry is not None else REGISTRY
        lines = []
        for name in (*self.tools, "Result"):
            spec = reg.get(name)
            if spec is None:
                raise ConfigurationError(
                    f"prompt {self.task!r} lists the step {name!r}, which is not registered"
                )
            lines.append(f"{spec.signature()}: {spec.doc}")
        return "\n".join(lines)

    def head(self, registry: Registry | None = None) -> str:
        """Header and tool list: the part of the prompt that does not depend on the query."""
        return f"{self.header.strip()}\n\nSteps:\n{self.tool_list(registry)}\n"

    def version(self, registry: Registry | None = None) -> str:
        """A short hash of everything in the prompt but the query (for the program cache)."""
        text = self.head(registry) + "".join(e.query + e.program for e in self.examples)
        text += f"{bank_text()}{retrieve.K}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def prefix(self, registry: Registry | None = None) -> str:
        """Header and tools: the part shared by all queries of the task (its cache is reused)."""
        return self.head(registry) + "\n"

    def suffix(self, query: str) -> str:
        """The bank examples closest to ``query`` in shape (the closest last), then the question.

        See :mod:`visprog.planner.retrieve`: the examples differ per query, so only the
        header and tool list before them are read once and kept.
        """
        shown = retrieve.retrieve(query, self.task)
        return "".join(f"{block(e.query, e.program)}\n" for e in shown) + open_question(query)

    def render(self, query: str, registry: Registry | None = None) -> str:
        """The whole prompt for ``query``: :meth:`prefix` then :meth:`suffix`."""
        return self.prefix(registry) + self.suffix(query)


def block(query: str, program: str) -> str:
    """One example as the model sees it."""
    return f"Question: {query.strip()}\nProgram:\n{program.strip()}\n"


def open_question(query: str) -> str:
    """The unanswered question the model continues."""
    return f"Question: {' '.join(query.split())}\nProgram:\n"


@cache
def load_prompt(task: str) -> PromptSet:
    """The prompt file for ``task``, from the installed package data.

    Raises:
        ConfigurationError: For an unknown task or a malformed file.
    """
    if task not in TASKS:
        raise ConfigurationError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    text = resources.files("visprog.prompts").joinpath(f"{task}.toml").read_text("utf-8")
    try:
        data = tomllib.loads(text)
        return PromptSet(
            task=data["task"],
            title=data["title"],
            inputs=tuple(data["inputs"]),
            tools=tuple(data["tools"]),
            header=data["header"],
            examples=tuple(Example(e["query"], e["program"].strip()) for e in data["examples"]),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as e:
        raise ConfigurationError(f"prompts/{task}.toml is malformed: {e}") from e


def choose_task(query: str, n_images: int = 1) -> str:
    """The task whose prompt suits ``query`` (see the module docstring for the rules)."""
    if n_images >= 2:
        return "nlvr"
    text = query.lower()
    if person_names(query) and not _COUNTING.search(text):
        return "tag"  # "where is Tom Hanks?": his face, selected and boxed
    # "Is the sky blue or gray?" is a question, not a grey edit; "Can you blur it?" a request
    asking = text.rstrip().endswith("?") and _QUESTION.match(text) and not _REQUEST.match(text)
    for task, pattern in _KEYWORDS:
        if task == "edit" and asking:
            continue
        if re.search(pattern, text):
            return task
    # No keyword: the task of the closest bank example ("Soften everything but the cat").
    task = retrieve.best_task(query, ("gqa", "edit", "tag", "count")) or "gqa"
    # but a question is no edit ("What's the girl with the red hat doing?" was closest to an
    # edit's example); counting and tagging questions keep their task
    question = text.rstrip().endswith("?") or _QUESTION.match(text)
    if question and (task == "edit" or (task == "count" and not _COUNTING.search(text))):
        return "gqa"  # nor, without a counting word, a count ("which country's flag is that?")
    if question and task == "tag" and not _MANY.search(text):
        return "gqa"  # "what's the name of the shop across the street" is asked, not tagged
    return task
