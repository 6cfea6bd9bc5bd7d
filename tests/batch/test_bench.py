"""The mini benchmark in demos/bench, for real: MTCNN on shipped photos, hand-checked answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from visprog.batch import read_manifest

from .conftest import BENCH


def test_every_fixed_program_gives_the_hand_checked_answer(
    bench_in_process: dict[str, Any],
) -> None:
    items = read_manifest(BENCH / "programs.jsonl")
    assert len(items) >= 30
    wrong = {
        i: (r.outcome, r.answer, r.expected, r.error)
        for i, r in bench_in_process.items()
        if r.outcome != "correct"
    }
    assert wrong == {}
    assert set(bench_in_process) == {i.id for i in items}


def test_the_query_manifest_asks_about_the_same_items() -> None:
    fixed = {i.id: i for i in read_manifest(BENCH / "programs.jsonl")}
    queries = read_manifest(BENCH / "queries.jsonl")
    assert len(queries) >= 30
    for q in queries:
        assert q.query and q.id in fixed
        assert (q.answer, dict(q.images)) == (fixed[q.id].answer, dict(fixed[q.id].images))


def test_the_composites_rebuild_identically(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_images", BENCH / "make_images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, rows in module.COMPOSITES.items():
        built = np.asarray(module.grid(rows))
        shipped = np.asarray(PILImage.open(BENCH / "images" / f"{name}.jpg").convert("RGB"))
        assert built.shape == shipped.shape
        # JPEG round trip: close to the built pixels, not bit-equal
        assert np.abs(built.astype(int) - shipped).mean() < 3, name
