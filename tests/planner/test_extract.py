"""Pure parsers of model output: programs from chat replies, items from List replies."""

from __future__ import annotations

import pytest

from visprog.planner.backends.base import cut_at_stop
from visprog.planner.extract import extract_program
from visprog.tools.list import list_prompt, parse_list

PROGRAM = "OBJ0 = FaceDet(image=IMAGE)\nFINAL_RESULT = Result(var=OBJ0)\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PROGRAM, PROGRAM),
        (f"```python\n{PROGRAM}```", PROGRAM),
        (f"Sure! Here it is:\n\n{PROGRAM}\nThis finds faces.", PROGRAM),
        (f"{PROGRAM}Question: next one\nProgram:\nX = Y()\n", PROGRAM),
        (
            "  OBJ0 = FaceDet(image=IMAGE)\n  final_result = RESULT(var=OBJ0)\nmore",
            "OBJ0 = FaceDet(image=IMAGE)\nfinal_result = RESULT(var=OBJ0)\n",
        ),
        (
            "OBJ0 = FaceDet(image=IMAGE)\nthis is not code\n",
            "OBJ0 = FaceDet(image=IMAGE)\nthis is not code\n",
        ),
        ("", ""),
        ("no program here", ""),
        ("```\n```", ""),
    ],
)
def test_extract_program(raw: str, expected: str) -> None:
    assert extract_program(raw) == expected


@pytest.mark.parametrize(
    ("raw", "n", "expected"),
    [
        ("- Rachel\n- Ross\n- Monica\n", 6, ["Rachel", "Ross", "Monica"]),
        ("1. Rachel\n2) Ross\n* Joey\n\u2022 Phoebe", 6, ["Rachel", "Ross", "Joey", "Phoebe"]),
        ("- a\n- b\n- c\n", 2, ["a", "b"]),
        ("- a\n- A\n-\n- b,\n", 5, ["a", "b"]),
        ("\n\n- a\n\nList something else:\n- z", 5, ["a"]),
        ("", 3, []),
    ],
)
def test_parse_list(raw: str, n: int, expected: list[str]) -> None:
    assert parse_list(raw, n) == expected


def test_list_prompt_ends_with_the_open_request() -> None:
    assert list_prompt("members of  ABBA", 4).endswith("List members of ABBA (at most 4):\n")


def test_cut_at_stop() -> None:
    assert cut_at_stop("abc\n\ndef", ["\n\n"]) == "abc"
    assert cut_at_stop("abc", ["x", ""]) == "abc"
    assert cut_at_stop("a=b;c", [";", "="]) == "a"
