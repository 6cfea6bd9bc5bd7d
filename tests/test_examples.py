"""Every program shipped in demos/ and prompts/ parses and checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from visprog import check, parse

ROOT = Path(__file__).resolve().parents[1]
DEMO_PROGRAMS = sorted((ROOT / "demos" / "programs").glob("*.vp"))


def inputs_for(path: Path) -> list[str]:
    """Demo programs name their inputs in a '# inputs: LEFT, RIGHT' comment (default IMAGE)."""
    for line in path.read_text().splitlines():
        if line.lower().startswith("# inputs:"):
            return [n.strip() for n in line.split(":", 1)[1].split(",")]
    return ["IMAGE"]


def test_there_are_demo_programs() -> None:
    assert len(DEMO_PROGRAMS) >= 3


@pytest.mark.parametrize("path", DEMO_PROGRAMS, ids=lambda p: p.name)
def test_demo_program_parses_and_checks(path: Path) -> None:
    program = parse(path.read_text(), str(path))
    assert check(program, inputs_for(path)) == []
