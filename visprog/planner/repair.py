"""Writing a program for a query, with a bounded repair loop.

Each attempt asks the backend for a program (under the generation grammar when the backend
honours one), then parses and checks it. On a syntax or check error, and optionally on a runtime
error reported by ``runtime_check``, the next attempt shows the model its program and the
diagnostics and asks again. Every attempt is kept (program text, diagnostics, seconds) for the
trace. When all attempts fail, :class:`~visprog.errors.GenerationError` shows the last program
and its diagnostics.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from visprog.checker import check
from visprog.errors import DiagnosticError, GenerationError, ToolArgumentError, VisprogError
from visprog.planner.adapter import adapter_prefix, adapter_prompt
from visprog.planner.backends.base import Backend, Progress, is_stepwise
from visprog.planner.cache import ProgramCache, cache_key
from visprog.planner.compound import ChainError, chain, edit_clauses
from visprog.planner.extract import extract_program
from visprog.planner.grammar import Grammar, program_grammar
from visprog.planner.prompts import PromptSet, block, choose_task, load_prompt, open_question
from visprog.planner.prune import prune_unused
from visprog.planner.scope import ScopedProgram
from visprog.planner.vocab import query_vocabulary
from visprog.program import Program
from visprog.registry import REGISTRY, Registry
from visprog.syntax import parse
from visprog.trace import Trace

DEFAULT_ATTEMPTS = 3
# Tasks that count faces only when the query says so ("more people than" counted faces).
FACES_BY_WORD = ("nlvr", "count")
MAX_TOKENS = 400  # a 12-statement program is about 250 tokens for common tokenizers
STOP = ("\nQuestion:", "\n\n")

RuntimeCheck = Callable[[Program], Sequence[str]]
"""Runs a candidate program (e.g. on the real images) and returns runtime diagnostics."""


@dataclass
class Attempt:
    """One try at writing the program.

    Attributes:
        program: The program text the model produced (after extraction).
        diagnostics: What was wrong with it (empty when it parsed, checked and, if asked, ran).
        seconds: Time the backend took.
        raw: The model's reply before extraction, when it differs.
        clause: Of a compound edit (:mod:`visprog.planner.compound`), the clause this attempt
            wrote a program for (None for a program of the whole query).
    """

    program: str
    diagnostics: list[str] = field(default_factory=list)
    seconds: float = 0.0
    raw: str | None = None
    clause: str | None = None


@dataclass
class Generation:
    """The outcome of writing a program for a query.

    Attributes:
        query: The natural-language query.
        task: The prompt task used.
        model: The backend's name.
        inputs: Input names the program may use.
        program: The final program text ("" when every attempt failed).
        attempts: Every attempt, in order (empty when the program came from the cache).
        cached: True when the program came from the program cache.
        clauses: Of a compound edit, its clauses, each written as a program of its own and
            chained into :attr:`program` (empty for a program written whole).
    """

    query: str
    task: str
    model: str
    inputs: tuple[str, ...]
    program: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    cached: bool = False
    clauses: tuple[str, ...] = ()

    def records(self) -> list[dict[str, Any]]:
        """Plain dicts for ``trace.generation``: one per attempt (or one for a cache hit)."""
        head = {"task": self.task, "model": self.model, "query": self.query}
        if self.cached:
            return [{**head, "cached": True, "program": self.program, "diagnostics": []}]
        out = []
        for i, a in enumerate(self.attempts):
            rec = {**head, "attempt": i + 1, **asdict(a)}
            for optional in ("raw", "clause"):
                if rec[optional] is None:
                    del rec[optional]
            out.append(rec)
        return out


def diagnose(
    text: str, inputs: Sequence[str], registry: Registry | None = None
) -> tuple[Program | None, list[str]]:
    """Parse and check program text: (program, []) when fine, else (program or None, messages)."""
    if not text.strip():
        return None, ["the reply contains no program"]
    try:
        program = parse(text)
    except DiagnosticError as e:
        return None, [d.format() for d in e.diagnostics]
    issues = check(program, list(inputs), registry)
    return program, [d.format() for d in issues]


def repair_prompt(
    prompts: PromptSet,
    query: str,
    attempt: Attempt,
    registry: Registry | None,
    adapted: bool = False,
) -> str:
    """The prompt for a repair: the prefix, the failed program with its errors, the question.

    The prefix is the header and tool list, or for an adapted model its short task line.
    """
    errors = "\n".join(f"# error: {d.splitlines()[0]}" for d in attempt.diagnostics)
    failed = f"{block(query, attempt.program or '# (no program)')}{errors}\n"
    return f"{_prefix(prompts, registry, adapted)}{failed}\n{open_question(query)}"


def first_prompt(prompts: PromptSet, query: str, registry: Registry | None, adapted: bool) -> str:
    """The first attempt's prompt: retrieved examples, or the adapter's short form."""
    return adapter_prompt(prompts.task, query) if adapted else prompts.render(query, registry)


def _prefix(prompts: PromptSet, registry: Registry | None, adapted: bool) -> str:
    """The part of every prompt of the task that is read once and kept."""
    return adapter_prefix(prompts.task) if adapted else prompts.prefix(registry)


def _adapted(backend: Backend) -> str:
    """The id of the adapter folded into the backend's model ("" for none)."""
    return str(getattr(backend, "adapted", "") or "")


