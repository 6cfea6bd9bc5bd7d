"""Batch benchmark: prints figures (no timed assertions).

    .venv/bin/python benchmarks/bench_batch.py                 # tiny random-weight models
    .venv/bin/python benchmarks/bench_batch.py --size base     # OWLv2-base at 960 px
    .venv/bin/python benchmarks/bench_batch.py --size base --vqa smolvlm --images 4
    .venv/bin/python benchmarks/bench_batch.py --ray --memory 1000
    .venv/bin/python benchmarks/bench_batch.py --no-batched-forward   # every call alone
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_batch.py --write 32   # program writing

Figures (issue 11):

* a GQA-like workload, 8 images x 8 questions (Loc / Crop / VQA / Count / Eval): items per
  second of a batch (batched forwards on, or off with ``--no-batched-forward``) vs a loop over
  ``session.run``, whether every answer is the same, and each side's time per step kind (the
  batch's counts the tools' own calls: a batched call once, a shared step not at all);
* with ``--ray``: the same manifest through a local Ray cluster (one worker) vs in-process;
* with ``--memory N``: resident memory while N cheap items run, sampled every N/10 items.

Models are random-weight (this machine has no model hub): OWLv2 for Loc (tiny, or base size at
960 px with ``--size base``) and, for VQA, a tiny Idefics3 (SmolVLM's architecture, the default
VQA model's), ``--vqa smolvlm`` for an Idefics3 with SmolVLM-500M-Instruct's real sizes (images
at 512 px, no splitting, ``vqa.max_new_tokens`` 4; see :func:`save_smolvlm_500m`), or ``--vqa
blip`` for a tiny BLIP, which has no batched form. Answers are meaningless, but identical work
is identical, which is what the comparison needs. ``--images N`` uses the first N of the 8
images (a base-size loop costs about 2 minutes per image on one core: with ``--vqa smolvlm`` a
whole run takes about 22 minutes for 8 images, 14 for 4).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tiny-model builders the tests use

from tools.conftest import build_owlv2  # noqa: E402
from tools.fixtures_hf import (  # noqa: E402
    IDEFICS3_SPECIALS,
    IDEFICS3_TEMPLATE,
    ROW_COL,
    save_tiny_blip,
    save_tiny_idefics3,
    word_tokenizer,
)

import visprog  # noqa: E402
from visprog.batch import Engine, EngineOptions, Item, ResultsFile, run_batch  # noqa: E402

IMAGES = sorted((ROOT / "demos" / "bench" / "images").glob("*.jpg"))[:8]
QUESTIONS = [
    "BOX0 = Loc(image=IMAGE, object='face')\nANSWER0 = Count(box=BOX0)\nFINAL_RESULT = Result(var=ANSWER0)",
    "BOX0 = Loc(image=IMAGE, object='face')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    "ANSWER0 = VQA(image=IMAGE0, question='what color is the hair?')\nFINAL_RESULT = Result(var=ANSWER0)",
    "BOX0 = Loc(image=IMAGE, object='face')\nANSWER0 = Count(box=BOX0)\n"
    "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 0 else 'no'\")\nFINAL_RESULT = Result(var=ANSWER1)",
    "BOX0 = Loc(image=IMAGE, object='cup')\nANSWER0 = Count(box=BOX0)\nFINAL_RESULT = Result(var=ANSWER0)",
    "ANSWER0 = VQA(image=IMAGE, question='what is in the picture?')\nFINAL_RESULT = Result(var=ANSWER0)",
    "BOX0 = Loc(image=IMAGE, object='cup')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    "ANSWER0 = VQA(image=IMAGE0, question='is it hot?')\nFINAL_RESULT = Result(var=ANSWER0)",
    "BOX0 = Loc(image=IMAGE, object='LEFT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    "ANSWER0 = VQA(image=IMAGE0, question='what is in the picture?')\nFINAL_RESULT = Result(var=ANSWER0)",
    "BOX0 = Loc(image=IMAGE, object='face')\nIMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)\n"
    "BOX1 = Loc(image=IMAGE0, object='cup')\nANSWER0 = Count(box=BOX1)\nFINAL_RESULT = Result(var=ANSWER0)",
]
CHEAP = (
    "BOX0 = Loc(image=IMAGE, object='LEFT')\nANSWER0 = Count(box=BOX0)\n"
    'ANSWER1 = Eval(expr="{ANSWER0} + 1")\nFINAL_RESULT = Result(var=ANSWER1)'
)


def workload(images: int = len(IMAGES)) -> list[Item]:
    """``images`` (8) images x 8 questions, GQA-like: many questions start with the same Loc."""
    return [
        Item(id=f"{img.stem}-q{q}", images={"IMAGE": img}, program=program)
        for img in IMAGES[:images]
        for q, program in enumerate(QUESTIONS)
    ]


def models(folder: Path, size: str, vqa_arch: str = "idefics3") -> dict[str, Any]:
    """Random-weight models saved to ``folder``; the settings that select them.

    Seeded, so runs with and without ``--no-batched-forward`` do the same work.
    """
    import torch

    torch.manual_seed(0)
    loc = build_owlv2(folder / "owlv2", small=size == "tiny")
    save = {"blip": save_tiny_blip, "smolvlm": save_smolvlm_500m}.get(vqa_arch, save_tiny_idefics3)
    vqa = save(folder / vqa_arch)
    settings: dict[str, Any] = {"model.loc": loc, "model.vqa": vqa, "loc.threshold": 0.0}
    if vqa_arch == "smolvlm":
        settings["vqa.max_new_tokens"] = SMOLVLM_NEW_TOKENS
    return settings


SMOLVLM_VOCAB = 49280  # SmolVLM-500M-Instruct's vocabulary (SmolLM2's 49152 plus image tokens)
SMOLVLM_NEW_TOKENS = 4  # a short answer's budget (the tests use 3 to 8)


def smolvlm_tokenizer() -> Any:
    """A word-level tokenizer with SmolVLM's vocabulary size: the tests' words and specials, then
    filler words, so the random model's answers decode to distinct words (a real check of "same
    answers") and the output layer has its real size."""
    return word_tokenizer(IDEFICS3_SPECIALS + ROW_COL, size=SMOLVLM_VOCAB)


