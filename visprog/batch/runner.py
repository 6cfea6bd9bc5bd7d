"""Running a batch: items in, results out as each finishes, nothing lost.

The scheduler (see ``docs/batch.md`` for why this one):

1. Programs first: every distinct (query, inputs, task) is written once, before any item runs,
   all together (:meth:`Session.write_programs`: a local model decodes up to ``batch.programs``
   of them in one forward per step), so the program-writing model is loaded and used in one
   stretch (and the program cache answers repeats across runs).
2. Items grouped by their images: items about the same picture run one after another, so the
   step memo (:mod:`visprog.batch.share`) finds their shared steps while they are still in its
   bounded memory.
3. Items run step-synchronously in groups of ``batch.size`` (default 8): each item's program
   runs through the ordinary interpreter as a generator of tool calls
   (:meth:`~visprog.interpreter.Interpreter.steps`); each round collects every live item's
   next call, sends the calls of a tool that declares a batched form through it (one forward
   for the round), and runs the others one by one. The registry has the memo in front of every
   deterministic tool, batched forms included. A group's results are yielded (and appended by
   the caller) as soon as the group is done.

:class:`Engine` is the one seam between the batch and the rest of visprog: a
:class:`~visprog.Session` (settings, device, models, program writer) whose tools sit behind the
step memo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visprog.batch.manifest import Item
from visprog.batch.results import (
    BAD_INPUT,
    CHECK_FAILED,
    CORRECT,
    INTERNAL,
    NO_PROGRAM,
    STEP_FAILED,
    UNSCORED,
    WRONG,
    ItemResult,
    answer_json,
)
from visprog.batch.score import score
from visprog.batch.share import DEFAULT_ENTRIES, StepMemo
from visprog.context import Context
from visprog.errors import (
    CheckError,
    GenerationError,
    ImageLoadError,
    LimitError,
    VisprogError,
    VisprogSyntaxError,
)
from visprog.images import DEFAULT_MAX_PIXELS
from visprog.interpreter import Call, StepFailedError, Steps
from visprog.options import option
from visprog.registry import Registry, ToolSpec
from visprog.syntax import parse
from visprog.trace import ErrorInfo, Trace

if TYPE_CHECKING:
    from visprog.session import Session

ProgramKey = tuple[str, tuple[str, ...], str | None]

BATCH_SIZE = option(
    "batch.size", int, 8, "items run together, and calls per batched forward, in a batch", 1, 1024
)
BATCH_PROGRAMS = option(
    "batch.programs",
    int,
    32,
    "programs a local language model writes together in one batched decode, in a batch",
    1,
    1024,
)


@dataclass
class EngineOptions:
    """How an :class:`Engine` is built; plain data, so a Ray worker can build the same one.

    Attributes:
        device: auto, cpu, cuda, cuda:N, mps.
        settings: ``--set`` style settings (over the config file and ``VISPROG_*``).
        config: A TOML settings file.
        llm: The program writer spec (None: the configured default).
        attempts: Program-writing tries per query.
        program_cache: Reuse programs written by earlier runs.
        share: Compute identical steps once per batch (:class:`StepMemo`).
        memo_entries: Bound of the step memo.
        max_pixels: Largest image accepted (None: the default).
        batched_forward: Send calls of a tool with a batched form, from several items, through
            one forward (False: every call alone, items one after another).
    """

    device: str = "auto"
    settings: dict[str, Any] = field(default_factory=dict)
    config: str | None = None
    llm: str | None = None
    attempts: int = 3
    program_cache: bool = True
    share: bool = True
    memo_entries: int = DEFAULT_ENTRIES
    max_pixels: int | None = None
    batched_forward: bool = True


class Engine:
    """Loads images, writes and runs programs for a batch, through one :class:`~visprog.Session`.

    The engine's session runs every tool through a :class:`StepMemo` (unless ``share`` is
    off), so work shared between items is done once.

    Args:
        options: How to build the session (ignored for what ``session`` already fixes).
        registry: The tools (the default registry when omitted).
        session: An existing session to work for: its settings, device, models and program
            writer are used as they are; only the registry in front of the tools differs.
    """

    def __init__(
        self,
        options: EngineOptions | None = None,
        registry: Registry | None = None,
        session: Session | None = None,
    ) -> None:
        from visprog.session import Session

        self.options = options or EngineOptions()
        self.memo = StepMemo(self.options.memo_entries) if self.options.share else None
        base = registry or (session.registry if session is not None else None) or _tools()
        wrapped = self.memo.wrap(base) if self.memo else base
        if session is None:
            self.session = Session(
                self.options.settings,
                config=self.options.config,
                device=self.options.device,
                registry=wrapped,
                llm=self.options.llm,
                max_pixels=self.options.max_pixels or DEFAULT_MAX_PIXELS,
            )
        else:
            self.session = _sibling(session, wrapped)

    def load_inputs(self, item: Item) -> dict[str, Any]:
        """The item's images, loaded and bound by name."""
        return self.session.bind(dict(item.images))

    def write_program(self, query: str, names: tuple[str, ...], task: str | None) -> Any:
        """A :class:`~visprog.planner.Generation` for ``query`` (raises GenerationError)."""
        from visprog.planner import ProgramCache

        cache = ProgramCache() if self.options.program_cache else None
        return self.session.write_program(
            query, names, task=task, attempts=self.options.attempts, cache=cache
        )

    def write_programs(self, keys: list[ProgramKey]) -> list[Any]:
        """Generations (or errors) for many queries, written together where the model can."""
        from visprog.planner import ProgramCache, Request

        cache = ProgramCache() if self.options.program_cache else None
        size = int(BATCH_PROGRAMS.read(self.session.settings))
        if not self.options.batched_forward:
            size = 1  # every call alone: programs too, for the comparison this option serves
        requests = [Request(q, names, task) for q, names, task in keys]
        return self.session.write_programs(
            requests, attempts=self.options.attempts, cache=cache, batch_size=size
        )

    def run(self, program: str, inputs: Mapping[str, Any], query: str | None) -> Trace:
        """Check and run one program (raises as :meth:`Session.run` does).

        The source is parsed here, so text from a manifest's ``program`` is never mistaken for
        a query (and sent to the language model).
        """
        return self.session.run(parse(program), inputs, query=query)

    def steps(self, program: str, inputs: Mapping[str, Any], query: str | None) -> Steps:
        """:meth:`run` as a generator of tool calls (see :meth:`Interpreter.steps`)."""
        return self.session.interpreter().steps(parse(program), inputs, query=query)

    @property
    def batch_size(self) -> int:
        """Items run together and calls per batched forward (the ``batch.size`` setting)."""
        return int(BATCH_SIZE.read(self.session.settings))


