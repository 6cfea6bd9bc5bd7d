"""visprog: a safe, checked visual programming interpreter.

    >>> import visprog
    >>> trace = visprog.execute(open("count_faces.vp").read(), "photo.jpg")
    >>> trace.result
    3

``import visprog`` is light: it never imports torch; models load when a step needs them.
"""

from visprog import probe
from visprog._version import __version__
from visprog.api import check, execute
from visprog.context import Context
from visprog.errors import (
    CheckError,
    ConfigurationError,
    Diagnostic,
    GenerationError,
    ImageLoadError,
    InvalidValueError,
    LimitError,
    ModelUnavailableError,
    ProbeError,
    ToolArgumentError,
    ToolDeclarationError,
    ToolExecutionError,
    VisprogError,
    VisprogSyntaxError,
)
from visprog.images import load_image
from visprog.interpreter import StepFailedError
from visprog.program import Program
from visprog.registry import REGISTRY, Expression, Registry, ToolSpec, register_tool, tool
from visprog.session import Session
from visprog.syntax import parse
from visprog.trace import StepRecord, Trace
from visprog.values import Image, Objects, Points

__all__ = [
    "__version__",
    "REGISTRY",
    "CheckError",
    "ConfigurationError",
    "Context",
    "Diagnostic",
    "Expression",
    "GenerationError",
    "Image",
    "ImageLoadError",
    "InvalidValueError",
    "LimitError",
    "ModelUnavailableError",
    "Objects",
    "Points",
    "ProbeError",
    "Program",
    "Registry",
    "Session",
    "StepFailedError",
    "StepRecord",
    "ToolArgumentError",
    "ToolDeclarationError",
    "ToolExecutionError",
    "ToolSpec",
    "Trace",
    "VisprogError",
    "VisprogSyntaxError",
    "check",
    "execute",
    "load_image",
    "parse",
    "probe",
    "register_tool",
    "tool",
]
