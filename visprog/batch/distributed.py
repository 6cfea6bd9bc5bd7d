"""The same batch on a Ray cluster: one Ray actor per worker, each holding its own engine.

The driver reads the manifest, hands items to workers and appends each result to the same
``results.jsonl`` as it arrives, so resuming and ``--retry-failed`` work exactly as in-process.
Workers load their models once and keep them; items about the same images go to the same
worker (while it has some left), so its step memo still finds their shared steps.

Workers read image files themselves: on a multi-machine cluster the manifest's folder must be
at the same path on every node (a shared file system); see ``docs/batch.md``.

Ray is optional (``pip install 'visprog[ray]'``); nothing here imports it until a batch runs.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from visprog.batch.manifest import Item
from visprog.batch.results import ItemResult, ResultsFile
from visprog.batch.runner import Engine, EngineOptions, Runner, schedule
from visprog.models import require

IN_FLIGHT = 2  # per worker: the next item is queued while one runs, so no worker waits


class BatchWorker:
    """What each Ray actor holds: an engine (its models, its memo) and a runner.

    Args:
        options: The engine options, as a dict of :class:`EngineOptions` fields.
        traces: Folder for trace files (on a shared file system), or None.
        relative_to: Folder trace paths are made relative to (the results file's).
    """

    def __init__(
        self, options: dict[str, Any], traces: str | None, relative_to: str | None
    ) -> None:
        engine = Engine(EngineOptions(**options))
        self.runner = Runner(
            engine, Path(traces) if traces else None, Path(relative_to) if relative_to else None
        )

    def run(self, item: dict[str, Any]) -> dict[str, Any]:
        """Run one item (plain data in and out: Ray serialises it)."""
        return dataclasses.asdict(self.runner.run_item(Item.from_dict(item)))


def run_on_ray(
    items: list[Item],
    options: EngineOptions,
    results: ResultsFile | None = None,
    *,
    traces: Path | None = None,
    address: str | None = None,
    workers: int = 2,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float = 1.0,
) -> Iterator[ItemResult]:
    """Run items on Ray; yield (and append to ``results``) each result as it arrives.

    Args:
        items: The items still to run (see :func:`visprog.batch.runner.pending`).
        options: How each worker builds its engine.
        results: Where results are appended (None: only yielded).
        traces: Folder for trace files.
        address: A running cluster (``ray://host:10001`` or ``host:6379``); None starts a local
            one on this machine.
        workers: Number of actors.
        gpus_per_worker: GPUs reserved for each actor (Ray sets ``CUDA_VISIBLE_DEVICES``).
        cpus_per_worker: CPUs reserved for each actor.
    """
    ray = require("ray", "ray", "visprog batch --ray")
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(num_cpus=max(workers, 1) * cpus_per_worker, include_dashboard=False)
        else:
            ray.init(address=address)
    base = str(results.path.parent.resolve()) if results is not None else None
    actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker)(BatchWorker)
    opts = dataclasses.asdict(options)
    pool = [actor.remote(opts, str(traces) if traces else None, base) for _ in range(workers)]
    try:
        for data in _dispatch(ray, pool, items):
            result = ItemResult.from_dict(data)
            if results is not None:
                results.append(result)
            yield result
    finally:
        for a in pool:
            ray.kill(a)
        if started:
            ray.shutdown()


def _dispatch(ray: Any, pool: list[Any], items: list[Item]) -> Iterator[dict[str, Any]]:
    """Keep every worker busy; prefer giving a worker more items about the same images."""
    groups = deque(_groups(items))
    current: dict[int, deque[Item]] = {i: deque() for i in range(len(pool))}
    flight: dict[Any, int] = {}

    def submit(worker: int) -> None:
        if not current[worker] and groups:
            current[worker] = groups.popleft()
        if current[worker]:
            ref = pool[worker].run.remote(current[worker].popleft().to_dict())
            flight[ref] = worker

    for worker in range(len(pool)):
        for _ in range(IN_FLIGHT):
            submit(worker)
    while flight:
        ready, _ = ray.wait(list(flight), num_returns=1)
        worker = flight.pop(ready[0])
        submit(worker)
        yield ray.get(ready[0])


def _groups(items: list[Item]) -> list[deque[Item]]:
    out: dict[tuple[str, ...], deque[Item]] = {}
    for item in schedule(items):
        out.setdefault(tuple(str(p) for p in item.images.values()), deque()).append(item)
    return list(out.values())