def save_smolvlm_500m(folder: Path) -> str:
    """A random-weight Idefics3 with SmolVLM-500M-Instruct's sizes, saved to ``folder``.

    The sizes (no hub here) are those of SmolVLM-500M's published config.json, as repeated by
    vidore/ColSmolVLM-Instruct-500M-base's config.json ("_name_or_path":
    "models/SmolVLM-Instruct-500M"): a SigLIP-B/16 vision tower at 512 px (hidden 768, MLP 3072,
    12 layers, 12 heads), pixel shuffle ``scale_factor`` 4 (so 64 image tokens per 512 px tile),
    and a SmolLM2-360M text model (hidden 960, MLP 2560, 15 heads, 5 key/value heads, head_dim
    64, max_position_embeddings 8192; 32 layers and rope_theta 100000 as in
    HuggingFaceTB/SmolLM-360M-Instruct's and nanoVLM's SmolLM2-360M configs). The processor
    differs from the release on purpose: the longest edge is 512 and images are not split (the
    release resizes to 2048 and splits into 512 px tiles), so one image is one tile and a run
    finishes in minutes on a CPU.
    """
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    tok = smolvlm_tokenizer()
    images = Idefics3ImageProcessor(
        size={"longest_edge": 512}, max_image_size={"longest_edge": 512}, do_image_splitting=False
    )
    processor = Idefics3Processor(images, tok, image_seq_len=64, chat_template=IDEFICS3_TEMPLATE)
    config = Idefics3Config(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=512, patch_size=16),
        text_config=dict(model_type="llama", hidden_size=960, intermediate_size=2560,
                         num_hidden_layers=32, num_attention_heads=15, num_key_value_heads=5,
                         head_dim=64, rope_parameters={"rope_type": "default", "rope_theta": 1e5},
                         vocab_size=SMOLVLM_VOCAB,
                         max_position_embeddings=8192, pad_token_id=tok.pad_token_id),
        scale_factor=4,
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )  # fmt: skip
    Idefics3ForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


Profile = dict[str, list[float]]  # step name -> [calls, seconds]


def loop(
    items: list[Item], settings: dict[str, Any], device: str = "cpu"
) -> tuple[float, dict[str, Any], Profile]:
    """One ``session.run`` per item: the baseline (and its time per step kind)."""
    session = visprog.Session(settings, device=device, log=lambda m: None)
    with contextlib.suppress(visprog.VisprogError):  # random boxes may crop to nothing
        session.run(QUESTIONS[1], str(IMAGES[0]))  # load the models before timing
    start, answers, profile = time.perf_counter(), {}, {}
    for item in items:
        try:
            trace = session.run(item.program or "", str(item.images["IMAGE"]))
        except visprog.VisprogError as e:
            # Random weights can give a box that crops to nothing: a failed item, as in a batch,
            # which records the step's own error rather than the StepFailedError around it.
            cause = getattr(e, "error", e)
            answers[item.id] = ("error", type(cause).__name__)
            _count(profile, getattr(getattr(e, "trace", None), "steps", []))
            continue
        answers[item.id] = _plain(trace.result)
        _count(profile, trace.steps)
    return time.perf_counter() - start, answers, profile


