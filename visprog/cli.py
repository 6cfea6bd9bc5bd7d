"""The command line: ``visprog run``, ``check``, ``tools``, ``view``, ``probe``, ``batch``, ``eval``.

Exit codes (one per error class, see :mod:`visprog.errors`): 0 success, 1 internal error,
2 usage, 3 syntax, 4 check, 5 image input, 6 tool argument, 7 tool execution, 8 model or
dependency unavailable, 9 program generation, 10 configuration, 11 resource limit, 12 trace
format, 13 output not written, 20 probe, 141 stdout closed early (``visprog tools | head -1``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visprog.errors import (
    ConfigurationError,
    LimitError,
    OutputError,
    UsageError,
    VisprogError,
)

if TYPE_CHECKING:
    from visprog.planner.repair import RuntimeRepair
    from visprog.program import Program
    from visprog.trace import Trace


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``visprog`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # `visprog tools | head -1`: the reader left. Quietly, with the shell's code for SIGPIPE;
        # stdout goes to devnull so the interpreter's own flush at exit does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # stdout is not a file (tests, embedding)
            pass
        return 141
    except VisprogError as e:
        _report(e, args)
        return e.exit_code
    except KeyboardInterrupt:
        print("visprog: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: say so plainly, with the traceback only on request
        if args.debug:
            traceback.print_exc()
        print(
            f"visprog: internal error: {type(e).__name__}: {e} (rerun with --debug)",
            file=sys.stderr,
        )
        return 1


def _report(error: VisprogError, args: argparse.Namespace) -> None:
    from visprog.interpreter import StepFailedError

    if args.debug:
        traceback.print_exception(error)
    name = type(error.error if isinstance(error, StepFailedError) else error).__name__
    print(f"visprog: {name}: {error}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = argparse.ArgumentParser(
        prog="visprog",
        parents=[common],
        description="Run visual programs: a question about images, answered step by step.",
        epilog="Exit codes: 0 ok, 1 internal, 2 usage, 3 syntax, 4 check, 5 image, 6 tool "
        "argument, 7 tool execution, 8 model unavailable, 9 generation, 10 configuration, 11 limit, "
        "12 trace format, 13 output, 20 probe.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a program (or a query) on images")
    run.add_argument(
        "items",
        nargs="*",
        metavar="[QUERY] IMAGE",
        help="the query (unless --program is given), then the images: one image is "
        "IMAGE, two are LEFT and RIGHT",
    )
    run.add_argument("--program", "-p", metavar="FILE", help="program file, or - for stdin")
    run.add_argument(
        "--image",
        "-i",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="bind an input by name (repeatable)",
    )
    run.add_argument("--json", metavar="PATH", help="write the trace as JSON (images beside it)")
    run.add_argument("--html", metavar="PATH", help="write the trace as an HTML page")
    _add_full_images(run)
    run.add_argument("--out", "-o", metavar="PATH", help="save the result image")
    add_session_options(run, "model.loc=google/owlv2-large-patch14-ensemble")
    run.add_argument("--max-pixels", type=positive_int, default=None, help="largest image accepted")
    run.add_argument(
        "--max-steps", type=positive_int, default=None, help="longest program accepted"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--llm",
        metavar="SPEC",
        help="program writer: default (offline Gemma 3 270M), hf:ID_OR_PATH, a .gguf file, or "
        "openai:MODEL[@BASE_URL] (default: setting llm.backend, then $VISPROG_LLM, then default)",
    )
    run.add_argument(
        "--task",
        default="auto",
        choices=["auto", "gqa", "nlvr", "edit", "tag", "count"],
        help="prompt for the query (default auto: chosen from the query and the image count)",
    )
    run.add_argument("--show-program", action="store_true", help="print the written program")
    run.add_argument(
        "--program-only", action="store_true", help="print the written program and stop"
    )
    run.add_argument("--no-cache", action="store_true", help="do not reuse a cached program")
    run.add_argument(
        "--attempts",
        type=positive_int,
        default=3,
        metavar="N",
        help="program-writing tries (default 3)",
    )
    run.set_defaults(handler=cmd_run)

    chk = sub.add_parser("check", parents=[common], help="check a program without running it")
    chk.add_argument("file", help="program file, or - for stdin")
    chk.add_argument(
        "--inputs", default="IMAGE", help="input names, comma-separated (default IMAGE)"
    )
    add_session_options(chk, "classify.probe=probe.safetensors", device=False)
    chk.set_defaults(handler=cmd_check)

    tls = sub.add_parser("tools", parents=[common], help="list every step with its signature")
    tls.set_defaults(handler=cmd_tools)

    view = sub.add_parser("view", parents=[common], help="render a saved trace.json as HTML")
    view.add_argument("trace", help="a trace written by visprog run --json")
    view.add_argument("--html", metavar="PATH", help="where to write the page (default: beside it)")
    view.add_argument("--no-open", action="store_true", help="do not open a browser")
    _add_full_images(view)
    view.set_defaults(handler=cmd_view)

    from visprog.batch.cli import add_commands
    from visprog.probe.commands import add_parser as add_probe_parser

    add_probe_parser(sub, common)
    add_commands(sub, common)
    return parser


def add_session_options(parser: argparse.ArgumentParser, example: str, device: bool = True) -> None:
    """``--device``, ``--config`` and ``--set``: the options every Session-building command takes.

    Args:
        parser: The subcommand's parser.
        example: A ``KEY=VALUE`` shown in ``--set``'s help.
        device: Whether to offer ``--device`` (``check`` reads settings but runs nothing).
    """
    if device:
        parser.add_argument(
            "--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps"
        )
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (TOML; default $VISPROG_CONFIG)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help=f"a setting, e.g. {example} (repeatable; overrides --config and VISPROG_* variables)",
    )


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 and negatives are usage errors)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 2**62:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text}")
    return value


def _add_full_images(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-images",
        action="store_true",
        help="embed full-resolution images in the HTML page (default: thumbnails)",
    )


def cmd_view(args: argparse.Namespace) -> int:
    """``visprog view trace.json``: render a saved trace and open it."""
    from visprog.outputs import check_distinct
    from visprog.render import write_html
    from visprog.trace import Trace

    out = Path(args.html) if args.html else Path(args.trace).with_suffix(".html")
    check_distinct([("--html", str(out))], [args.trace])
    trace = Trace.load(args.trace)
    write_html(trace, out, full_images=args.full_images)
    print(f"trace page written to {out}", file=sys.stderr)
    if not args.no_open:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    return 0


MAX_PROGRAM_BYTES = 16 * 2**20
"""Largest program file (or stdin) read: a program is text, never more than a few kB."""


def read_program(path: str) -> tuple[str, str]:
    """(source, display name) of a program file, or stdin for ``-``.

    Raises:
        ConfigurationError: The file cannot be read or is not UTF-8 text.
        LimitError: It is larger than :data:`MAX_PROGRAM_BYTES` (``/dev/zero`` never ends).
    """
    name = "<stdin>" if path == "-" else path
    try:
        # Bytes from stdin and from a file are decoded the same way, so they fail the same way.
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_PROGRAM_BYTES + 1)
        else:
            with open(path, "rb") as f:
                raw = f.read(MAX_PROGRAM_BYTES + 1)
        if len(raw) > MAX_PROGRAM_BYTES:
            raise LimitError(f"{name}: a program may have at most {MAX_PROGRAM_BYTES:,} bytes")
        return raw.decode("utf-8"), name
    except UnicodeDecodeError as e:
        raise ConfigurationError(f"{name}: cannot read program (not UTF-8 text: {e})") from None
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or e
        raise ConfigurationError(f"{name}: cannot read program ({reason})") from None


def cmd_check(args: argparse.Namespace) -> int:
    """``visprog check FILE``."""
    from visprog.api import check
    from visprog.errors import CheckError
    from visprog.syntax import parse

    source, name = read_program(args.file)
    program = parse(source, name)
    issues = check(program, [n.strip() for n in args.inputs.split(",") if n.strip()])
    if issues:
        raise CheckError(issues, program.source, name)
    # The tools' own checks of literals (an emoji name, a probe file) under the settings a
    # run would see: a program that passes here fails at run time only on its data.
    from visprog.config import validate_settings
    from visprog.interpreter import precheck
    from visprog.registry import REGISTRY

    precheck(program, REGISTRY, validate_settings(run_settings(args)))
    print(f"{name}: ok ({len(program.statements)} statements)")
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    """``visprog tools``."""
    from visprog.api import ensure_tools
    from visprog.registry import REGISTRY

    ensure_tools()
    for spec in REGISTRY:
        aliases = f"  (also: {', '.join(spec.aliases)})" if spec.aliases else ""
        print(spec.signature() + aliases)
        for line in spec.description.splitlines():
            print(f"    {line}" if line else "")
        if spec.model:
            print(f"    model: {spec.model}")
        print()
    from visprog.options import MODELS, OPTIONS

    print("Models (set the setting to a Hugging Face id or a local path):")
    for decl in MODELS.values():
        print(f"  {decl.setting:28} {decl.default}  ({decl.tool}; offline: {decl.source})")
    print()
    print("Settings (--set KEY=VALUE, --config FILE, or VISPROG_SECTION_NAME):")
    for key, opt in OPTIONS.items():
        print(f"  {key:28} {opt.help} [{opt.accepted()}]")
    return 0


def _bind(args: argparse.Namespace, images: list[str]) -> dict[str, str]:
    named: dict[str, str] = {}
    if len(images) == 1:
        named["IMAGE"] = images[0]
    elif len(images) == 2:
        named.update(LEFT=images[0], RIGHT=images[1])
    elif len(images) > 2:
        raise ConfigurationError(
            f"{len(images)} images given; name them with --image NAME=PATH (one image is IMAGE, "
            "two are LEFT and RIGHT)"
        )
    for item in args.image:
        name, sep, path = item.partition("=")
        if not sep or not name.isidentifier() or not path:
            raise ConfigurationError(f"--image {item!r}: expected NAME=PATH, like LEFT=left.jpg")
        if name in named:
            raise ConfigurationError(f"input {name!r} is given twice")
        named[name] = path
    return named


def cmd_run(args: argparse.Namespace) -> int:
    """``visprog run``: one Session from the options; it writes (if asked) and runs the program."""
    if args.quiet:
        # The model libraries draw their own progress bars (weights, downloads); quiet means none.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from visprog.interpreter import StepFailedError
    from visprog.syntax import parse

    session = make_session(args)
    images = list(args.items)
    inputs = images[1:] if args.program is None else images
    program_file = [args.program] if args.program else []
    _check_outputs(args, [*_bind(args, inputs).values(), *program_file])
    try:
        if args.program is None:
            if not images:
                raise ConfigurationError(
                    "nothing to run: give a query and images, or --program FILE"
                )
            trace = _write_and_run(session, images.pop(0), images, args)
            if trace is None:  # --program-only
                return 0
        else:
            program = parse(*read_program(args.program))
            on_step = None if args.quiet else _progress(len(program.statements))
            trace = session.run(program, _bind(args, images), on_step=on_step)
    except StepFailedError as e:
        _write_outputs(e.trace, args, result_ok=False)
        raise
    _write_outputs(trace, args, result_ok=True)
    _print_result(trace.result, args)
    return 0


def _write_and_run(
    session: Any, query: str, images: list[str], args: argparse.Namespace
) -> Trace | None:
    """Write the program for ``query`` and run it (None with ``--program-only``).

    Each candidate that checks is run at once (:class:`~visprog.planner.repair.RuntimeRepair`),
    so a tool-argument error (an unknown emoji, a bad category) goes back to the model with its
    message, bounded by ``--attempts``, and the successful run is kept rather than repeated.
    """
    from visprog.planner.repair import RuntimeRepair
    from visprog.syntax import parse

    if args.program_only:
        _generate(session, query, args)
        return None
    inputs = session.bind(_bind(args, images))

    def run(program: Program) -> Trace:
        on_step = None if args.quiet else _progress(len(program.statements))
        return session.run(program, inputs, query=query, on_step=on_step)  # type: ignore[no-any-return]

    runner = RuntimeRepair(run)
    gen = _generate(session, query, args, runner)
    if runner.trace is not None:  # the last candidate ran already
        trace = runner.trace
    else:  # from the program cache
        trace = run(parse(gen.program, f"<generated: {query}>"))
    trace.generation = gen.records()
    return trace


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings for ``visprog run`` (before validation): config file < VISPROG_* < ``--set``."""
    from visprog.config import load_settings, parse_assignments

    return load_settings(args.config, parse_assignments(args.settings))


