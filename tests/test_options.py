"""Declared settings and models: one table feeds validation, `visprog tools` and the README."""

from __future__ import annotations

from pathlib import Path

import pytest

import visprog.tools  # noqa: F401  (declares the tools' options)
from visprog import cli
from visprog.errors import ConfigurationError, ToolDeclarationError
from visprog.options import MODELS, OPTIONS, TEXT_LIST, Option, model_table, option, validate

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
