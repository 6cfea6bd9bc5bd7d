"""A plain HTML rendering of a trace: a pure function of the trace; every string escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from visprog.trace import Trace, data_uri
from visprog.values import Image, Objects, Points

_CSS = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}"
    "pre{background:#f4f4f4;padding:.6em;overflow:auto}.step{border:1px solid #ccc;"
    "border-radius:6px;margin:1em 0;padding:.6em}.err{border-color:#c33;background:#fff3f3}"
    "img{max-width:24em;max-height:18em;border:1px solid #ddd}"
)


def _value(v: Any) -> str:
    if isinstance(v, Image):
        return (
            f'<img alt="image {v.width}x{v.height}" src="{escape(data_uri(v))}">'
            f"<div>image {v.width}x{v.height}</div>"
        )
    if isinstance(v, Objects):
        rows = "".join(
            f"<li>{escape(v.labels[i])} {v.scores[i]:.2f} [{', '.join(f'{c:.0f}' for c in v.boxes[i])}]</li>"
            for i in range(len(v))
        )
        return f"<div>{len(v)} objects</div><ul>{rows}</ul>"
    if isinstance(v, Points):
        return f"<div>{len(v)} points</div>"
    return f"<code>{escape(repr(v))}</code>"


def render_html(trace: Trace) -> str:
    """The trace as one self-contained HTML page (no scripts, images inline)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>visprog trace</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(trace.query or 'visprog trace')}</h1>",
        f"<p>Result: {_value(trace.result) if trace.ok else 'failed'}</p>",
        f"<pre>{escape(trace.program)}</pre>",
    ]
    for s in trace.steps:
        args = "".join(f"<li>{escape(k)} = {_value(v)}</li>" for k, v in s.args.items())
        err = f"<p>error: {escape(s.error.message)}</p>" if s.error else ""
        parts.append(
            f"<div class='step{' err' if s.error else ''}'><code>{escape(s.source)}</code>"
            f"<ul>{args}</ul>{err}<div>output: {_value(s.output)}</div>"
            f"<small>{s.seconds:.3f} s {escape(', '.join(s.models))}</small></div>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def write_html(trace: Trace, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(trace), encoding="utf-8")
    return path
