"""Language-core benchmark: prints figures (no timed assertions).

    .venv/bin/python benchmarks/bench_core.py

Targets (issue 2): interpreter overhead < 200 µs per step; parse + check of a 1,000-line
program < 0.5 s; ``visprog check`` cold start < 0.5 s. Issue 8: building the LALR tables with no
disk cache; diagnostics linear in their number; peak memory of a long Blur chain bounded.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import visprog
from visprog import Objects, Registry, tool
from visprog.expr import parse_expr
from visprog.interpreter import Interpreter
from visprog.registry import REGISTRY

STEPS = 2000


def program_of(n: int) -> str:
    """A long realistic program: counts, crops, Eval arithmetic and conditionals."""
    lines = ["BOX = FaceDet(image=IMAGE)"]
    for i in range(n - 2):
        kind = i % 4
        if kind == 0:
            lines.append(f"N{i} = Count(box=BOX)")
        elif kind == 1:
            lines.append(f"IMG{i} = CROP_LEFTOF(image=IMAGE, box=BOX)")
        elif kind == 2:
            lines.append(f'E{i} = Eval(expr="{{N{i - 2}}} + 1")')
        else:
            lines.append(f"Q{i} = EVAL(expr=\"'yes' if {{E{i - 1}}} > 0 and not False else 'no'\")")
    lines.append("FINAL_RESULT = Result(var=BOX)")
    return "\n".join(lines)


def bench_parse_check(n: int = 1000, repeat: int = 5) -> None:
    source = program_of(n)
    times_parse, times_check = [], []
    for _ in range(repeat):
        parse_expr.cache_clear()  # measure the Eval expressions' parsing too, every time
        t0 = time.perf_counter()
        program = visprog.parse(source)
        t1 = time.perf_counter()
        issues = visprog.check(program)
        t2 = time.perf_counter()
        assert not issues, issues[:3]
        times_parse.append(t1 - t0)
        times_check.append(t2 - t1)
    p, c = statistics.median(times_parse), statistics.median(times_check)
    print(
        f"parse + check, {n} lines: {p + c:.3f} s (parse {p:.3f} s, check {c:.3f} s; median of {repeat})"
    )


def bench_overhead(n: int = STEPS) -> None:
    reg = Registry()

    @tool("Noop", registry=reg)
    def noop(box: Objects) -> int:
        """Does nothing: measures the interpreter, not a tool."""
        return 0

    reg.add(REGISTRY.get("Result"))  # type: ignore[arg-type]
    lines = [f"N{i} = Noop(box=BOX)" for i in range(n)] + ["R = Result(var=N0)"]
    program = visprog.parse("\n".join(lines))
    objects = Objects(np.zeros((3, 4)), [1, 1, 1], ["a", "b", "c"])
    interp = Interpreter(reg, max_steps=n + 1)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        trace = interp.run(program, {"BOX": objects})
        total = time.perf_counter() - t0
        in_tools = sum(s.seconds for s in trace.steps)
        runs.append((total, total - in_tools))
    total, overhead = min(runs)
    print(
        f"interpreter, {n} steps: {total / n * 1e6:.1f} µs per step in all "
        f"(check included), {overhead / n * 1e6:.1f} µs per step outside the tools"
    )

    parse_expr.cache_clear()
    eval_program = "\n".join(
        ["A0 = Eval(expr='1')"]
        + [f'A{i} = Eval(expr="{{A{i - 1}}} + 1")' for i in range(1, n)]
        + [f"R = Result(var=A{n - 1})"]
    )
    t0 = time.perf_counter()
    trace = Interpreter(max_steps=n + 1).run(eval_program, {})
    total = time.perf_counter() - t0
    print(f"Eval chain, {n} steps: {total / n * 1e6:.1f} µs per step (result {trace.result})")


def bench_cold_start(repeat: int = 7) -> None:
    exe = Path(sys.executable).parent / "visprog"
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "p.vp"
        prog.write_text(
            "BOX0 = FaceDet(image=IMAGE)\nIMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)\n"
            "ANSWER0 = Eval(expr=\"'yes' if 1 > 0 else 'no'\")\nR = Result(var=IMAGE0)\n"
        )

        def timed(cmd: list[str]) -> float:
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            return time.perf_counter() - t0

        timed([str(exe), "check", str(prog)])  # warm the OS file cache (Lark has no disk cache)
        check_times = [timed([str(exe), "check", str(prog)]) for _ in range(repeat)]
        python_times = [timed([sys.executable, "-c", "pass"]) for _ in range(repeat)]
    print(
        f"visprog check cold start: {statistics.median(check_times):.3f} s median, "
        f"{min(check_times):.3f} s best (bare python start: {statistics.median(python_times):.3f} s)"
    )


def bench_import(repeat: int = 7) -> None:
    """``import visprog`` (and with every tool declared, as a Session does) in a fresh process."""

    def timed(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - t0

    timed("import visprog.tools")  # warm the OS file cache
    bare = statistics.median(timed("pass") for _ in range(repeat))
    for code in ("import visprog", "import visprog.tools"):
        times = [timed(code) for _ in range(repeat)]
        print(
            f"{code}: {statistics.median(times):.3f} s median, {min(times):.3f} s best, "
            f"fresh process included (bare python start: {bare:.3f} s)"
        )


def bench_parser_build(repeat: int = 5) -> None:
    import lark

    from visprog.syntax import load_grammar

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for grammar in ("visprog.lark", "expr.lark"):
            lark.Lark(load_grammar(grammar), parser="lalr", maybe_placeholders=True)
        times.append(time.perf_counter() - t0)
    print(
        f"LALR tables of both grammars, built (no cache): {statistics.median(times) * 1e3:.1f} ms"
    )


def bench_diagnostics() -> None:
    from visprog.errors import CheckError

    for n in (10_000, 100_000):
        args = ", ".join(f"a{i}=1" for i in range(n))
        for label, source in (
            (f"one line, {n:,} bad arguments", f"A = Count({args})\nR = Result(var=A)"),
            (f"{n:,} lines of errors", "".join(f"X{i} = Nope()\n" for i in range(n))),
        ):
            t0 = time.perf_counter()
            program = visprog.parse(source)
            text = str(CheckError(visprog.check(program), program.source))
            print(
                f"check + report, {label}: {time.perf_counter() - t0:.2f} s, "
                f"{len(text) / 1e3:.0f} kB of report"
            )


def bench_memory(steps: int = 300, side: int = 1000, budget_mb: int = 256) -> None:
    """Peak memory of a long Blur chain: environment dropped after last use, trace budgeted."""
    code = f"""
