"""``visprog probe fit`` and ``visprog probe eval``: the command-line face of :mod:`visprog.probe`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from visprog.probe.probefile import Probe


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``probe fit`` and ``probe eval`` under the ``visprog`` sub-command parser."""
    probe = sub.add_parser("probe", parents=[common], help="train or evaluate a linear probe")
    actions = probe.add_subparsers(dest="probe_command", metavar="ACTION", required=True)
    fit = actions.add_parser("fit", parents=[common], help="train a probe on labelled images")
    fit.add_argument("data", help="a folder of class folders, or a .csv / .jsonl of path,label")
    fit.add_argument("--out", "-o", required=True, metavar="NAME.probe", help="probe file")
    fit.add_argument("--val", metavar="DATA", help="a separate validation set (same layouts)")
    fit.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    _model_options(fit)
    fit.set_defaults(handler=cmd_fit)
    ev = actions.add_parser("eval", parents=[common], help="score a probe beside zero-shot CLIP")
    ev.add_argument("probe", metavar="NAME.probe")
    ev.add_argument("data", help="a labelled set (same layouts as for fit)")
    _model_options(ev)
    ev.set_defaults(handler=cmd_eval)


def _model_options(parser: argparse.ArgumentParser) -> None:
    from visprog.cli import add_session_options

    add_session_options(parser, "model.clip=openai/clip-vit-base-patch32")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write features")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _common(args: argparse.Namespace) -> dict[str, Any]:
    from visprog.config import parse_assignments
    from visprog.session import Session

    if args.quiet:  # as for visprog run: no model-loading messages or library progress bars
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # One Session, as for visprog run: settings validated before anything loads, its models.
    session = Session(
        parse_assignments(args.settings),
        config=args.config,
        device=args.device,
        log=(lambda message: None) if args.quiet else None,
    )
    return {
        "settings": session.settings,
        "device": session.device,
        "models": session.models,
        "quiet": args.quiet,
        **({"cache_dir": None} if args.no_cache else {}),
    }


def cmd_fit(args: argparse.Namespace) -> int:
    """``visprog probe fit DATA --out NAME.probe``."""
    from visprog.errors import ProbeError
    from visprog.probe.pipeline import fit

    if args.folds < 2:
        raise ProbeError(f"--folds must be at least 2, got {args.folds}")
    start = time.perf_counter()
    probe = fit(args.data, out=args.out, val=args.val, folds=args.folds, **_common(args))
    print(summary(probe, time.perf_counter() - start))
    print(f"probe written to {args.out}", file=sys.stderr)
    return 0


def summary(probe: Probe, seconds: float) -> str:
    """What ``probe fit`` prints: data, chosen strength, accuracies, validation confusion."""
    import numpy as np

    from visprog.probe.train import Scores, format_confusion

    m = probe.meta
    counts = ", ".join(f"{c} {n}" for c, n in m["examples_per_class"].items())
    return "\n".join(
        [
            f"classes: {len(probe.classes)} ({counts})",
            f"model: {probe.clip_model} (revision {probe.clip_revision})",
            f"L2 strength {m['l2']:g} chosen by {m['cv_folds']}-fold cross-validation",
            f"train accuracy {m['train_accuracy']:.3f}",
            f"validation accuracy {m['val_accuracy']:.3f} ({m['val_source']})",
            "validation " + format_confusion(Scores(probe.classes, np.array(m["val_confusion"]))),
            f"fit in {seconds:.1f} s",
        ]
    )


def cmd_eval(args: argparse.Namespace) -> int:
    """``visprog probe eval NAME.probe DATA``."""
    from visprog.probe.pipeline import evaluate
    from visprog.probe.probefile import load
    from visprog.probe.train import format_confusion

    probe = load(args.probe)
    result = evaluate(probe, args.data, **_common(args))
    chance = 1 / len(probe.classes)
    print(f"{args.probe}: {probe.describe()}")
    print(f"accuracy: probe {result.probe.accuracy:.3f}   zero-shot CLIP "
          f"{result.zero_shot.accuracy:.3f}   chance {chance:.3f}")  # fmt: skip
    print(f"{'class':<24}{'probe P':>9}{'probe R':>9}{'zero-shot P':>13}{'zero-shot R':>13}")
    rows = zip(
        probe.classes, result.probe.precision(), result.probe.recall(),
        result.zero_shot.precision(), result.zero_shot.recall(), strict=True,
    )  # fmt: skip
    for name, p, r, zp, zr in rows:
        print(f"{name[:23]:<24}{p:>9.2f}{r:>9.2f}{zp:>13.2f}{zr:>13.2f}")
    print("probe " + format_confusion(result.probe))
    print("zero-shot " + format_confusion(result.zero_shot))
    return 0
