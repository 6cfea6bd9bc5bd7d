"""The example bank and retrieval by structure (``prompts/bank.toml``, bank.py, retrieve.py).

Every expanded example parses and checks against the real registry; a seeded sample (one per
template, plus more) is admitted by the scoped grammar of its own query, so the bank teaches only
programs the model can write. Retrieval picks examples of the query's shape.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

import visprog
from visprog.planner.backends.local import TransformersBackend
from visprog.planner.bank import load_bank
from visprog.planner.prompts import TASKS, load_prompt
from visprog.planner.retrieve import masked, retrieve, shape, shape_words
from visprog.planner.scope import ScopedProgram
from visprog.planner.vocab import query_vocabulary
from visprog.registry import REGISTRY

from .test_scope import admits

BANK = load_bank()


def test_the_bank_covers_every_task_and_is_deterministic() -> None:
    assert {e.task for e in BANK} == set(TASKS)
    assert len(BANK) > 500
    assert len({e.template for e in BANK}) >= 50
    load_bank.cache_clear()
    assert load_bank() == BANK  # seeded: the same examples every time


def test_the_bank_covers_every_step_and_relation() -> None:
    used = {REGISTRY.get(s.step).name for e in BANK for s in visprog.parse(e.program).statements}
    offered = {t for task in TASKS for t in load_prompt(task).tools}
    assert offered <= used, offered - used


def test_every_bank_program_parses_and_checks() -> None:
    visprog.api.ensure_tools()
    bad = []
    for e in BANK:
        prompt = load_prompt(e.task)
        program = visprog.parse(e.program)
        steps = {REGISTRY.get(s.step).name for s in program.statements}  # type: ignore[union-attr]
        if visprog.check(program, list(prompt.inputs)) or not steps <= {*prompt.tools, "Result"}:
            bad.append(e.query)
    assert bad == []


def _sample() -> list[object]:
    """One example of every template and 40 more, drawn with a fixed seed."""
    by: dict[str, list[object]] = defaultdict(list)
    for e in BANK:
        by[e.template].append(e)
    rng = random.Random(7)
    return [v[0] for v in by.values()] + rng.sample(list(BANK), 40)


def test_bank_programs_are_sentences_of_their_querys_scoped_grammar(
    tiny: TransformersBackend,
) -> None:
    from visprog.tools.emoji import emoji_names

    visprog.api.ensure_tools()
    names = list(emoji_names())
    refused = []
    for e in _sample():
        prompt = load_prompt(e.task)  # type: ignore[attr-defined]
        emoji = names if "Emoji" in prompt.tools else []
        sp = ScopedProgram(prompt.inputs, prompt.tools, query_vocabulary(e.query, emoji))  # type: ignore[attr-defined]
        if not admits(tiny, sp, e.program):  # type: ignore[attr-defined]
            refused.append(e.query)  # type: ignore[attr-defined]
    assert refused == [], refused


def test_masking_keeps_shape_words_and_hides_content() -> None:
    assert masked("How many cups are to the left of the kettle?") == [
        "how", "many", "X", "are", "to", "left", "of", "X",
    ]  # fmt: skip
    assert masked("Are there at least 3 teapots?") == ["are", "there", "at", "least", "N", "X"]
    assert {"more", "than", "behind", "replace", "neither"} <= shape_words()
    assert "kettle" not in shape_words()


@pytest.mark.parametrize(
    ("task", "query", "step"),
    [
        ("count", "How many mugs are underneath the shelf?", "CropBelow"),
        ("count", "Count the lamps behind the sofa", "CropBehind"),
        ("gqa", "What colour is the cup in front of the laptop?", "CropFrontOf"),
        ("gqa", "Is there a cat to the right of the tree?", "CropRightOf"),
        ("nlvr", "There are seven geese in total.", "+"),
        ("nlvr", "Neither image shows a tram.", "not"),
        ("edit", "Swap the mug for a teapot", "Replace"),
        ("edit", "Keep only the scooter in colour", "ColorPop"),
        ("tag", "Label each tool as hammer, saw or drill", "Classify"),
        ("count", "Are there fewer knives than forks?", "<"),
    ],
)
def test_the_closest_example_has_the_querys_shape(task: str, query: str, step: str) -> None:
    shown = retrieve(query, task)
    assert len(shown) == 3
    assert step in shown[-1].program, shown[-1]
    assert len({shape(e.program) for e in shown}) == 3  # three different patterns


def test_in_the_picture_means_the_whole_image() -> None:
    assert masked("How many faces are in the picture?") == ["how", "many", "faces", "are"]
    assert "FaceDet" in retrieve("How many faces are in the picture?", "count")[-1].program
