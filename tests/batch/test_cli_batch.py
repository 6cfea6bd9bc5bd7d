"""``visprog batch`` and ``visprog eval`` end to end, with tools that need no model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from visprog.cli import main

LEFT_HALF = (
    "BOX0 = Loc(image=IMAGE, object='LEFT')\nN = Count(box=BOX0)\nFINAL_RESULT = Result(var=N)\n"
)


@pytest.fixture
def manifest(pictures: Path) -> Path:
    (pictures / "half.vp").write_text(LEFT_HALF)
    lines = [
        {
            "id": "a",
            "image": "g10.png",
            "program_file": "half.vp",
            "answer": 1,
            "category": "halves",
        },
        {
            "id": "b",
            "image": "g20.png",
            "program_file": "half.vp",
            "answer": 2,
            "category": "halves",
        },
        {"id": "c", "image": "broken.png", "program_file": "half.vp", "answer": 1},
        {
            "id": "d",
            "image": "g30.png",
            "program": "N = Nope(image=IMAGE)\nFINAL_RESULT = Result(var=N)",
        },
    ]
    path = pictures / "m.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def read(path: Path) -> dict[str, dict[str, object]]:
    return {json.loads(x)["id"]: json.loads(x) for x in path.read_text().splitlines()}


def test_batch_score_report_and_resume(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run" / "results.jsonl"
    args = [
        "batch",
        str(manifest),
        "-o",
        str(out),
        "--traces",
        str(tmp_path / "run" / "traces"),
        "--score",
        "-q",
    ]
    assert main(args) == 0
    results = read(out)
    assert {k: v["outcome"] for k, v in results.items()} == {
        "a": "correct",
        "b": "wrong answer",
        "c": "bad input",
        "d": "check failed",
    }
    assert (out.parent / str(results["a"]["trace"])).exists()
    report = out.with_suffix(".report.html")
    summary = json.loads(out.with_suffix(".report.json").read_text())
    assert summary["accuracy"] == 0.25 and 'href="traces/' in report.read_text()
    assert "accuracy 25.0% (1/4)" in capsys.readouterr().out
    assert main([*args[:-2], "--score"]) == 0  # resumed: nothing left to run
    assert "0 of 4 items to run" in capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 4
    assert main([*args, "--retry-failed"]) == 0
    assert len(out.read_text().splitlines()) == 6  # the two failures ran again


def test_images_folder_with_a_program(pictures: Path, tmp_path: Path) -> None:
    program = tmp_path / "p.vp"
    program.write_text(LEFT_HALF)
    out = tmp_path / "r.jsonl"
    assert (
        main(["batch", "--images", str(pictures), "--program", str(program), "-o", str(out), "-q"])
        == 0
    )
    assert {k: v["answer"] for k, v in read(out).items()} == {
        "g10.png": 1,
        "g20.png": 1,
        "g30.png": 1,
        "broken.png": None,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["batch"], "nothing to run"),
        (["batch", "{m}", "--query", "q"], "go with --images"),
        (["batch", "--images", "{d}"], "exactly one of --query or --program"),
        (["eval", "{m}", "--format", "gqa"], "needs --images"),
        (["batch", "{d}/bad.jsonl"], "bad.jsonl:2: not valid JSON"),
        (["batch", "{m}", "--workers", "0", "--ray"], "at least 1"),
        (["batch", "{m}", "--gpus-per-worker", "-1", "--ray"], "in [0, 1024]"),
        (["batch", "{m}", "--gpus-per-worker", "nan", "--ray"], "in [0, 1024]"),
    ],
)
def test_usage_errors_exit_10(
    args: list[str],
    message: str,
    manifest: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (manifest.parent / "bad.jsonl").write_text(
        '{"id": "a", "image": "g10.png", "query": "q"}\n{oops\n'
    )
    filled = [a.format(m=manifest, d=manifest.parent) for a in args]
    if "-o" not in filled:
        filled += ["-o", str(tmp_path / "r.jsonl")]
    assert main([*filled, "-q"]) == 10
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["batch", "{m}", "-o", "{m}"], ["batch", "{m}", "--score", "--report", "{m}"]],
)
def test_outputs_over_inputs_are_usage_errors(
    args: list[str], manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = manifest.read_bytes()
    filled = [a.format(m=manifest) for a in args]
    if "-o" not in filled:
        filled += ["-o", str(tmp_path / "r.jsonl")]
    assert main([*filled, "-q"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert manifest.read_bytes() == before


def test_eval_scores_a_manifest(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    report = tmp_path / "page.html"
    assert main(["eval", str(manifest), "-o", str(out), "--report", str(report), "-q"]) == 0
    assert json.loads(report.with_suffix(".json").read_text())["outcomes"] == {
        "correct": 1,
        "wrong answer": 1,
        "check failed": 1,
        "bad input": 1,
    }


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_batch_attempts_must_be_positive_as_for_run(
    value: str, manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(manifest), "-o", str(tmp_path / "r.jsonl"), "--attempts", value])
    assert exit_info.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_manifest_that_is_a_fifo_or_device_is_refused_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "m.jsonl"
    os.mkfifo(fifo)
    for manifest in (fifo, Path("/dev/zero")):
        assert main(["batch", str(manifest), "-o", str(tmp_path / "r.jsonl"), "-q"]) == 10
        assert "not a regular file" in capsys.readouterr().err


def test_a_manifest_line_without_an_end_is_read_only_up_to_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visprog.batch.manifest import MAX_LINE_BYTES

    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(b"x" * (MAX_LINE_BYTES + 10))
    assert main(["batch", str(manifest), "-o", str(tmp_path / "r.jsonl"), "-q"]) == 10
    assert "longer than" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_results_file_that_is_a_device_is_refused(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Resuming reads the results file back: reading /dev/full would never end.
    assert main(["batch", str(manifest), "-o", "/dev/full", "-q"]) == 13
    assert "not a regular file" in capsys.readouterr().err
