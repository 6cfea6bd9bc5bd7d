"""The HTML execution-trace viewer: one self-contained page per run.

:func:`render_html` is a pure function of a :class:`~visprog.trace.Trace`; :func:`write_html`
writes it to a file. See ``docs/viewer.md``.
"""

from __future__ import annotations

from pathlib import Path

from visprog.outputs import atomic_write
from visprog.render.media import DEFAULT_MAX_SIDE
from visprog.render.page import render_html
from visprog.trace import Trace

__all__ = ["DEFAULT_MAX_SIDE", "render_html", "write_html"]


def write_html(
    trace: Trace, path: str | Path, *, full_images: bool = False, max_side: int = DEFAULT_MAX_SIDE
) -> Path:
    """Write the trace page to ``path`` (parent folders are created).

    Args:
        trace: The run to show.
        path: Where to write the page.
        full_images: Embed images at full resolution instead of bounded thumbnails.
        max_side: Longest thumbnail side in pixels when not ``full_images``.

    Returns:
        The path written.

    Raises:
        OutputError: The page could not be written (written atomically: never half a page).
    """
    html = render_html(trace, full_images=full_images, max_side=max_side)
    return atomic_write(path, html.encode("utf-8"))
