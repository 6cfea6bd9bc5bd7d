from __future__ import annotations

from typing import Any

import pytest

from visprog import Context, Image, Objects, Registry, ToolDeclarationError, register_tool, tool
from visprog.registry import REGISTRY, build_spec


def test_spec_comes_from_the_signature() -> None:
    def look(image: Image, object: str, threshold: float = 0.3, *, ctx: Context) -> Objects:
        """Find objects.

        More text.
        """
        return Objects.empty()

    spec = build_spec(look, "Look")
    assert [p.name for p in spec.params] == ["image", "object", "threshold"]
    assert spec.context_param == "ctx"
    assert spec.param("threshold") is not None and not spec.param("threshold").required  # type: ignore[union-attr]
    assert (
        spec.signature() == "Look(image: Image, object: text, threshold: number = 0.3) -> Objects"
    )
    assert spec.doc == "Find objects."


def _undocumented(image: Image) -> Image:
    return image


def _no_return(image: Image):  # type: ignore[no-untyped-def]
    """Doc."""
    return image


def _untyped(image) -> Image:  # type: ignore[no-untyped-def]
    """Doc."""
    return image  # type: ignore[no-any-return]


def _varargs(*images: Image) -> Image:
    """Doc."""
    return images[0]


def _bad_type(image: dict[str, int]) -> Image:
    """Doc."""
    raise NotImplementedError


def _bad_default(n: int = "three") -> int:  # type: ignore[assignment]
    """Doc."""
    return 0


@pytest.mark.parametrize(
    ("fn", "name", "message"),
    [
        (_undocumented, "Undocumented", "needs a docstring"),
        (_no_return, "NoReturn", "return type must be annotated"),
        (_untyped, "Untyped", "has no type annotation"),
        (_varargs, "VarArgs", "plain named parameter"),
        (_bad_type, "BadType", "not a visprog type"),
        (_bad_default, "BadDefault", "is not a number"),
        (_no_return, "lower_case", "CamelCase"),
    ],
)
def test_bad_declarations_fail_at_registration(fn: Any, name: str, message: str) -> None:
    with pytest.raises(ToolDeclarationError, match=message):
        register_tool(fn, name, registry=Registry())


def test_names_are_case_and_underscore_insensitive_and_clashes_fail() -> None:
    reg = Registry()

    @tool("CropLeftOf", aliases=("CropLeft",), registry=reg)
    def crop(image: Image) -> Image:
        """Doc."""
        return image

    assert reg.get("CROP_LEFTOF") is reg.get("cropleftof") is reg.get("Crop_Left")
    with pytest.raises(ToolDeclarationError, match="already taken"):
        register_tool(crop, "Other", aliases=("CROP_LEFT",), registry=reg)
    assert reg.suggest("CropLeftof")[0] == "CropLeftOf"


def test_builtin_tools_are_registered_with_visprog_spellings() -> None:
    for name in [
        "Count",
        "Crop",
        "CropLeftOf",
        "CropRightOf",
        "CropAbove",
        "CropBelow",
        "CropFrontOf",
        "CropBehind",
        "Eval",
        "Result",
        "Tag",
        "ColorPop",
        "BgBlur",
        "Blur",
        "FaceDet",
    ]:
        assert REGISTRY.get(name) is not None, name
    assert REGISTRY.get("CROP_INFRONTOF").name == "CropFrontOf"  # type: ignore[union-attr]
    assert REGISTRY.get("CROP_AHEAD").name == "CropAbove"  # type: ignore[union-attr]
    assert REGISTRY.get("FACEDET").model  # type: ignore[union-attr]
