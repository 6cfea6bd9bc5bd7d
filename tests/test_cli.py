from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from visprog import Trace
from visprog.cli import main

DEMOS = Path(__file__).resolve().parents[1] / "demos"


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visprog", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_ok_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.vp"
    good.write_text("OBJ0 = FaceDet(image=IMAGE)\nR = Result(var=OBJ0)\n")
    assert main(["check", str(good)]) == 0
    bad = tmp_path / "bad.vp"
    bad.write_text("OBJ0 = FaceDett(image=IMAGE)\nN = Count(box=OBJ1)\n")
    out = run_cli("check", str(bad))
    assert out.returncode == 4
    assert f"{bad}:1:8: error: unknown step 'FaceDett'; did you mean 'FaceDet'?" in out.stderr
    assert f"{bad}:2:15: error: undefined variable 'OBJ1'" in out.stderr
    assert "Traceback" not in out.stderr


def test_check_syntax_error_exit_code_and_caret(tmp_path: Path) -> None:
    bad = tmp_path / "s.vp"
    bad.write_text("A = FaceDet(image=IMAGE\n")
    out = run_cli("check", str(bad))
    assert out.returncode == 3
    assert (
        "s.vp:1:12: error: unclosed parenthesis" in out.stderr
        and "    A = FaceDet(image=IMAGE\n               ^" in out.stderr
    )


def test_check_inputs_and_stdin() -> None:
    program = "A = FaceDet(image=LEFT)\nB = FaceDet(image=RIGHT)\nR = Result(var=B)"
    assert run_cli("check", "-", stdin=program).returncode == 4
    out = run_cli("check", "-", "--inputs", "LEFT,RIGHT", stdin=program)
    assert out.returncode == 0 and "ok (3 statements)" in out.stdout


def test_tools_lists_every_step_with_signature_and_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tools"]) == 0
    text = capsys.readouterr().out
    assert "Count(box: Objects | Points) -> number" in text
    assert "FaceDet(image: Image) -> Objects" in text and "model: MTCNN" in text


def test_run_writes_result_trace_and_html(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--program",
        str(DEMOS / "programs" / "blur_faces.vp"),
        str(DEMOS / "images" / "astronaut.jpg"),
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "o.png"),
        "--json",
        str(tmp_path / "t.json"),
        "--html",
        str(tmp_path / "t.html"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "image 512x512"
    assert "[1/3] OBJ0 = FaceDet" in out.stderr
    trace = Trace.load(tmp_path / "t.json")
    assert trace.ok and len(trace.steps) == 3 and (tmp_path / "o.png").stat().st_size > 1000
    assert "<html" in (tmp_path / "t.html").read_text()


def test_run_failure_keeps_the_partial_trace(tmp_path: Path) -> None:
    prog = tmp_path / "p.vp"
    prog.write_text("A = Eval(expr='1 / 0')\nR = Result(var=A)\n")
    out = run_cli("run", "-q", "--program", str(prog), "--json", str(tmp_path / "t.json"))
    assert (
        out.returncode == 7
        and "ToolExecutionError" in out.stderr
        and "division by zero" in out.stderr
    )
    assert not Trace.load(tmp_path / "t.json").ok


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "--program", "missing.vp", "x.jpg"], 10, "cannot read program"),
        (["run", "--program", "{prog}", "nope.jpg"], 5, "nope.jpg: no such file"),
        (["run", "--program", "{prog}", "--image", "bad"], 10, "expected NAME=PATH"),
        (["run", "--program", "{prog}", "{img}", "--device", "tpu"], 10, "unknown device 'tpu'"),
        (["run", "--program", "{prog}", "{img}", "--max-pixels", "100"], 5, "more than the limit"),
        (["run", "--program", "{prog}", "{img}", "{img}", "{img}"], 10, "name them with --image"),
        (["run", "--program", "{prog}", "{img}", "{img}"], 4, "input 'IMAGE' was not provided"),
        (
            ["run", "--program", "{prog}", "{img}", "--out", "{tmp}/x.png"],
            10,
            "--out needs an image",
        ),
        (["run"], 10, "nothing to run"),
    ],
)
def test_run_errors_have_their_exit_codes(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    prog = tmp_path / "p.vp"
    prog.write_text("F = FaceDet(image=IMAGE)\nN = Count(box=F)\nR = Result(var=N)\n")
    values = {"prog": str(prog), "img": str(DEMOS / "images" / "coffee.jpg"), "tmp": str(tmp_path)}
    out = run_cli(*[a.format(**values) for a in args], "-q")
    assert out.returncode == code, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    out = run_cli("run", "--debug", "--program", str(tmp_path / "missing.vp"))
    assert out.returncode == 10 and "Traceback" in out.stderr
