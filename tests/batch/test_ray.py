"""The mini benchmark on a local Ray cluster (loopback) gives the in-process results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from visprog.batch import EngineOptions, ResultsFile, read_manifest
from visprog.batch.distributed import run_on_ray

from .conftest import BENCH

ray = pytest.importorskip("ray", reason="Ray is the optional extra visprog[ray]")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    # The machine is shared: Ray's memory monitor would kill our workers for memory that other
    # processes use, so it is off; a small object store is plenty for results.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_memory_monitor_refresh_ms", "0")
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            object_store_memory=100 * 2**20,
        )
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_equals_in_process(
    cluster: None, bench_in_process: dict[str, Any], tmp_path: Path
) -> None:
    items = read_manifest(BENCH / "programs.jsonl")
    path = tmp_path / "results.jsonl"
    options = EngineOptions(device="cpu", program_cache=False)
    first = items[:5]
    got = list(run_on_ray(first, options, ResultsFile(path), workers=2))
    assert {r.id for r in got} == {i.id for i in first}
    # Resumable the same way: a second run over the whole manifest skips what is done.
    results = ResultsFile(path)
    todo = [i for i in items if i.id not in results.finished()]
    list(run_on_ray(todo, options, results, workers=2))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(items)
    by_id = {x["id"]: x for x in lines}
    for item_id, expected in bench_in_process.items():
        assert (by_id[item_id]["answer"], by_id[item_id]["outcome"]) == (
            expected.answer,
            expected.outcome,
        ), item_id
