"""The Session: one owner of settings, device, models and services; every entry point uses it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from planner.conftest import ScriptedBackend

import visprog
from visprog import cli
from visprog.context import Context
from visprog.options import ModelDecl
from visprog.session import default_session, looks_like_program

COUNT_TOP = "B = Loc(image=IMAGE, object='TOP')\nN = Count(box=B)\nR = Result(var=N)\n"


def test_run_a_program_text_or_parsed(rgb: visprog.Image) -> None:
    session = visprog.Session(environ={})
    assert session.run(COUNT_TOP, rgb).result == 1
    assert session.run(visprog.parse(COUNT_TOP), rgb).result == 1
    assert session.check(COUNT_TOP) == [] and session.check(COUNT_TOP, ["LEFT"]) != []


def test_run_a_query_writes_the_program_with_the_session_llm(rgb: visprog.Image) -> None:
    backend = ScriptedBackend([COUNT_TOP], name="scripted-writer")
    session = visprog.Session(services={"llm": backend}, environ={})
    trace = session.run("How many tops are there?", rgb)
    assert trace.result == 1 and trace.query == "How many tops are there?"
    assert trace.generation and trace.generation[0]["model"] == "scripted-writer"
    assert trace.filename == "<generated: How many tops are there?>"
    assert "How many tops are there?" in backend.prompts[0]


def test_write_program_then_run_the_generation(rgb: visprog.Image) -> None:
    session = visprog.Session(services={"llm": ScriptedBackend([COUNT_TOP])}, environ={})
    gen = session.write_program("How many tops?", ["IMAGE"])
    assert gen.program.strip() == COUNT_TOP.strip()
    assert session.run(gen, rgb).query == "How many tops?"


@pytest.mark.parametrize(
    ("text", "program"),
    [(COUNT_TOP, True), ("# c\n\nx0 = vqa(image=IMAGE, question='q')", True),
     ("How many dogs are there?", False), ("Is x = y (really)?", False), ("", False)],
)  # fmt: skip
def test_program_or_query(text: str, program: bool) -> None:
    assert looks_like_program(text) is program


def test_a_bad_program_text_is_a_syntax_error_not_a_query(rgb: visprog.Image) -> None:
    session = visprog.Session(services={"llm": ScriptedBackend([])}, environ={})
    with pytest.raises(visprog.VisprogSyntaxError):
        session.run("B = Loc(image=IMAGE, object='TOP'\nR = Result(var=B)", rgb)


def test_sessions_do_not_share_settings_or_models() -> None:
    a = visprog.Session({"models.budget_gb": 1.0, "loc.nms": 0.2}, environ={})
    b = visprog.Session(environ={})
    assert a.models is not b.models
    assert a.models.budget_bytes == 2**30 and b.models.budget_bytes is None
    assert "loc.nms" not in b.settings


def test_execute_reuses_one_default_session(rgb: visprog.Image) -> None:
    visprog.execute(COUNT_TOP, rgb)
    first = default_session()
    visprog.execute(COUNT_TOP, rgb)
    assert default_session() is first
    # With options, a Session of its own: the default one is left as it was.
    visprog.execute(COUNT_TOP, rgb, settings={"loc.nms": 0.3})
    assert "loc.nms" not in default_session().settings


def _counting_decl(calls: list[str]) -> ModelDecl:
    def loader(model_id: str, device: str, dtype: str, settings: Mapping[str, Any]) -> object:
        calls.append(dtype)
        return object()

    return ModelDecl("Probe", "model.probe", "probe-id", loader, kind="probe")


def test_a_long_running_session_that_changes_dtype_gets_a_new_model() -> None:
    pytest.importorskip("torch")
    session = visprog.Session({"models.dtype": "float32"}, device="cpu", environ={})
    calls: list[str] = []
    decl = _counting_decl(calls)

    def load() -> object:
        return Context(session.device, session.models, settings=session.settings).load_model(decl)[
            0
        ]

    first = load()
    assert load() is first and calls == ["float32"]
    session.update({"models.dtype": "float16"})
    second = load()
    assert second is not first and calls == ["float32", "float16"]
    assert sorted(session.models.loaded()) == [
        "probe:probe-id:float16@cpu",
        "probe:probe-id:float32@cpu",
    ]
    with pytest.raises(visprog.ConfigurationError, match="models.dtype"):
        session.update({"models.dtype": "fp4"})
    assert session.settings["models.dtype"] == "float16"  # unchanged by the failed update


def test_list_asks_the_session_llm_held_by_its_model_manager(tmp_path: Path) -> None:
    program = "L = List(query='colours', max=2)\nR = Result(var=L)\n"
    session = visprog.Session({"llm.backend": "openai:m@http://127.0.0.1:9/v1"}, environ={})
    assert session.llm.spec == "openai:m@http://127.0.0.1:9/v1"
    with pytest.raises(visprog.StepFailedError):  # nothing listens there: the call fails ...
        session.run(program, None)
    assert session.models.loaded() == ["llm:openai:m@http://127.0.0.1:9/v1@auto"]  # ... held here


def test_list_without_a_session_llm_says_so() -> None:
    from visprog.interpreter import Interpreter

    interp = Interpreter()
    with pytest.raises(visprog.StepFailedError) as info:
        interp.run("L = List(query='colours', max=2)\nR = Result(var=L)\n", {})
    assert isinstance(info.value.error, visprog.ModelUnavailableError)
    assert "visprog.Session" in str(info.value.error)


def test_cli_run_goes_through_one_session(
    rgb: visprog.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[visprog.Session] = []
    real_init = visprog.Session.__init__

    def spy(self: visprog.Session, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(visprog.Session, "__init__", spy)
    program = tmp_path / "p.vp"
    program.write_text(COUNT_TOP)
    image = tmp_path / "i.png"
    rgb.to_pil().save(image)
    args = ["run", "-q", "--device", "cpu", "--set", "loc.nms=0.4", "-p", str(program), str(image)]
    assert cli.main(args) == 0
    assert len(made) == 1 and made[0].settings["loc.nms"] == 0.4 and made[0].device == "cpu"


def test_bind_inputs_names_like_the_cli() -> None:
    arr = np.zeros((4, 5, 3), np.uint8)
    session = visprog.Session(environ={})
    assert list(session.bind(arr)) == ["IMAGE"]
    assert list(session.bind([arr, arr])) == ["LEFT", "RIGHT"]
