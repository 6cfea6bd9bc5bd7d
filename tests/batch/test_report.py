"""The report: figures from results, a page that escapes everything, and how it looks in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from render.browser import MISSING, chromium, console_errors, open_page, requests

from visprog.batch.report import render_report, summarize, trace_link, write_report
from visprog.batch.results import ItemResult

RUN = "window.__pwned=(window.__pwned||0)+1;document.title='PWNED'"
EVIL = [
    f"<script>{RUN}</script>",
    f'"><img src=x onerror="{RUN}">',
    f"'><svg onload={RUN}>",
    f"</title><script>{RUN}</script>",
    f"</style><script>{RUN}</script>",
]


def rows() -> list[ItemResult]:
    step = [{"step": "FaceDet", "seconds": 0.5}, {"step": "Count", "seconds": 0.001}]
    return [
        ItemResult(
            "a",
            ok=True,
            outcome="correct",
            answer=2,
            expected=2,
            category="count",
            steps=step,
            seconds=1.0,
            trace="traces/a.html",
        ),
        ItemResult(
            "b",
            ok=True,
            outcome="wrong answer",
            answer=1,
            expected=2,
            category="count",
            steps=step,
            seconds=1.0,
        ),
        ItemResult(
            "c",
            ok=True,
            outcome="correct",
            answer="yes",
            expected="yes",
            category="pairs",
            seconds=0.5,
        ),
        ItemResult(
            "d",
            ok=False,
            outcome="step failed",
            category="pairs",
            error={"type": "ToolExecutionError", "message": "boom", "exit_code": 7},
        ),
        ItemResult(
            "e",
            ok=False,
            outcome="no program",
            category="pairs",
            error={"type": "GenerationError", "message": "x"},
        ),
        ItemResult("f", ok=True, outcome="not scored", answer="x"),
    ]


def test_summary() -> None:
    s = summarize(rows())
    assert (s["items"], s["scored"], s["correct"], s["accuracy"]) == (6, 5, 2, 0.4)
    assert s["outcomes"] == {
        "correct": 2,
        "wrong answer": 1,
        "not scored": 1,
        "step failed": 1,
        "no program": 1,
    }
    assert s["categories"]["count"] == {"items": 2, "correct": 1, "accuracy": 0.5}
    assert s["categories"]["pairs"] == {"items": 3, "correct": 1, "accuracy": 0.3333}
    assert s["step_seconds"]["FaceDet"] == {"calls": 2, "mean": 0.5, "total": 1.0}
    assert summarize([])["accuracy"] is None


def test_everything_is_escaped() -> None:
    hostile = [
        ItemResult(
            p,
            ok=False,
            outcome="step failed",
            category=p,
            answer=p,
            expected=p,
            error={"type": p, "message": p},
            steps=[{"step": p, "seconds": 1}],
        )
        for p in EVIL
    ]
    page = render_report(summarize(hostile), hostile, title=EVIL[0])
    assert "<script>" not in page and 'onerror="' not in page and "<svg onload" not in page
    assert "&lt;script&gt;" in page
    assert page.count("Content-Security-Policy") == 1 and "script-src" not in page


@pytest.mark.parametrize(
    ("path", "linked"),
    [
        ("traces/a.html", True),
        ("../traces/a b.html", True),
        ("javascript:alert(1)//.html", False),
        ("https://evil.example/x.html", False),
        ("/etc/x.html", False),
        ("traces/a.json", False),
        ('a".html', False),
        (None, False),
        (3, False),
    ],
)
def test_trace_links(path: object, linked: bool) -> None:
    assert bool(trace_link(path)) is linked


def test_links_are_rewritten_relative_to_the_page(tmp_path: Path) -> None:
    results = tmp_path / "run"
    page = tmp_path / "reports" / "r.html"
    write_report(rows(), page, page.with_suffix(".json"), links_from=results)
    assert 'href="../run/traces/a.html"' in page.read_text()
    assert page.with_suffix(".json").exists()


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_the_page_in_chromium(tmp_path: Path) -> None:
    hostile = [
        ItemResult(p, ok=True, outcome="wrong answer", answer=p, expected="x", category=p)
        for p in EVIL
    ]
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "a.html").write_text("<!DOCTYPE html><title>trace a</title>")
    page = tmp_path / "report.html"
    write_report(rows() + hostile, page, title="mini benchmark")
    with chromium() as driver:
        driver.get("about:blank")
        driver.get_log("browser")
        driver.get_log("performance")  # drop the browser's own start-up requests
        open_page(driver, page)
        assert driver.title == "mini benchmark"
        assert driver.execute_script("return window.__pwned || 0") == 0
        assert console_errors(driver) == []
        assert [u for u in requests(driver) if u != page.resolve().as_uri()] == []
        headline = driver.find_element("id", "headline").text
        assert "2 correct of 10 scored" in headline
        bars = driver.find_elements("css selector", "figure svg rect")
        assert len(bars) >= 3 and all(b.size["width"] >= 1 for b in bars)
        table = driver.find_element("id", "items")
        assert len(table.find_elements("css selector", "tr")) == 12  # header + 11 items
        table.find_element("link text", "trace").click()
        assert driver.title == "trace a"