def _count(profile: Profile, steps: Any) -> None:
    """Add steps (trace records or result dicts) to ``profile``."""
    for step in steps:
        name, seconds = (
            (step["step"], step["seconds"]) if isinstance(step, dict) else (step.step, step.seconds)
        )
        entry = profile.setdefault(str(name), [0, 0.0])
        entry[0] += 1
        entry[1] += float(seconds or 0.0)


def print_profile(label: str, profile: Profile, total: float) -> None:
    """One line per step kind: calls and seconds, heaviest first."""
    rows = sorted(profile.items(), key=lambda kv: -kv[1][1])
    parts = [f"{name} {int(n)} calls {sec:.1f} s" for name, (n, sec) in rows]
    rest = total - sum(sec for _, sec in profile.values())
    print(f"  {label} time per step kind: " + "; ".join(parts) + f"; outside steps {rest:.1f} s")


def batch(
    items: list[Item], settings: dict[str, Any], device: str = "cpu", batched: bool = True
) -> tuple[float, dict[str, Any], Any, Profile]:
    """The same items through ``run_batch`` (step memo on; batched forwards unless told).

    Returns the seconds, the answers, the step memo and the time per step kind (the tools'
    own calls: a batched call once for its chunk, shared steps not at all).
    """
    options = EngineOptions(
        device=device, settings=settings, program_cache=False, batched_forward=batched
    )
    profile: Profile = {}
    engine = Engine(options, registry=timed(profile))
    engine.session.log = None
    with contextlib.suppress(visprog.VisprogError):
        engine.session.run(QUESTIONS[1], str(IMAGES[-1]))  # load the models (another image)
    profile.clear()
    start, answers = time.perf_counter(), {}
    for r in run_batch(items, engine):
        answers[r.id] = r.answer if r.ok else ("error", (r.error or {}).get("type"))
    return time.perf_counter() - start, answers, engine.memo, profile


def timed(profile: Profile) -> Any:
    """The built-in tools, each call (single or batched form) timed into ``profile``.

    The step memo sits in front of these, so what is counted is work done: a shared step
    costs nothing here, and a batched call counts once for its whole chunk.
    """
    import dataclasses

    from visprog.registry import REGISTRY, Registry
    from visprog.session import ensure_tools

    ensure_tools()
    out = Registry()
    for spec in REGISTRY:
        batched = spec.batched and _timer(spec.batched, f"{spec.name} (batched)", profile)
        out.add(dataclasses.replace(spec, fn=_timer(spec.fn, spec.name, profile), batched=batched))
    return out


def _timer(fn: Any, name: str, profile: Profile) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            entry = profile.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    return call


def _plain(value: Any) -> Any:
    from visprog.batch.results import answer_json

    return answer_json(value)


def ray_ratio(items: list[Item], settings: dict[str, Any]) -> None:
    """Local Ray (one worker) vs in-process on the same items, measured back to back.

    Both sides are timed warm (models loaded by the same warm-up item, as :func:`batch` does),
    so the ratio is Ray's own overhead (serialising items and results, the actor round trips);
    the start-up (``ray.init``, the actor, its model loads) is printed apart.
    """
    import dataclasses
    import os

    import ray

    from visprog.batch.distributed import BatchWorker, _dispatch

    local, answers, _, _ = batch(items, settings)
    load_local = os.getloadavg()[0]
    options = EngineOptions(device="cpu", settings=settings, program_cache=False)
    begin = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        actor = ray.remote(num_cpus=1)(BatchWorker)
        pool = [actor.remote(dataclasses.asdict(options), None, None)]
        warm = Item(id="warm-up", images={"IMAGE": IMAGES[-1]}, program=QUESTIONS[1])
        ray.get(pool[0].run.remote(warm.to_dict()))  # the worker loads its models
        ready = time.perf_counter()
        got = {d["id"]: _ray_answer(d) for d in _dispatch(ray, pool, items)}
        steady = time.perf_counter() - ready
    finally:
        ray.shutdown()
    print(
        f"ray, 1 local worker: {steady:.1f} s warm (load {os.getloadavg()[0]:.1f}) vs in-process "
        f"{local:.1f} s warm (load {load_local:.1f}): overhead ratio {steady / local:.2f}x; "
        f"start-up (ray.init, actor, model load) {ready - begin:.1f} s; "
        f"same answers: {got == answers}"
    )


