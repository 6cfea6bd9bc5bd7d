"""Tool registration: a tool's annotated signature is its spec.

One declaration feeds the static checker, the runtime argument check, ``visprog tools`` and the
tool list in the language model's prompt::

    @tool("Crop")
    def crop(image: Image, box: Objects) -> Image:
        '''Crop to the best box, enlarged 1.5x around its centre.'''

A bad declaration (no annotation, an unsupported type, ``*args``, no docstring, a clashing name)
raises :class:`~visprog.errors.ToolDeclarationError` when the module defining it is imported.
"""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NewType, TypeVar, Union

from visprog import values as V
from visprog.errors import ToolDeclarationError

Expression = NewType("Expression", str)
"""Annotation for a parameter holding an Eval expression (checked by the expression grammar)."""

F = TypeVar("F", bound=Callable[..., Any])

UNRESOLVED: Any = type("Unresolved", (), {"__repr__": lambda self: "<unresolved>"})()
"""What a precheck sees for an argument whose value is only known at run time (a reference)."""

Precheck = Callable[[Mapping[str, Any], Mapping[str, Any]], None]
"""``precheck(args, settings)``: validates a statement before anything runs or loads.

``args`` holds the statement's literal arguments (references as :data:`UNRESOLVED`); it raises
a :class:`~visprog.errors.VisprogError` for a problem (a missing file, an invalid setting)."""

Batched = Callable[[list[dict[str, Any]]], list[Any]]
"""``batched(calls)``: several calls of one tool as one forward, results in the same order.

Each call is the keyword arguments the tool's own function would get, its context included (so
notes and models used land in each call's own step). It must give, for every call, what the tool
gives for it alone; a batch runner falls back to one call at a time if it raises."""

_SIMPLE: dict[Any, str] = {
    V.Image: V.IMAGE,
    V.Objects: V.OBJECTS,
    V.Points: V.POINTS,
    int: V.NUMBER,
    float: V.NUMBER,
    str: V.TEXT,
    bool: V.BOOL,
    type(None): V.NONE,
    None: V.NONE,
    Any: V.ANY,
    object: V.ANY,
}
_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def canonical_key(name: str) -> str:
    """Case- and underscore-insensitive key: ``CROP_LEFTOF`` and ``CropLeftOf`` share one."""
    return name.replace("_", "").lower()


