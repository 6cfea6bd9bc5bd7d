"""Declared settings and models: one table feeds validation, `visprog tools` and the README."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import visprog
import visprog.tools  # noqa: F401  (declares the tools' options)
from visprog import Image, Registry, cli
from visprog.context import Context
from visprog.errors import ConfigurationError, ToolDeclarationError
from visprog.options import (
    MODELS,
    OPTIONS,
    TEXT_LIST,
    Option,
    declare_model,
    model_table,
    option,
    validate,
)

README = Path(__file__).parents[1] / "README.md"


def test_readme_model_table_is_the_declared_one() -> None:
    assert model_table() in README.read_text(encoding="utf-8")
    assert {"model.loc", "model.seg", "model.point", "model.vqa", "model.clip"} <= set(MODELS)


def test_visprog_tools_lists_every_declared_setting_and_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["tools"]) == 0
    out = capsys.readouterr().out
    for key, opt in OPTIONS.items():
        assert f"  {key:28} {opt.help} [{opt.accepted()}]" in out
    for decl in MODELS.values():
        assert f"{decl.setting:28} {decl.default}" in out


def test_every_model_setting_is_a_declared_option() -> None:
    for decl in MODELS.values():
        assert OPTIONS[decl.setting].default == decl.default
        assert all(OPTIONS[o.key] is o for o in decl.options)


def test_a_second_declaration_fails_at_import() -> None:
    with pytest.raises(ToolDeclarationError, match="declared twice"):
        option("loc.threshold", float, 0.1, "again")
    with pytest.raises(ToolDeclarationError, match="unsupported kind"):
        option("zz.new_key", dict, None, "a dict")
    assert "zz.new_key" not in OPTIONS


@pytest.mark.parametrize(
    ("opt", "value", "out"),
    [(Option("a.b", float, 0.0, "", 0.0, 1.0), "0.5", 0.5),
     (Option("a.b", float, 0.0, "", 0.0, 1.0), 1, 1.0),
     (Option("a.b", int, 0, "", 0), 4.0, 4),
     (Option("a.b", bool, True, ""), False, False),
     (Option("a.b", TEXT_LIST, [], ""), ("x {}", "y {}"), ["x {}", "y {}"]),
     (Option("a.b", str, "auto", "", choices=("auto", "x")), "x", "x")],
)  # fmt: skip
def test_option_converts_accepted_values(opt: Option, value: object, out: object) -> None:
    assert opt.check(value) == out and type(opt.check(value)) is type(out)


@pytest.mark.parametrize(
    "value", ["abc", "nan", float("nan"), float("inf"), "-inf", -0.1, 1.5, True, None, [0.5]]
)
def test_option_rejects_values_naming_key_and_range(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"setting a\.b: expected number in \[0, 1\], got"):
        Option("a.b", float, 0.0, "", 0.0, 1.0).check(value)


def test_validate_suggests_close_keys() -> None:
    with pytest.raises(ConfigurationError, match="did you mean facedet.min_score"):
        validate({"facedet.min_scor": 0.5})
    assert validate({"facedet.min_score": "0.5"}) == {"facedet.min_score": 0.5}


@pytest.fixture
def declarations() -> Iterator[None]:
    """Undo the declarations a test makes (OPTIONS and MODELS are process-wide tables)."""
    options, models = dict(OPTIONS), dict(MODELS)
    yield
    OPTIONS.clear()
    OPTIONS.update(options)
    MODELS.clear()
    MODELS.update(models)


def test_a_new_model_tool_is_one_declaration_and_one_function(
    declarations: None, rgb: Image, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything else (settings, validation, env, tools listing, model table, cache key) follows."""
    loads: list[tuple[str, str, str]] = []

    def load_probe(model_id: str, device: str, dtype: str, settings: Mapping[str, Any]) -> Any:
        loads.append((model_id, device, dtype))
        return {"id": model_id}

    gain = option("zzprobe.gain", float, 1.0, "the probe's gain", 0.0, 10.0)
    decl = declare_model("ZzProbe", "model.zzprobe", "org/zz-probe", load_probe, kind="zzprobe",
                         help="ZzProbe's model", dtype="float32", options=(gain,))  # fmt: skip
    reg = Registry()
    for spec in visprog.REGISTRY:
        reg.add(spec)

    @visprog.tool("ZzProbe", registry=reg)
    def zz_probe(image: Image, ctx: Context) -> float:
        """Width times the gain (and loads its model)."""
        ctx.load_model(decl)
        return float(ctx.option(gain) * image.width)

    pytest.importorskip("torch")  # load_model resolves the device with torch
    session = visprog.Session({"zzprobe.gain": 2}, registry=reg, device="cpu", environ={})
    program = "A = ZzProbe(image=IMAGE)\nB = ZzProbe(image=IMAGE)\nR = Result(var=B)"
    trace = session.run(program, rgb)
    assert trace.result == 128.0 and loads == [("org/zz-probe", "cpu", "float32")]
    assert session.models.loaded() == ["zzprobe:org/zz-probe:float32@cpu"]
    assert trace.steps[0].models == ["org/zz-probe on cpu"]
    env = visprog.Session(registry=reg, environ={"VISPROG_ZZPROBE_GAIN": "3"})
    assert env.settings == {"zzprobe.gain": 3.0}
    with pytest.raises(ConfigurationError, match="did you mean zzprobe.gain"):
        visprog.Session({"zzprobe.gian": 1}, environ={})
    with pytest.raises(ConfigurationError, match=r"zzprobe.gain: expected number in \[0, 10\]"):
        visprog.Session({"zzprobe.gain": 11}, environ={})
    assert "| ZzProbe | `model.zzprobe` | `org/zz-probe` | `hf download org/zz-probe` |" in (
        model_table()
    )
    assert cli.main(["tools"]) == 0
    out = capsys.readouterr().out
    assert f"{'model.zzprobe':28} org/zz-probe" in out and "zzprobe.gain" in out
