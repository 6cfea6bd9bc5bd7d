"""The Python API: check and execute programs on images (conveniences over :class:`Session`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from visprog.checker import check as _check
from visprog.errors import Diagnostic
from visprog.images import DEFAULT_MAX_PIXELS
from visprog.interpreter import DEFAULT_MAX_STEPS
from visprog.program import Program
from visprog.registry import Registry
from visprog.session import ImageLike, Session, bind_inputs, default_session, ensure_tools
from visprog.syntax import parse
from visprog.trace import Trace

__all__ = ["ImageLike", "Session", "bind_inputs", "check", "ensure_tools", "execute"]


def check(
    program: Program | str,
    inputs: Mapping[str, str] | Iterable[str] | None = None,
    registry: Registry | None = None,
) -> list[Diagnostic]:
    """Check a program without running anything.

    Args:
        program: Parsed program or source text.
        inputs: Input names (default ``IMAGE``), or a mapping of name to type tag.
        registry: The tools (the default registry when omitted).

    Returns:
        Every issue found, sorted by position; empty when the program is fine.

    Raises:
        VisprogSyntaxError: When ``program`` is text that does not parse.
    """
    ensure_tools()
    return _check(parse(program) if isinstance(program, str) else program, inputs, registry)


def execute(
    program: Program | str,
    images: ImageLike | Mapping[str, Any] | None = None,
    *,
    query: str | None = None,
    device: str = "auto",
    registry: Registry | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    settings: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    config: str | os.PathLike[str] | None = None,
    session: Session | None = None,
) -> Trace:
    """Check and run a program on images: a one-call convenience over a :class:`Session`.

    With no session options this uses one process-wide default Session (built from the config
    file and the environment on first use), so repeated calls reuse its loaded models; with
    options it builds a Session for this call. For many runs with options, make a Session
    yourself and call :meth:`Session.run`.

    Args:
        program: Parsed program or source text.
        images: One image (bound to ``IMAGE``), a pair (``LEFT``, ``RIGHT``), or a mapping of
            input name to image
            (paths, PIL images, arrays or :class:`~visprog.values.Image`).
        query: The question the program answers, kept in the trace.
        device: auto, cpu, cuda, cuda:N or mps, for model tools.
        registry: The tools (the default registry when omitted).
        max_steps: Refuse longer programs.
        max_pixels: Refuse larger input and intermediate images.
        settings: Options for tools (e.g. ``{"facedet.min_score": 0.8}``).
        services: Collaborators for tools (e.g. ``{"llm": backend}`` for List).
        config: A TOML settings file (default ``$VISPROG_CONFIG`` or the user's config file).
            ``settings`` override it, and ``VISPROG_*`` variables sit between the two (see
            :mod:`visprog.config`).
        session: The Session to run in (then the other options must be left at their defaults).

    Returns:
        The trace; ``trace.result`` is the answer.

    Raises:
        VisprogSyntaxError, CheckError, ImageLoadError, LimitError, StepFailedError: See
        :mod:`visprog.errors`; a StepFailedError carries the partial trace.
    """
    options = dict(
        settings=settings, config=config, device=device, registry=registry, services=services,
        max_steps=max_steps, max_pixels=max_pixels,
    )  # fmt: skip
    custom = session is not None or any(v != _DEFAULTS[k] for k, v in options.items())
    chosen = session or (Session(**options) if custom else default_session())  # type: ignore[arg-type]
    return chosen.run(parse(program) if isinstance(program, str) else program, images, query=query)


_DEFAULTS: dict[str, Any] = dict(
    settings=None, config=None, device="auto", registry=None, services=None,
    max_steps=DEFAULT_MAX_STEPS, max_pixels=DEFAULT_MAX_PIXELS,
)  # fmt: skip
