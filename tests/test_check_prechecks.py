"""`visprog check` runs the tools' prechecks; repair feeds a precheck's refusal back to the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from visprog.cli import main
from visprog.errors import ToolArgumentError, ToolExecutionError, VisprogError
from visprog.interpreter import StepFailedError
from visprog.planner.repair import RuntimeRepair
from visprog.syntax import parse
from visprog.trace import ErrorInfo, StepRecord, Trace

PROGRAM = (
    "F = FaceDet(image=IMAGE)\n"
    "I = Emoji(image=IMAGE, object=F, emoji='{name}')\n"
    "R = Result(var=I)\n"
)


def _write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "p.vp"
    path.write_text(PROGRAM.format(name=name))
    return path


def test_check_refuses_an_emoji_name_unicode_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("emoji")
    assert main(["check", str(_write(tmp_path, "smilingxx"))]) == 6
    err = capsys.readouterr().err
    assert "line 2 (Emoji)" in err and "unknown emoji 'smilingxx'" in err
    assert main(["check", str(_write(tmp_path, "grinning_face"))]) == 0
    assert "ok (3 statements)" in capsys.readouterr().out


def test_check_validates_the_settings_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "grinning_face")
    assert main(["check", str(path), "--set", "loc.treshold=0.3"]) == 10
    assert "did you mean loc.threshold" in capsys.readouterr().err


def test_an_emoji_named_by_a_reference_is_left_to_run_time() -> None:
    pytest.importorskip("emoji")
    from visprog.interpreter import precheck
    from visprog.registry import REGISTRY

    program = parse(
        "F = FaceDet(image=IMAGE)\nI = Emoji(image=IMAGE, object=F, emoji=NAME)\nR = Result(var=I)"
    )
    precheck(program, REGISTRY, {})  # nothing to refuse: NAME is known only when it runs
    with pytest.raises(ToolArgumentError, match="line 2"):
        precheck(parse(PROGRAM.format(name="nope_nope")), REGISTRY, {})


def _failed(error: VisprogError) -> StepFailedError:
    trace = Trace(program="", steps=[StepRecord(1, 2, "I", "Classify", "I = Classify(...)")])
    trace.error = ErrorInfo.of(error, 2)
    return StepFailedError(error, trace)


def test_runtime_repair_turns_both_kinds_of_argument_error_into_a_diagnostic() -> None:
    program = parse("R = Result(var=IMAGE)")
    refusals: list[VisprogError] = [
        ToolArgumentError("line 2 (Emoji): unknown emoji 'x'"),  # a precheck, before any step
        _failed(ToolArgumentError("unknown category")),  # a step, while running
    ]

    def run(_: object) -> Trace:
        raise refusals.pop(0)

    repair = RuntimeRepair(run)
    first, second = repair(program), repair(program)
    assert first == ["runtime error: line 2 (Emoji): unknown emoji 'x'"]
    assert second == ["runtime error: line 2 (Classify): unknown category"]
    assert repair.trace is None


def test_runtime_repair_raises_what_is_not_the_programs_fault() -> None:
    def run(_: object) -> Trace:
        raise _failed(ToolExecutionError("a bug in the tool"))

    with pytest.raises(StepFailedError):
        RuntimeRepair(run)(parse("R = Result(var=IMAGE)"))
