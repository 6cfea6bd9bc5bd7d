"""Program-generation attempts (``trace.generation``) as a collapsed section.

The records are plain dicts written by the planner; their keys may change, so this renders any
JSON-like shape: known keys get a friendly form (programs highlighted, prompts folded away),
everything else falls back to a generic definition list. Every string is escaped.
"""

from __future__ import annotations

from typing import Any

from visprog.render.highlight import highlight
from visprog.render.html import esc, fmt_number, tag

PROGRAM_KEYS = {"program", "source", "completion", "code", "repaired", "raw_program"}
FOLDED_KEYS = {"prompt", "messages", "system", "raw", "response", "raw_output", "output_text"}
HEADLINE_KEYS = ("task", "model", "backend", "round", "attempt", "status", "ok")
MAX_DEPTH = 6


def generation_section(records: list[Any]) -> str:
    """The ``<details>`` holding every generation record (empty string when there are none)."""
    if not records:
        return ""
    items = "".join(
        tag(
            "section",
            tag("h3", esc(_headline(r, i)) + _verdict(r)) + data_html(r),
            class_="gen-record",
        )
        for i, r in enumerate(records)
    )
    n = len(records)
    kind = "attempt" if all(isinstance(r, dict) and "program" in r for r in records) else "record"
    summary = tag("summary", esc(f"Program generation: {n} {kind}{'s' if n != 1 else ''}"))
    return tag(
        "section",
        tag("h2", "How the program was written", id="generation-h")
        + tag("details", summary + items, class_="generation"),
        id="generation",
        aria_labelledby="generation-h",
    )


def _verdict(record: Any) -> str:
    """A badge for an attempt: accepted (no diagnostics) or how many problems it had."""
    if not isinstance(record, dict) or not isinstance(record.get("diagnostics"), list):
        return ""
    n = len(record["diagnostics"])
    if n == 0:
        return ' <span class="badge s-ok">accepted</span>'
    return f' <span class="badge s-failed">{n} problem{"s" if n != 1 else ""}</span>'


def _headline(record: Any, i: int) -> str:
    if not isinstance(record, dict):
        return f"Record {i + 1}"
    found = [
        f"{k} {_short(record[k])}" for k in HEADLINE_KEYS if k in record and _is_scalar(record[k])
    ]
    return f"Record {i + 1}" + (": " + ", ".join(found) if found else "")


def data_html(value: Any, key: str = "", depth: int = 0) -> str:
    """Any JSON-like value as HTML (dicts as definition lists, lists as lists)."""
    if depth > MAX_DEPTH:
        return tag("code", esc(_short(repr(value), 200)))
    if isinstance(value, dict):
        rows = "".join(
            tag("dt", esc(k)) + tag("dd", data_html(v, str(k).lower(), depth + 1))
            for k, v in value.items()
        )
        return tag("dl", rows, class_="kv")
    if isinstance(value, (list, tuple)):
        if not value:
            return tag("span", "none", class_="none")
        items = "".join(tag("li", data_html(v, key, depth + 1)) for v in value)
        return tag("ol" if all(isinstance(v, dict) for v in value) else "ul", items, class_="data")
    if isinstance(value, str):
        return _text(value, key)
    if isinstance(value, bool) or value is None:
        return tag("span", esc(value), class_="const")
    if isinstance(value, (int, float)):
        return tag("span", esc(fmt_number(value)), class_="num")
    return tag("code", esc(repr(value)))


def _text(value: str, key: str) -> str:
    if key in PROGRAM_KEYS:
        lines = "\n".join(highlight(value))
        return tag("pre", tag("code", lines), class_="code small", tabindex=0)
    if key in FOLDED_KEYS or len(value) > 400:
        summary = tag("summary", esc(f"{key or 'text'} ({len(value)} characters)"))
        return tag("details", summary + tag("pre", esc(value), class_="plain", tabindex=0))
    if "\n" in value:
        return tag("pre", esc(value), class_="plain")
    return tag("span", esc(value), class_="text")


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool))


def _short(v: Any, n: int = 60) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 1] + "…"
