"""Converters from the public benchmark formats to batch items.

* GQA: a questions JSON (``{qid: {"imageId", "question", "answer", "types": {...}}}``), images
  as ``DIR/<imageId>.jpg``; the category is the question's ``types.structural`` (verify, query,
  choose, logical, compare).
* NLVR2: JSON Lines (``identifier``, ``sentence``, ``label``, optional ``directory``); the pair
  of ``dev-850-0-0`` is ``dev-850-0-img0.png`` (LEFT) and ``dev-850-0-img1.png`` (RIGHT).
* RefCOCO: refs as JSON (the official ``refs(unc).p`` is a pickle, which visprog never loads:
  convert it once with a tool you trust) plus COCO ``instances.json``; one item per referring
  sentence, expected answer the annotation's box in xyxy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from visprog.batch.manifest import Item, ManifestError, parse_item

MAX_FILE_BYTES = 2 << 30
FORMATS = ("gqa", "nlvr2", "refcoco")


def convert(
    fmt: str, path: str | Path, images: str | Path, *, instances: str | Path | None = None
) -> list[Item]:
    """Items from a benchmark file.

    Args:
        fmt: ``gqa``, ``nlvr2`` or ``refcoco``.
        path: The questions / statements / refs file.
        images: The folder holding the benchmark's images (paths are confined to it).
        instances: RefCOCO only: the COCO ``instances.json`` (default: beside ``path``).

    Raises:
        ManifestError: For an unknown format, an unreadable or malformed file (naming the
            record), or an image path that would leave ``images``.
    """
    base = Path(images).resolve()
    readers: dict[str, Callable[[], Iterator[Item]]] = {
        "gqa": lambda: _gqa(Path(path), base),
        "nlvr2": lambda: _nlvr2(Path(path), base),
        "refcoco": lambda: _refcoco(
            Path(path), Path(instances or Path(path).parent / "instances.json"), base
        ),
    }
    if fmt not in readers:
        raise ManifestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    items = list(readers[fmt]())
    if not items:
        raise ManifestError(f"{path}: no items in this {fmt} file")
    return items


def _read_json(path: Path) -> Any:
    if path.suffix in (".p", ".pkl", ".pickle"):
        raise ManifestError(f"{path}: a pickle; visprog does not load pickles (convert it to JSON)")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ManifestError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ManifestError(f"{path}: cannot read as JSON ({type(e).__name__}: {e})") from None


def _field(record: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(record, Mapping) or not isinstance(record.get(key), kind):
        raise ManifestError(f"{where}: expected field {key!r} of type {_name(kind)}")
    return record[key]


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _gqa(path: Path, base: Path) -> Iterator[Item]:
    data = _read_json(path)
    if not isinstance(data, Mapping):
        raise ManifestError(f"{path}: expected a JSON object of questions keyed by id")
    for qid, record in data.items():
        where = f"{path}: question {qid!r}"
        image = _field(record, "imageId", str, where)
        types = record.get("types") if isinstance(record.get("types"), Mapping) else {}
        fields = {
            "id": str(qid),
            "image": f"{image}.jpg",
            "query": _field(record, "question", str, where),
            "answer": _field(record, "answer", str, where),
            "metric": "vqa",
            "category": str(types.get("structural", "")),
            "task": "gqa",
        }
        yield parse_item(fields, base, where)


def _nlvr2(path: Path, base: Path) -> Iterator[Item]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: cannot read ({type(e).__name__})") from None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            raise ManifestError(f"{where}: not valid JSON ({e})") from None
        yield _nlvr2_item(record, base, where, number)


def _nlvr2_item(record: Any, base: Path, where: str, line: int) -> Item:
    identifier = _field(record, "identifier", str, where)
    stem, sep, _ = identifier.rpartition("-")
    if not sep or not stem:
        raise ManifestError(f"{where}: identifier {identifier!r} is not like 'dev-850-0-0'")
    label = _field(record, "label", (str, bool), where)
    if isinstance(label, str) and label.lower() not in ("true", "false"):
        raise ManifestError(f"{where}: label {label!r} is not True or False")
    folder = record.get("directory")
    prefix = f"{folder}/" if isinstance(folder, (str, int)) and not isinstance(folder, bool) else ""
    fields = {
        "id": identifier,
        "images": {side: f"{prefix}{stem}-img{i}.png" for i, side in enumerate(("LEFT", "RIGHT"))},
        "query": _field(record, "sentence", str, where),
        "answer": label if isinstance(label, bool) else label.lower() == "true",
        "metric": "bool",
        "task": "nlvr",
    }
    return parse_item(fields, base, where, line)


def _refcoco(path: Path, instances: Path, base: Path) -> Iterator[Item]:
    refs = _read_json(path)
    coco = _read_json(instances)
    if not isinstance(refs, list):
        raise ManifestError(f"{path}: expected a JSON list of refs")
    files = {
        _field(im, "id", int, f"{instances}: image"): _field(
            im, "file_name", str, f"{instances}: image"
        )
        for im in _field(coco, "images", list, str(instances))
    }
    boxes = {
        _field(a, "id", int, f"{instances}: annotation"): _xyxy(a, f"{instances}: annotation")
        for a in _field(coco, "annotations", list, str(instances))
    }
    for index, ref in enumerate(refs):
        yield from _ref_items(ref, files, boxes, base, f"{path}: ref #{index}")


def _ref_items(
    ref: Any, files: Mapping[int, str], boxes: Mapping[int, list[float]], base: Path, where: str
) -> Iterator[Item]:
    ann = _field(ref, "ann_id", int, where)
    image = _field(ref, "image_id", int, where)
    if ann not in boxes or image not in files:
        raise ManifestError(f"{where}: ann_id {ann} or image_id {image} is not in instances")
    for k, sentence in enumerate(_field(ref, "sentences", list, where)):
        text = sentence.get("sent") if isinstance(sentence, Mapping) else None
        if not isinstance(text, str):
            raise ManifestError(f"{where}: sentence #{k} has no 'sent' text")
        ref_id = ref.get("ref_id", ann)
        fields = {
            "id": f"{ref_id}-{k}",
            "image": files[image],
            "query": text,
            "answer": boxes[ann],
            "metric": "iou",
            "category": str(ref.get("split", "")),
        }
        yield parse_item(fields, base, where)


def _xyxy(annotation: Any, where: str) -> list[float]:
    box = _field(annotation, "bbox", list, where)
    if len(box) != 4 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in box
    ):
        raise ManifestError(f"{where}: bbox must be [x, y, width, height]")
    x, y, w, h = (float(v) for v in box)
    return [x, y, x + w, y + h]
