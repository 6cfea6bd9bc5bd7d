"""Program-generation benchmark with the offline default model: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_planner.py [--llm SPEC] [--attempts N] [--only constrained]

For 20 fixed queries (none of them a prompt example), with and without grammar constraints:
first-attempt parse rate, programs that check (after repairs), mean attempts, seconds per
program, and how many programs do what the query asked.

How "does what was asked" is judged: I wrote, by hand, for each query the steps a correct
program must call and the words its arguments must mention (``CRITERIA`` below: e.g. "How many
dogs are on the sofa?" needs Loc or Point of a dog, a Count, and the sofa somewhere). A program
that checks and meets them counts as doing what was asked. I read the programs the model wrote
(printed by ``--show``) to confirm the criteria judge them as I would; disagreements are noted in
``JUDGEMENT_NOTES``. The program cache is bypassed. Runs in a few minutes on two CPU cores after
the first load of the model (the first use on a machine converts the GGUF, about 3 minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

import visprog
from visprog.errors import GenerationError
from visprog.planner import Generation, generate_program, shared_backend

# query -> (input names, [alternatives of step sets that must appear], words the program must
# mention ("a|b": either)). Steps in FORBIDDEN[query] make a program wrong (e.g. a Select that
# keeps only some faces when every face was asked for).
CRITERIA: dict[str, tuple[tuple[str, ...], list[set[str]], list[str]]] = {
    "How many dogs are on the sofa?": (("IMAGE",), [{"Count"}], ["dog", "sofa"]),
    "Blur the faces of everyone": (("IMAGE",), [{"FaceDet", "Blur"}], []),
    "What is the man on the left wearing?": (("IMAGE",), [{"VQA"}], ["man"]),
    "Is there a bicycle next to the tree?": (("IMAGE",), [{"Loc"}], ["bicycle", "tree"]),
    "Count the people in the photo": (("IMAGE",), [{"Count"}], ["person|people"]),
    "Replace the horse with a zebra": (("IMAGE",), [{"Replace"}], ["horse", "zebra"]),
    "Color pop the yellow umbrella": (("IMAGE",), [{"ColorPop"}], ["umbrella"]),
    "Hide all faces with a grinning emoji": (("IMAGE",), [{"FaceDet", "Emoji"}], ["grin"]),
    "Blur the background behind the dog": (("IMAGE",), [{"BgBlur"}], ["dog"]),
    "Tag the members of the Rolling Stones": (
        ("IMAGE",),
        [{"FaceDet", "Tag"}],
        ["Rolling Stones"],
    ),
    "Label the animals in the picture": (("IMAGE",), [{"Tag"}], ["animal"]),
    "What color is the bus?": (("IMAGE",), [{"VQA"}], ["bus"]),
    "Are there more cats than dogs?": (("IMAGE",), [{"Count", "Eval"}], ["cat", "dog"]),
    "Point to the bottles": (("IMAGE",), [{"Point"}], ["bottle"]),
    "How many faces are in the picture?": (("IMAGE",), [{"FaceDet", "Count"}], []),
    "Segment the cat": (("IMAGE",), [{"Seg"}], ["cat"]),
    "What is under the table?": (("IMAGE",), [{"VQA"}, {"CropBelow"}], ["table"]),
    "Both images show a bird.": (("LEFT", "RIGHT"), [{"Eval"}], ["bird"]),
    "The left image has more people than the right image.": (
        ("LEFT", "RIGHT"),
        [{"Eval"}],
        ["person|people"],
    ),
    "Is the woman holding an umbrella?": (("IMAGE",), [{"VQA"}], ["umbrella"]),
}

FORBIDDEN: dict[str, set[str]] = {
    "Blur the faces of everyone": {"Select"},
    "Hide all faces with a grinning emoji": {"Select"},
    "How many faces are in the picture?": {"Select"},
}

# My reading of the programs Gemma 3 270M wrote on the recorded run (see the closing figures in
# docs/planner.md), where it differs from the automatic criteria or is worth saying.
JUDGEMENT_NOTES: dict[str, str] = {
    "How many dogs are on the sofa?": "counting every dog, ignoring the sofa, is judged wrong",
    "Is there a bicycle next to the tree?": "Loc of both, or a VQA on the tree's crop, is right",
    "Count the people in the photo": "a Tag image instead of a number is judged wrong",
}


@dataclass
class Outcome:
    """One query under one mode."""

    query: str
    first_parses: bool
    checks: bool
    attempts: int
    seconds: float
    program: str
    does_what_asked: bool


def meets(query: str, program: str) -> bool:
    """Whether a checked program meets the hand-written criteria for ``query``."""
    _, step_sets, words = CRITERIA[query]
    steps = {s.step for s in visprog.parse(program).statements}
    steps = {visprog.REGISTRY.get(s).name if visprog.REGISTRY.get(s) else s for s in steps}
    if not any(req <= steps for req in step_sets) or steps & FORBIDDEN.get(query, set()):
        return False
    text = program.lower()
    return all(any(w.lower() in text for w in alts.split("|")) for alts in words)


def run_one(backend: object, query: str, constrain: bool, attempts: int) -> Outcome:
    """Generate (no cache) and score one program."""
    inputs = CRITERIA[query][0]
    start = time.perf_counter()
    gen: Generation | None
    try:
        gen = generate_program(query, backend, inputs, constrain=constrain, attempts=attempts)  # type: ignore[arg-type]
    except GenerationError as e:
        gen = getattr(e, "generation", None)
    seconds = time.perf_counter() - start
    assert gen is not None
    first = gen.attempts[0]
    first_parses = not any("syntax" in d or "no program" in d for d in first.diagnostics)
    try:
        visprog.parse(first.program)
    except visprog.VisprogSyntaxError:
        first_parses = False
    ok = bool(gen.program)
    return Outcome(
        query,
        first_parses,
        ok,
        len(gen.attempts),
        seconds,
        gen.program or gen.attempts[-1].program,
        ok and meets(query, gen.program),
    )


def report(name: str, outcomes: list[Outcome]) -> None:
    """Print the figures for one mode."""
    n = len(outcomes)
    print(f"\n== {name} ({n} queries)")
    print(f"first attempt parses : {sum(o.first_parses for o in outcomes)}/{n}")
    print(f"checks (after repair): {sum(o.checks for o in outcomes)}/{n}")
    print(f"mean attempts        : {statistics.mean(o.attempts for o in outcomes):.2f}")
    print(f"seconds per program  : {statistics.mean(o.seconds for o in outcomes):.1f} (mean)")
    print(f"does what was asked  : {sum(o.does_what_asked for o in outcomes)}/{n}")


def main() -> int:
    """Run the benchmark; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="default")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--only", choices=["constrained", "unconstrained"])
    parser.add_argument("--show", action="store_true", help="print every program")
    args = parser.parse_args()
    visprog.api.ensure_tools()
    start = time.perf_counter()
    backend = shared_backend(args.llm, device="cpu", progress=lambda m: print(m, file=sys.stderr))
    print(f"model: {backend.name}, loaded in {time.perf_counter() - start:.1f} s")
    modes = [m for m in ("constrained", "unconstrained") if args.only in (None, m)]
    for mode in modes:
        outcomes = []
        for query in CRITERIA:
            o = run_one(backend, query, mode == "constrained", args.attempts)
            outcomes.append(o)
            if args.show:
                mark = "OK " if o.does_what_asked else ("chk" if o.checks else "BAD")
                print(f"--- [{mark}] {query} ({o.attempts} att, {o.seconds:.1f} s)\n{o.program}")
        report(mode, outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
