"""The Python API: parse, check and execute programs on images."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from visprog import values as V
from visprog.checker import check as _check
from visprog.config import load_settings
from visprog.errors import Diagnostic, ImageLoadError
from visprog.images import DEFAULT_MAX_PIXELS, as_image
from visprog.interpreter import DEFAULT_MAX_STEPS, Interpreter
from visprog.models import default_manager
from visprog.program import Program
from visprog.registry import Registry
from visprog.syntax import parse
from visprog.trace import Trace


def ensure_tools() -> None:
    """Import the built-in tools so they are registered (cheap after the first call)."""
    import visprog.tools  # noqa: F401


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


ImageLike = Any  # a path, a PIL image, an (H, W, 3) uint8 array, or a visprog Image


def bind_inputs(
    images: ImageLike | Mapping[str, Any] | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> dict[str, Any]:
    """Name the inputs as the CLI does: ``IMAGE``, a pair as ``LEFT``/``RIGHT``, or by mapping.

    One image is ``IMAGE``, a pair (list or tuple) is ``LEFT`` and ``RIGHT``, and a mapping keeps
    its names.

    Numbers and bools in a mapping pass through as typed inputs; anything else must be an image
    (a path, a PIL image, an array or an :class:`~visprog.values.Image`).

    Raises:
        ImageLoadError: For a value that is not an image, or a sequence that is not a pair.
    """
    if images is None:
        return {}
    if isinstance(images, (list, tuple)):
        if len(images) != 2:
            raise ImageLoadError(
                f"{len(images)} images given as a sequence: pass one image, a pair (LEFT, RIGHT), "
                "or a mapping of input names to images"
            )
        images = {"LEFT": images[0], "RIGHT": images[1]}
    if not isinstance(images, Mapping):
        return {"IMAGE": as_image(images, "IMAGE", max_pixels)}
    out: dict[str, Any] = {}
    for name, value in images.items():
        scalar = V.type_of(value) in (V.NUMBER, V.BOOL)
        out[name] = value if scalar else as_image(value, name, max_pixels)
    return out


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
) -> Trace:
    """Check and run a program on images.

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

    Returns:
        The trace; ``trace.result`` is the answer.

    Raises:
        VisprogSyntaxError, CheckError, ImageLoadError, LimitError, StepFailedError: See
        :mod:`visprog.errors`; a StepFailedError carries the partial trace.
    """
    ensure_tools()
    inputs = bind_inputs(images, max_pixels)
    settings = load_settings(config, settings)
    default_manager().configure(settings)
    interpreter = Interpreter(
        registry,
        device=device,
        max_steps=max_steps,
        max_pixels=max_pixels,
        settings=settings,
        services=services,
    )
    return interpreter.run(program, inputs, query=query)
