"""``visprog batch`` and ``visprog eval``: the command-line side of :mod:`visprog.batch`.

Registered by :func:`add_commands` from :mod:`visprog.cli`. A failing item never stops the
batch (it is recorded with its error class); the command's own exit code is 0 when every item
was attempted, and a typed error's code when the batch itself cannot run (a bad manifest is a
configuration error, 10).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from visprog.batch.manifest import Item, folder_items, read_manifest
from visprog.batch.results import ItemResult, ResultsFile
from visprog.cli import add_session_options, positive_int
from visprog.errors import ConfigurationError
from visprog.outputs import check_distinct


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``batch`` and ``eval`` subcommands to the ``visprog`` parser."""
    batch = sub.add_parser("batch", parents=[common], help="run a manifest of items (JSON Lines)")
    batch.add_argument("manifest", nargs="?", help="JSON Lines manifest (or use --images DIR)")
    batch.add_argument("--images", metavar="DIR", help="run --query or --program over a folder")
    batch.add_argument("--query", help="with --images: the query for every image")
    batch.add_argument("--program", "-p", metavar="FILE", help="with --images: the program")
    batch.add_argument("--score", action="store_true", help="score answers and write a report")
    _common_options(batch)
    batch.set_defaults(handler=cmd_batch)

    ev = sub.add_parser("eval", parents=[common], help="run and score a manifest or a benchmark")
    ev.add_argument("manifest", help="a manifest, or the benchmark file with --format")
    ev.add_argument("--format", choices=["gqa", "nlvr2", "refcoco"], help="read a public format")
    ev.add_argument("--images", metavar="DIR", help="with --format: the benchmark's image folder")
    ev.add_argument("--instances", metavar="FILE", help="refcoco: COCO instances.json")
    _common_options(ev)
    ev.set_defaults(handler=cmd_eval, score=True)


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--results",
        "-o",
        metavar="PATH",
        default="results.jsonl",
        help="results file (default results.jsonl)",
    )
    p.add_argument("--traces", metavar="DIR", help="write each item's trace JSON and page here")
    p.add_argument("--report", metavar="PATH", help="report page (default: beside the results)")
    p.add_argument(
        "--root",
        metavar="DIR",
        help="folder manifest paths are confined to (default: the manifest's)",
    )
    p.add_argument("--retry-failed", action="store_true", help="run failed items again")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray (local cluster, or ADDRESS)",
    )
    p.add_argument("--workers", type=int, default=2, metavar="N", help="Ray workers (default 2)")
    p.add_argument(
        "--gpus-per-worker", type=float, default=0.0, metavar="G", help="GPUs per Ray worker"
    )
    add_session_options(p, "batch.size=16")
    p.add_argument("--llm", metavar="SPEC", help="program writer for queries (as for visprog run)")
    p.add_argument(
        "--attempts", type=positive_int, default=3, metavar="N", help="program-writing tries"
    )
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached programs")
    p.add_argument(
        "--no-share", action="store_true", help="do not share identical steps between items"
    )
    p.add_argument(
        "--no-batched-forward",
        action="store_true",
        help="make every tool call alone (no batched forwards across items)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_batch(args: argparse.Namespace) -> int:
    """``visprog batch``."""
    return _run(args, _batch_items(args), protect=_inputs_of(args))


def cmd_eval(args: argparse.Namespace) -> int:
    """``visprog eval``."""
    if args.format:
        from visprog.batch.formats import convert

        if not args.images:
            raise ConfigurationError("--format needs --images DIR (the benchmark's images)")
        items = convert(args.format, args.manifest, args.images, instances=args.instances)
    else:
        items = read_manifest(args.manifest, args.root)
    return _run(args, items, protect=[Path(args.manifest)])


def _batch_items(args: argparse.Namespace) -> list[Item]:
    if args.images:
        if args.manifest:
            raise ConfigurationError("give a manifest or --images DIR, not both")
        program = None
        if args.program:
            from visprog.cli import read_program

            program = read_program(args.program)[0]
        return folder_items(args.images, query=args.query, program=program)
    if not args.manifest:
        raise ConfigurationError(
            "nothing to run: give a manifest, or --images DIR with --query or --program"
        )
    if args.query or args.program:
        raise ConfigurationError(
            "--query and --program go with --images DIR; a manifest names its own"
        )
    return read_manifest(args.manifest, args.root)


def _inputs_of(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in (args.manifest, args.program) if p and p != "-"]


def _run(args: argparse.Namespace, items: list[Item], protect: list[Path]) -> int:
    from visprog.batch.runner import pending

    protect += [p for item in items for p in item.images.values()]
    results = ResultsFile(args.results, protect)
    todo = pending(items, results, args.retry_failed)
    if results.skipped_lines and not args.quiet:
        print(
            f"visprog: {results.skipped_lines} damaged line(s) in {results.path} skipped",
            file=sys.stderr,
        )
    if not args.quiet:
        print(f"visprog: {len(todo)} of {len(items)} items to run", file=sys.stderr)
    traces = Path(args.traces) if args.traces else None
    failed = 0
    for result in _progress(_results(args, todo, results, traces), len(todo), args.quiet):
        failed += not result.ok
    ids = {item.id for item in items}
    final = [r for i, r in results.results.items() if i in ids]
    print(
        f"{len(final)} of {len(items)} items have results in {results.path}; "
        f"{sum(not r.ok for r in final)} failed"
    )
    if args.score:
        _report(args, results.path, final)
    return 0


def _results(
    args: argparse.Namespace, todo: list[Item], results: ResultsFile, traces: Path | None
) -> Iterator[ItemResult]:
    options = _options(args)
    if args.ray:
        from visprog.batch.distributed import run_on_ray

        address = None if args.ray == "local" else args.ray
        return run_on_ray(
            todo,
            options,
            results,
            traces=traces,
            address=address,
            workers=args.workers,
            gpus_per_worker=args.gpus_per_worker,
        )
    from visprog.batch.runner import Engine, run_batch

    return run_batch(
        todo,
        Engine(options),
        results=results,
        retry_failed=args.retry_failed,
        traces=traces,
        say=None if args.quiet else _say,
    )


def _say(message: str) -> None:
    print(f"visprog: {message}", file=sys.stderr, flush=True)


def _options(args: argparse.Namespace) -> Any:
    from visprog.batch.runner import EngineOptions
    from visprog.config import parse_assignments

    if args.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if not 0.0 <= args.gpus_per_worker <= 1024.0:  # also refuses nan, which Ray cannot take
        raise ConfigurationError(
            f"--gpus-per-worker must be a number in [0, 1024], got {args.gpus_per_worker}"
        )
    return EngineOptions(
        device=args.device,
        settings=parse_assignments(args.settings),
        config=args.config,
        llm=args.llm,
        attempts=args.attempts,
        program_cache=not args.no_cache,
        share=not args.no_share,
        batched_forward=not args.no_batched_forward,
    )


def _progress(results: Iterator[ItemResult], total: int, quiet: bool) -> Iterator[ItemResult]:
    """A progress bar on stderr: done, failed, items per second and ETA (tqdm when present)."""
    if quiet or total == 0:
        yield from results
        return
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:  # tqdm comes with the model extras; without it, one line per item
        yield from _lines(results, total)
        return
    failed = 0
    with tqdm(total=total, unit="item", file=sys.stderr, dynamic_ncols=True) as bar:
        for result in results:
            failed += not result.ok
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
            yield result


def _lines(results: Iterator[ItemResult], total: int) -> Iterator[ItemResult]:
    start, failed = time.perf_counter(), 0
    for done, result in enumerate(results, start=1):
        failed += not result.ok
        rate = done / max(time.perf_counter() - start, 1e-9)
        eta = (total - done) / rate
        print(
            f"[{done}/{total}] failed {failed}  {rate:.2f} items/s  ETA {eta:.0f} s",
            file=sys.stderr,
        )
        yield result


def _report(args: argparse.Namespace, results_path: Path, final: list[ItemResult]) -> None:
    from visprog.batch.report import write_report

    html = Path(args.report) if args.report else results_path.with_suffix(".report.html")
    summary_json = html.with_suffix(".json")
    inputs = [str(results_path)] + ([args.manifest] if args.manifest else [])
    check_distinct([("--report", str(html)), ("the report's JSON", str(summary_json))], inputs)
    summary = write_report(final, html, summary_json, links_from=results_path.parent)
    acc = summary["accuracy"]
    shown = "n/a" if acc is None else f"{acc:.1%}"
    print(f"accuracy {shown} ({summary['correct']}/{summary['scored']}); report: {html}")
