"""The program writer's LoRA adapter: file format, merge, prompts, cache keys, training script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from visprog.errors import ConfigurationError
from visprog.planner import generate_program
from visprog.planner.adapter import (
    FILE,
    adapter_prefix,
    adapter_prompt,
    merge_adapter,
    save_adapter,
)
from visprog.planner.cache import ProgramCache

from .conftest import ScriptedBackend

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
PROGRAM = (
    "BOX0 = Loc(image=IMAGE, object='dog')\nANSWER0 = Count(box=BOX0)\n"
    "FINAL_RESULT = Result(var=ANSWER0)"
)


@pytest.fixture
def tiny(tiny_lm_dir: Path) -> Any:
    from visprog.planner.backends.local import TransformersBackend

    return TransformersBackend.load(str(tiny_lm_dir), "cpu")


def _random_adapter(model: Any, path: Path, base: str, rank: int = 2) -> dict[str, Any]:
    """Random A/B for two projections of the first layer, saved; returns them by weight name."""
    gen = torch.Generator().manual_seed(0)
    weights = dict(model.named_parameters())
    names = [n for n in weights if n.endswith(("q_proj.weight", "down_proj.weight"))][:2]
    mats = {}
    for n in names:
        out, inp = weights[n].shape
        mats[n] = (torch.randn(rank, inp, generator=gen), torch.randn(out, rank, generator=gen))
    save_adapter(path, mats, {"base": base, "rank": str(rank), "alpha": "4"})
    return mats


def test_merge_adds_scaled_low_rank_updates(tiny: Any, tmp_path: Path) -> None:
    model = tiny.model
    path = tmp_path / "a.safetensors"
    mats = _random_adapter(model, path, "tiny")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    meta = merge_adapter(model, path, "tiny")
    assert meta["rank"] == "2"
    after = dict(model.named_parameters())
    for n, p in after.items():
        if n in mats:
            a, b = mats[n]
            torch.testing.assert_close(p.detach() - before[n], b @ a * 2.0)  # alpha 4 / rank 2
        else:
            assert torch.equal(p.detach(), before[n]), n


def test_wrong_base_or_shape_changes_nothing(tiny: Any, tmp_path: Path) -> None:
    model = tiny.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    path = tmp_path / "a.safetensors"
    _random_adapter(model, path, "tiny")
    with pytest.raises(ConfigurationError, match="trained for 'tiny'"):
        merge_adapter(model, path, "gemma")
    # The second matrix does not fit: the first, which does, must not be applied either.
    weights = dict(model.named_parameters())
    good, bad = [n for n in weights if n.endswith("q_proj.weight")][:2]
    out, inp = weights[good].shape
    save_adapter(
        path,
        {
            good: (torch.ones(2, inp), torch.ones(out, 2)),
            bad: (torch.ones(2, inp + 1), torch.ones(out, 2)),
        },
        {"base": "tiny", "rank": "2", "alpha": "2"},
    )
    with pytest.raises(ConfigurationError, match="does not fit"):
        merge_adapter(model, path, "tiny")
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n]), n


def test_unreadable_or_incomplete_files_are_configuration_errors(tiny: Any, tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(ConfigurationError, match="cannot read"):
        merge_adapter(tiny.model, junk, "tiny")
    with pytest.raises(ConfigurationError, match="cannot read"):
        merge_adapter(tiny.model, tmp_path / "missing.safetensors", "tiny")
    lone = tmp_path / "lone.safetensors"
    name = next(n for n, _ in tiny.model.named_parameters() if n.endswith("q_proj.weight"))
    from safetensors.torch import save_file

    save_file(
        {f"{name}.lora_A": torch.ones(2, 4)},
        str(lone),
        metadata={"base": "tiny", "rank": "2", "alpha": "2"},
    )
    with pytest.raises(ConfigurationError, match="does not fit"):
        merge_adapter(tiny.model, lone, "tiny")
    save_adapter(lone, {}, {"base": "tiny", "rank": "x", "alpha": "2"})
    with pytest.raises(ConfigurationError, match="rank or alpha"):
        merge_adapter(tiny.model, lone, "tiny")


class _Adapted(ScriptedBackend):
    """A scripted backend that says an adapter is folded into its model, and keeps its prompts."""

    adapted = "abc123"

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.calls: list[tuple[str, int]] = []

    def complete(self, prompt: str, **kw: Any) -> str:
        self.calls.append((prompt, kw.get("prefix_len", 0)))
        return super().complete(prompt, **kw)


def test_an_adapted_backend_gets_the_short_prompt_and_its_own_cache_key(tmp_path: Path) -> None:
    query = "How many dogs are there?"
    adapted = _Adapted([PROGRAM])
    gen = generate_program(query, adapted, task="count", cache=ProgramCache(tmp_path))
    assert gen.program.strip() == PROGRAM
    prompt, prefix_len = adapted.calls[0]
    assert prompt == adapter_prompt("count", query)
    assert prompt[:prefix_len] == adapter_prefix("count")
    # The same query through a backend of the same name without the adapter misses the cache.
    plain = ScriptedBackend([PROGRAM.replace("dog", "cat")], name=adapted.name)
    again = generate_program(query, plain, task="count", cache=ProgramCache(tmp_path))
    assert not again.cached and "cat" in again.program
    assert "Steps:" in plain.prompts[0]  # the retrieved-examples prompt, tool list first


def test_an_adapted_repair_keeps_the_short_prefix() -> None:
    bad = "ANSWER0 = Count(box=BOX9)\nFINAL_RESULT = Result(var=ANSWER0)"
    adapted = _Adapted([bad, PROGRAM])
    gen = generate_program("How many dogs are there?", adapted, task="count")
    assert gen.program.strip() == PROGRAM and len(gen.attempts) == 2
    repair, prefix_len = adapted.calls[1]
    assert repair.startswith(adapter_prefix("count")) and "# error:" in repair
    assert "Steps:" not in repair and prefix_len == len(adapter_prefix("count"))


def test_training_script_writes_an_adapter_that_merges(tiny_lm_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.safetensors"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_adapter.py"), "--out", str(out)]
    cmd += ["--model", str(tiny_lm_dir), "--limit", "4", "--batch", "2", "--rank", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    from visprog.planner.backends.local import TransformersBackend

    backend = TransformersBackend.load(str(tiny_lm_dir), "cpu")
    ids = torch.tensor([backend.tokenizer(adapter_prompt("count", "How many dogs?")).input_ids])
    with torch.no_grad():
        before = backend.model(ids).logits
    meta = merge_adapter(backend.model, out, tiny_lm_dir.name)
    assert meta["examples"] == "4" and meta["rank"] == "2"
    with torch.no_grad():
        after = backend.model(ids).logits
    assert not torch.allclose(before, after)  # the trained B matrices are not zero any more


def test_the_shipped_adapter_fits_the_offline_default() -> None:
    """Every matrix in the shipped file has a weight of its shape in Gemma 3 270M's layout."""
    from safetensors import safe_open

    with safe_open(str(FILE), framework="pt") as f:
        meta = f.metadata()
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    assert meta["base"] == "gemma-3-270m-q4_k_m"
    layers = {k.split(".")[2] for k in shapes}
    assert layers == {str(i) for i in range(18)}  # every decoder layer
    hidden, heads, kv, head_dim, mlp = 640, 4, 1, 256, 2048
    want = {
        "q_proj": (heads * head_dim, hidden),
        "k_proj": (kv * head_dim, hidden),
        "v_proj": (kv * head_dim, hidden),
        "o_proj": (hidden, heads * head_dim),
        "gate_proj": (mlp, hidden),
        "up_proj": (mlp, hidden),
        "down_proj": (hidden, mlp),
    }
    rank = int(meta["rank"])
    for key, shape in shapes.items():
        proj = key.split(".")[-3]
        out, inp = want[proj]
        assert shape == ((rank, inp) if key.endswith("lora_A") else (out, rank)), key