import resource, numpy as np, visprog.tools
from visprog import Image
from visprog.interpreter import Interpreter
lines = ["B = Loc(image=IMAGE, object='TOP')", "I0 = Blur(image=IMAGE, object=B)"]
lines += [f"I{{i}} = Blur(image=I{{i - 1}}, object=B)" for i in range(1, {steps})]
lines.append("R = Result(var=I{steps - 1})")
image = Image(np.random.default_rng(0).integers(0, 256, ({side}, {side}, 3), dtype=np.uint8))
interp = Interpreter(device="cpu", max_steps={steps + 2}, trace_budget_bytes={budget_mb} * 2**20)
interp.run("\\n".join(lines), {{"IMAGE": image}})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    per_step = side * side * 3 / 2**20
    print(
        f"Blur chain, {steps} steps on {side}x{side} ({per_step:.1f} MB an image), trace budget "
        f"{budget_mb} MB: peak RSS "
        f"{float(out.stdout.strip()):.0f} MB (keeping every image would be {steps * per_step:.0f} MB)"
    )


if __name__ == "__main__":
    import visprog.tools  # noqa: F401

    bench_parse_check()
    bench_overhead()
    bench_parser_build()
    bench_import()
    bench_cold_start()
    bench_diagnostics()
    bench_memory()