def _tools() -> Registry:
    from visprog.registry import REGISTRY
    from visprog.session import ensure_tools

    ensure_tools()
    return REGISTRY


def _sibling(session: Session, registry: Registry) -> Session:
    """A session like ``session`` (same settings, models, program writer) with another registry."""
    from visprog.session import Session

    out = Session(
        session.settings,
        device=session.device,
        registry=registry,
        services={**session.services, "llm": session.llm},
        max_steps=session.max_steps,
        max_pixels=session.max_pixels,
        log=session.log,
        environ={},
    )
    out.models = session.models  # one model manager: nothing loads twice
    return out


def program_key(item: Item) -> ProgramKey:
    """Items with the same key get the same written program."""
    return (item.query or "", tuple(item.images), item.task)


def classify(error: BaseException) -> str:
    """The outcome class of a failure (the report's error classes)."""
    if isinstance(error, GenerationError):
        return NO_PROGRAM
    if isinstance(error, (VisprogSyntaxError, CheckError, LimitError)):
        return CHECK_FAILED
    if isinstance(error, ImageLoadError):
        return BAD_INPUT
    if isinstance(error, VisprogError):
        return STEP_FAILED
    return INTERNAL


class Runner:
    """Runs items through an engine, yielding one :class:`ItemResult` per item.

    Args:
        engine: Does the work.
        traces: A folder for each item's trace JSON and page (None: no traces).
        relative_to: Trace paths in results are written relative to this folder.
    """

    def __init__(
        self,
        engine: Engine,
        traces: Path | None = None,
        relative_to: Path | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.traces = traces
        self.relative_to = relative_to
        self.say = say
        self.programs: dict[ProgramKey, Any] = {}

    def run(self, items: Iterable[Item]) -> Iterator[ItemResult]:
        """Results in scheduling order (programs written first, items grouped by image)."""
        ordered = schedule(list(items))
        self.write_programs(ordered)
        size = self.engine.batch_size if self.engine.options.batched_forward else 1
        for first in range(0, len(ordered), size):
            yield from self.run_group(ordered[first : first + size])

    def write_programs(self, items: list[Item]) -> None:
        """Write each distinct query's program once; a failure is kept for its items."""
        keys = dict.fromkeys(program_key(i) for i in items if i.query is not None)
        todo = [k for k in keys if k not in self.programs]
        if not todo:
            return
        if self.say is not None:
            self.say(f"writing {len(todo)} program(s)")
        try:
            written = self.engine.write_programs(todo)
        except VisprogError as e:  # the writer itself failed (e.g. its model is missing)
            written = [e] * len(todo)
        for key, gen in zip(todo, written, strict=True):
            self.programs[key] = gen

    def run_item(self, item: Item) -> ItemResult:
        """One item, every failure recorded in the result (never raised)."""
        return self.run_group([item])[0]

    def run_group(self, items: list[Item]) -> list[ItemResult]:
        """Items step-synchronously, round by round; every failure recorded, never raised."""
        live: list[_Live] = []
        results: list[ItemResult] = []
        for item in items:
            result = ItemResult(item.id, ok=False, query=item.query, category=item.category)
            result.expected = item.answer
            entry = _Live(item, result)
            results.append(entry.result)
            try:
                source, entry.generation = self._program(item)
                entry.result.program = source
                entry.steps = self.engine.steps(source, self.engine.load_inputs(item), item.query)
            except Exception as e:  # every failure belongs to this item; the batch goes on
                self._end(entry, None, e)
                continue
            if self._advance(entry):
                live.append(entry)
        while live:
            run_calls([e.call for e in live if e.call is not None], self._chunk())
            live = [e for e in live if self._advance(e)]
        return results

    def _chunk(self) -> int:
        return self.engine.batch_size if self.engine.options.batched_forward else 1

    def _advance(self, entry: _Live) -> bool:
        """Resume an item to its next tool call; False (and its result done) when it ended."""
        assert entry.steps is not None  # noqa: S101 - set before the first advance
        try:
            entry.call = next(entry.steps)
            return True
        except StopIteration as done:
            self._end(entry, done.value, None)
        except StepFailedError as e:
            self._end(entry, e.trace, e)
        except Exception as e:  # every failure belongs to this item; the batch goes on
            self._end(entry, None, e)
        return False

    def _end(self, entry: _Live, trace: Trace | None, error: Exception | None) -> None:
        """Fill in an item's result from its trace or its failure."""
        result = entry.result
        if trace is not None:
            trace.generation = entry.generation
        if error is None and trace is not None:
            self._finish(result, entry.item, trace)
        elif error is not None:
            result.outcome = classify(error)
            cause = error.error if isinstance(error, StepFailedError) else error
            info = ErrorInfo.of(cause, getattr(trace.error, "line", None) if trace else None)
            result.error = {
                "type": info.type,
                "message": info.message[:2000],
                "exit_code": info.exit_code,
            }
        if trace is not None:
            self._record_trace(result, entry.item, trace)
        result.seconds = round(time.perf_counter() - entry.start, 4)

    def _program(self, item: Item) -> tuple[str, list[dict[str, Any]]]:
        if item.program is not None:
            return item.program, []
        key = program_key(item)
        if key not in self.programs:
            self.write_programs([item])
        gen = self.programs[key]
        if isinstance(gen, BaseException):
            raise gen
        return gen.program, gen.records()

    def _finish(self, result: ItemResult, item: Item, trace: Trace) -> None:
        result.ok = True
        result.answer = answer_json(trace.result)
        correct = score(trace.result, item.answer, item.metric)
        result.correct = correct
        result.outcome = UNSCORED if correct is None else CORRECT if correct else WRONG

    def _record_trace(self, result: ItemResult, item: Item, trace: Trace) -> None:
        result.models = trace.models
        result.steps = [{"step": s.step, "seconds": round(s.seconds, 4)} for s in trace.steps]
        if self.traces is None:
            return
        from visprog.render import write_html

        stem = trace_stem(item)
        trace.save(self.traces / f"{stem}.json")
        page = write_html(trace, self.traces / f"{stem}.html")
        base = self.relative_to or self.traces
        result.trace = _relative(page, base)


@dataclass
class _Live:
    """An item of a group while it runs: its result, its program's steps, its pending call."""

    item: Item
    result: ItemResult
    start: float = field(default_factory=time.perf_counter)
    generation: list[dict[str, Any]] = field(default_factory=list)
    steps: Steps | None = None
    call: Call | None = None


def run_calls(calls: list[Call], chunk: int) -> None:
    """Make a round's calls: a tool's calls through its batched form in chunks, others alone.

    Calls keep their order within a tool; a chunk of one runs as the tool alone would.
    """
    by_tool: dict[str, list[Call]] = {}
    for call in calls:
        by_tool.setdefault(call.spec.name, []).append(call)
    for group in by_tool.values():
        spec = group[0].spec
        if spec.batched is None or chunk <= 1:
            for call in group:
                call.execute()
            continue
        for first in range(0, len(group), chunk):
            _run_chunk(spec, group[first : first + chunk])


def _run_chunk(spec: ToolSpec, chunk: list[Call]) -> None:
    """One batched forward; if it fails, each call alone, so only a bad call fails its item."""
    if len(chunk) == 1 or spec.batched is None:
        for call in chunk:
            call.execute()
        return
    found = [c.kwargs.get(spec.context_param or "") for c in chunk]
    contexts = [ctx for ctx in found if isinstance(ctx, Context)]
    marks = [(len(c.notes), len(c.models_used)) for c in contexts]
    try:
        outputs = spec.batched([c.kwargs for c in chunk])
        if len(outputs) != len(chunk):
            raise ValueError(f"{spec.name}'s batched form gave {len(outputs)} results")
    except Exception:  # noqa: BLE001 - retried one by one, where the error is the item's own
        for ctx, (notes, models) in zip(contexts, marks, strict=True):
            del ctx.notes[notes:], ctx.models_used[models:]  # what the failed forward noted
        for call in chunk:
            call.execute()
        return
    for call, output in zip(chunk, outputs, strict=True):
        call.output = output


def _relative(path: Path, base: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def trace_stem(item: Item) -> str:
    """A file name for the item's trace: its id made safe, plus its line to keep them unique."""
    import hashlib

    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.id)[:60]
    digest = hashlib.blake2b(item.id.encode(), digest_size=4).hexdigest()
    return f"{safe}-{digest}"


def schedule(items: list[Item]) -> list[Item]:
    """Items about the same images next to each other, first appearance order kept."""
    groups: dict[tuple[str, ...], list[Item]] = {}
    for item in items:
        groups.setdefault(tuple(str(p) for p in item.images.values()), []).append(item)
    return [item for group in groups.values() for item in group]


def run_batch(
    items: Iterable[Item],
    engine: Engine | None = None,
    *,
    results: Any = None,
    retry_failed: bool = False,
    traces: Path | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[ItemResult]:
    """Run items, skipping those ``results`` already holds, appending each new result to it.

    Args:
        items: The batch.
        engine: Does the work (a default :class:`Engine` when omitted).
        results: A :class:`~visprog.batch.results.ResultsFile` to resume from and append to.
        retry_failed: Run again the items whose recorded result failed.
        traces: Folder for trace JSON and pages.
        on_result: Called with each result after it is stored.
        say: Receives progress messages (programs being written).

    Yields:
        Each new result, as it finishes.
    """
    todo = pending(items, results, retry_failed)
    base = results.path.parent if results is not None else None
    runner = Runner(engine or Engine(), traces, base, say)
    for result in runner.run(todo):
        if results is not None:
            results.append(result)
        if on_result is not None:
            on_result(result)
        yield result


def pending(items: Iterable[Item], results: Any, retry_failed: bool) -> list[Item]:
    """The items still to run."""
    done = results.finished(retry_failed) if results is not None else set()
    return [item for item in items if item.id not in done]


def batch_for(
    session: Session, items: Iterable[Item], *, share: bool = True, **options: Any
) -> Iterator[ItemResult]:
    """:meth:`Session.batch`: run items with ``session``'s settings, models and program writer."""
    engine = Engine(EngineOptions(share=share), session=session)
    return run_batch(items, engine, **options)