@dataclass(frozen=True)
class Param:
    """One declared parameter of a tool.

    Attributes:
        name: Argument name as written in programs.
        types: Accepted type tags (see :mod:`visprog.values`).
        required: False when the function gives a default.
        default: The default value (when not required).
        expression: True for an Eval expression parameter.
    """

    name: str
    types: frozenset[str]
    required: bool
    default: Any = None
    expression: bool = False

    def signature(self) -> str:
        """``name: type`` or ``name: type = default`` as shown to users and models."""
        text = f"{self.name}: {V.describe_type(self.types).replace(' or ', ' | ')}"
        return text if self.required else f"{text} = {self.default!r}"


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool.

    Attributes:
        name: Canonical CamelCase step name.
        fn: The run function.
        params: Declared parameters, in order (the context parameter excluded).
        returns: Type tags the tool may return.
        doc: The docstring's summary line.
        description: The whole docstring.
        aliases: Other accepted step names (VisProg's spellings).
        context_param: Name of the parameter that receives the :class:`Context`, if any.
        model: Human description of the default model or backend, if any.
        precheck: Validates a statement's literal arguments and the settings before the
            program runs (see :data:`Precheck`), e.g. that a named file exists and is valid.
        batched: The tool's batched form (see :data:`Batched`), used by batch runs to send
            calls from several items through one forward; None when the tool has none.
    """

    name: str
    fn: Callable[..., Any]
    params: tuple[Param, ...]
    returns: frozenset[str]
    doc: str
    description: str
    aliases: tuple[str, ...] = ()
    context_param: str | None = None
    model: str | None = None
    precheck: Precheck | None = None
    batched: Batched | None = None

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, if declared."""
        return next((p for p in self.params if p.name == name), None)

    def signature(self) -> str:
        """``Name(arg: type, ...) -> type``."""
        args = ", ".join(p.signature() for p in self.params)
        return f"{self.name}({args}) -> {V.describe_type(self.returns).replace(' or ', ' | ')}"


@dataclass
class Registry:
    """Step name -> tool spec, case- and underscore-insensitive."""

    _by_key: dict[str, ToolSpec] = field(default_factory=dict)
    _specs: dict[str, ToolSpec] = field(default_factory=dict)

    def add(self, spec: ToolSpec, replace: bool = False) -> None:
        """Register ``spec`` under its name and aliases.

        Raises:
            ToolDeclarationError: When a name is taken by another tool and ``replace`` is False.
        """
        keys = [canonical_key(n) for n in (spec.name, *spec.aliases)]
        for key in keys:
            other = self._by_key.get(key)
            if other is not None and other.name != spec.name and not replace:
                raise ToolDeclarationError(
                    f"tool {spec.name!r}: the step name {key!r} is already taken by {other.name!r}"
                )
        if spec.name in self._specs and not replace:
            raise ToolDeclarationError(f"tool {spec.name!r} is already registered")
        old = self._specs.pop(spec.name, None)
        if old is not None:
            for key in [canonical_key(n) for n in (old.name, *old.aliases)]:
                self._by_key.pop(key, None)
        self._specs[spec.name] = spec
        for key in keys:
            self._by_key[key] = spec

    def get(self, name: str) -> ToolSpec | None:
        """The tool for a step name as written (any case, underscores ignored)."""
        return self._by_key.get(canonical_key(name))

    def suggest(self, name: str) -> list[str]:
        """Close matches for a misspelt step name (canonical names)."""
        hits = difflib.get_close_matches(canonical_key(name), list(self._by_key), n=3, cutoff=0.6)
        out: list[str] = []
        for key in hits:
            if self._by_key[key].name not in out:
                out.append(self._by_key[key].name)
        return out

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


REGISTRY = Registry()
"""The default registry: every tool in ``visprog.tools`` plus those a user registers."""


def tool(
    name: str,
    *,
    aliases: Sequence[str] = (),
    model: str | None = None,
    registry: Registry | None = None,
    replace: bool = False,
    precheck: Precheck | None = None,
    batched: Batched | None = None,
) -> Callable[[F], F]:
    """Register a function as a tool; its annotated signature becomes its spec.

    Args:
        name: Canonical CamelCase step name (``"Loc"``).
        aliases: Other accepted names (e.g. VisProg's ``"CROP_INFRONTOF"``).
        model: Description of the default model or backend, shown by ``visprog tools``.
        registry: Where to register; the default registry when omitted.
        replace: Allow replacing an existing tool of the same name.
        precheck: Validation run before the program starts (see :data:`Precheck`).
        batched: The batched form (see :data:`Batched`) for batch runs.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ToolDeclarationError: When the declaration is invalid (raised at import time).
    """

    def decorate(fn: F) -> F:
        spec = build_spec(
            fn, name, aliases=aliases, model=model, precheck=precheck, batched=batched
        )
        (registry if registry is not None else REGISTRY).add(spec, replace=replace)
        return fn

    return decorate


def register_tool(
    fn: Callable[..., Any],
    name: str,
    *,
    aliases: Sequence[str] = (),
    model: str | None = None,
    registry: Registry | None = None,
    replace: bool = False,
    precheck: Precheck | None = None,
    batched: Batched | None = None,
) -> ToolSpec:
    """Register ``fn`` as a tool without the decorator form; returns its spec."""
    spec = build_spec(fn, name, aliases=aliases, model=model, precheck=precheck, batched=batched)
    (registry if registry is not None else REGISTRY).add(spec, replace=replace)
    return spec


def build_spec(
    fn: Callable[..., Any],
    name: str,
    *,
    aliases: Sequence[str] = (),
    model: str | None = None,
    precheck: Precheck | None = None,
    batched: Batched | None = None,
) -> ToolSpec:
    """Read a tool's spec from its annotated signature, or fail with the reason."""
    where = f"tool {name!r} ({getattr(fn, '__qualname__', fn)!r})"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ToolDeclarationError(
            f"{where}: the name must be CamelCase, like 'Loc' or 'CropLeftOf'"
        )
    doc = inspect.getdoc(fn)
    if not doc:
        raise ToolDeclarationError(
            f"{where}: a tool needs a docstring (it is shown to users and models)"
        )
    try:
        hints = typing.get_type_hints(fn)
    except Exception as e:  # a NameError or TypeError in an annotation
        raise ToolDeclarationError(f"{where}: cannot resolve annotations: {e}") from e
    params, context_param = _read_params(fn, hints, where)
    if "return" not in hints:
        raise ToolDeclarationError(f"{where}: the return type must be annotated")
    returns = _tags(hints["return"], where, "the return type")
    for alias in aliases:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", alias):
            raise ToolDeclarationError(f"{where}: invalid alias {alias!r}")
    if precheck is not None and not callable(precheck):
        raise ToolDeclarationError(f"{where}: precheck must be callable")
    _check_batched(batched, where)
    return ToolSpec(
        name,
        fn,
        tuple(params),
        returns,
        doc.splitlines()[0],
        doc,
        tuple(aliases),
        context_param,
        model,
        precheck,
        batched,
    )


def _check_batched(batched: Any, where: str) -> None:
    """A batched form must be callable with exactly one positional argument (the calls)."""
    if batched is None:
        return
    if not callable(batched):
        raise ToolDeclarationError(f"{where}: batched must be callable")
    try:
        inspect.signature(batched).bind([])
    except TypeError as e:
        raise ToolDeclarationError(
            f"{where}: batched must take one argument, the list of calls ({e})"
        ) from e
    except ValueError:  # a builtin without a signature: accept it
        return


def _read_params(
    fn: Callable[..., Any], hints: dict[str, Any], where: str
) -> tuple[list[Param], str | None]:
    from visprog.context import Context

    params: list[Param] = []
    context_param: str | None = None
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            raise ToolDeclarationError(
                f"{where}: parameter {p.name!r} must be a plain named parameter"
            )
        if p.name not in hints:
            raise ToolDeclarationError(f"{where}: parameter {p.name!r} has no type annotation")
        if hints[p.name] is Context:
            context_param = p.name
            continue
        if p.name.startswith("_"):
            raise ToolDeclarationError(f"{where}: parameter {p.name!r} must not start with '_'")
        expression = hints[p.name] is Expression
        types_ = frozenset({V.TEXT}) if expression else _tags(hints[p.name], where, repr(p.name))
        required = p.default is inspect.Parameter.empty
        if not required and V.ANY not in types_ and V.type_of(p.default) not in types_:
            raise ToolDeclarationError(
                f"{where}: default {p.default!r} of {p.name!r} is not a {V.describe_type(types_)}"
            )
        params.append(Param(p.name, types_, required, None if required else p.default, expression))
    return params, context_param


def _tags(annotation: Any, where: str, what: str) -> frozenset[str]:
    if annotation in _SIMPLE:
        return frozenset({_SIMPLE[annotation]})
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return frozenset().union(*(_tags(a, where, what) for a in args))
    if origin in (list, Sequence, tuple) and args and args[0] is str:
        return frozenset({V.TEXT_LIST})
    raise ToolDeclarationError(
        f"{where}: {what} is annotated {annotation!r}, which is not a visprog type "
        "(Image, Objects, Points, int, float, str, bool, list[str], None, or a union of them)"
    )
