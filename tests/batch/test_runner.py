"""The runner: every failure recorded per item, shared steps computed once, resume and retry.

These use fake tools (the plumbing is the point); the real tools run in test_bench.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visprog.batch.manifest import Item
from visprog.batch.results import ResultsFile
from visprog.batch.runner import Engine, EngineOptions, classify, run_batch, schedule
from visprog.errors import (
    CheckError,
    GenerationError,
    ImageLoadError,
    VisprogError,
)
from visprog.interpreter import StepFailedError
from visprog.registry import Registry

from .conftest import Calls, FakeWriter

BRIGHT = "B = Brightness(image=IMAGE)\nFINAL_RESULT = Result(var=B)\n"
HALF_BRIGHT = """BOX0 = Loc(image=IMAGE, object='LEFT')
IMAGE0 = Crop(image=IMAGE, box=BOX0)
B = Brightness(image=IMAGE0)
ANSWER0 = Eval(expr="'dark' if {B} < 15 else 'light'")
FINAL_RESULT = Result(var=ANSWER0)
"""


def item(id: str, image: Path, **fields: object) -> Item:
    return Item(id=id, images={"IMAGE": image}, **fields)  # type: ignore[arg-type]


def engine(registry: Registry, share: bool = True, writer: FakeWriter | None = None) -> Engine:
    e = Engine(EngineOptions(device="cpu", share=share, program_cache=False), registry=registry)
    if writer is not None:
        e.write_programs = writer.many  # type: ignore[method-assign]
    return e


def test_identical_steps_run_once_with_the_same_answers(
    registry: Registry, calls: Calls, pictures: Path
) -> None:
    items = [
        item(f"q{i}", pictures / "g10.png", program=p)
        for i, p in enumerate([BRIGHT, HALF_BRIGHT] * 3)
    ]
    items.append(item("other", pictures / "g30.png", program=HALF_BRIGHT))
    shared = list(run_batch(items, engine(registry)))
    assert calls.count == 3  # whole g10, left half of g10, left half of g30
    calls.count = 0
    alone = list(run_batch(items, engine(registry, share=False)))
    assert calls.count == 7
    assert [r.answer for r in shared] == [r.answer for r in alone] == [10.0, "dark"] * 3 + ["light"]
    assert all(r.outcome == "not scored" and r.ok for r in shared)


def test_a_shared_step_says_so_in_its_trace(
    registry: Registry, pictures: Path, tmp_path: Path
) -> None:
    items = [item(f"q{i}", pictures / "g10.png", program=BRIGHT) for i in range(2)]
    results = list(run_batch(items, engine(registry), traces=tmp_path / "traces"))
    second = json.loads((tmp_path / "traces" / results[1].trace).with_suffix(".json").read_text())
    assert any("shared" in n for n in second["steps"][0]["notes"])
    first = json.loads((tmp_path / "traces" / results[0].trace).with_suffix(".json").read_text())
    assert not first["steps"][0]["notes"]


def test_every_failure_is_recorded_and_the_batch_goes_on(
    registry: Registry, pictures: Path
) -> None:
    writer = FakeWriter(
        {"how bright?": BRIGHT, "unchecked?": "X = Nope(image=IMAGE)\nFINAL_RESULT = Result(var=X)"}
    )
    items = [
        item("ok", pictures / "g20.png", program=BRIGHT, answer=20),
        item("wrong", pictures / "g20.png", program=BRIGHT, answer=21),
        item("syntax", pictures / "g20.png", program="B = = 1"),
        item(
            "check",
            pictures / "g20.png",
            program="B = Count(box=IMAGE)\nFINAL_RESULT = Result(var=B)",
        ),
        item(
            "crash",
            pictures / "g20.png",
            program="B = Explode(image=IMAGE)\nFINAL_RESULT = Result(var=B)",
        ),
        item("broken", pictures / "broken.png", program=BRIGHT),
        item("missing", pictures / "absent.png", program=BRIGHT),
        item("query", pictures / "g10.png", query="how bright?", answer="10"),
        item("no-program", pictures / "g10.png", query="what?"),
        item("bad-generated", pictures / "g10.png", query="unchecked?"),
    ]
    out = {r.id: r for r in run_batch(items, engine(registry, writer=writer))}
    assert {k: r.outcome for k, r in out.items()} == {
        "ok": "correct",
        "wrong": "wrong answer",
        "syntax": "check failed",
        "check": "check failed",
        "crash": "step failed",
        "broken": "bad input",
        "missing": "bad input",
        "query": "correct",
        "no-program": "no program",
        "bad-generated": "check failed",
    }
    assert out["crash"].error == {
        "type": "ToolExecutionError",
        "message": "Explode failed: ValueError: boom",
        "exit_code": 7,
    }
    assert out["check"].error is not None and out["check"].error["exit_code"] == 4
    assert out["missing"].error is not None and out["missing"].error["type"] == "ImageLoadError"
    assert out["query"].program == BRIGHT and out["no-program"].program is None
    assert writer.asked == ["how bright?", "what?", "unchecked?"]  # each distinct query once
    assert writer.batches == [3]  # all together, before any item runs


def test_programs_are_written_once_per_distinct_query(registry: Registry, pictures: Path) -> None:
    writer = FakeWriter({"how bright?": BRIGHT})
    items = [
        item(f"{i}", pictures / f"g{lvl}.png", query="how bright?")
        for i, lvl in enumerate((10, 20, 30, 10))
    ]
    answers = [r.answer for r in run_batch(items, engine(registry, writer=writer))]
    assert writer.asked == ["how bright?"]
    assert sorted(answers) == [10.0, 10.0, 20.0, 30.0]


def test_resume_and_retry(registry: Registry, pictures: Path, tmp_path: Path) -> None:
    items = [item(f"g{lvl}", pictures / f"g{lvl}.png", program=BRIGHT) for lvl in (10, 20, 30)]
    items.append(item("broken", pictures / "broken.png", program=BRIGHT))
    path = tmp_path / "results.jsonl"

    def stop_after_first(result: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C right after the first result was stored

    with pytest.raises(KeyboardInterrupt):
        list(
            run_batch(
                items, engine(registry), results=ResultsFile(path), on_result=stop_after_first
            )
        )
    assert len(path.read_text().splitlines()) == 1
    rest = [r.id for r in run_batch(items, engine(registry), results=ResultsFile(path))]
    assert rest == ["g20", "g30", "broken"]
    assert [r.id for r in run_batch(items, engine(registry), results=ResultsFile(path))] == []
    retried = list(run_batch(items, engine(registry), results=ResultsFile(path), retry_failed=True))
    assert [r.id for r in retried] == ["broken"]
    assert set(ResultsFile(path).finished()) == {"g10", "g20", "g30", "broken"}


def test_schedule_groups_items_by_image(pictures: Path) -> None:
    a, b = pictures / "g10.png", pictures / "g20.png"
    items = [
        item("1", a, program=BRIGHT),
        item("2", b, program=BRIGHT),
        item("3", a, program=BRIGHT),
    ]
    assert [i.id for i in schedule(items)] == ["1", "3", "2"]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (GenerationError("x"), "no program"),
        (CheckError([]), "check failed"),
        (ImageLoadError("x"), "bad input"),
        (VisprogError("x"), "step failed"),
        (RuntimeError("x"), "internal error"),
    ],
)
def test_classify(error: BaseException, outcome: str) -> None:
    assert classify(error) == outcome


def test_step_failed_is_a_step_failure() -> None:
    from visprog.trace import Trace

    assert classify(StepFailedError(VisprogError("x"), Trace(program=""))) == "step failed"


def test_session_batch_uses_the_sessions_models(
    registry: Registry, calls: Calls, pictures: Path
) -> None:
    from visprog import Session

    session = Session(device="cpu", registry=registry)
    items = [item(f"q{i}", pictures / "g20.png", program=BRIGHT) for i in range(3)]
    results = list(session.batch(items))
    assert [r.answer for r in results] == [20.0] * 3 and calls.count == 1
    engine = Engine(session=session)
    assert engine.session.models is session.models and engine.session.settings == session.settings


def test_the_memo_is_bounded_by_entries_and_bytes() -> None:
    import numpy as np

    from visprog.batch.share import LRU
    from visprog.values import Image

    lru = LRU(limit=3, max_bytes=10_000)
    for i in range(5):
        lru[i] = i
    assert list(lru) == [2, 3, 4]
    _ = lru[2]  # used: now the newest
    lru[5] = 5
    assert list(lru) == [4, 2, 5]
    big = Image(np.zeros((40, 40, 3), np.uint8))  # 4,800 bytes
    lru[6], lru[7] = (big, []), (big, [])
    assert lru.bytes <= 10_000 and 7 in lru and 6 in lru and len(lru) <= 3
    lru[8] = (big, [])
    assert 6 not in lru and lru.bytes <= 10_000
