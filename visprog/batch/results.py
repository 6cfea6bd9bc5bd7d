"""``results.jsonl``: one result a line, appended and synced as each item finishes.

A result line is plain JSON: ``id``, ``ok``, ``outcome``, ``program``, ``answer`` (the result
value as JSON, see :func:`answer_json`), ``error`` (``type``, ``message``, ``exit_code``),
``seconds``, ``models``, ``steps`` (name and seconds per step), ``trace`` (the trace page,
relative to the results file) and, when scored, ``expected`` and ``correct``.

Resuming reads the file back: the last line for an id wins, so a retried item simply appends.
A process killed mid-write leaves at most one partial last line; :class:`ResultsFile` drops it
before appending, so the file stays valid JSON Lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from visprog.config import read_bounded
from visprog.errors import ConfigurationError
from visprog.outputs import check_distinct, check_target
from visprog.values import Image, Objects, Points

# Outcome classes, in the order the report lists them.
CORRECT, WRONG, UNSCORED = "correct", "wrong answer", "not scored"
NO_PROGRAM, CHECK_FAILED, BAD_INPUT, STEP_FAILED, INTERNAL = (
    "no program",
    "check failed",
    "bad input",
    "step failed",
    "internal error",
)
OUTCOMES = (CORRECT, WRONG, UNSCORED, NO_PROGRAM, CHECK_FAILED, BAD_INPUT, STEP_FAILED, INTERNAL)


MAX_RESULTS_BYTES = 4 * 2**30
"""Largest results file read back to resume (about four million results)."""


@dataclass
class ItemResult:
    """What one item produced; one line of ``results.jsonl``."""

    id: str
    ok: bool
    outcome: str = UNSCORED
    query: str | None = None
    program: str | None = None
    answer: Any = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    models: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    category: str = ""
    trace: str | None = None
    expected: Any = None
    correct: bool | None = None

    def to_json(self) -> str:
        """One line of JSON (no newline)."""
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=False, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemResult:
        """A result read back from a file; unknown keys are ignored (newer writers)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if not isinstance(known.get("id"), str) or not isinstance(known.get("ok"), bool):
            raise ValueError("a result needs a string 'id' and a bool 'ok'")
        return cls(**known)


def answer_json(value: Any) -> Any:
    """A result value as compact JSON: scalars as they are; images, objects, points summarised.

    Objects keep boxes (root-image pixels, xyxy), scores and labels but not masks; an image
    keeps its size (the trace page holds the pixels).
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, list):
        return [answer_json(v) for v in value]
    if isinstance(value, Objects):
        return {
            "kind": "objects",
            "boxes": [[round(float(c), 2) for c in b] for b in value.boxes],
            "scores": [round(float(s), 4) for s in value.scores],
            "labels": list(value.labels),
        }
    if isinstance(value, Points):
        return {"kind": "points", "xy": [[round(float(c), 2) for c in p] for p in value.xy]}
    if isinstance(value, Image):
        return {"kind": "image", "width": value.width, "height": value.height}
    return str(value)


class ResultsFile:
    """Append-only results with resume.

    Args:
        path: The ``results.jsonl`` to read and extend (created with its folder if missing).
        protect: Paths this file must not be (the manifest, the inputs): refusing them keeps an
            output from ever overwriting an input.

    Raises:
        UsageError: When ``path`` is one of ``protect`` (exit 2, as for ``visprog run``).
        ConfigurationError: When ``path`` is a folder, or unreadable.
    """

    def __init__(self, path: str | Path, protect: Iterable[Path] = ()) -> None:
        self.path = Path(path)
        check_distinct([("the results file", str(self.path))], [str(p) for p in protect])
        if self.path.is_dir():
            raise ConfigurationError(f"{self.path}: is a folder; give a results file path")
        # Appending to a device or FIFO would never end well (reading /dev/full or /dev/zero
        # to resume never ends at all): only a regular file, or none yet.
        check_target(self.path)
        self.results: dict[str, ItemResult] = {}
        self.skipped_lines = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = read_bounded(self.path, MAX_RESULTS_BYTES)
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or e
            raise ConfigurationError(f"{self.path}: cannot read ({reason})") from None
        end = data.rfind(b"\n") + 1
        if end < len(data):
            # A partial last line from a killed run: drop it so the next append starts clean.
            self._truncate(end)
            self.skipped_lines += 1
        for raw in data[:end].splitlines():
            self._read_line(raw)

    def _read_line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            result = ItemResult.from_dict(json.loads(raw))
        except (ValueError, TypeError):
            self.skipped_lines += 1  # a damaged line: that item simply runs again
            return
        self.results[result.id] = result

    def _truncate(self, size: int) -> None:
        try:
            with self.path.open("r+b") as f:
                f.truncate(size)
        except OSError as e:
            raise ConfigurationError(f"{self.path}: cannot repair ({e.strerror or e})") from None

    def finished(self, retry_failed: bool = False) -> set[str]:
        """Ids that need not run again: all recorded ones, or only the successful ones."""
        return {i for i, r in self.results.items() if r.ok or not retry_failed}

    def append(self, result: ItemResult) -> None:
        """Write one result and make it durable (flush + fsync) before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (result.to_json() + "\n").encode("utf-8")
        with self.path.open("ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.results[result.id] = result
