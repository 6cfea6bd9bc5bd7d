"""The step-synchronous scheduler: batched forms get a round's calls, everything else as before.

Fake tools (the plumbing is the point); the real batched forms are compared with their single
path in tests/tools/test_batched_forward.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from visprog.batch.manifest import Item
from visprog.batch.runner import Engine, EngineOptions, run_batch
from visprog.context import Context
from visprog.errors import ConfigurationError, ToolArgumentError, ToolDeclarationError
from visprog.registry import Registry, register_tool
from visprog.values import Image

PROGRAM = """L = Level(image=IMAGE)
B = Brightness(image=IMAGE)
FINAL_RESULT = Result(var=L)
"""


class Forwards:
    """The size of each batched call, and the single calls, of the fake ``Level`` tool."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.singles = 0


def level_of(image: Image) -> float:
    value = float(image.pixels.mean())
    if value > 25:  # one bad input: its item fails, with the tool's own error
        raise ToolArgumentError(f"Level: too bright ({value:g})")
    return value


@pytest.fixture
def forwards(registry: Registry) -> Forwards:
    seen = Forwards()

    def level(image: Image, ctx: Context) -> float:
        """The mean pixel value; refuses bright images."""
        seen.singles += 1
        ctx.note("alone")
        return level_of(image)

    def level_batched(calls: list[dict[str, Any]]) -> list[float]:
        seen.batches.append(len(calls))
        for call in calls:
            call["ctx"].note("batched")  # undone if the forward fails as a whole
        return [level_of(call["image"]) for call in calls]

    register_tool(level, "Level", registry=registry, batched=level_batched)
    return seen


def items(pictures: Path, levels: list[int]) -> list[Item]:
    return [
        Item(id=f"q{n}", images={"IMAGE": pictures / f"g{level}.png"}, program=PROGRAM)
        for n, level in enumerate(levels)
    ]


def engine(registry: Registry, batched: bool = True, size: int | None = None) -> Engine:
    settings = {} if size is None else {"batch.size": size}
    options = EngineOptions(
        device="cpu", program_cache=False, settings=settings, batched_forward=batched
    )
    return Engine(options, registry=registry)


def test_a_round_goes_through_the_batched_form_in_chunks(
    registry: Registry, forwards: Forwards, pictures: Path
) -> None:
    # Ten distinct images' worth of calls: the memo would answer repeats, so use share=False.
    batch = items(pictures, [10, 20] * 5)
    e = Engine(
        EngineOptions(device="cpu", program_cache=False, share=False, settings={"batch.size": 4}),
        registry=registry,
    )
    results = list(run_batch(batch, e))
    # Scheduling groups by image (five g10 then five g20), groups of 4: 4 | 4 | 2.
    assert forwards.batches == [4, 4, 2] and forwards.singles == 0
    assert sorted((r.id, r.answer) for r in results) == sorted(
        (f"q{n}", 10.0 if n % 2 == 0 else 20.0) for n in range(10)
    )


def test_batched_equals_one_by_one_and_the_unbatched_tool_still_runs(
    registry: Registry, forwards: Forwards, calls: Any, pictures: Path
) -> None:
    batch = items(pictures, [10, 20, 10, 20])
    fast = list(run_batch(batch, engine(registry)))
    assert forwards.batches == [2] and forwards.singles == 0  # two distinct images: the memo
    assert calls.count == 2  # Brightness (no batched form): once per image
    slow = list(run_batch(batch, engine(registry, batched=False)))
    assert forwards.singles == 2
    assert [(r.id, r.answer, r.ok) for r in fast] == [(r.id, r.answer, r.ok) for r in slow]


def test_a_failing_call_fails_only_its_item(
    registry: Registry, forwards: Forwards, pictures: Path
) -> None:
    results = {r.id: r for r in run_batch(items(pictures, [10, 30, 20]), engine(registry))}
    assert forwards.batches == [3]  # the forward failed as a whole...
    assert forwards.singles == 3  # ...so each call ran alone, with its own answer or error
    assert results["q0"].answer == 10.0 and results["q2"].answer == 20.0
    assert results["q1"].ok is False and results["q1"].error is not None
    assert results["q1"].error["type"] == "ToolArgumentError"
    assert "too bright" in results["q1"].error["message"]


def test_notes_of_a_failed_forward_are_dropped(
    registry: Registry, forwards: Forwards, pictures: Path, tmp_path: Path
) -> None:
    import json

    traces = tmp_path / "traces"
    results = list(run_batch(items(pictures, [10, 30]), engine(registry), traces=traces))
    ok = next(r for r in results if r.ok)
    assert ok.trace is not None
    trace = json.loads((traces / ok.trace).with_suffix(".json").read_text())
    assert trace["steps"][0]["notes"] == ["alone"]


def test_batch_size_is_validated(registry: Registry, pictures: Path) -> None:
    with pytest.raises(ConfigurationError, match="batch.size"):
        list(run_batch(items(pictures, [10]), engine(registry, size=0)))


def test_a_batched_form_must_take_the_list_of_calls() -> None:
    def tool_fn(image: Image) -> float:
        """A tool."""
        return 0.0

    def two_args(calls: list[dict[str, Any]], extra: int) -> list[float]:
        return []

    with pytest.raises(ToolDeclarationError, match="batched must take one argument"):
        register_tool(tool_fn, "Bad", registry=Registry(), batched=two_args)
    with pytest.raises(ToolDeclarationError, match="batched must be callable"):
        register_tool(tool_fn, "Bad", registry=Registry(), batched=3)  # type: ignore[arg-type]
