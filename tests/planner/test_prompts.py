"""Prompt files: every example parses and checks, tool lists render from the specs, task choice."""

from __future__ import annotations

from functools import cache

import lark
import pytest

import visprog
from visprog.planner.grammar import program_grammar
from visprog.planner.prompts import TASKS, PromptSet, choose_task, load_prompt
from visprog.registry import REGISTRY, Registry, build_spec
from visprog.values import Image, Objects

EXAMPLES = [(task, ex) for task in TASKS for ex in load_prompt(task).examples]


def test_every_task_has_at_least_eight_examples() -> None:
    for task in TASKS:
        prompt = load_prompt(task)
        assert prompt.task == task
        assert len(prompt.examples) >= 8, task
        assert len({e.query for e in prompt.examples}) == len(prompt.examples), task


@pytest.mark.parametrize(("task", "example"), EXAMPLES, ids=[f"{t}:{e.query}" for t, e in EXAMPLES])
def test_example_parses_and_checks(task: str, example: object) -> None:
    prompt = load_prompt(task)
    program = visprog.parse(example.program)  # type: ignore[attr-defined]
    assert visprog.check(program, list(prompt.inputs)) == []
    used = {REGISTRY.get(s.step).name for s in program.statements}  # type: ignore[union-attr]
    assert used <= {*prompt.tools, "Result"}, "examples use only the task's steps"


@cache
def _grammar_parser(task: str) -> lark.Lark:
    prompt = load_prompt(task)
    return lark.Lark(program_grammar(prompt.inputs, prompt.tools).to_lark(), parser="earley")


@pytest.mark.parametrize(("task", "example"), EXAMPLES, ids=[f"{t}:{e.query}" for t, e in EXAMPLES])
def test_example_is_a_sentence_of_the_generation_grammar(task: str, example: object) -> None:
    """What the model is shown is exactly what it can write under the grammar."""
    _grammar_parser(task).parse(example.program.strip())  # type: ignore[attr-defined]


def test_tool_list_is_rendered_from_the_registered_specs() -> None:
    prompt = load_prompt("edit")
    lines = prompt.tool_list().splitlines()
    assert len(lines) == len(prompt.tools) + 1
    for name, line in zip((*prompt.tools, "Result"), lines, strict=True):
        spec = REGISTRY.get(name)
        assert spec is not None
        assert line == f"{spec.signature()}: {spec.doc}"
    text = prompt.render("Blur every face")
    assert "FaceDet(image: Image) -> Objects" in text
    assert text.endswith("Question: Blur every face\nProgram:\n")


def test_a_changed_signature_changes_the_prompt_and_its_version() -> None:
    def blur(image: Image, object: Objects, strength: float = 1.0) -> Image:
        """Blur the objects, harder."""
        return image

    reg = Registry()
    for spec in REGISTRY:
        reg.add(spec)
    before = load_prompt("edit")
    old_text, old_version = before.tool_list(reg), before.version(reg)
    reg.add(build_spec(blur, "Blur"), replace=True)
    assert (
        "Blur(image: Image, object: Objects, strength: number = 1.0) -> Image"
        in before.tool_list(reg)
    )
    assert before.tool_list(reg) != old_text
    assert before.version(reg) != old_version


def test_a_missing_tool_is_a_clear_error() -> None:
    prompt = PromptSet("x", "t", ("IMAGE",), ("NoSuchStep",), "h", ())
    with pytest.raises(visprog.ConfigurationError, match="NoSuchStep"):
        prompt.tool_list()


def test_unknown_task() -> None:
    with pytest.raises(visprog.ConfigurationError, match="unknown task"):
        load_prompt("poetry")


@pytest.mark.parametrize(
    ("query", "images", "task"),
    [
        ("How many faces are in the picture?", 1, "count"),
        ("Blur every face", 1, "edit"),
        ("Replace the red car with a blue bus", 1, "edit"),
        ("Make the background grey", 1, "edit"),
        ("Hide the faces with an emoji", 1, "edit"),
        ("Tag the main characters of Friends", 1, "tag"),
        ("Label each fruit", 1, "tag"),
        ("Point to the cups", 1, "count"),
        ("Where is the cat?", 1, "count"),
        ("What is the man holding?", 1, "gqa"),
        ("Is there a dog left of the car?", 1, "gqa"),
        ("The left image has more dogs than the right one.", 2, "nlvr"),
        ("Make the car red", 1, "edit"),
        ("Censor the faces", 1, "edit"),
        ("Paint the fence white", 1, "edit"),
        ("What is in the painting?", 1, "gqa"),
        ("Is the cover of the book red?", 1, "gqa"),
        ("Find all the cars", 1, "tag"),
        ("Draw boxes around the dogs", 1, "tag"),
        ("Is there a question mark?", 1, "gqa"),
        ("Are there at least three birds?", 1, "count"),
        ("Are there more cats than dogs?", 1, "count"),
        ("remove the car that is parked on the street", 1, "edit"),
        ("Get rid of the trash can", 1, "edit"),
    ],
)
def test_choose_task(query: str, images: int, task: str) -> None:
    assert choose_task(query, images) == task


def test_the_prompt_is_the_cached_head_then_retrieved_examples_then_the_question() -> None:
    prompt = load_prompt("count")
    query = "How many faces are there?"
    text = prompt.render(query)
    assert text.startswith(prompt.prefix())  # the part whose key/value cache is reused
    assert prompt.prefix() == load_prompt("count").prefix()  # the same for every query
    suffix = prompt.suffix(query)
    assert suffix.count("Question:") == 4 and suffix.endswith(f"Question: {query}\nProgram:\n")
    last_example = text.rsplit("Question:", 2)[1]
    assert "FaceDet" in last_example and "faces" in last_example


def test_comparing_two_counts_goes_to_the_counting_prompt() -> None:
    assert choose_task("Are there fewer chairs than tables?") == "count"
    assert choose_task("Is the chair bigger than the table?") == "gqa"


@pytest.mark.parametrize(
    ("query", "task"),
    [
        ("Classify each fruit as apple or pear", "tag"),
        ("Put a smiley on every face", "edit"),
        # no keyword: the closest bank example decides
        ("Make everything grey except the dog", "edit"),
    ],
)
def test_task_choice_by_keyword_or_retrieval(query: str, task: str) -> None:
    assert choose_task(query) == task