def make_session(args: argparse.Namespace) -> Any:
    """The one Session of a ``visprog run``, from its options (settings validated here)."""
    from visprog.config import parse_assignments
    from visprog.images import DEFAULT_MAX_PIXELS
    from visprog.interpreter import DEFAULT_MAX_STEPS
    from visprog.session import Session

    return Session(
        parse_assignments(args.settings),
        config=args.config,
        device=args.device,
        llm=args.llm,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
        max_steps=args.max_steps or DEFAULT_MAX_STEPS,
        log=(lambda message: None) if args.quiet else None,
    )


def _generate(
    session: Any, query: str, args: argparse.Namespace, runner: RuntimeRepair | None = None
) -> Any:
    """Write the program for ``query`` with the session's language model.

    With ``runner``, each candidate that checks is also run and tool-argument errors repaired.
    """
    from visprog.planner import ProgramCache

    names = list(_bind(args, list(args.items)[1:]))
    if not names:
        raise ConfigurationError("give the images the query is about (one IMAGE, or LEFT RIGHT)")
    say = None if args.quiet else _say
    gen = session.write_program(
        query,
        names,
        task=None if args.task == "auto" else args.task,
        attempts=args.attempts,
        cache=None if args.no_cache else ProgramCache(),
        runtime_check=runner,
        progress=say,
    )
    if say:
        how = "from the program cache" if gen.cached else f"in {len(gen.attempts)} attempt(s)"
        say(f"program written ({gen.task} prompt, {gen.model}) {how}")
    if args.show_program or args.program_only:
        print(gen.program.rstrip("\n"), flush=True)
    return gen


