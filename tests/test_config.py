"""Settings: TOML file < VISPROG_* environment < arguments, and the CLI/API wiring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import visprog
from visprog import cli
from visprog.config import (
    load_settings,
    parse_assignments,
    parse_value,
    read_file,
)
from visprog.errors import ConfigurationError


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "visprog.toml"
    path.write_text(
        '[model]\nloc = "from-file/loc"\nseg = "from-file/seg"\n\n[loc]\nthreshold = 0.3\n'
    )
    return path


def test_precedence_file_env_arguments(toml_file: Path) -> None:
    env = {"VISPROG_MODEL_SEG": "from-env/seg", "VISPROG_LOC_THRESHOLD": "0.4"}
    settings = load_settings(toml_file, {"loc.threshold": 0.5}, environ=env)
    assert settings == {"model.loc": "from-file/loc", "model.seg": "from-env/seg",
                        "loc.threshold": 0.5}  # fmt: skip


def test_env_names_split_at_the_first_underscore() -> None:
    env = {"VISPROG_FACEDET_MIN_SCORE": "0.8", "VISPROG_CONFIG": "/x", "VISPROG_DEBUG": "1",
           "OTHER_MODEL_LOC": "x"}  # fmt: skip
    assert load_settings(None, environ={**env, "VISPROG_CONFIG": ""}) == {"facedet.min_score": 0.8}


def test_default_file_comes_from_visprog_config(toml_file: Path) -> None:
    assert load_settings(environ={"VISPROG_CONFIG": str(toml_file)})["model.loc"] == "from-file/loc"


def test_user_config_file(tmp_path: Path) -> None:
    (tmp_path / "visprog").mkdir()
    (tmp_path / "visprog" / "config.toml").write_text("[point]\nprompt = 'Point to {object}!'\n")
    settings = load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings == {"point.prompt": "Point to {object}!"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.2", 0.2), ("3", 3), ("true", True), ("[1, 2]", [1, 2]), ('"quoted"', "quoted"),
     ("google/owlv2-base-patch16", "google/owlv2-base-patch16"), ("/a b/c.pt", "/a b/c.pt")],
)  # fmt: skip
def test_parse_value(text: str, value: object) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("items", "match"),
    [(["loc.threshold"], "expected KEY=VALUE"), (["threshold=1"], "section.name"),
     (["Model.Loc=x"], "section.name")],
)  # fmt: skip
def test_bad_assignments(items: list[str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        parse_assignments(items)


@pytest.mark.parametrize(
    ("content", "match"),
    [("[model\nloc = 1", "not valid TOML"), ("loc = 1", "must be a table")],
)
def test_bad_files(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=match):
        read_file(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigurationError, match="cannot read the config file"):
        read_file("/no/such/visprog.toml")


def test_cli_config_and_set(toml_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISPROG_MODEL_LOC", raising=False)
    args = cli.build_parser().parse_args(
        ["run", "-p", "x.vp", "img.jpg", "--config", str(toml_file), "--set", "loc.threshold=0.05",
         "--set", "model.point=/models/molmo"]
    )  # fmt: skip
    settings = cli.run_settings(args)
    assert settings["model.loc"] == "from-file/loc" and settings["loc.threshold"] == 0.05
    assert settings["model.point"] == "/models/molmo"


def test_cli_run_passes_settings_to_tools(
    tmp_path: Path, astronaut_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("facenet_pytorch")
    program = str(Path(__file__).parents[1] / "demos" / "programs" / "count_faces.vp")
    base = ["run", "-q", "--device", "cpu", "-p", program, str(astronaut_path)]
    assert cli.main(base) == 0
    assert cli.main([*base, "--set", "facedet.min_score=1.0"]) == 0
    assert capsys.readouterr().out.split() == ["1", "0"]  # the setting reached FaceDet
    assert cli.main([*base, "--set", "loc=1"]) == 10  # a malformed key: configuration error


def test_api_config_argument(toml_file: Path, rgb: visprog.Image) -> None:
    program = "B = Loc(image=IMAGE, object='TOP')\nR = Result(var=B)"
    trace = visprog.execute(program, rgb, config=toml_file, settings={"loc.nms": 0.3})
    assert trace.result.labels == ("top",)
    with pytest.raises(ConfigurationError, match="cannot read the config file"):
        visprog.execute(program, rgb, config="/no/such.toml")


@pytest.mark.parametrize(
    ("settings", "match"),
    [({"loc.nms": "abc"}, r"setting loc.nms: expected number in \[0, 1\], got 'abc'"),
     ({"loc.nms": True}, "loc.nms: expected number"),
     ({"loc.nms": 1.5}, r"in \[0, 1\], got 1.5"),
     ({"loc.nms": [1]}, "expected number"),
     ({"loc.threshold": float("nan")}, "loc.threshold: expected number in"),
     ({"loc.threshold": "nan"}, "loc.threshold: expected number in"),
     ({"models.budget_gb": float("inf")}, r"models.budget_gb: expected number in \[1e-06"),
     ({"models.budget_gb": 0}, "models.budget_gb"),
     ({"seg.max_objects": 2.5}, "seg.max_objects: expected integer >= 1, got 2.5"),
     ({"classify.one_per_category": "yes"}, "expected true or false"),
     ({"models.dtype": "fp8"}, "models.dtype: expected one of auto, float32"),
     ({"loc.backend": "detr"}, "loc.backend: expected one of auto, owlv2"),
     ({"clip.templates": [1, 2]}, "clip.templates: expected list of text"),
     ({"loc.treshold": 0.3}, "unknown setting 'loc.treshold'; did you mean loc.threshold"),
     ({"vqa.max_tokens": 3}, "did you mean vqa.max_new_tokens"),
     ({"zzz.qqq": 3}, r"unknown setting 'zzz.qqq' \(visprog tools"),
     ({"vqa.prompt": "Describe it."}, r"vqa.prompt: expected text holding \{question\}"),
     ({"clip.templates": ["a {}", "no slot"]}, "clip.templates: expected list of text holding")],
)  # fmt: skip
def test_session_rejects_bad_settings_before_anything_loads(
    settings: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        visprog.Session(settings, environ={})
    assert info.value.exit_code == 10


def test_settings_are_converted_once() -> None:
    session = visprog.Session(
        {"loc.nms": "0.25", "seg.max_objects": 3.0, "loc.threshold": 1}, environ={}
    )
    assert session.settings == {"loc.nms": 0.25, "seg.max_objects": 3, "loc.threshold": 1.0}
    assert isinstance(session.settings["seg.max_objects"], int)


def test_cli_unknown_and_out_of_range_settings_exit_10(
    rgb: visprog.Image, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.vp"
    program.write_text("B = Loc(image=IMAGE, object='TOP')\nR = Result(var=B)\n")
    image = tmp_path / "i.png"
    rgb.to_pil().save(image)
    base = ["run", "-q", "-p", str(program), str(image)]
    assert cli.main([*base, "--set", "loc.treshold=0.3"]) == 10
    assert "did you mean loc.threshold" in capsys.readouterr().err
    assert cli.main([*base, "--set", "loc.threshold=abc"]) == 10
    assert "expected number in [0, 1], got 'abc'" in capsys.readouterr().err
    assert cli.main([*base, "--set", "models.budget_gb=inf"]) == 10
    assert cli.main([*base, "--set", "loc.threshold=0.3"]) == 0


@pytest.mark.parametrize(
    ("var", "match"),
    [("VISPROG_LOC_TRESHOLD", "environment variable VISPROG_LOC_TRESHOLD: unknown setting "
      r"'loc.treshold'; did you mean VISPROG_LOC_THRESHOLD \(loc.threshold\)\?"),
     ("VISPROG_MODLE_LOC", r"VISPROG_MODLE_LOC: .*did you mean VISPROG_MODEL_LOC \(model.loc\)"),
     ("VISPROG_LLM_BASE_URL", "VISPROG_LLM_BASE_URL: unknown setting 'llm.base_url'")],
)  # fmt: skip
def test_a_misspelt_setting_in_the_environment_is_an_error(var: str, match: str) -> None:
    """A declared section (loc, llm) or a key close to a declared one: a typo, not a stranger."""
    with pytest.raises(ConfigurationError, match=match) as info:
        visprog.Session(environ={var: "0.3"})
    assert info.value.exit_code == 10


def test_other_visprog_variables_are_ignored_with_one_line_each() -> None:
    """Another tool's VISPROG_* variable must not stop every command (it did: exit 10)."""
    said: list[str] = []
    env = {"VISPROG_FOO_BAR": "1", "VISPROG_HOME_DIR": "/x", "VISPROG_LOC_THRESHOLD": "0.3",
           "VISPROG_CACHE": "/c", "VISPROG_LLM": "default", "VISPROG_CONFIG": ""}  # fmt: skip
    session = visprog.Session(environ=env, log=said.append)
    assert session.settings == {"loc.threshold": 0.3}
    assert said == [
        "ignoring VISPROG_FOO_BAR: not a visprog setting (visprog tools lists them)",
        "ignoring VISPROG_HOME_DIR: not a visprog setting (visprog tools lists them)",
    ]


