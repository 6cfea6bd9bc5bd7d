from __future__ import annotations

import pytest

from visprog import VisprogSyntaxError, parse
from visprog.program import ListValue, Literal, Ref

VISPROG_GQA = """BOX0=LOC(image=IMAGE,object='table')
IMAGE0=CROP_RIGHTOF(image=IMAGE,box=BOX0)
BOX1=LOC(image=IMAGE0,object='chair')
ANSWER0=COUNT(box=BOX1)
ANSWER1=EVAL(expr="'yes' if {ANSWER0} > 0 else 'no'")
FINAL_RESULT=RESULT(var=ANSWER1)"""


def test_visprog_published_style_parses() -> None:
    program = parse(VISPROG_GQA)
    assert [s.step for s in program.statements] == [
        "LOC",
        "CROP_RIGHTOF",
        "LOC",
        "COUNT",
        "EVAL",
        "RESULT",
    ]
    first = program.statements[0]
    assert first.target == "BOX0" and first.line == 1
    assert first.args[0].name == "image" and first.args[0].value == Ref(
        "IMAGE", first.args[0].value.span
    )
    assert first.args[1].value.value == "table"  # type: ignore[union-attr]
    assert program.statements[4].args[0].value.value == "'yes' if {ANSWER0} > 0 else 'no'"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'a\\'b'", "a'b"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'tab\\tand\\nline'", "tab\tand\nline"),
        ("'back\\\\slash'", "back\\slash"),
        ("'keep \\d'", "keep \\d"),
        ("'# not a comment'", "# not a comment"),
        ("3", 3),
        ("-2", -2),
        ("0.5", 0.5),
        ("-1.5e2", -150.0),
        (".25", 0.25),
        ("True", True),
        ("False", False),
        ("None", None),
    ],
)
def test_literal_values(text: str, expected: object) -> None:
    value = parse(f"X = Step(a={text})").statements[0].args[0].value
    assert isinstance(value, Literal)
    assert value.value == expected and type(value.value) is type(expected)


def test_lists_comments_blank_lines_crlf_and_no_trailing_newline() -> None:
    src = "# header\r\n\r\nA = Step(items=['x', \"y\",], n=2)  # trailing\r\n\r\n# end\r\nB = Other(v=A)"
    program = parse(src)
    assert [s.target for s in program.statements] == ["A", "B"]
    items = program.statements[0].args[0].value
    assert isinstance(items, ListValue)
    assert [i.value for i in items.items] == ["x", "y"]  # type: ignore[union-attr]
    assert program.statements[1].line == 6


def test_byte_order_mark_and_old_mac_line_ends() -> None:
    program = parse("\ufeffA = Step(a=1)\rB = Step(b=A)")
    assert [(s.target, s.line) for s in program.statements] == [("A", 1), ("B", 2)]


def test_wrapped_arguments_and_empty_program() -> None:
    program = parse("A = Step(\n    a=1,\n    b=[\n      'x',\n    ],\n)\nB = Step()")
    assert len(program.statements) == 2 and program.statements[1].line == 7
    assert parse("").statements == ()
    assert parse("# only a comment\n\n").statements == ()


def test_positions_are_one_based_columns() -> None:
    st = parse("  X = Loc(image=IMAGE, object='dog')").statements[0]
    assert (st.target_span.line, st.target_span.column) == (1, 3)
    assert st.step_span.column == 7
    assert st.args[1].value.span.column == 31


@pytest.mark.parametrize(
    ("src", "line", "column", "message"),
    [
        ("A = Loc(image=IMAGE object='x')", 1, 21, "missing comma"),
        ("A = Loc(image=IMAGE, object='dog)", 1, 29, "unclosed string"),
        ("A = Loc(image=IMAGE", 1, 8, "unclosed parenthesis"),
        ("A = Loc(image=IMAGE\nB = Count(box=A)", 1, 8, "unclosed parenthesis"),
        ("A = Loc(object=['a', 'b')", 1, 16, "unclosed bracket"),
        ("A Loc(image=IMAGE)", 1, 3, "missing '='"),
        ("Loc(image=IMAGE)", 1, 4, "must assign its result"),
        ("A = Loc(image IMAGE)", 1, 15, "missing '=' after 'image'"),
        ("A = Loc(IMAGE, 'dog')", 1, 14, "arguments must be named"),
        ("A = Loc(image=)", 1, 15, "missing value"),
        ("A = Loc", 1, 8, r"missing '\('"),
        ("A = Loc(image=IMAGE) B = Count(box=A)", 1, 22, "one statement per line"),
        ("ok = Step(a=1)\nA = Loc(image=IMAGE.x)", 2, 20, "attribute access"),
        ("A = Loc(image=IMAGE, object='dog') ;", 1, 36, "unexpected character ';'"),
    ],
)
def test_syntax_errors_are_labelled_and_located(
    src: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(VisprogSyntaxError, match=message) as info:
        parse(src, "prog.vp")
    diag = info.value.diagnostics[0]
    assert (diag.line, diag.column) == (line, column)
    rendered = str(info.value)
    assert rendered.startswith(f"prog.vp:{line}:{column}: error: ")
    caret_line = rendered.splitlines()[2]
    assert caret_line.index("^") - 4 == column - 1  # the caret sits under the column


def test_non_text_program_is_a_syntax_error() -> None:
    with pytest.raises(VisprogSyntaxError, match="expected program text"):
        parse(b"A = B()")  # type: ignore[arg-type]