def _say(message: str) -> None:
    print(f"visprog: {message}", file=sys.stderr, flush=True)


def _progress(total: int) -> Any:
    def show(record: Any) -> None:
        status = "failed" if record.error else f"{record.seconds:.2f} s"
        print(
            f"[{record.index + 1}/{total}] {record.target} = {record.step}: {status}",
            file=sys.stderr,
            flush=True,
        )

    return show


def _check_outputs(args: argparse.Namespace, inputs: list[str]) -> None:
    """Refuse outputs that would overwrite an input or each other (before anything runs)."""
    from visprog.outputs import check_distinct, check_target

    outputs = [("--json", args.json), ("--html", args.html), ("--out", args.out)]
    for _, path in outputs:
        if path is not None:
            check_target(Path(path))
    if args.json:  # the trace's images go in a folder beside it
        folder = Path(args.json).with_name(Path(args.json).stem + "_images")
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"--json {args.json}: its image folder {folder} is taken by a file")
        outputs.append(("--json's image folder", str(folder)))
    check_distinct(outputs, [p for p in inputs if p != "-"])


def _write_outputs(trace: Any, args: argparse.Namespace, result_ok: bool) -> None:
    if args.json:
        trace.save(args.json)
        print(f"trace written to {args.json}", file=sys.stderr)
    if args.html:
        from visprog.render import write_html

        write_html(trace, args.html, full_images=args.full_images)
        print(f"trace page written to {args.html}", file=sys.stderr)
    if args.out and result_ok:
        _save_result_image(trace, args.out)


