"""GQA, NLVR2 and RefCOCO files (small ones written here in those formats) become items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visprog.batch.formats import convert
from visprog.batch.manifest import ManifestError

GQA = {
    "20968719": {
        "imageId": "n161313",
        "question": "Is the sky dark?",
        "answer": "yes",
        "fullAnswer": "Yes, the sky is dark.",
        "types": {"structural": "verify", "semantic": "attr", "detailed": "verifyAttr"},
        "semantic": [],
    },
    "07333408": {
        "imageId": "2354786",
        "question": "What is on the white wall?",
        "answer": "pipe",
        "types": {"structural": "query", "semantic": "rel", "detailed": "relS"},
    },
}

NLVR2 = [
    {
        "identifier": "dev-850-0-0",
        "sentence": "There are exactly two dogs.",
        "label": "True",
        "left_url": "https://example.org/a.jpg",
        "right_url": "https://example.org/b.jpg",
        "synset": "dog",
    },
    {"identifier": "train-10-3-1", "directory": 7, "sentence": "One cat.", "label": "False"},
]

REFS = [
    {
        "ref_id": 0,
        "ann_id": 1001,
        "image_id": 581857,
        "split": "testA",
        "category_id": 1,
        "sentences": [
            {"sent": "the lady with the blue shirt", "tokens": []},
            {"sent": "woman on left"},
        ],
    }
]
INSTANCES = {
    "images": [{"id": 581857, "file_name": "COCO_train2014_000000581857.jpg", "width": 640}],
    "annotations": [{"id": 1001, "image_id": 581857, "bbox": [10, 20, 100, 50], "category_id": 1}],
    "categories": [{"id": 1, "name": "person"}],
}


def test_gqa(tmp_path: Path) -> None:
    path = tmp_path / "testdev_balanced_questions.json"
    path.write_text(json.dumps(GQA))
    items = convert("gqa", path, tmp_path / "images")
    assert [(i.id, i.query, i.answer, i.category, i.metric) for i in items] == [
        ("20968719", "Is the sky dark?", "yes", "verify", "vqa"),
        ("07333408", "What is on the white wall?", "pipe", "query", "vqa"),
    ]
    assert items[0].images["IMAGE"] == (tmp_path / "images" / "n161313.jpg").resolve()


def test_nlvr2(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in NLVR2))
    first, second = convert("nlvr2", path, tmp_path)
    assert (
        first.answer is True
        and first.metric == "bool"
        and first.query == "There are exactly two dogs."
    )
    assert first.images["LEFT"].name == "dev-850-0-img0.png"
    assert first.images["RIGHT"].name == "dev-850-0-img1.png"
    assert second.answer is False
    assert second.images["LEFT"] == (tmp_path / "7" / "train-10-3-img0.png").resolve()


def test_refcoco(tmp_path: Path) -> None:
    (tmp_path / "refs.json").write_text(json.dumps(REFS))
    (tmp_path / "instances.json").write_text(json.dumps(INSTANCES))
    items = convert("refcoco", tmp_path / "refs.json", tmp_path / "train2014")
    assert [(i.id, i.query, i.answer, i.metric, i.category) for i in items] == [
        ("0-0", "the lady with the blue shirt", [10.0, 20.0, 110.0, 70.0], "iou", "testA"),
        ("0-1", "woman on left", [10.0, 20.0, 110.0, 70.0], "iou", "testA"),
    ]
    assert items[0].images["IMAGE"].name == "COCO_train2014_000000581857.jpg"


@pytest.mark.parametrize(
    ("fmt", "name", "content", "message"),
    [
        ("gqa", "q.json", "[]", "expected a JSON object of questions"),
        (
            "gqa",
            "q.json",
            '{"1": {"question": "q", "answer": "a"}}',
            "question '1': expected field 'imageId'",
        ),
        (
            "gqa",
            "q.json",
            '{"1": {"imageId": "../../etc/x", "question": "q", "answer": "a"}}',
            "points outside",
        ),
        ("gqa", "q.json", "{bad", "cannot read as JSON"),
        (
            "nlvr2",
            "d.jsonl",
            '{"identifier": "x", "sentence": "s", "label": "True"}\n',
            "not like 'dev-850-0-0'",
        ),
        (
            "nlvr2",
            "d.jsonl",
            '{"identifier": "a-1-0-0", "sentence": "s", "label": "maybe"}\n',
            "d.jsonl:1: label",
        ),
        ("nlvr2", "d.jsonl", "\n{oops\n", "d.jsonl:2: not valid JSON"),
        ("nlvr2", "d.jsonl", "\n", "no items"),
        ("refcoco", "refs(unc).p", "x", "visprog does not load pickles"),
        ("refcoco", "refs.json", "{}", "expected a JSON list of refs"),
        ("squad", "x.json", "{}", "unknown format 'squad'"),
    ],
)
def test_bad_files(tmp_path: Path, fmt: str, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    (tmp_path / "instances.json").write_text(json.dumps(INSTANCES))
    with pytest.raises(ManifestError, match=message):
        convert(fmt, tmp_path / name, tmp_path / "images")


def test_refcoco_refs_must_match_instances(tmp_path: Path) -> None:
    refs = [{**REFS[0], "ann_id": 5}]
    (tmp_path / "refs.json").write_text(json.dumps(refs))
    (tmp_path / "instances.json").write_text(json.dumps(INSTANCES))
    with pytest.raises(ManifestError, match="ann_id 5 or image_id 581857 is not in instances"):
        convert("refcoco", tmp_path / "refs.json", tmp_path)
