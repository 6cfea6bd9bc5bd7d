"""Batch fixtures: a registry with a counting fake tool, and a small image folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from visprog.context import Context
from visprog.errors import GenerationError
from visprog.registry import REGISTRY, Registry, register_tool
from visprog.values import Image

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "demos" / "bench"


class Calls:
    """How often the fake tool really ran."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(calls: Calls) -> Registry:
    """Count, Eval, Result and Loc (halves need no model) plus two fakes.

    ``Brightness(image) -> number`` is deterministic and counts its calls; ``Explode(image)``
    always raises, like a tool crashing.
    """
    reg = Registry()
    for name in ("Loc", "Crop", "Count", "Eval", "Result"):
        spec = REGISTRY.get(name)
        assert spec is not None
        reg.add(spec)

    def brightness(image: Image, ctx: Context) -> float:
        """Mean pixel value."""
        calls.count += 1
        return round(float(image.pixels.mean()), 3)

    def explode(image: Image) -> float:
        """Always fails."""
        raise ValueError("boom")

    register_tool(brightness, "Brightness", registry=reg)
    register_tool(explode, "Explode", registry=reg)
    return reg


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """Three 32x24 PNGs of flat grey levels 10, 20 and 30, and a file that is not an image."""
    for level in (10, 20, 30):
        pixels = np.full((24, 32, 3), level, np.uint8)
        PILImage.fromarray(pixels).save(tmp_path / f"g{level}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    return tmp_path


class FakeWriter:
    """Stands in for the program-writing model: a fixed program per query, or a failure."""

    def __init__(self, programs: dict[str, str]) -> None:
        self.programs = programs
        self.asked: list[str] = []
        self.batches: list[int] = []  # how many queries each write_programs call asked

    def __call__(self, query: str, names: tuple[str, ...], task: str | None) -> Any:
        self.asked.append(query)
        if query not in self.programs:
            raise GenerationError(f"no program for {query!r}")
        return _Generation(self.programs[query], query)

    def many(self, keys: list[tuple[str, tuple[str, ...], str | None]]) -> list[Any]:
        """``Engine.write_programs``: one generation or error per (query, names, task)."""
        self.batches.append(len(keys))
        out: list[Any] = []
        for key in keys:
            try:
                out.append(self(*key))
            except GenerationError as e:
                out.append(e)
        return out


class _Generation:
    def __init__(self, program: str, query: str) -> None:
        self.program = program
        self.query = query

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "task": "gqa",
                "model": "fake",
                "query": self.query,
                "cached": True,
                "program": self.program,
                "diagnostics": [],
            }
        ]


@pytest.fixture(scope="session")
def bench_in_process() -> dict[str, Any]:
    """The mini benchmark's fixed programs run in-process with the real tools (MTCNN): id -> result."""
    from visprog.batch import Engine, EngineOptions, read_manifest, run_batch

    items = read_manifest(BENCH / "programs.jsonl")
    engine = Engine(EngineOptions(device="cpu", program_cache=False))
    return {r.id: r for r in run_batch(items, engine)}
