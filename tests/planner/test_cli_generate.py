"""``visprog run "query" IMAGE``: generation flags, cache, progress, errors (tiny local model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visprog.cli import main
from visprog.planner.cache import ProgramCache, cache_key
from visprog.planner.prompts import load_prompt

PROGRAM = (
    "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\nFINAL_RESULT = Result(var=ANSWER0)\n"
)
QUERY = "How many faces are in the picture?"


def _seed_cache(cache_dir: Path, spec: str) -> None:
    key = cache_key(QUERY, "count", ("IMAGE",), spec, load_prompt("count").version())
    ProgramCache(cache_dir / "programs").put(key, {"program": PROGRAM})


def test_cached_program_runs_without_loading_the_model(
    program_cache_dir: Path,
    astronaut_path: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    spec = f"hf:{tmp_path / 'no-such-model'}"  # never loaded: the cache answers
    _seed_cache(program_cache_dir, spec)
    trace = tmp_path / "trace.json"
    code = main(
        ["run", QUERY, str(astronaut_path), "--llm", spec, "--show-program", "--json", str(trace)]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith(PROGRAM) and out.rstrip().endswith("1")
    assert "from the program cache" in err
    import json

    assert json.loads(trace.read_text())["generation"][0]["cached"] is True


def test_program_only_prints_and_stops(
    program_cache_dir: Path,
    astronaut_path: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    spec = f"hf:{tmp_path / 'no-such-model'}"
    _seed_cache(program_cache_dir, spec)
    assert main(["run", QUERY, str(astronaut_path), "--llm", spec, "--program-only", "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == PROGRAM and err == ""


def test_no_cache_generates_with_progress_on_stderr(
    program_cache_dir: Path,
    astronaut_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_lm_dir: Path,
    one_thread: None,
) -> None:
    spec = f"hf:{tiny_lm_dir}"
    _seed_cache(program_cache_dir, spec)
    args = ["run", QUERY, str(astronaut_path), "--llm", spec, "--no-cache", "--program-only"]
    code = main([*args, "--attempts", "1", "--device", "cpu", "--task", "count"])
    out, err = capsys.readouterr()
    assert "writing the program (count prompt, attempt 1)" in err
    assert f"loading {tiny_lm_dir}" in err
    if code == 0:  # a random model may happen to write a valid program
        assert out.strip().splitlines()[-1].startswith("FINAL_RESULT = Result(")
    else:
        assert code == 9 and "did not write a valid program" in err


def test_a_bad_llm_spec_is_a_configuration_error(
    program_cache_dir: Path, astronaut_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "Blur every face", str(astronaut_path), "--llm", "bogus", "-q"]) == 10
    assert "openai:MODEL" in capsys.readouterr().err


def test_query_without_images(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "Blur every face"]) == 10
    assert "images" in capsys.readouterr().err


def test_run_repairs_a_tool_argument_error_with_the_model(
    program_cache_dir: Path,
    astronaut_path: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A program that checks but fails at run time (an unknown emoji) goes back to the model."""
    pytest.importorskip("emoji")
    pytest.importorskip("facenet_pytorch")
    import json

    import visprog.planner.backends as backends

    from .conftest import ScriptedBackend

    bad = (
        "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='smiling')\n"
        "FINAL_RESULT = Result(var=IMAGE0)\n"
    )
    scripted = ScriptedBackend([bad, bad.replace("'smiling'", "'grinning_face'")])
    monkeypatch.setattr(backends, "shared_backend", lambda *a, **k: scripted)
    monkeypatch.setattr(backends, "make_backend", lambda *a, **k: scripted)
    trace = tmp_path / "trace.json"
    query = "Hide every face with a smiling emoji"
    code = main(["run", query, str(astronaut_path), "--llm", "scripted", "--json", str(trace)])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "unknown emoji 'smiling'" in scripted.prompts[1]  # the message went to the model
    records = json.loads(trace.read_text())["generation"]
    assert [len(r["diagnostics"]) for r in records] == [1, 0]
    assert records[0]["diagnostics"][0].startswith("runtime error: line 2 (Emoji)")


def test_runtime_repair_is_bounded(
    program_cache_dir: Path,
    astronaut_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("emoji")
    pytest.importorskip("facenet_pytorch")
    import visprog.planner.backends as backends

    from .conftest import ScriptedBackend

    bad = (
        "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='smiling')\n"
        "FINAL_RESULT = Result(var=IMAGE0)\n"
    )
    scripted = ScriptedBackend([bad, bad])
    monkeypatch.setattr(backends, "shared_backend", lambda *a, **k: scripted)
    monkeypatch.setattr(backends, "make_backend", lambda *a, **k: scripted)
    args = ["run", "Hide the faces", str(astronaut_path), "--llm", "x", "--attempts", "2", "-q"]
    assert main(args) == 9  # GenerationError: no valid program in 2 attempts
    assert "unknown emoji" in capsys.readouterr().err and scripted.replies == []
