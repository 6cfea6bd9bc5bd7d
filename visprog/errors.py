"""The error hierarchy: one root, one class per kind of failure, one CLI exit code each.

Every error the project raises on purpose derives from :class:`VisprogError`. Anything else that
escapes is a bug in visprog (or in a tool) and the CLI reports it as such. This module imports
nothing from visprog (it sits at the bottom of the import graph, with values and program);
:class:`~visprog.interpreter.StepFailedError`, which carries a trace, lives beside the
interpreter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a program, located in its source.

    Attributes:
        code: A short stable identifier, e.g. ``"unknown-step"``.
        message: What is wrong, in one sentence, with a suggestion where one exists.
        line: 1-based line number in the program source.
        column: 1-based column of the first offending character.
        end_column: 1-based column one past the last offending character (for the caret run).
    """

    code: str
    message: str
    line: int
    column: int
    end_column: int | None = None

    def format(self, source: str | None = None, filename: str = "<program>") -> str:
        """Render in compiler form: ``FILE:LINE:COL: error: message``, the line and a caret.

        Args:
            source: The program text, used to show the offending line. Optional.
            filename: The name shown before the position.

        Returns:
            One to three lines of text, without a trailing newline.
        """
        head = f"{filename}:{self.line}:{self.column}: error: {self.message} [{self.code}]"
        if source is None:
            return head
        lines = source.splitlines()
        if not 1 <= self.line <= len(lines):
            return head
        text = lines[self.line - 1].expandtabs(1)
        width = max(1, (self.end_column or self.column + 1) - self.column)
        caret = " " * (self.column - 1) + "^" + "~" * (width - 1)
        return f"{head}\n    {text}\n    {caret}"


class VisprogError(Exception):
    """Root of every error visprog raises on purpose.

    Attributes:
        exit_code: The CLI's exit status for this class of error (documented in the README).
    """

    exit_code: ClassVar[int] = 1


class DiagnosticError(VisprogError):
    """An error that carries located diagnostics for one program source."""

    def __init__(
        self,
        diagnostics: Sequence[Diagnostic],
        source: str | None = None,
        filename: str = "<program>",
    ) -> None:
        self.diagnostics = tuple(diagnostics)
        self.source = source
        self.filename = filename
        super().__init__(self.render())

    def render(self) -> str:
        """All diagnostics in compiler form, one block each."""
        return "\n".join(d.format(self.source, self.filename) for d in self.diagnostics)


class VisprogSyntaxError(DiagnosticError):
    """The program (or an ``Eval`` expression) does not parse."""

    exit_code = 3


class CheckError(DiagnosticError):
    """The program parses but fails static checking; holds every issue found."""

    exit_code = 4


class ImageLoadError(VisprogError):
    """An input image is missing, empty, truncated, not an image, or too large."""

    exit_code = 5


class ToolArgumentError(VisprogError):
    """A step was called with arguments of the wrong kind (the caller's fault)."""

    exit_code = 6


class ToolExecutionError(VisprogError):
    """A tool failed while running (the tool's fault); always chained to the cause."""

    exit_code = 7


class InvalidValueError(ToolExecutionError, ValueError):
    """A value (Image, Objects, Points) was built from arrays of the wrong shape or type.

    Inside a step that is the tool's bug, not the caller's: exit code 7, like any tool failure.
    """


class ModelUnavailableError(VisprogError):
    """A model or an optional dependency is missing; the message names how to provide it."""

    exit_code = 8


class GenerationError(VisprogError):
    """The language model did not produce a program that parses and checks."""

    exit_code = 9


class ConfigurationError(VisprogError):
    """A setting, option or registration is invalid."""

    exit_code = 10


class ToolDeclarationError(ConfigurationError):
    """A tool's declaration (its annotated signature) is invalid; raised at registration."""


class LimitError(VisprogError):
    """A resource limit (steps, pixels) was exceeded."""

    exit_code = 11


class ProbeError(VisprogError):
    """A probe file or a probe / few-shot data set is invalid, or belongs to another model."""

    exit_code = 20
