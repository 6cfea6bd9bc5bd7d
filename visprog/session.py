"""The Session: the one owner of settings, device, models and services for any number of runs.

Every entry point goes through a Session: the CLI builds one from its options, the Python API's
:func:`visprog.execute` uses one, batch runs hold one per worker. A Session

* reads and validates its settings once (config file < ``VISPROG_*`` < explicit settings);
* fixes its device (``auto`` is resolved by the tools, on first model use);
* owns one :class:`~visprog.models.ModelManager` holding every model it loads, the
  program-writing language model included, under the ``models.budget_gb`` budget;
* offers the program writer to tools (``List``) as the ``llm`` service;
* gives every run its own caches (the interpreter's per-run cache).

Nothing here changes process-wide state: two Sessions with different settings coexist.

    >>> session = visprog.Session({"loc.threshold": 0.2}, device="cpu")
    >>> trace = session.run("How many dogs are there?", "dogs.jpg")
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from visprog import values as V
from visprog.config import load_settings, validate_settings
from visprog.errors import Diagnostic, GenerationError, ImageLoadError
from visprog.images import DEFAULT_MAX_PIXELS, as_image
from visprog.interpreter import DEFAULT_MAX_STEPS, Interpreter, StepCallback, StepFailedError
from visprog.models import ModelManager, validate_device
from visprog.program import Program
from visprog.registry import REGISTRY, Registry
from visprog.syntax import parse
from visprog.trace import Trace

if TYPE_CHECKING:
    from visprog.planner import Generation, ProgramCache
    from visprog.planner.backends import LazyBackend
    from visprog.planner.repair import RuntimeCheck

# A line like ``BOX0 = Loc(`` (after comments and blank lines): the text is a program, not a query.
_STATEMENT_RE = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*[A-Za-z_]\w*\s*\(", re.MULTILINE)


def ensure_tools() -> None:
    """Import the built-in tools so they are registered (cheap after the first call)."""
    import visprog.tools  # noqa: F401


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


def looks_like_program(text: str) -> bool:
    """Whether ``text`` is program source (has a ``NAME = Step(`` statement) rather than a query."""
    return _STATEMENT_RE.search(text) is not None


class Session:
    """Settings, device, models and services shared by many runs.

    Args:
        settings: Explicit settings (they win over the config file and the environment).
        config: A TOML settings file (default ``$VISPROG_CONFIG`` or the user's config file).
        device: auto, cpu, cuda, cuda:N or mps, for every model of this session.
        registry: The tools (the default registry when omitted).
        services: Extra collaborators for tools; ``llm`` replaces the session's program writer.
        llm: The program-writing backend spec (default: setting ``llm.backend``, then
            ``$VISPROG_LLM``, then the offline default; see :mod:`visprog.planner.backends`).
        max_steps: Refuse longer programs.
        max_pixels: Refuse larger input and intermediate images.
        log: Receives model-loading messages and notes on ignored ``VISPROG_*`` variables
            (stderr when None; ``lambda m: None`` silences).
        environ: The environment read for ``VISPROG_*`` settings (``os.environ`` when None).
        models: A model manager to use (e.g. one shared by the sessions of a worker); a new one
            when None. ``models.budget_gb``, when set, applies to it.

    Raises:
        ConfigurationError: For an unreadable config file, an unknown setting (with a "did you
            mean"), a value of the wrong type or out of range, or an unknown device. Nothing
            has loaded when this is raised.
    """

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        device: str = "auto",
        registry: Registry | None = None,
        services: Mapping[str, Any] | None = None,
        llm: str | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        log: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
        models: ModelManager | None = None,
    ) -> None:
        ensure_tools()
        self.settings: dict[str, Any] = validate_settings(
            load_settings(config, settings, environ, log)
        )
        self.device = validate_device(device)
        self.registry = registry or REGISTRY
        self.max_steps = max_steps
        self.max_pixels = max_pixels
        self.log = log
        self.models = models if models is not None else ModelManager(log=log)
        if models is None or "models.budget_gb" in self.settings:
            self.models.set_budget(self.settings.get("models.budget_gb"))
        self._llm_spec = llm
        self._llm: LazyBackend | None = None
        self.services: dict[str, Any] = dict(services or {})

    def update(self, settings: Mapping[str, Any]) -> None:
        """Change settings of a long-running session (validated first; nothing changes on error).

        Models already loaded stay cached under their keys; one whose key changes (a new
        ``models.dtype``, another ``model.*`` id) loads anew on next use.

        Raises:
            ConfigurationError: For an unknown key or a bad value.
        """
        merged = validate_settings({**self.settings, **settings})
        self.models.set_budget(merged.get("models.budget_gb"))
        self.settings.clear()
        self.settings.update(merged)
        self._llm = None  # llm.* settings may have changed

    @property
    def llm(self) -> Any:
        """The program-writing language model (built on first use, held by :attr:`models`).

        A ``services={"llm": ...}`` given to the Session wins.
        """
        if "llm" in self.services:
            return self.services["llm"]
        if self._llm is None:
            from visprog.planner.backends import LazyBackend, backend_spec

            spec = backend_spec(self._llm_spec, self.settings)
            self._llm = LazyBackend(spec, self.settings, self.device, self.models.log, self.models)
        return self._llm

    def check(
        self,
        program: Program | str,
        inputs: Mapping[str, str] | Iterable[str] | None = None,
    ) -> list[Diagnostic]:
        """Check a program without running anything (see :func:`visprog.checker.check`).

        Args:
            program: Parsed program or source text.
            inputs: Input names (default ``IMAGE``), or a mapping of name to type tag.

        Returns:
            Every issue found, sorted by position; empty when the program is fine.

        Raises:
            VisprogSyntaxError: When ``program`` is text that does not parse.
        """
        from visprog.checker import check

        parsed = parse(program) if isinstance(program, str) else program
        return check(parsed, inputs, self.registry)

    def write_program(
        self,
        query: str,
        inputs: Sequence[str] = ("IMAGE",),
        *,
        task: str | None = None,
        attempts: int = 3,
        cache: ProgramCache | None = None,
        runtime_check: RuntimeCheck | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Generation:
        """Write a program for ``query`` with this session's language model.

        Args:
            query: The question or request.
            inputs: Input names the program may use.
            task: The prompt task (chosen from the query and the inputs when None).
            attempts: Most tries, the first included.
            cache: A program cache to read and fill (None: none).
            runtime_check: Optional: runs a candidate and returns runtime diagnostics to repair.
            progress: Receives one-line progress messages.

        Raises:
            GenerationError: When no attempt gives a program that parses and checks.
        """
        from visprog.planner import generate_program

        return generate_program(
            query,
            self.llm,
            list(inputs),
            task=task,
            attempts=attempts,
            cache=cache,
            runtime_check=runtime_check,
            registry=self.registry,
            progress=progress,
        )

    def bind(self, images: ImageLike | Mapping[str, Any] | None) -> dict[str, Any]:
        """Name and load the inputs (see :func:`visprog.api.bind_inputs`)."""
        return bind_inputs(images, self.max_pixels)

    def run(
        self,
        query_or_program: str | Program | Generation,
        images: ImageLike | Mapping[str, Any] | None = None,
        *,
        query: str | None = None,
        task: str | None = None,
        attempts: int = 3,
        cache: ProgramCache | None = None,
        on_step: StepCallback | None = None,
    ) -> Trace:
        """Run a program, or write one for a query and run it, on images.

        Args:
            query_or_program: Program source, a parsed :class:`Program`, a
                :class:`~visprog.planner.Generation` from :meth:`write_program`, or a query
                (text without a ``NAME = Step(`` statement), for which a program is written.
            images: One image (``IMAGE``), a pair (``LEFT``, ``RIGHT``) or a mapping of names.
            query: The question the program answers, kept in the trace.
            task: For a query: the prompt task.
            attempts: For a query: program-writing tries.
            cache: For a query: the program cache.
            on_step: Called after every step with its record.

        Returns:
            The trace; ``trace.result`` is the answer and ``trace.generation`` records how the
            program was written (empty for a given program).

        Raises:
            VisprogSyntaxError, CheckError, ImageLoadError, LimitError, GenerationError,
            StepFailedError: See :mod:`visprog.errors`; a StepFailedError carries the partial
            trace.
        """
        inputs = self.bind(images)
        generation: list[dict[str, Any]] = []
        program: str | Program
        if isinstance(query_or_program, (str, Program)):
            program = query_or_program
            if isinstance(program, str) and not looks_like_program(program):
                query = query or program
                gen = self.write_program(
                    program, list(inputs), task=task, attempts=attempts, cache=cache
                )
                program, generation = _generated(gen)
        else:
            query = query or query_or_program.query
            program, generation = _generated(query_or_program)
        return self._execute(program, inputs, query, generation, on_step)

    def batch(self, items: Iterable[Any], **options: Any) -> Iterator[Any]:
        """Run many items, yielding each :class:`~visprog.batch.ItemResult` as it finishes.

        Items are :class:`~visprog.batch.Item` (see :func:`visprog.batch.read_manifest`);
        identical steps are computed once across them, with this session's models. Keyword
        options go to :func:`visprog.batch.run_batch` (``results``, ``retry_failed``,
        ``traces``, ``on_result``) and ``share=False`` turns the sharing off.
        """
        from visprog.batch.runner import batch_for

        return batch_for(self, items, **options)

    def _execute(
        self,
        program: str | Program,
        inputs: Mapping[str, Any],
        query: str | None,
        generation: list[dict[str, Any]],
        on_step: StepCallback | None,
    ) -> Trace:
        interpreter = self.interpreter(on_step)
        try:
            trace = interpreter.run(program, inputs, query=query)
        except StepFailedError as e:
            e.trace.generation = generation
            raise
        trace.generation = generation
        return trace

    def interpreter(self, on_step: StepCallback | None = None) -> Interpreter:
        """An interpreter with this session's tools, device, limits, models and settings."""
        return Interpreter(
            self.registry,
            device=self.device,
            max_steps=self.max_steps,
            max_pixels=self.max_pixels,
            models=self.models,
            settings=self.settings,
            services={**self.services, "llm": self.llm},
            on_step=on_step,
        )


def _generated(gen: Generation) -> tuple[Program, list[dict[str, Any]]]:
    """The program of a generation, parsed under a name that says where it came from."""
    if not gen.program:
        raise GenerationError(f"no program was written for {gen.query!r}")
    return parse(gen.program, f"<generated: {gen.query}>"), gen.records()


_DEFAULT: Session | None = None


def default_session() -> Session:
    """The Session :func:`visprog.execute` uses when given no session options (built once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Session()
    return _DEFAULT
