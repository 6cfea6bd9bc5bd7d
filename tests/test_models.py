"""The model manager: caching, the memory budget with LRU eviction, dtypes, offline errors."""

from __future__ import annotations

import time

import pytest

from visprog.errors import ConfigurationError, ModelUnavailableError
from visprog.models import ModelManager, hub_load, model_bytes, torch_dtype

torch = pytest.importorskip("torch")

MIB = 2**20


def linear_mib(n: int) -> torch.nn.Module:
    """A module holding exactly ``n`` MiB of float32 weights."""
    return torch.nn.Linear(256, n * 1024, bias=False)


def test_loads_once_and_measures() -> None:
    calls: list[str] = []
    mm = ModelManager(log=None)

    def loader(device: str) -> torch.nn.Module:
        calls.append(device)
        return linear_mib(1)

    first = mm.get("a", "cpu", loader)
    assert mm.get("a", "cpu", loader) is first and calls == ["cpu"]
    assert mm.total_bytes() == MIB


def test_budget_evicts_least_recently_used() -> None:
    mm = ModelManager(log=None, budget_bytes=int(2.5 * MIB))
    mm.get("a", "cpu", lambda d: linear_mib(1))
    mm.get("b", "cpu", lambda d: linear_mib(1))
    mm.get("a", "cpu", lambda d: linear_mib(1))  # a is now the most recent
    mm.get("c", "cpu", lambda d: linear_mib(1))
    assert mm.loaded() == ["a@cpu", "c@cpu"] and mm.evicted == ["b@cpu"]
    assert mm.total_bytes() <= mm.budget_bytes  # type: ignore[operator]


def test_a_model_larger_than_the_budget_still_loads_alone() -> None:
    mm = ModelManager(log=None)
    mm.set_budget(1 / 1024)  # 1 MiB
    mm.get("a", "cpu", lambda d: linear_mib(1))
    mm.get("big", "cpu", lambda d: linear_mib(3))
    assert mm.loaded() == ["big@cpu"]


def test_bad_budget_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="budget_gb"):
        ModelManager(log=None).set_budget(0)


def test_model_bytes_looks_inside_bundles() -> None:
    class Predictor:
        def __init__(self) -> None:
            self.model = linear_mib(2)

    shared = linear_mib(1)
    assert model_bytes(("processor", shared, {"again": shared})) == MIB
    assert model_bytes(Predictor()) == 2 * MIB
    assert model_bytes("not a model") == 0


@pytest.mark.parametrize(
    ("device", "setting", "expected"),
    [("cpu", "auto", "float32"), ("mps", None, "float16"), ("cpu", "bfloat16", "bfloat16"),
     ("cuda", "float32", "float32")],
)  # fmt: skip
def test_torch_dtype(device: str, setting: str | None, expected: str) -> None:
    assert torch_dtype(device, setting) == getattr(torch, expected)


def test_unknown_dtype() -> None:
    with pytest.raises(ConfigurationError, match="models.dtype 'int3'"):
        torch_dtype("cpu", "int3")


def test_offline_hub_load_fails_fast_naming_model_and_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transformers import AutoConfig

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        hub_load("VQA", "no-such-org/no-such-model", AutoConfig.from_pretrained, "model.vqa")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "no-such-org/no-such-model" in message and "model.vqa" in message
    assert "hf download no-such-org/no-such-model" in message and "HF_HUB_OFFLINE" in message


def test_missing_local_folder_is_named_as_such() -> None:
    with pytest.raises(ModelUnavailableError, match="model.loc names the local folder '/no/such'"):
        hub_load("Loc", "/no/such", lambda m, **kw: m, "model.loc")
