"""results.jsonl: durable appends, resume by id, retry, and repair after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visprog.batch.results import ItemResult, ResultsFile, answer_json
from visprog.errors import ConfigurationError, UsageError
from visprog.values import Image, Objects, Points


def test_append_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.jsonl"
    first = ResultsFile(path)
    first.append(ItemResult("a", ok=True, answer=2))
    first.append(ItemResult("b", ok=False, error={"type": "CheckError", "message": "m"}))
    again = ResultsFile(path)
    assert again.finished() == {"a", "b"}
    assert again.finished(retry_failed=True) == {"a"}
    again.append(ItemResult("b", ok=True, answer="yes"))  # a retry appends; the last line wins
    assert ResultsFile(path).results["b"].answer == "yes"
    assert len(path.read_text().splitlines()) == 3


def test_a_partial_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(ItemResult("a", ok=True).to_json() + "\n" + '{"id": "b", "ok": tr')
    results = ResultsFile(path)
    assert results.finished() == {"a"} and results.skipped_lines == 1
    results.append(ItemResult("b", ok=True))
    lines = path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "b"]


def test_damaged_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(
        'garbage\n{"id": 3, "ok": true}\n[]\n' + ItemResult("c", ok=True).to_json() + "\n"
    )
    results = ResultsFile(path)
    assert results.finished() == {"c"} and results.skipped_lines == 3


def test_the_results_file_never_overwrites_an_input(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("{}\n")
    with pytest.raises(UsageError, match="would overwrite the input"):
        ResultsFile(tmp_path / "." / "m.jsonl", protect=[manifest])
    with pytest.raises(ConfigurationError, match="is a folder"):
        ResultsFile(tmp_path)


def test_answer_json() -> None:
    objects = Objects(np.array([[1.234, 2, 3, 4]]), [0.91234], ["dog"])
    assert answer_json(objects) == {
        "kind": "objects",
        "boxes": [[1.23, 2.0, 3.0, 4.0]],
        "scores": [0.9123],
        "labels": ["dog"],
    }
    image = Image(np.zeros((4, 6, 3), np.uint8))
    assert answer_json(image) == {"kind": "image", "width": 6, "height": 4}
    assert answer_json(Points(np.array([[1.0, 2.0]]), ["p"])) == {
        "kind": "points",
        "xy": [[1.0, 2.0]],
    }
    assert answer_json([True, 2, "x"]) == [True, 2, "x"]
    assert answer_json(float("nan")) == "nan"
    ItemResult("n", ok=True, answer=answer_json(float("inf"))).to_json()  # stays valid JSON
