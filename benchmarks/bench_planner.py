"""Program-generation benchmark with the offline default model: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_planner.py --set heldout [--set dev] [--show]
        [--llm SPEC] [--attempts N] [--only constrained|unconstrained] [--json OUT]

Two query sets live beside this file: ``planner_dev.toml`` (tuning allowed) and
``planner_heldout.toml`` (written and frozen before any tuning, never used to choose prompts,
examples, keywords or grammars); ``planner_dev2.toml`` (``--set dev2``) is a second development
set, written by an author who never read the prompts.
``planner_heldout3.toml`` (``--set heldout3``): 75 held-out queries by a third author, frozen.
``planner_dev3.toml`` (``--set dev3``): 80 development queries by that author, written alongside.
``planner_heldout4.toml`` (``--set heldout4``): 75 held-out queries by a fourth author, frozen.
``planner_dev4.toml`` (``--set dev4``): 80 development queries by that author, written alongside.
``planner_heldout5.toml`` (``--set heldout5``): 75 held-out queries by a fifth author, frozen.
``planner_dev5.toml`` (``--set dev5``): 80 development queries by that author, written alongside.
``planner_heldout6.toml`` (``--set heldout6``): 75 held-out queries by a sixth author, frozen.
``planner_dev6.toml`` (``--set dev6``): 80 development queries by that author, written alongside.
``planner_heldout7.toml`` (``--set heldout7``): 75 held-out queries by a seventh author, frozen.
``planner_dev7.toml`` (``--set dev7``): 80 development queries by that author, written alongside.
``planner_heldout8.toml`` (``--set heldout8``): 75 held-out queries by an eighth author, frozen.
``planner_dev8.toml`` (``--set dev8``): 80 development queries by that author, written alongside.
``planner_heldout10.toml`` (``--set heldout10``): 75 held-out queries by a tenth author, frozen.
``planner_dev10.toml`` (``--set dev10``): 80 development queries by that author, written alongside.
``planner_heldout11.toml`` (``--set heldout11``): 75 held-out queries by an eleventh author, frozen.
``planner_dev11.toml`` (``--set dev11``): 80 development queries by that author, written alongside.
For each set and mode it prints:
first-attempt parse and check rates, programs that check (after repairs), mean attempts, seconds
per program, and how many programs do what the query asked, per family and in total.

How "does what was asked" is judged: each query carries criteria written by hand (see the
header of ``planner_heldout.toml``): the steps a correct program calls (alternatives), the words
it must mention, forbidden steps, literal arguments (a Replace prompt, given categories), how
many calls of a step (one count per image), which inputs it must use, and, where a correct
program needs no model weights (faces, emoji, counts), that it really runs on a photo. A program
that checks and meets every criterion counts. ``--show`` prints every program to confirm the
criteria judge them as a person would. The program cache is bypassed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

import visprog
from visprog.errors import GenerationError, VisprogError
from visprog.planner import Generation, generate_program, shared_backend
from visprog.program import ListValue, Literal, Program, Ref

HERE = Path(__file__).parent
SETS = {
    "dev": HERE / "planner_dev.toml",
    "dev2": HERE / "planner_dev2.toml",
    "heldout": HERE / "planner_heldout.toml",
    "heldout2": HERE / "planner_heldout2.toml",
    "dev3": HERE / "planner_dev3.toml",
    "heldout3": HERE / "planner_heldout3.toml",
    "dev4": HERE / "planner_dev4.toml",
    "heldout4": HERE / "planner_heldout4.toml",
    "dev5": HERE / "planner_dev5.toml",
    "heldout5": HERE / "planner_heldout5.toml",
    "dev6": HERE / "planner_dev6.toml",
    "heldout6": HERE / "planner_heldout6.toml",
    "dev7": HERE / "planner_dev7.toml",
    "heldout7": HERE / "planner_heldout7.toml",
    "dev8": HERE / "planner_dev8.toml",
    "heldout8": HERE / "planner_heldout8.toml",
    "dev9": HERE / "planner_dev9.toml",
    "heldout9": HERE / "planner_heldout9.toml",
    "dev10": HERE / "planner_dev10.toml",
    "heldout10": HERE / "planner_heldout10.toml",
    "dev11": HERE / "planner_dev11.toml",
    "heldout11": HERE / "planner_heldout11.toml",
}
PHOTO = HERE.parent / "demos" / "images" / "astronaut.jpg"  # one real face


@dataclass
class Outcome:
    """One query under one mode."""

    query: str
    family: str
    task: str
    first_parses: bool
    first_checks: bool
    checks: bool
    attempts: int
    seconds: float
    program: str
    does_what_asked: bool
    why: list[str] = field(default_factory=list)


def load_set(path: Path) -> list[dict[str, Any]]:
    """The queries of one set file."""
    with path.open("rb") as f:
        return list(tomllib.load(f)["query"])


def _canonical(step: str) -> str:
    spec = visprog.REGISTRY.get(step)
    return spec.name if spec else step


def _arg_text(program: Program, value: object) -> str:
    """The literal text of an argument value; a reference to a List is its query."""
    if isinstance(value, Literal):
        return str(value.value)
    if isinstance(value, ListValue):
        return " ".join(_arg_text(program, v) for v in value.items)
    if isinstance(value, Ref):
        return "<ref>"
    return ""


def judge(case: dict[str, Any], program: Program, text: str) -> list[str]:
    """Why a checked program does not do what ``case`` asked (empty: it does)."""
    why: list[str] = []
    calls = [(_canonical(s.step), s) for s in program.statements]
    steps = {name for name, _ in calls}
    if not any(set(alt) <= steps for alt in case["steps"]):
        why.append(f"needs steps {' or '.join('+'.join(a) for a in case['steps'])}")
    if bad := steps & set(case.get("forbidden", [])):
        why.append(f"forbidden step {', '.join(sorted(bad))}")
    low = text.lower()
    for alts in case.get("words", []):
        if not any(w.lower() in low for w in alts.split("|")):
            why.append(f"does not mention {alts!r}")
    for key, words in case.get("args", {}).items():
        step, arg = key.split(".")
        values = [
            _arg_text(program, a.value).lower()
            for name, s in calls
            if name == step
            for a in s.args
            if a.name == arg
        ]
        if not any(all(w.lower() in v for w in words.split("|")) for v in values):
            why.append(f"{key} should contain {words!r}, got {values}")
    for step, n in case.get("min", {}).items():
        if sum(name == step for name, _ in calls) < n:
            why.append(f"needs {n} calls of {step}")
    used = {r for _, s in calls for r in _refs(s)}
    for name in case.get("uses", case.get("inputs", ["IMAGE"])):
        if name not in used:
            why.append(f"does not use input {name}")
    if case.get("offline") and not why:
        why += _run_offline(program, case)
    return why


def _refs(statement: object) -> set[str]:
    out: set[str] = set()
    for a in getattr(statement, "args", []):
        v = a.value
        items = v.items if isinstance(v, ListValue) else [v]
        out |= {i.name for i in items if isinstance(i, Ref)}
        if isinstance(v, Literal) and isinstance(v.value, str):  # Eval's {VAR}
            out |= set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", v.value))
    return out


def _run_offline(program: Program, case: dict[str, Any]) -> list[str]:
    """Run a program whose steps need no weights on a real photo; the error if it fails."""
    images = {name: str(PHOTO) for name in case.get("inputs", ["IMAGE"])}
    try:
        visprog.api.execute(program, images, device="cpu")
    except VisprogError as e:
        return [f"fails when run: {str(e).splitlines()[0]}"]
    return []


def _first(gen: Generation) -> tuple[bool, bool]:
    first = gen.attempts[0]
    try:
        visprog.parse(first.program)
    except visprog.VisprogSyntaxError:
        return False, False
    return True, not first.diagnostics


def run_one(backend: object, case: dict[str, Any], mode: str, attempts: int) -> Outcome:
    """Generate (no cache) and score one program."""
    inputs = tuple(case.get("inputs", ["IMAGE"]))
    start = time.perf_counter()
    gen: Generation | None
    try:
        gen = generate_program(
            case["query"],
            backend,  # type: ignore[arg-type]
            inputs,
            constrain=mode != "unconstrained",
            attempts=attempts,
            **({"scoped": mode == "constrained"} if _HAS_SCOPED else {}),
        )
    except GenerationError as e:
        gen = getattr(e, "generation", None)
    seconds = time.perf_counter() - start
    assert gen is not None
    parses, first_checks = _first(gen)
    text = gen.program or gen.attempts[-1].program
    why = ["does not check"] if not gen.program else judge(case, visprog.parse(text), text)
    return Outcome(
        case["query"],
        case["family"],
        gen.task,
        parses,
        first_checks,
        bool(gen.program),
        len(gen.attempts),
        round(seconds, 2),
        text,
        not why,
        why,
    )


def _has_scoped() -> bool:
    import inspect

    return "scoped" in inspect.signature(generate_program).parameters


_HAS_SCOPED = _has_scoped()


def report(name: str, outcomes: list[Outcome]) -> None:
    """Print the figures for one set and mode."""
    n = len(outcomes)
    print(f"\n== {name} ({n} queries)")
    print(f"first attempt parses : {sum(o.first_parses for o in outcomes)}/{n}")
    print(f"first attempt checks : {sum(o.first_checks for o in outcomes)}/{n}")
    print(f"checks (after repair): {sum(o.checks for o in outcomes)}/{n}")
    print(f"mean attempts        : {statistics.mean(o.attempts for o in outcomes):.2f}")
    secs = [o.seconds for o in outcomes]
    # Warm: the task's prompt prefix was already read (the first query of each task reads it).
    seen: set[str] = set()
    warm = []
    for o in outcomes:
        if o.task in seen:
            warm.append(o.seconds)
        seen.add(o.task)
    print(
        f"seconds per program  : {statistics.mean(secs):.2f} mean, {statistics.median(secs):.2f} median"
    )
    if warm:
        print(
            f"  warm (prefix read) : {statistics.mean(warm):.2f} mean, {statistics.median(warm):.2f} median"
        )
    print(f"does what was asked  : {sum(o.does_what_asked for o in outcomes)}/{n}")
    by: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by[o.family].append(o)
    for fam, items in sorted(by.items()):
        print(f"  {fam:6s}: {sum(o.does_what_asked for o in items)}/{len(items)}")


def main() -> int:
    """Run the benchmark; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", choices=sorted(SETS), dest="sets")
    parser.add_argument("--llm", default="default")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=["constrained", "syntax", "unconstrained"],
        action="append",
        help="constrained: scope- and type-constrained grammar (the default); syntax: the "
        "syntax-only grammar; unconstrained: none (repeatable; default constrained)",
    )
    parser.add_argument("--family", action="append", help="only queries of this family")
    parser.add_argument("--show", action="store_true", help="print every program")
    parser.add_argument("--json", type=Path, help="write every outcome to this file")
    args = parser.parse_args()
    visprog.api.ensure_tools()
    start = time.perf_counter()
    backend = shared_backend(args.llm, device="cpu", progress=lambda m: print(m, file=sys.stderr))
    print(f"model: {backend.name}, loaded in {time.perf_counter() - start:.1f} s")
    results: dict[str, list[dict[str, Any]]] = {}
    for set_name in args.sets or ["dev", "heldout"]:
        cases = [
            c for c in load_set(SETS[set_name]) if c["family"] in (args.family or [c["family"]])
        ]
        for mode in args.only or ["constrained"]:
            outcomes = []
            for case in cases:
                o = run_one(backend, case, mode, args.attempts)
                outcomes.append(o)
                if args.show:
                    mark = "OK " if o.does_what_asked else ("chk" if o.checks else "BAD")
                    head = f"--- [{mark}] {o.query} ({o.attempts} att, {o.seconds:.1f} s)"
                    print(f"{head} {'; '.join(o.why)}\n{o.program}", flush=True)
            report(f"{set_name} / {mode}", outcomes)
            results[f"{set_name}/{mode}"] = [asdict(o) for o in outcomes]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