def _ray_answer(data: dict[str, Any]) -> Any:
    return data["answer"] if data["ok"] else ("error", (data.get("error") or {}).get("type"))


def memory(n: int) -> None:
    """Resident memory while ``n`` cheap items run (should stay flat)."""
    import psutil

    process = psutil.Process()
    items = [
        Item(id=f"m{i}", images={"IMAGE": IMAGES[i % len(IMAGES)]}, program=CHEAP) for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        results = ResultsFile(Path(tmp) / "results.jsonl")
        engine = Engine(EngineOptions(device="cpu", program_cache=False))
        samples = []
        for k, _ in enumerate(run_batch(items, engine, results=results), start=1):
            if k % max(1, n // 10) == 0:
                samples.append(process.memory_info().rss / 2**20)
    print(
        f"{n} cheap items: RSS every {max(1, n // 10)} items (MiB): "
        + ", ".join(f"{s:.0f}" for s in samples)
    )
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  growth from the first sample to the last: {samples[-1] - samples[0]:+.1f} MiB; "
        f"peak RSS {peak:.0f} MiB"
    )


def compare(
    items: list[Item],
    settings: dict[str, Any],
    size: str,
    device: str,
    forwards: bool = True,
    vqa_arch: str = "idefics3",
) -> float:
    """Print loop vs batch figures for ``items``; returns the speed-up."""
    import os

    looped, loop_answers, loop_profile = loop(items, settings, device)
    load_loop = os.getloadavg()[0]
    batched, batch_answers, memo, batch_profile = batch(items, settings, device, forwards)
    load_batch = os.getloadavg()[0]
    how = (
        f"batched forwards (batch.size {settings.get('batch.size', 8)})"
        if forwards
        else "no batched forwards"
    )
    images = len({str(item.images["IMAGE"]) for item in items})
    vqa = VQA_LABELS.get(vqa_arch, f"tiny {vqa_arch}")
    print(
        f"GQA-like workload: {len(items)} items ({images} images x {len(QUESTIONS)} questions), "
        f"OWLv2 {size}{' (960 px)' if size == 'base' else ''}, VQA {vqa}, on {device}, "
        f"torch threads {_threads()}"
    )
    print(
        f"  loop over session.run: {len(items) / looped:.3f} items/s ({looped:.1f} s, "
        f"load {load_loop:.1f})"
    )
    print(
        f"  visprog batch, {how}: {len(items) / batched:.3f} items/s ({batched:.1f} s, "
        f"load {load_batch:.1f}); {memo.hits} steps shared, {memo.misses} run"
    )
    print_profile("loop", loop_profile, looped)
    print_profile("batch", batch_profile, batched)
    distinct = len({json.dumps(a, sort_keys=True, default=str) for a in loop_answers.values()})
    failed = sorted(
        {str(a[1]) for a in loop_answers.values() if isinstance(a, tuple) and a[0] == "error"}
    )
    n_failed = sum(isinstance(a, tuple) and a[0] == "error" for a in loop_answers.values())
    print(
        f"  speed-up {looped / batched:.2f}x; same answers: {loop_answers == batch_answers} "
        f"({distinct} distinct answers; {n_failed} items failed in the loop, random weights: "
        f"{', '.join(failed) or 'none'})"
    )
    if loop_answers != batch_answers:
        diff = [k for k in loop_answers if loop_answers[k] != batch_answers.get(k)]
        print("  differing:", json.dumps(diff[:5]))
    return looped / batched


VQA_LABELS = {
    "smolvlm": f"SmolVLM-500M sizes (512 px, no splitting, max_new_tokens {SMOLVLM_NEW_TOKENS})",
    "idefics3": "tiny idefics3",
    "blip": "tiny blip",
}


WRITE_QUERIES = [
    "How many dogs are there?",
    "Is there a red car left of the tree?",
    "How many people are on the bus?",
    "What color is the big bus?",
    "Are there more cats than dogs?",
    "Is the man wearing a hat?",
    "How many faces are in the picture?",
    "What is on the table?",
    "What is the woman holding?",
    "Is the cup on the left or on the right?",
    "How many cups are on the table?",
    "What color is the cat?",
    "Is there a bicycle in the picture?",
    "What is the man left of the car doing?",
    "How many windows does the building have?",
    "Is the sky cloudy?",
    "What animal is on the sofa?",
    "Are there any people near the bus?",
    "What is in front of the house?",
    "How many chairs are there?",
    "Is the door open?",
    "What color is the shirt of the boy?",
    "Is there a plate below the cake?",
    "What is the girl right of the dog wearing?",
    "How many birds are in the sky?",
    "Is the lamp turned on?",
    "What kind of food is on the plate?",
    "Are the cups the same color?",
    "How many cars are parked on the street?",
    "Is the child smiling?",
    "What is behind the fence?",
    "Is there a clock on the wall?",
]


def write_ratio(
    n: int, size: int, device: str = "cpu", backend: Any = None, llm: str = "default"
) -> float:
    """Program writing for ``n`` GQA queries: one at a time vs batched; returns the ratio.

    The real offline Gemma 3 270M (``llm``: ``default``, or ``gemma-lora`` for its adapter and
    short prompts) unless ``backend`` is given. Both read the prompt's shared
    prefix once (warmed before timing); "one at a time" is
    :func:`visprog.planner.generate_program` per query, "batched" one
    :func:`visprog.planner.generate_programs` call (``size`` programs per batched decode).
    """
    import os

    from visprog.planner import Request, generate_program, generate_programs
    from visprog.planner.backends import shared_backend
    from visprog.session import ensure_tools

    ensure_tools()  # the prompts list the built-in tools
    backend = backend or shared_backend(llm, device=device)
    queries = WRITE_QUERIES[:n]
    generate_program(queries[0], backend)  # read the prefix (one-at-a-time cache)
    generate_programs([Request(queries[0]), Request(queries[1])], backend)  # and the batch's
    _sync(device)
    start = time.perf_counter()
    one = [generate_program(q, backend).program for q in queries]
    _sync(device)
    alone, load_one = time.perf_counter() - start, os.getloadavg()[0]
    start = time.perf_counter()
    got = generate_programs([Request(q) for q in queries], backend, batch_size=size)
    _sync(device)
    together = time.perf_counter() - start
    many = [getattr(g, "program", repr(g)) for g in got]
    print(
        f"program writing, {len(queries)} GQA queries, {backend.name} (torch threads "
        f"{_threads()}): one at a time {alone:.1f} s ({alone / len(queries):.2f} s/program, "
        f"load {load_one:.1f}); batched (batch {size}) {together:.1f} s "
        f"({together / len(queries):.2f} s/program, load {os.getloadavg()[0]:.1f}): "
        f"{alone / together:.2f}x; same programs: {one == many}",
        flush=True,
    )
    if one != many:
        diff = [q for q, a, b in zip(queries, one, many, strict=True) if a != b]
        print("  differing:", json.dumps(diff[:5]))
    return alone / together


def _sync(device: str) -> None:
    """Wait for queued GPU work, so timings cover it."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def main() -> None:
    """Run the benchmarks chosen on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "base"], default="tiny", help="OWLv2 size")
    parser.add_argument("--ray", action="store_true", help="also measure local Ray overhead")
    parser.add_argument("--memory", type=int, default=0, metavar="N", help="also run N cheap items")
    parser.add_argument(
        "--no-batched-forward", action="store_true", help="the batch makes every call alone"
    )
    parser.add_argument(
        "--vqa",
        choices=["idefics3", "smolvlm", "blip"],
        default="idefics3",
        help="VQA model: tiny Idefics3, SmolVLM-500M's sizes, or tiny BLIP",
    )
    parser.add_argument(
        "--images", type=int, default=len(IMAGES), help="use the first N images (1..8)"
    )
    parser.add_argument(
        "--write", type=int, default=0, metavar="N", help="program writing for N queries only"
    )
    parser.add_argument("--write-batch", type=int, default=32, help="programs per batched decode")
    parser.add_argument("--llm", default="default", help="program writer for --write (gemma-lora)")
    args = parser.parse_args()
    if args.write:
        write_ratio(args.write, args.write_batch, llm=args.llm)
        return
    items = workload(max(1, min(args.images, len(IMAGES))))
    with tempfile.TemporaryDirectory() as tmp:
        settings = models(Path(tmp), args.size, args.vqa)
        compare(items, settings, args.size, "cpu", not args.no_batched_forward, args.vqa)
        if args.ray:
            ray_ratio(items, settings)
    if args.memory:
        memory(args.memory)


if __name__ == "__main__":
    main()
