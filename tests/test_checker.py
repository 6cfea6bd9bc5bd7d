from __future__ import annotations

import pytest

from visprog import Image, Objects, Points, Registry, check, parse, tool
from visprog.errors import Diagnostic
from visprog.registry import Expression


def _registry() -> Registry:
    """A small registry of declared test tools (the checker needs only their signatures)."""
    reg = Registry()

    @tool("Find", aliases=("LOC",), registry=reg)
    def find(image: Image, object: str) -> Objects:
        """Find objects."""
        raise NotImplementedError  # never called: checking runs nothing

    @tool("Count", registry=reg)
    def count(box: Objects | Points) -> int:
        """Count."""
        return len(box)

    @tool("CropLeftOf", registry=reg)
    def crop_left_of(image: Image, box: Objects) -> Image:
        """Crop."""
        return image

    @tool("Classify", registry=reg)
    def classify(
        image: Image, object: Objects, categories: list[str] | str, top: int = 1
    ) -> Objects:
        """Classify."""
        return object

    @tool("Eval", registry=reg)
    def eval_(expr: Expression) -> int | float | str | bool:
        """Eval."""
        return 0

    @tool("Result", registry=reg)
    def result(var: object) -> object:
        """Result."""
        return var

    return reg


REG = _registry()


def issues(src: str, inputs: list[str] | None = None) -> list[Diagnostic]:
    return check(parse(src), inputs, REG)


def test_a_correct_program_has_no_issues() -> None:
    src = """BOX0 = FIND(image=IMAGE, object='dog')
IMAGE0 = CROP_LEFTOF(image=IMAGE, box=BOX0)
N = Count(box=BOX0)
OBJ = Classify(image=IMAGE0, object=BOX0, categories='cat,dog', top=2)
OBJ1 = Classify(image=IMAGE0, object=BOX0, categories=['cat', 'dog'])
ANSWER = Eval(expr="'yes' if {N} > 0 else 'no'")
FINAL_RESULT = Result(var=ANSWER)"""
    assert issues(src) == []


@pytest.mark.parametrize(
    ("src", "code", "line", "message"),
    [
        (
            "A = Fnd(image=IMAGE, object='x')\nR = Result(var=A)",
            "unknown-step",
            1,
            "did you mean 'Find'",
        ),
        (
            "A = Find(image=IMAGE, objet='x')\nR = Result(var=A)",
            "unknown-argument",
            1,
            "did you mean 'object'",
        ),
        (
            "A = Find(image=IMAGE)\nR = Result(var=A)",
            "missing-argument",
            1,
            "needs the argument 'object'",
        ),
        (
            "A = Find(image=IMAGE, object='x', object='y')\nR = Result(var=A)",
            "duplicate-argument",
            1,
            "twice",
        ),
        (
            "A = Count(box=B0X)\nB0X = Find(image=IMAGE, object='x')\nR = Result(var=A)",
            "used-before-assigned",
            1,
            "used before it is assigned",
        ),
        (
            "A = Count(box=BOXX)\nR = Result(var=A)",
            "undefined-variable",
            1,
            "undefined variable 'BOXX'",
        ),
        (
            "A = Count(box=BOX0)\nR = Result(var=A)",
            "undefined-variable",
            1,
            "undefined variable 'BOX0'",
        ),
        (
            "A = Find(image=LEFT, object='x')\nR = Result(var=A)",
            "missing-input",
            1,
            "input 'LEFT' was not provided",
        ),
        (
            "A = Find(image=IMAGE, object='x')\nA = Count(box=A)\nR = Result(var=A)",
            "reassigned",
            2,
            "already assigned on line 1",
        ),
        (
            "IMAGE = Find(image=IMAGE, object='x')\nR = Result(var=IMAGE)",
            "reassigned",
            1,
            "is an input",
        ),
        (
            "A = Count(box=IMAGE)\nR = Result(var=A)",
            "type-mismatch",
            1,
            "expects Objects or Points, got Image",
        ),
        (
            "A = Find(image=IMAGE, object=3)\nR = Result(var=A)",
            "type-mismatch",
            1,
            "expects text, got number",
        ),
        (
            "A = Find(image=IMAGE, object='x')\nB = Find(image=A, object='y')\nR = Result(var=B)",
            "type-mismatch",
            2,
            "(A from line 1)",
        ),
        (
            "A = Find(image=IMAGE, object=['x', 1])\nR = Result(var=A)",
            "list-items",
            1,
            "only hold text",
        ),
        ("A = Find(image=IMAGE, object='x')", "missing-result", 1, "no Result step"),
        ("", "empty-program", 1, "empty"),
        ("R = Result(var=IMAGE)\nA = Count(box=IMAGE)", "result-not-last", 1, "last statement"),
        (
            "A = Eval(expr='{N} + 1')\nR = Result(var=A)",
            "undefined-variable",
            1,
            "undefined variable 'N'",
        ),
        (
            "A = Eval(expr='{IMAGE} + 1')\nR = Result(var=A)",
            "type-mismatch",
            1,
            "Eval works on numbers",
        ),
        (
            "A = Eval(expr=\"'y' if {IMAGE} > 0 and else 'n'\")\nR = Result(var=A)",
            "expression-syntax",
            1,
            "dangling 'and'",
        ),
        (
            "T = Eval(expr='1')\nA = Eval(expr=T)\nR = Result(var=A)",
            "expression-not-literal",
            2,
            "written in the program",
        ),
    ],
)
def test_each_issue_is_reported_with_code_and_line(
    src: str, code: str, line: int, message: str
) -> None:
    found = issues(src)
    matching = [d for d in found if d.code == code]
    assert matching, found
    assert matching[0].line == line
    assert message in matching[0].message


def test_all_issues_are_reported_together_in_order() -> None:
    src = """A = Fnd(image=IMAGE, object='x')
B = Count(box=Q)
C = Find(image=IMAGE, object=1)
D = Eval(expr="{ZZ} > 1")"""
    found = issues(src)
    assert [d.code for d in found] == [
        "unknown-step",
        "undefined-variable",
        "type-mismatch",
        "missing-result",
        "undefined-variable",
    ]
    assert [d.line for d in found] == [1, 2, 3, 4, 4]


def test_eval_reference_columns_point_into_the_string() -> None:
    src = 'A = Eval(expr="{X} + 1")\nR = Result(var=A)'
    d = issues(src)[0]
    assert (d.line, d.column, d.end_column) == (1, 16, 19)
    assert src.splitlines()[0][d.column - 1 : d.end_column - 1] == "{X}"


def test_declared_inputs_make_names_available() -> None:
    src = "A = Find(image=LEFT, object='x')\nB = Find(image=RIGHT, object='x')\nR = Result(var=B)"
    assert issues(src, ["LEFT", "RIGHT"]) == []
    assert [d.code for d in issues(src, ["IMAGE"])] == ["missing-input", "missing-input"]
    assert issues(src.replace("LEFT", "IMAGE"), "IMAGE,RIGHT") == []  # type: ignore[arg-type]


def test_checker_with_the_real_registry_knows_visprog_spellings() -> None:
    src = (
        "OBJ0=FACEDET(image=IMAGE)\n"
        "IMAGE0=CROP_INFRONTOF(image=IMAGE,box=OBJ0)\n"
        "FINAL_RESULT=RESULT(var=IMAGE0)"
    )
    assert check(parse(src)) == []
