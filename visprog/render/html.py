"""Small HTML helpers: escaping that never lets a string out of its text or attribute slot."""

from __future__ import annotations

import re
from typing import Any

from visprog.palette import label_rgb

# C0 controls (bar tab, newline, carriage return) and DEL are invalid in HTML text; they could
# only come from a model or a file name, so they show as U+FFFD instead of reaching the parser.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;"}
_SPECIAL = re.compile("[&<>\"'`]")


def esc(value: Any) -> str:
    """Escape any value for use in HTML text or a quoted attribute.

    The value is turned into text with ``str``; lone surrogates and control characters become
    U+FFFD so that the page is valid UTF-8; ``& < > " ' `` are replaced by character references.
    """
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("\ufffd", text)
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], text)


def attrs(**values: Any) -> str:
    """`` name="value"`` pairs, escaped; ``None`` and ``False`` values are left out.

    A trailing underscore is dropped from a name (``class_``) and other underscores become
    hyphens (``aria_label``), so any attribute can be written as a keyword.
    """
    out = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        out.append(f" {key}" if value is True else f' {key}="{esc(value)}"')
    return "".join(out)


def tag(name: str, body: str = "", **values: Any) -> str:
    """``<name attrs>body</name>``; ``body`` must already be HTML (escape text with :func:`esc`)."""
    return f"<{name}{attrs(**values)}>{body}</{name}>"


def label_color(label: str) -> str:
    """The label's colour (:func:`visprog.palette.label_rgb`) as ``#rrggbb``."""
    r, g, b = label_rgb(label)
    return f"#{r:02x}{g:02x}{b:02x}"


def fmt_number(value: float | int) -> str:
    """A number for reading: integers as is, floats with up to 6 significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def fmt_seconds(seconds: float) -> str:
    """``0.004 s``, ``1.25 s``, ``2 min 5 s``."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