def _save_result_image(trace: Any, path: str) -> None:
    from visprog.outputs import atomic_write
    from visprog.values import Image, Objects

    result = trace.result
    if isinstance(result, Objects) and result.source in trace.inputs:
        from visprog.tools.tag import draw_objects

        result = draw_objects(trace.inputs[result.source], result)
    if not isinstance(result, Image):
        raise ConfigurationError(
            f"--out needs an image result, but the result is {type(result).__name__} {result!r}"
        )
    fmt = _image_format(path)
    buf = io.BytesIO()
    try:
        result.to_pil().save(buf, format=fmt)
    except (OSError, ValueError) as e:
        raise OutputError(f"cannot save the result image as {fmt}: {e}") from None
    atomic_write(path, buf.getvalue())
    print(f"result image written to {path}", file=sys.stderr)


def _image_format(path: str) -> str:
    """The Pillow format for an output file name (``.png`` -> PNG)."""
    from PIL import Image as PILImage

    fmt = PILImage.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"--out {path}: name the file with an image extension (.png, .jpg, ...)")
    return fmt


def _print_result(result: Any, args: argparse.Namespace) -> None:
    from visprog.values import Image, Objects, Points

    if isinstance(result, Image):
        hint = "" if args.out else " (save it with --out PATH)"
        print(f"image {result.width}x{result.height}{hint}")
    elif isinstance(result, Objects):
        print(f"{len(result)} objects")
        for i in range(len(result)):
            box = ", ".join(f"{v:.0f}" for v in result.boxes[i])
            print(f"  {result.labels[i]}  score {result.scores[i]:.2f}  box [{box}]")
    elif isinstance(result, Points):
        print(f"{len(result)} points")
        for (x, y), label in zip(result.xy, result.labels, strict=True):
            print(f"  {label}  ({x:.0f}, {y:.0f})")
    elif isinstance(result, bool):
        print("yes" if result else "no")
    elif isinstance(result, list):
        print(", ".join(str(v) for v in result))
    else:
        print(result)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
