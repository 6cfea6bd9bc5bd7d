"""Declared settings: every key visprog reads, with its type, range and meaning, in one table.

A tool declares what it reads next to its code::

    THRESHOLD = option("facedet.min_score", float, 0.9, "minimum face probability", 0.0, 1.0)
    MTCNN = declare_model("FaceDet", "model.facedet", "mtcnn", load_mtcnn, kind="mtcnn", ...)

From these declarations come the known settings (:data:`OPTIONS`), settings validation
(:func:`validate`: an unknown key gets a "did you mean", a bad value names the accepted range),
``visprog tools``, the README's model table (:func:`model_table`), model cache keys and the
offline error (through :meth:`visprog.context.Context.load_model`). A second declaration of one
key fails at import.

This module imports nothing heavy; loaders run only when a model is first needed.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from visprog.errors import ConfigurationError, ToolDeclarationError

TEXT_LIST = "text list"
_KINDS: dict[Any, str] = {float: "number", int: "integer", str: "text", bool: "true or false"}
_KINDS[TEXT_LIST] = "list of text"


@dataclass(frozen=True)
class Option:
    """One setting: its key, type, default, accepted range or choices, and meaning.

    Attributes:
        key: ``section.name``.
        kind: ``float``, ``int``, ``str``, ``bool`` or :data:`TEXT_LIST`.
        default: The value used when nobody sets the key (None: the reader decides, e.g. a
            per-backend default).
        help: What it means, one line (``visprog tools`` prints it).
        low: Smallest accepted number (inclusive), if any.
        high: Largest accepted number (inclusive), if any.
        choices: The accepted texts, if the option is a choice.
        contains: A placeholder every text must hold (``{question}``), if any.
    """

    key: str
    kind: Any
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    contains: str | None = None

    def accepted(self) -> str:
        """The accepted values in words: ``a number in [0, 1]``, ``one of chat, completion``."""
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        text = _KINDS[self.kind]
        if self.contains:
            return f"{text} holding {self.contains}"
        if self.low is not None and self.high is not None:
            return f"{text} in [{_num(self.low)}, {_num(self.high)}]"
        if self.low is not None:
            return f"{text} >= {_num(self.low)}"
        return text if self.high is None else f"{text} <= {_num(self.high)}"

    def check(self, value: Any) -> Any:
        """``value`` converted to this option's type, or a ConfigurationError naming the range."""
        out = _convert(self.kind, value)
        if out is None or (self.choices is not None and out not in self.choices):
            raise self._bad(value)
        if self.contains is not None:
            texts = out if isinstance(out, list) else [out]
            if not texts or any(self.contains not in t for t in texts):
                raise self._bad(value)
        if self.kind in (int, float):
            if (self.low is not None and out < self.low) or (
                self.high is not None and out > self.high
            ):
                raise self._bad(value)
        return out

    def read(self, settings: Mapping[str, Any], default: Any = None) -> Any:
        """The checked value in ``settings``, else ``default``, else the declared default."""
        if self.key in settings:
            return self.check(settings[self.key])
        return self.default if default is None else default

    def _bad(self, value: Any) -> ConfigurationError:
        return ConfigurationError(f"setting {self.key}: expected {self.accepted()}, got {value!r}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _convert(kind: Any, value: Any) -> Any:
    """``value`` as ``kind``, or None when it is not one (bool is never a number, nan never)."""
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind is str:
        return value if isinstance(value, str) else None
    if kind == TEXT_LIST:  # one text stands for a list of one
        if isinstance(value, str):
            return [value]
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        return list(value) if ok else None
    if isinstance(value, str):  # a number written as text in a TOML file: '0.25'
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        return None
    if kind is int:
        return int(value) if float(value).is_integer() else None
    return float(value)


@dataclass(frozen=True)
class ModelDecl:
    """A model a tool uses, declared once next to the tool.

    Attributes:
        tool: The step (or steps) that use it, for messages and the model table.
        setting: The key that chooses it (``model.vqa``).
        default: The model used when the setting is absent (a hub id, a path or a name).
        loader: ``loader(model_id, device, dtype, settings)`` builds it; ``dtype`` is the
            resolved torch dtype name (``"float32"``, ``"bfloat16"``, ...) or ``"native"``.
        kind: Cache-key prefix, so one id loaded by two loaders stays apart.
        dtype: ``"auto"`` (follows ``models.dtype``: half precision on GPU) or a fixed dtype
            name the model always loads in (``"float32"``; ``"native"`` for non-torch weights).
        source: How to get it offline, shown in the model table (``hf download ID`` for hub ids).
        options: The other settings the tool reads (see :class:`Option`).
        key_settings: Settings that change what the loader builds (``seg.config``); their
            values join the cache key.
    """

    tool: str
    setting: str
    default: str
    loader: Callable[[str, str, str, Mapping[str, Any]], Any]
    kind: str
    dtype: str = "auto"
    source: str = ""
    options: tuple[Option, ...] = field(default_factory=tuple)
    key_settings: tuple[str, ...] = ()

    def cache_key(self, model_id: str, dtype: str, settings: Mapping[str, Any]) -> str:
        """The model manager's key (the device is added by the manager)."""
        extra = "".join(f":{k}={settings[k]!r}" for k in self.key_settings if k in settings)
        return f"{self.kind}:{model_id}:{dtype}{extra}"


OPTIONS: dict[str, Option] = {}
"""Every declared setting by key (the engine's own, then each tool's as its module imports)."""

MODELS: dict[str, ModelDecl] = {}
"""Every declared model by its setting key."""


def option(
    key: str,
    kind: Any,
    default: Any,
    help: str,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    contains: str | None = None,
) -> Option:
    """Declare a setting; returns it (read it with ``ctx.option(OPT)`` or ``OPT.read(settings)``).

    Raises:
        ToolDeclarationError: For a second declaration of the key or an unknown kind.
    """
    if key in OPTIONS:
        raise ToolDeclarationError(f"setting {key!r} is declared twice")
    if kind not in _KINDS:
        raise ToolDeclarationError(f"setting {key!r}: unsupported kind {kind!r}")
    OPTIONS[key] = Option(key, kind, default, help, low, high, choices, contains)
    return OPTIONS[key]


def declare_model(
    tool: str,
    setting: str,
    default: str,
    loader: Callable[[str, str, str, Mapping[str, Any]], Any],
    *,
    kind: str,
    help: str,
    dtype: str = "auto",
    source: str | None = None,
    options: tuple[Option, ...] = (),
    key_settings: tuple[str, ...] = (),
    choices: tuple[str, ...] | None = None,
) -> ModelDecl:
    """Declare a model a tool loads (and its ``model.*`` setting); returns the declaration.

    Raises:
        ToolDeclarationError: For a second declaration of the setting.
    """
    option(setting, str, default, help, choices=choices)
    hint = source if source is not None else f"`hf download {default}`"
    decl = ModelDecl(tool, setting, default, loader, kind, dtype, hint, options, key_settings)
    MODELS[setting] = decl
    return decl


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check every setting against its declaration; return them with values converted.

    Raises:
        ConfigurationError: For an unknown key (with the closest known keys) or a value of the
            wrong type or out of range (naming the key and what it accepts).
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        decl = OPTIONS.get(key)
        if decl is None:
            close = difflib.get_close_matches(key, list(OPTIONS), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ConfigurationError(
                f"unknown setting {key!r}{hint} (visprog tools lists every setting)"
            )
        out[key] = decl.check(value)
    return out


def model_table() -> str:
    """The README's model table, in Markdown, from the declarations (a test keeps them equal)."""
    rows = ["| step | setting | default | get it before going offline |", "|---|---|---|---|"]
    for decl in MODELS.values():
        rows.append(f"| {decl.tool} | `{decl.setting}` | `{decl.default}` | {decl.source} |")
    return "\n".join(rows)


# The engine's own settings (tools declare theirs in their modules).
BUDGET_GB = option(
    "models.budget_gb",
    float,
    None,
    "memory budget for loaded models in GiB; least recently used ones are evicted",
    low=1e-6,
    high=1e6,
)
DTYPE = option(
    "models.dtype",
    str,
    "auto",
    "auto (bf16/fp16 on GPU, fp32 on CPU), float32, bfloat16, float16",
    choices=("auto", "float32", "bfloat16", "float16"),
)
LLM_BACKEND = option(
    "llm.backend",
    str,
    None,
    "program writer: default, hf:ID_OR_PATH, a .gguf file, openai:MODEL[@URL]",
)
LLM_MODE = option(
    "llm.mode",
    str,
    None,
    "OpenAI-compatible servers: chat or completion",
    choices=("chat", "completion"),
)
LLM_GRAMMAR = option(
    "llm.grammar",
    str,
    None,
    "OpenAI-compatible servers: none, gbnf (llama.cpp) or lark (vLLM)",
    choices=("none", "gbnf", "lark"),
)
LLM_TIMEOUT = option(
    "llm.timeout", float, 60.0, "OpenAI-compatible servers: seconds per request", 0.001, 86400.0
)
LLM_RETRIES = option(
    "llm.retries",
    int,
    3,
    "OpenAI-compatible servers: retries on 429, 5xx and lost connections",
    0,
    100,
)