def test_cli_with_foreign_and_misspelt_environment_variables(
    rgb: visprog.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    program = tmp_path / "p.vp"
    program.write_text("B = Loc(image=IMAGE, object='TOP')\nN = Count(box=B)\nR = Result(var=N)\n")
    image = tmp_path / "i.png"
    rgb.to_pil().save(image)
    args = ["run", "-p", str(program), str(image)]
    monkeypatch.setenv("VISPROG_CONFIG", os.devnull)
    monkeypatch.setenv("VISPROG_FOO_BAR", "1")
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "1" and "ignoring VISPROG_FOO_BAR" in captured.err
    monkeypatch.setenv("VISPROG_LOC_TRESHOLD", "0.3")
    assert cli.main(args) == 10
    assert "did you mean VISPROG_LOC_THRESHOLD" in capsys.readouterr().err


def test_a_bad_setting_in_a_config_file_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.vp"
    program.write_text("A = Eval(expr='1')\nR = Result(var=A)\n")
    typo, bad = tmp_path / "typo.toml", tmp_path / "bad.toml"
    typo.write_text("[loc]\ntreshold = 0.3\n")
    bad.write_text('[loc]\nthreshold = "abc"\n')
    assert cli.main(["check", str(program), "--config", str(typo)]) == 10
    assert f"{typo}: unknown setting 'loc.treshold'; did you mean loc.threshold" in (
        capsys.readouterr().err
    )
    assert cli.main(["check", str(program), "--config", str(bad)]) == 10
    assert f"{bad}: setting loc.threshold: expected number" in capsys.readouterr().err
    with pytest.raises(visprog.ConfigurationError, match=str(typo)):
        visprog.Session(config=typo, environ={})
