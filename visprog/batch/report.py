"""The evaluation report: a summary as plain data, and one self-contained HTML page.

:func:`summarize` turns results into JSON-ready figures: accuracy overall (scored items; every
failure counts as wrong), counts per outcome class (no program, check failed, bad input, step
failed, wrong answer, ...), accuracy per category and mean seconds per step. :func:`render_report`
is a pure function of that summary and the results: inline SVG bar charts, every string escaped,
a Content-Security-Policy that allows nothing but its own inline style, and links to each
item's trace page (relative paths only).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from visprog.batch.results import CORRECT, OUTCOMES, UNSCORED, ItemResult
from visprog.render.html import esc, fmt_seconds, tag
from visprog.render.page import csp_hash

_SAFE_LINK = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?!/)[\w./ -]+\.html$")
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}td.num,th.num{text-align:right}
.ok{color:#1a7f37}.bad{color:#b42318}.muted{color:#667}
.big{font-size:2rem;font-weight:600}figure{margin:1rem 0}svg text{font:12px system-ui,sans-serif}
code{white-space:pre-wrap;word-break:break-word}
@media (prefers-color-scheme: dark){body{background:#16181d;color:#e6e6e6}
th,td{border-color:#333}svg text{fill:#e6e6e6}}
"""


def summarize(results: Iterable[ItemResult]) -> dict[str, Any]:
    """Figures for the report (plain JSON data)."""
    rows = list(results)
    scored = [r for r in rows if r.outcome != UNSCORED]
    correct = sum(r.outcome == CORRECT for r in rows)
    outcomes = {name: sum(r.outcome == name for r in rows) for name in OUTCOMES}
    return {
        "items": len(rows),
        "scored": len(scored),
        "correct": correct,
        "accuracy": round(correct / len(scored), 4) if scored else None,
        "outcomes": {k: v for k, v in outcomes.items() if v},
        "categories": _by_category(scored),
        "step_seconds": _step_seconds(rows),
        "seconds": round(sum(r.seconds for r in rows), 3),
    }


def _by_category(rows: list[ItemResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for r in rows:
        groups[r.category or "(none)"].append(r)
    return {
        name: {
            "items": len(g),
            "correct": sum(r.outcome == CORRECT for r in g),
            "accuracy": round(sum(r.outcome == CORRECT for r in g) / len(g), 4),
        }
        for name, g in sorted(groups.items())
    }


def _step_seconds(rows: list[ItemResult]) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for s in r.steps:
            if isinstance(s, dict) and isinstance(s.get("seconds"), (int, float)):
                times[str(s.get("step"))].append(float(s["seconds"]))
    return {
        name: {"calls": len(t), "mean": round(sum(t) / len(t), 5), "total": round(sum(t), 4)}
        for name, t in sorted(times.items())
    }


def render_report(summary: dict[str, Any], results: Iterable[ItemResult], title: str) -> str:
    """The report page (a pure function of its arguments)."""
    rows = list(results)
    body = "".join(
        [
            tag("h1", esc(title)),
            _headline(summary),
            tag("h2", "Outcomes"),
            _bars({k: float(v) for k, v in summary["outcomes"].items()}, "items", "{:.0f}"),
            tag("h2", "Accuracy by category"),
            _bars(
                {k: v["accuracy"] for k, v in summary["categories"].items()},
                "accuracy",
                "{:.0%}",
                1.0,
            ),
            tag("h2", "Mean time per step"),
            _bars(
                {k: v["mean"] for k, v in summary["step_seconds"].items()}, "seconds", "{:.3f} s"
            ),
            tag("h2", "Items"),
            _table(rows),
        ]
    )
    csp = (
        f"default-src 'none'; img-src data:; style-src {csp_hash(_CSS)}; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def _headline(summary: dict[str, Any]) -> str:
    acc = summary["accuracy"]
    big = "not scored" if acc is None else f"{acc:.1%}"
    facts = (
        f"{summary['correct']} correct of {summary['scored']} scored; "
        f"{summary['items']} items in {fmt_seconds(summary['seconds'])}"
    )
    return tag("p", tag("span", esc(big), class_="big") + "<br>" + esc(facts), id="headline")


def _bars(values: dict[str, float], unit: str, fmt: str, top: float | None = None) -> str:
    """A horizontal bar chart as inline SVG (no script, no external resource)."""
    if not values:
        return tag("p", "nothing to show", class_="muted")
    scale = top or max(values.values()) or 1.0
    width, label_w, bar_h = 640, 180, 22
    parts = []
    for i, (name, value) in enumerate(values.items()):
        y = i * (bar_h + 6)
        w = max(1.0, (width - label_w - 90) * float(value) / scale)
        parts.append(
            f'<text x="0" y="{y + 15}">{esc(name[:28])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#4878d0">'
            f"<title>{esc(name)}: {esc(fmt.format(value))}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{esc(fmt.format(value))}</text>'
        )
    height = len(values) * (bar_h + 6)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(unit)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">{"".join(parts)}</svg>'
    )
    return tag("figure", svg)


def _table(rows: list[ItemResult]) -> str:
    head = "<tr><th>id</th><th>outcome</th><th>answer</th><th>expected</th><th>error</th>" + (
        '<th class="num">seconds</th><th>trace</th></tr>'
    )
    return tag("table", head + "".join(_row(r) for r in rows), id="items")


def _row(r: ItemResult) -> str:
    css = "ok" if r.outcome == CORRECT else "muted" if r.outcome == UNSCORED else "bad"
    error = f"{r.error.get('type')}: {r.error.get('message')}" if isinstance(r.error, dict) else ""
    cells = [
        tag("td", esc(r.id)),
        tag("td", esc(r.outcome), class_=css),
        tag("td", tag("code", esc(_short(r.answer)))),
        tag("td", tag("code", esc(_short(r.expected)))),
        tag("td", esc(_short(error, 300))),
        tag("td", esc(f"{r.seconds:.2f}"), class_="num"),
        tag("td", trace_link(r.trace)),
    ]
    return tag("tr", "".join(cells))


def trace_link(path: Any) -> str:
    """A link to a trace page, only for a plain relative ``.html`` path (no scheme, no root).

    Results files are input to the report, so a ``javascript:`` or remote link is dropped.
    """
    if not isinstance(path, str) or not _SAFE_LINK.match(path):
        return ""
    return tag("a", "trace", href=path)


def _short(value: Any, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def write_report(
    results: Iterable[ItemResult],
    html_path: Path,
    json_path: Path | None = None,
    title: str = "visprog evaluation",
    links_from: Path | None = None,
) -> dict[str, Any]:
    """Write the page (and the summary JSON); returns the summary.

    Args:
        results: The items to report.
        html_path: Where the page goes.
        json_path: Where the summary goes (None: not written).
        title: The page's title.
        links_from: The folder trace paths in ``results`` are relative to (the results file's);
            links are rewritten to be relative to the page.
    """
    import dataclasses
    import json
    import os

    from visprog.outputs import atomic_write

    rows = list(results)
    if links_from is not None:
        shift = os.path.relpath(links_from.resolve(), html_path.parent.resolve())
        rows = [
            dataclasses.replace(r, trace=Path(shift, r.trace).as_posix()) if r.trace else r
            for r in rows
        ]
    summary = summarize(rows)
    # Atomic, like every other output: a killed run never leaves half a report.
    atomic_write(html_path, render_report(summary, rows, title).encode("utf-8"))
    if json_path is not None:
        atomic_write(json_path, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return summary