def _version(prompts: PromptSet, registry: Registry, adapter: str) -> str:
    """The prompt's version for the cache key: an adapted model's includes its adapter."""
    return f"{prompts.version(registry)}+{adapter}" if adapter else prompts.version(registry)


def generate_program(
    query: str,
    backend: Backend,
    inputs: Sequence[str] = ("IMAGE",),
    *,
    task: str | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    constrain: bool = True,
    scoped: bool = True,
    cache: ProgramCache | None = None,
    runtime_check: RuntimeCheck | None = None,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> Generation:
    """Write a program that answers ``query`` over the named inputs.

    Args:
        query: The question or request.
        backend: The language model.
        inputs: Input names (``IMAGE``; ``LEFT``, ``RIGHT`` for pairs).
        task: The prompt task; chosen from the query and the number of inputs when None.
        attempts: Most tries (first one included).
        constrain: Use the generation grammar when the backend honours one.
        scoped: With ``constrain``, on a backend that writes line by line (``stepwise``), use
            the scope- and type-constrained grammars of :mod:`visprog.planner.scope` (every
            program then checks); else the syntax grammar.
        cache: Program cache to read and fill (None: no caching).
        runtime_check: Optional: runs a candidate and returns runtime diagnostics to repair.
        registry: The tools (the default registry when omitted).
        progress: Receives one-line progress messages.

    Returns:
        The generation; ``.program`` parses and checks.

    Raises:
        GenerationError: When no attempt produced a valid program (``.generation`` holds them).
    """
    names = tuple(inputs)
    prompts = load_prompt(task or choose_task(query, len(names)))
    reg = registry if registry is not None else REGISTRY
    key = _key(query, prompts, names, backend, reg)
    hit = cache.get(key) if cache is not None else None
    if hit is not None and not diagnose(hit["program"], names, reg)[1]:
        return Generation(query, prompts.task, backend.name, names, hit["program"], cached=True)
    gen: Generation | None = None
    clauses = compound_clauses(query, names, prompts.task)
    if clauses:
        try:
            subs = [
                _write_one(
                    c, backend, names, prompts, reg, attempts, constrain, scoped, None, progress
                )
                for c in clauses
            ]
        except GenerationError:
            subs = []  # a clause the model cannot write: the query is written whole
        gen = _chained(query, clauses, subs, backend, reg, runtime_check) if subs else None
    if gen is None:
        gen = _write_one(
            query,
            backend,
            names,
            prompts,
            reg,
            attempts,
            constrain,
            scoped,
            runtime_check,
            progress,
        )
    if cache is not None:
        cache.put(key, {"program": gen.program, "attempts": gen.records()})
    return gen


def _key(
    query: str, prompts: PromptSet, names: tuple[str, ...], backend: Backend, reg: Registry
) -> str:
    """The program cache's key for a query written with this prompt set and backend."""
    model_id = str(getattr(backend, "cache_id", backend.name))  # LazyBackend: its spec, unloaded
    return cache_key(
        query, prompts.task, names, model_id, _version(prompts, reg, _adapted(backend))
    )


def _write_one(
    query: str,
    backend: Backend,
    names: tuple[str, ...],
    prompts: PromptSet,
    reg: Registry,
    attempts: int,
    constrain: bool,
    scoped: bool,
    runtime_check: RuntimeCheck | None,
    progress: Progress | None,
) -> Generation:
    """Write one program for ``query`` as it stands (attempts and repairs; no cache)."""
    gen = Generation(query, prompts.task, backend.name, names)
    adapter = _adapted(backend)
    grammar = _grammar(query, names, prompts, reg, constrain, scoped and is_stepwise(backend))
    for n in range(max(1, attempts)):
        prompt = (
            first_prompt(prompts, query, reg, bool(adapter))
            if n == 0
            else repair_prompt(prompts, query, gen.attempts[-1], reg, bool(adapter))
        )
        if progress:
            progress(
                f"writing the program ({prompts.task} prompt, attempt {n + 1}) with {backend.name} ..."
            )
        prefix_len = len(_prefix(prompts, reg, bool(adapter)))
        attempt = _attempt(backend, prompt, prefix_len, grammar, names, reg, runtime_check)
        gen.attempts.append(attempt)
        if not attempt.diagnostics:
            gen.program, gen.model = attempt.program, backend.name  # name once loaded
            return gen
    raise _failure(gen)


def compound_clauses(query: str, names: Sequence[str], task: str) -> list[str]:
    """The clauses of a compound edit of one image (each an edit), or [] for any other query."""
    if task != "edit" or len(names) != 1:
        return []
    clauses = edit_clauses(query)
    # (one clause that is not the query: the request said as the edit it makes)
    if clauses == [query] or any(choose_task(c, 1) != "edit" for c in clauses):
        return []
    return clauses


def _chained(
    query: str,
    clauses: Sequence[str],
    subs: Sequence[Generation],
    backend: Backend,
    reg: Registry,
    runtime_check: RuntimeCheck | None,
) -> Generation | None:
    """The clauses' programs as one (:func:`~visprog.planner.compound.chain`), or None.

    None when they do not chain, the chained program does not check, or it fails
    ``runtime_check``: the query is then written whole, with its repairs.
    """
    names = subs[0].inputs
    try:
        text = chain([s.program for s in subs], reg)
    except ChainError:
        return None
    program, diagnostics = diagnose(text, names, reg)
    if program is None or diagnostics or (runtime_check is not None and runtime_check(program)):
        return None
    gen = Generation(query, subs[0].task, backend.name, names, text, clauses=tuple(clauses))
    gen.attempts = [
        replace(a, clause=c) for c, s in zip(clauses, subs, strict=True) for a in s.attempts
    ]
    return gen


@dataclass(frozen=True)
class Request:
    """One query of :func:`generate_programs`.

    Attributes:
        query: The question or request.
        inputs: Input names the program may use.
        task: The prompt task (chosen from the query and the inputs when None).
    """

    query: str
    inputs: tuple[str, ...] = ("IMAGE",)
    task: str | None = None


@dataclass
class _Pending:
    """A request still being written: its generation so far, prompt set, cache key, grammar."""

    index: int
    gen: Generation
    prompts: PromptSet
    key: str
    grammar: Grammar | ScopedProgram | None
    adapted: bool = False


def generate_programs(
    requests: Sequence[Request],
    backend: Backend,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    constrain: bool = True,
    scoped: bool = True,
    cache: ProgramCache | None = None,
    registry: Registry | None = None,
    progress: Progress | None = None,
    batch_size: int = 32,
) -> list[Generation | VisprogError]:
    """:func:`generate_program` for many queries, written together where the backend can.

    Each attempt round sends every query still without a valid program to the backend at once:
    through its ``complete_batch`` (a local model decodes them together, one forward per step,
    sharing the prompt's prefix) when it has one, else one at a time. A query whose program
    fails to parse or check is repaired in the next round, as :func:`generate_program` does;
    cache hits are not written again.

    Returns:
        One entry per request, in order: its generation, or the error that
        :func:`generate_program` would have raised for it (a GenerationError when no attempt
        gave a valid program; a ConfigurationError for an unknown task).
    """
    reg = registry if registry is not None else REGISTRY
    # A compound edit's clauses are written in the same batch as the other queries, each a
    # request of its own (as generate_program writes them one after the other), then chained.
    flat: list[Request] = []
    uncached: set[int] = set()
    plans: list[tuple[int, list[str], str]] = []
    for req in requests:
        clauses, key = _request_clauses(req, backend, reg, cache)
        plans.append((len(flat), clauses, key))
        if clauses:
            uncached.update(range(len(flat), len(flat) + len(clauses)))
            flat += [Request(c, req.inputs, req.task) for c in clauses]
        else:
            flat.append(req)
    written = _write_many(
        flat, backend, attempts, constrain, scoped, cache, reg, progress, batch_size, uncached
    )
    out: list[Generation | VisprogError | None] = []
    whole: list[int] = []
    for i, (req, (start, clauses, key)) in enumerate(zip(requests, plans, strict=True)):
        if not clauses:
            out.append(written[start])
            continue
        subs = [g for g in written[start : start + len(clauses)] if isinstance(g, Generation)]
        gen = None
        if len(subs) == len(clauses):
            gen = _chained(req.query, clauses, subs, backend, reg, None)
        if gen is None:
            whole.append(i)  # written whole, with its repairs, as generate_program does
        elif cache is not None:
            cache.put(key, {"program": gen.program, "attempts": gen.records()})
        out.append(gen)
    if whole:
        again = _write_many(
            [requests[i] for i in whole],
            backend,
            attempts,
            constrain,
            scoped,
            cache,
            reg,
            progress,
            batch_size,
            set(),
        )
        for i, gen_or_error in zip(whole, again, strict=True):
            out[i] = gen_or_error
    return [o for o in out if o is not None]


def _request_clauses(
    req: Request, backend: Backend, reg: Registry, cache: ProgramCache | None
) -> tuple[list[str], str]:
    """A request's compound-edit clauses (:func:`compound_clauses`) and its cache key.

    No clauses when the request is no compound edit or its chained program is cached (then
    it is read from the cache as any other request is); the cache is read for compound edits
    only, so every other request reads it once, when it is written.
    """
    names = tuple(req.inputs)
    try:
        prompts = load_prompt(req.task or choose_task(req.query, len(names)))
    except VisprogError:
        return [], ""  # the request's own error, reported when it is written
    clauses = compound_clauses(req.query, names, prompts.task)
    key = _key(req.query, prompts, names, backend, reg) if clauses else ""
    if clauses and cache is not None:
        hit = cache.get(key)
        if hit is not None and not diagnose(hit["program"], names, reg)[1]:
            return [], key
    return clauses, key


def _write_many(
    requests: Sequence[Request],
    backend: Backend,
    attempts: int,
    constrain: bool,
    scoped: bool,
    cache: ProgramCache | None,
    reg: Registry,
    progress: Progress | None,
    batch_size: int,
    uncached: set[int],
) -> list[Generation | VisprogError]:
    """Write the requests as they stand, together; those in ``uncached`` skip the cache."""
    out: list[Generation | VisprogError | None] = [None] * len(requests)
    todo: list[_Pending] = []
    for i, req in enumerate(requests):
        try:
            pending = _pending(
                i, req, backend, reg, None if i in uncached else cache, constrain, scoped
            )
        except VisprogError as e:  # this query's own fault (an unknown task): the rest go on
            out[i] = e
            continue
        if isinstance(pending, Generation):
            out[i] = pending
        else:
            todo.append(pending)
    for n in range(max(1, attempts)):
        if not todo:
            break
        if progress:
            progress(
                f"writing {len(todo)} programs together (attempt {n + 1}) with {backend.name} ..."
            )
        tries = _attempt_many(backend, todo, n, reg, batch_size)
        left = []
        for p, attempt in zip(todo, tries, strict=True):
            p.gen.attempts.append(attempt)
            if attempt.diagnostics:
                left.append(p)
                continue
            p.gen.program, p.gen.model = attempt.program, backend.name
            if cache is not None and p.index not in uncached:
                cache.put(p.key, {"program": p.gen.program, "attempts": p.gen.records()})
            out[p.index] = p.gen
        todo = left
    for p in todo:
        out[p.index] = _failure(p.gen)
    return [o for o in out if o is not None]


def _pending(
    index: int,
    req: Request,
    backend: Backend,
    registry: Registry,
    cache: ProgramCache | None,
    constrain: bool,
    scoped: bool,
) -> _Pending | Generation:
    """The cached generation for a request, or what writing it needs."""
    names = tuple(req.inputs)
    prompts = load_prompt(req.task or choose_task(req.query, len(names)))
    gen = Generation(req.query, prompts.task, backend.name, names)
    key = _key(req.query, prompts, names, backend, registry)
    hit = cache.get(key) if cache is not None else None
    if hit is not None and not diagnose(hit["program"], names, registry)[1]:
        gen.program, gen.cached = hit["program"], True
        return gen
    stepwise = scoped and is_stepwise(backend)
    grammar = _grammar(req.query, names, prompts, registry, constrain, stepwise)
    return _Pending(index, gen, prompts, key, grammar, bool(_adapted(backend)))


def _attempt_many(
    backend: Backend, todo: list[_Pending], n: int, registry: Registry, batch_size: int
) -> list[Attempt]:
    """One attempt for each pending request: together through ``complete_batch`` if offered."""
    batch = getattr(backend, "complete_batch", None)
    if batch is None or len(todo) == 1 or batch_size <= 1:
        return [
            _attempt(
                backend,
                _prompt(p, n, registry),
                len(_prefix(p.prompts, registry, p.adapted)),
                p.grammar,
                p.gen.inputs,
                registry,
                None,
            )
            for p in todo
        ]
    uses = [_usable(backend, p.grammar) for p in todo]
    start = time.perf_counter()
    raws = batch(
        [_prompt(p, n, registry) for p in todo],
        grammars=uses,
        max_tokens=MAX_TOKENS,
        stop=STOP,  # read for unconstrained rows only
        prefix_len=[len(_prefix(p.prompts, registry, p.adapted)) for p in todo],
        batch_size=batch_size,
    )
    each = (time.perf_counter() - start) / len(todo)  # the batch's time, shared out
    return [
        _judge(raw, use is not None, each, p.gen.inputs, registry, None)
        for raw, use, p in zip(raws, uses, todo, strict=True)
    ]


def _prompt(p: _Pending, n: int, registry: Registry) -> str:
    """The first prompt, or the repair prompt showing the last attempt."""
    if n == 0:
        return first_prompt(p.prompts, p.gen.query, registry, p.adapted)
    return repair_prompt(p.prompts, p.gen.query, p.gen.attempts[-1], registry, p.adapted)


class RuntimeRepair:
    """A ``runtime_check`` that runs each candidate program for real and keeps the outcome.

    A step that fails with a :class:`~visprog.errors.ToolArgumentError` (an unknown emoji, a
    bad category) becomes a diagnostic for the next attempt, so the model repairs it (bounded by
    ``attempts``; every attempt and its message stay in ``trace.generation``). Any other failure
    (a missing model, a crash inside a tool) is not the program's fault: it is raised.

    Args:
        run: Runs a program on the real inputs and returns its trace (e.g.
            ``lambda p: interpreter.run(p, inputs, query=query)``).

    Attributes:
        trace: The trace of the last run that succeeded (None until one does).
    """

    def __init__(self, run: Callable[[Program], Trace]) -> None:
        self.run = run
        self.trace: Trace | None = None

    def __call__(self, program: Program) -> list[str]:
        """Run ``program``: ``[]`` when it ran, else the tool-argument error as a diagnostic."""
        from visprog.interpreter import StepFailedError

        try:
            self.trace = self.run(program)
        except StepFailedError as e:
            if not isinstance(e.error, ToolArgumentError):
                raise
            return [f"runtime error: {str(e).splitlines()[0]}"]
        except ToolArgumentError as e:  # a tool's precheck refused a literal before any step
            return [f"runtime error: {str(e).splitlines()[0]}"]
        return []


def _grammar(
    query: str,
    names: tuple[str, ...],
    prompts: PromptSet,
    registry: Registry,
    constrain: bool,
    scoped: bool,
) -> Grammar | ScopedProgram | None:
    """The constraint for this query: scoped grammars, the syntax grammar, or none."""
    if not constrain:
        return None
    if not scoped:
        return program_grammar(names, prompts.tools, registry)
    emoji: list[str] = []
    if "Emoji" in prompts.tools:
        emoji = _emoji_names()
    tools = prompts.tools
    if prompts.task in FACES_BY_WORD and not re.search(r"\bfaces?\b", query, re.IGNORECASE):
        tools = tuple(t for t in tools if t != "FaceDet")  # "more people": count people
    return ScopedProgram(names, tools, query_vocabulary(query, emoji), registry)


def _emoji_names() -> list[str]:
    """The Emoji step's names, or none when its package is missing (the step then fails)."""
    try:
        from visprog.tools.emoji import emoji_names
    except ImportError:
        return []
    try:
        return list(emoji_names())
    except VisprogError:
        return []


def _attempt(
    backend: Backend,
    prompt: str,
    prefix_len: int,
    grammar: Grammar | ScopedProgram | None,
    inputs: tuple[str, ...],
    registry: Registry,
    runtime_check: RuntimeCheck | None,
) -> Attempt:
    start = time.perf_counter()
    use = _usable(backend, grammar)
    stop = () if use else STOP
    if isinstance(use, ScopedProgram) and is_stepwise(backend):
        raw = backend.complete(prompt, grammar=use, max_tokens=MAX_TOKENS, prefix_len=prefix_len)
    else:
        plain = use if isinstance(use, Grammar) else None
        raw = backend.complete(
            prompt, grammar=plain, max_tokens=MAX_TOKENS, stop=stop, prefix_len=prefix_len
        )
    seconds = time.perf_counter() - start
    return _judge(raw, use is not None, seconds, inputs, registry, runtime_check)


def _usable(
    backend: Backend, grammar: Grammar | ScopedProgram | None
) -> Grammar | ScopedProgram | None:
    """The constraint the backend can follow (a scoped one only line by line)."""
    if grammar is None or not backend.constrained:
        return None
    if isinstance(grammar, ScopedProgram) and not is_stepwise(backend):
        return None
    return grammar


def _judge(
    raw: str,
    constrained: bool,
    seconds: float,
    inputs: tuple[str, ...],
    registry: Registry,
    runtime_check: RuntimeCheck | None,
) -> Attempt:
    """The attempt for a reply: the program extracted, parsed and checked (and run if asked)."""
    text = raw if constrained else extract_program(raw)
    text = text.rstrip("\n") + "\n" if text.strip() else ""
    program, diagnostics = diagnose(text, inputs, registry)
    if program is not None and not diagnostics:
        # a step the result never reads does not run (raw keeps it)
        pruned = prune_unused(text, program, registry)
        shorter, issues = diagnose(pruned, inputs, registry) if pruned != text else (None, [])
        if shorter is not None and not issues:
            text, program = pruned, shorter
    if program is not None and not diagnostics and runtime_check is not None:
        diagnostics = list(runtime_check(program))
    return Attempt(text, diagnostics, round(seconds, 3), None if raw == text else raw)


def _failure(gen: Generation) -> GenerationError:
    last = gen.attempts[-1]
    detail = "\n".join(last.diagnostics)
    err = GenerationError(
        f"{gen.model} did not write a valid program for {gen.query!r} in {len(gen.attempts)} "
        f"attempt(s). Last program:\n{last.program.rstrip() or '(empty)'}\nProblems:\n{detail}\n"
        "Try a stronger model with --llm (see docs/planner.md), or write the program yourself "
        "and pass it with --program FILE."
    )
    err.generation = gen  # type: ignore[attr-defined]
    return err
