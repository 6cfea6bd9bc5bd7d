"""Traces the interpreter would rarely produce still render, and load clean in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visprog.render import render_html, write_html
from visprog.trace import ErrorInfo, StepRecord, Trace
from visprog.values import Image, Objects, Points

from .browser import MISSING, chromium, console_errors


def odd_traces(photo: Image) -> dict[str, Trace]:
    """Hand-made traces at the edges of what the page must handle."""
    nan_objs = Objects(
        np.array([[np.nan, 1, 2, 3], [10, 10, 5, 5], [1e12, 1e12, 2e12, 2e12]]),
        [np.nan, 0.5, 1.0],
        ["x" * 5000, "", "inverted"],
        points=np.array([[np.inf, 0], [1, 1], [2, 2]]),
        source="NOWHERE",
    )
    wrong_masks = Objects(np.array([[0.0, 0, 5, 5]]), [1.0], ["m"], np.ones((1, 7, 9), bool))
    many = Objects(np.tile([[10.0, 10, 40, 40]], (1000, 1)), np.full(1000, 0.3), ["p"] * 1000)
    tiny = Image(np.zeros((1, 1, 3), np.uint8), "IMAGE")
    strip = Image(np.full((2, 3000, 3), 200, np.uint8), "STRIP")
    values: list[Any] = [
        nan_objs,
        wrong_masks,
        many,
        Objects.empty(),
        Points.empty(),
        tiny,
        strip,
        ["a", "b"],
        [],
        None,
        3.0e-12,
        -7,
        True,
        {"k": "v"},
        b"bytes",
        Points(np.array([[np.nan, 1.0]]), ["nan point"], "NOWHERE"),
    ]
    steps = [
        StepRecord(i, i + 1, f"V{i}", "Odd", f"V{i} = Odd()", {"image": photo, "v": v}, v)
        for i, v in enumerate(values)
    ]
    return {
        "values": Trace("\n".join(s.source for s in steps), {"IMAGE": photo, "N": 3}, steps, many),
        "empty": Trace(""),
        "unparsable": Trace("X = = (\n)))", {}, [StepRecord(0, 1, "X", "?", "X = = (")]),
        "error before any step": Trace(
            "A = Count(box=B)", {}, [], None, ErrorInfo("CheckError", "B is undefined", 1, 4)
        ),
        "records beyond the program": Trace(
            "A = Count(box=B)",
            {},
            [StepRecord(i, i + 1, "A", "Count", "A = Count(box=B)") for i in range(3)],
        ),
    }


@pytest.mark.parametrize(
    ("name", "cards", "expect"),
    [
        ("values", 16, 'class="drawn"'),
        ("empty", 0, "no result recorded"),
        ("unparsable", 1, 'id="step-0"'),
        ("error before any step", 1, "B is undefined"),
        ("records beyond the program", 3, "3 of 3 ran"),
    ],
)
def test_odd_traces_render(photo: Image, name: str, cards: int, expect: str) -> None:
    html = render_html(odd_traces(photo)[name])
    assert html.startswith("<!doctype html>") and html.endswith("</html>\n")
    assert html.count('<li class="step ') == cards
    assert expect in html
    assert not re.search(r'="-?(nan|inf)"', html)  # no NaN geometry reaches the SVG


def test_many_objects_are_capped_in_the_drawing_and_table(photo: Image) -> None:
    html = render_html(odd_traces(photo)["values"])
    assert "… 800 more" in html


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_odd_traces_load_without_console_errors(photo: Image, tmp_path: Path) -> None:
    with chromium() as driver:
        for name, trace in odd_traces(photo).items():
            page = write_html(trace, tmp_path / f"{name.replace(' ', '_')}.html")
            driver.get(page.resolve().as_uri())
            assert console_errors(driver) == [], name
            assert driver.execute_script("return document.querySelectorAll('main').length") == 1
