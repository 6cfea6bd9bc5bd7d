"""The guarantee: under the generation grammar, every sampled output parses.

A tiny random-weight causal LM (built from a config, tokenizer trained offline, saved to a
folder) is loaded through the same path as real checkpoints. Its outputs are meaningless; what is
tested is that constrained sampling keeps them inside the grammar.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import visprog
from visprog.planner.backends import make_backend
from visprog.planner.backends.local import TransformersBackend, split_gguf
from visprog.planner.grammar import list_grammar, program_grammar
from visprog.syntax import load_grammar

N_SAMPLES = 8
STEPS = ["FaceDet", "Loc", "Count", "Blur", "Crop", "Eval", "VQA"]


def test_loads_through_the_real_path(tiny: TransformersBackend, tiny_lm_dir: Path) -> None:
    assert tiny.constrained
    assert "cpu" in tiny.name
    assert type(tiny.model).__name__ == "LlamaForCausalLM"
    assert isinstance(make_backend(f"hf:{tiny_lm_dir}", device="cpu"), TransformersBackend)


@pytest.mark.usefixtures("one_thread")
def test_sampled_programs_all_parse(tiny: TransformersBackend) -> None:
    grammar = program_grammar(("IMAGE",), STEPS, max_statements=3)
    budget = grammar.max_bytes()  # byte-level tokens: the longest sentence always fits
    outputs = [
        tiny.complete(
            "Question: x\nProgram:\n", grammar=grammar, max_tokens=budget, temperature=1.5
        )
        for _ in range(N_SAMPLES)
    ]
    for text in outputs:
        program = visprog.parse(text)
        assert program.statements[-1].step == "Result"
        assert {s.step for s in program.statements} <= {*STEPS, "Result"}
    assert len(set(outputs)) > 1, "sampling explores"


@pytest.mark.usefixtures("one_thread")
def test_registry_free_grammar_file_also_parses(tiny: TransformersBackend) -> None:
    text = load_grammar("generation.lark").replace("stmt{0,12}", "stmt{0,2}")
    for _ in range(3):
        out = tiny.complete("Program:\n", grammar=text, max_tokens=2000, temperature=1.0)
        assert visprog.parse(out).statements[-1].step == "Result"


@pytest.mark.usefixtures("one_thread")
def test_list_grammar_gives_bullets(tiny: TransformersBackend) -> None:
    out = tiny.complete("List:\n", grammar=list_grammar(3), max_tokens=800, temperature=1.0)
    lines = out.rstrip("\n").split("\n")
    assert 1 <= len(lines) <= 3
    assert all(line.startswith("- ") and len(line) > 2 for line in lines)


@pytest.mark.usefixtures("one_thread")
def test_unconstrained_decoding_stops_at_stop_strings(tiny: TransformersBackend) -> None:
    out = tiny.complete("Question:", max_tokens=20, stop=["=", "e"], temperature=1.0)
    assert "=" not in out and "e" not in out


def test_split_gguf() -> None:
    assert split_gguf("/m/gemma.gguf") == ("/m", "gemma.gguf")
    assert split_gguf("google/gemma-3-270m") == ("google/gemma-3-270m", None)


def test_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(visprog.ModelUnavailableError, match="does not exist"):
        make_backend(str(tmp_path / "nope.gguf"), device="cpu")


def test_unknown_spec_is_a_configuration_error() -> None:
    with pytest.raises(visprog.ConfigurationError, match="openai:MODEL"):
        make_backend("nonsense-spec", device="cpu")
