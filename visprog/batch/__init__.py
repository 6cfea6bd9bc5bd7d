"""Batch runs and evaluation: many items through one engine, results appended as they finish.

* :mod:`~visprog.batch.manifest`: JSON Lines manifests and ``--images DIR`` folders -> items;
* :mod:`~visprog.batch.formats`: GQA, NLVR2 and RefCOCO files -> items;
* :mod:`~visprog.batch.runner`: the scheduler and the engine seam;
* :mod:`~visprog.batch.share`: identical steps computed once per batch;
* :mod:`~visprog.batch.results`: ``results.jsonl``, resume and retry;
* :mod:`~visprog.batch.score` and :mod:`~visprog.batch.report`: scoring and the report page;
* :mod:`~visprog.batch.distributed`: the same batch on a Ray cluster.

Nothing here imports torch; tools load their models when a step needs them.
"""

from visprog.batch.manifest import Item, ManifestError, folder_items, read_manifest
from visprog.batch.results import ItemResult, ResultsFile
from visprog.batch.runner import Engine, EngineOptions, Runner, run_batch
from visprog.batch.score import normalize_answer, score

__all__ = [
    "Engine",
    "EngineOptions",
    "Item",
    "ItemResult",
    "ManifestError",
    "ResultsFile",
    "Runner",
    "folder_items",
    "normalize_answer",
    "read_manifest",
    "run_batch",
    "score",
]
