"""The step interpreter: check, then run each statement through its tool, recording a trace.

Each step: resolve references, check argument types against the tool's declared spec (the Python
API can pass anything), call the tool, check the returned type, record. A failing step raises
:class:`~visprog.errors.StepFailedError`, which carries the typed error and the partial trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from visprog import values as V
from visprog.checker import check
from visprog.context import Context
from visprog.errors import (
    CheckError,
    DiagnosticError,
    InvalidValueError,
    LimitError,
    ToolArgumentError,
    ToolExecutionError,
    VisprogError,
)
from visprog.expr import parse_expr, variables
from visprog.images import DEFAULT_MAX_PIXELS
from visprog.models import ModelManager, validate_device
from visprog.program import ListValue, Literal, Program, Ref, Statement, Value
from visprog.registry import REGISTRY, UNRESOLVED, Registry, ToolSpec
from visprog.syntax import parse
from visprog.trace import ErrorInfo, ImageBudget, StepRecord, Trace

DEFAULT_MAX_STEPS = 1000
DEFAULT_TRACE_BUDGET = 1024 * 2**20
"""Bytes of full-resolution intermediate images a trace keeps; older ones become thumbnails."""

StepCallback = Callable[[StepRecord], None]


@dataclass
class Call:
    """A tool call a running program waits for (see :meth:`Interpreter.steps`).

    Whoever drives the program sets ``output`` (what ``spec.fn(**kwargs)`` returned) or
    ``error`` (what it raised); the interpreter then checks and records it as for any step.

    Attributes:
        spec: The tool.
        kwargs: The keyword arguments for ``spec.fn``, the context included.
        output: The tool's return value.
        error: The exception the tool raised, if any.
    """

    spec: ToolSpec
    kwargs: dict[str, Any]
    output: Any = None
    error: Exception | None = None

    def execute(self) -> None:
        """Run the call on its own."""
        try:
            self.output = self.spec.fn(**self.kwargs)
        except Exception as e:  # recorded; the interpreter wraps it as the step's failure
            self.error = e


Steps = Generator[Call, None, Trace]


class StepFailedError(VisprogError):
    """A step of a running program failed; carries the partial trace.

    The original typed error is ``__cause__`` and :attr:`error`; the CLI reports that error's
    exit code.

    Attributes:
        error: The typed error the step raised.
        trace: The trace up to and including the failed step.
    """

    def __init__(self, error: VisprogError, trace: Trace) -> None:
        self.error = error
        self.trace = trace
        step = trace.steps[-1] if trace.steps else None
        where = f"line {step.line} ({step.step}): " if step is not None else ""
        super().__init__(f"{where}{error}")

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        """The exit code of the underlying error."""
        return self.error.exit_code


class Interpreter:
    """Runs checked programs.

    Args:
        registry: The tools (the default registry when omitted).
        device: Device for model tools: auto, cpu, cuda, cuda:N, mps.
        max_steps: Refuse programs with more statements than this.
        max_pixels: Refuse input or intermediate images with more pixels than this.
        models: The model manager (a new, empty one when omitted; a Session passes its own).
        settings: Options passed to tools through their context (model ids, thresholds).
        services: Collaborators for tools (e.g. ``{"llm": backend}`` for List).
        on_step: Called after every step with its record (progress display).
        trace_budget_bytes: Bytes of full intermediate images the trace keeps (the rest become
            thumbnails; inputs and the result stay full).
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        device: str = "auto",
        max_steps: int = DEFAULT_MAX_STEPS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        models: ModelManager | None = None,
        settings: Mapping[str, Any] | None = None,
        services: Mapping[str, Any] | None = None,
        on_step: StepCallback | None = None,
        trace_budget_bytes: int = DEFAULT_TRACE_BUDGET,
    ) -> None:
        self.registry = registry or REGISTRY
        self.device = validate_device(device)
        self.max_steps = max_steps
        self.max_pixels = max_pixels
        self.models = models if models is not None else ModelManager()
        self.settings = dict(settings or {})
        self.trace_budget_bytes = trace_budget_bytes
        self.services = dict(services or {})
        self.on_step = on_step

    def run(
        self, program: Program | str, inputs: Mapping[str, Any], *, query: str | None = None
    ) -> Trace:
        """Check and run a program.

        Args:
            program: Parsed program or its source text.
            inputs: Values by input name (images as :class:`~visprog.values.Image`).
            query: The question the program answers, kept in the trace.

        Returns:
            The trace; its ``result`` is the value of the Result statement.

        Raises:
            VisprogSyntaxError: The program does not parse.
            CheckError: The program fails static checking (nothing has run).
            VisprogError: A tool's precheck refused a statement (e.g. a missing probe file),
                before any step runs or any model loads; the message names the line.
            LimitError: Too many statements or too large an input.
            StepFailedError: A step failed; ``.trace`` holds the partial trace.
        """
        steps = self.steps(program, inputs, query=query)
        try:
            while True:
                next(steps).execute()
        except StopIteration as done:
            trace: Trace = done.value
            return trace

    def steps(
        self, program: Program | str, inputs: Mapping[str, Any], *, query: str | None = None
    ) -> Steps:
        """:meth:`run` as a generator that yields each tool call instead of making it.

        The caller runs each yielded :class:`Call` (alone, or batched with other programs'
        calls) and resumes the generator; its return value is the trace. It raises what
        :meth:`run` raises, at the same points.
        """
        if isinstance(program, str):
            program = parse(program)
        if len(program.statements) > self.max_steps:
            raise LimitError(
                f"the program has {len(program.statements)} statements; the limit is {self.max_steps}"
            )
        env = self._inputs(inputs)
        issues = check(program, {k: V.type_of(v) or V.ANY for k, v in env.items()}, self.registry)
        if issues:
            raise CheckError(issues, program.source, program.filename)
        self._precheck(program)
        trace = Trace(
            program=program.source,
            inputs=dict(env),
            query=query,
            filename=program.filename,
            device=self.device,
            started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        run_ctx = Context(self.device, self.models, env, {}, self.settings, [], [], self.services)
        budget = ImageBudget(trace, self.trace_budget_bytes)
        drop_after = last_uses(program, self.registry)
        start = time.perf_counter()
        try:
            for index, st in enumerate(program.statements):
                spec = self.registry.get(st.step)
                assert spec is not None  # noqa: S101 - guaranteed by check() above
                yield from self._step(trace, env, run_ctx, index, st, spec)
                budget.add(trace.steps[-1])
                # Nothing later reads these: keeping them would hold every intermediate image.
                for name in drop_after.get(index, ()):
                    env.pop(name, None)
        finally:
            trace.seconds = time.perf_counter() - start
        return trace

    def _precheck(self, program: Program) -> None:
        """Run the tools' prechecks on literal arguments and settings before any step runs."""
        precheck(program, self.registry, self.settings)

    def _inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for name, value in inputs.items():
            if V.type_of(value) is None:
                raise ToolArgumentError(
                    f"input {name!r}: expected an Image, number, text or bool, got {type(value).__name__}"
                )
            if isinstance(value, V.Image):
                self._check_pixels(value, f"input {name!r}")
            env[name] = value
        return env

    def _check_pixels(self, image: V.Image, what: str) -> None:
        if image.width * image.height > self.max_pixels:
            raise LimitError(
                f"{what} has {image.width}x{image.height} pixels, more than the limit of "
                f"{self.max_pixels:,}"
            )

    def _step(
        self,
        trace: Trace,
        env: dict[str, Any],
        run_ctx: Context,
        index: int,
        st: Statement,
        spec: ToolSpec,
    ) -> Generator[Call, None, None]:
        record = StepRecord(index, st.line, st.target, spec.name, st.source)
        trace.steps.append(record)
        ctx = run_ctx.for_step(env)
        t0 = time.perf_counter()
        try:
            record.args = {a.name: _resolve(a.value, env) for a in st.args}
            out = yield from self._call(spec, record.args, ctx)
        except InvalidValueError as e:
            # The tool built a malformed value: its bug, whatever argument it was given.
            wrapped = ToolExecutionError(
                f"{spec.name} built an invalid value: {e} (a bug in the tool)"
            )
            wrapped.__cause__ = e
            self._fail(trace, record, ctx, wrapped, t0)
            raise StepFailedError(wrapped, trace) from wrapped
        except VisprogError as e:
            self._fail(trace, record, ctx, e, t0)
            raise StepFailedError(e, trace) from e
        except Exception as e:
            wrapped = ToolExecutionError(f"{spec.name} failed: {type(e).__name__}: {e}")
            wrapped.__cause__ = e
            self._fail(trace, record, ctx, wrapped, t0)
            raise StepFailedError(wrapped, trace) from wrapped
        record.seconds = time.perf_counter() - t0
        record.output, record.models, record.notes = out, ctx.models_used, ctx.notes
        env[st.target] = out
        if spec.name == "Result":
            trace.result = out
        if self.on_step is not None:
            self.on_step(record)

    def _fail(
        self, trace: Trace, record: StepRecord, ctx: Context, error: VisprogError, t0: float
    ) -> None:
        record.seconds = time.perf_counter() - t0
        record.models, record.notes = ctx.models_used, ctx.notes
        record.error = trace.error = ErrorInfo.of(error, record.line)
        if self.on_step is not None:
            self.on_step(record)

    def _call(
        self, spec: ToolSpec, args: dict[str, Any], ctx: Context
    ) -> Generator[Call, None, Any]:
        for name, value in args.items():
            param = spec.param(name)
            if param is None:
                raise ToolArgumentError(f"{spec.name} has no argument {name!r}")
            tag = V.type_of(value)
            if tag is None or (V.ANY not in param.types and tag not in param.types):
                raise ToolArgumentError(
                    f"{spec.name}: argument {name!r} expects {V.describe_type(param.types)}, "
                    f"got {tag or type(value).__name__}"
                )
        V.check_frames(spec.name, args)
        kwargs = dict(args)
        if spec.context_param is not None:
            kwargs[spec.context_param] = ctx
        call = Call(spec, kwargs)
        yield call
        if call.error is not None:
            raise call.error
        out = normalize(call.output)
        tag = V.type_of(out)
        if tag is None or (V.ANY not in spec.returns and tag not in spec.returns):
            raise ToolExecutionError(
                f"{spec.name} returned {tag or type(out).__name__}, but declares "
                f"{V.describe_type(spec.returns)} (a bug in the tool)"
            )
        if isinstance(out, V.Image):
            self._check_pixels(out, f"the image made by {spec.name}")
        _check_text(out, spec.name)
        return out


def _check_text(value: Any, step: str) -> None:
    texts = value if isinstance(value, list) else [value]
    longest = max((len(t) for t in texts if isinstance(t, str)), default=0)
    if longest > V.MAX_TEXT:
        raise LimitError(
            f"{step} made a text of {longest:,} characters, more than the limit of {V.MAX_TEXT:,}"
        )


def last_uses(program: Program, registry: Registry) -> dict[int, list[str]]:
    """For each statement index, the variables no statement after it reads.

    References in arguments and in Eval expressions count. A variable never read is dropped
    right after the statement that assigns it.
    """
    last: dict[str, int] = {}
    for index, st in enumerate(program.statements):
        last[st.target] = index
        spec = registry.get(st.step)
        for arg in st.args:
            for name in argument_refs(arg, spec):
                last[name] = index
    out: dict[int, list[str]] = {}
    for name, index in last.items():
        out.setdefault(index, []).append(name)
    return out


def argument_refs(arg: Any, spec: ToolSpec | None) -> set[str]:
    """The variables an argument reads: its references, and those of an Eval expression.

    Args:
        arg: A statement's :class:`~visprog.program.Argument`.
        spec: The step's spec (None for an unknown step: then only plain references count).
    """
    refs = _value_refs(arg.value)
    param = spec.param(arg.name) if spec is not None else None
    if param is not None and param.expression and isinstance(arg.value, Literal):
        if isinstance(arg.value.value, str):
            refs |= {v.name for v in variables(parse_expr(arg.value.value))}
    return refs


def _value_refs(value: Value) -> set[str]:
    if isinstance(value, Ref):
        return {value.name}
    if isinstance(value, ListValue):
        return {n for v in value.items for n in _value_refs(v)}
    return set()


def normalize(value: Any) -> Any:
    """NumPy scalars become Python numbers; tuples of text become lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return value


def precheck(program: Program, registry: Registry, settings: Mapping[str, Any]) -> None:
    """Run the tools' prechecks (literal arguments, settings) on a checked program.

    Nothing runs and no model loads: a precheck catches what is wrong in the program text
    itself, such as an emoji name Unicode does not have or a probe file that does not load.

    Raises:
        VisprogError: The first precheck that refuses a statement, its message prefixed with
            the line and step (a :class:`ToolArgumentError` for a bad literal).
    """
    for st in program.statements:
        spec = registry.get(st.step)
        if spec is None or spec.precheck is None:
            continue
        args = {a.name: _literal(a.value) for a in st.args}
        try:
            spec.precheck(args, settings)
        except DiagnosticError:
            raise
        except VisprogError as e:
            raise _located(e, f"line {st.line} ({spec.name}): ") from e


def _literal(value: Value) -> Any:
    """A literal argument's value; a reference (or a list holding one) is UNRESOLVED."""
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, ListValue):
        items = [_literal(v) for v in value.items]
        return UNRESOLVED if any(v is UNRESOLVED for v in items) else items
    return UNRESOLVED


def _located(error: VisprogError, where: str) -> VisprogError:
    """The same kind of error with its message prefixed by where it happened."""
    try:
        return type(error)(f"{where}{error}")
    except TypeError:  # an error class with a different constructor keeps its message
        return error


def _resolve(value: Value, env: Mapping[str, Any]) -> Any:
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, Ref):
        return env[value.name]
    if isinstance(value, ListValue):
        return [_resolve(v, env) for v in value.items]
    raise TypeError(f"unknown value node {value!r}")  # unreachable: the parser makes only these
