"""Manifests and folders: valid items, and hostile lines refused with their line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visprog.batch.manifest import Item, ManifestError, folder_items, read_manifest


def write(folder: Path, *lines: object) -> Path:
    path = folder / "m.jsonl"
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_items_resolve_relative_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "progs").mkdir()
    (tmp_path / "progs" / "p.vp").write_text("X = Result(var=IMAGE)\n")
    path = write(
        tmp_path,
        {"id": "q1", "image": "img/1.jpg", "query": "How many dogs?", "answer": "2"},
        "",
        "// a comment",
        {"id": 7, "images": {"LEFT": "a.png", "RIGHT": "b.png"}, "program_file": "progs/p.vp"},
        {"id": "box", "image": "c.jpg", "program": "X = Result(var=IMAGE)", "answer": [1, 2, 3, 4]},
    )
    items = read_manifest(path)
    assert [i.id for i in items] == ["q1", "7", "box"]
    assert items[0].images == {"IMAGE": (tmp_path / "img/1.jpg").resolve()}
    assert items[0].query == "How many dogs?" and items[0].answer == "2" and items[0].line == 1
    assert set(items[1].images) == {"LEFT", "RIGHT"} and items[1].line == 4
    assert items[1].program == "X = Result(var=IMAGE)\n"
    assert items[2].answer == [1.0, 2.0, 3.0, 4.0]
    assert Item.from_dict(items[1].to_dict()) == items[1]


BAD = [
    ("[1, 2]", "expected a JSON object"),
    ("{not json", "not valid JSON"),
    ('{"id": "a", "image": "x.jpg", "query": "q", "answer": NaN}', "not valid JSON"),
    ({"image": "x.jpg", "query": "q"}, "'id' must be"),
    ({"id": "", "image": "x.jpg", "query": "q"}, "'id' must be"),
    ({"id": "a\nb", "image": "x.jpg", "query": "q"}, "printable"),
    ({"id": "a", "query": "q"}, "exactly one of 'image'"),
    (
        {"id": "a", "image": "x.jpg", "images": {"LEFT": "y"}, "query": "q"},
        "exactly one of 'image'",
    ),
    ({"id": "a", "image": "x.jpg"}, "exactly one of 'query'"),
    ({"id": "a", "image": "x.jpg", "query": "q", "program": "p"}, "exactly one of 'query'"),
    ({"id": "a", "image": "/etc/passwd", "query": "q"}, "is absolute"),
    ({"id": "a", "image": "../../etc/passwd", "query": "q"}, "points outside"),
    ({"id": "a", "image": "x.jpg", "program_file": "../secret.vp"}, "points outside"),
    ({"id": "a", "image": 3, "query": "q"}, "non-empty relative path"),
    ({"id": "a", "images": {"left": "x.jpg"}, "query": "q"}, "upper-case identifier"),
    ({"id": "a", "images": {"IMAGE; rm": "x.jpg"}, "query": "q"}, "upper-case identifier"),
    ({"id": "a", "images": [], "query": "q"}, "must map input names"),
    ({"id": "a", "image": "x.jpg", "query": "q", "answer": {"x": 1}}, "'answer' must be"),
    ({"id": "a", "image": "x.jpg", "query": "q", "metric": "bleu"}, "metric 'bleu'"),
    ({"id": "a", "image": "x.jpg", "query": "q", "extra": 1}, "unknown field"),
    ({"id": "a", "image": "x.jpg", "query": ["q"]}, "'query' must be a non-empty string"),
    ({"id": "a", "image": "x.jpg", "program_file": "missing.vp"}, "cannot read program"),
]


@pytest.mark.parametrize(("line", "message"), BAD)
def test_bad_lines_name_their_line(tmp_path: Path, line: object, message: str) -> None:
    ok = {"id": "first", "image": "x.jpg", "query": "q"}
    path = write(tmp_path, ok, line)
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(path)
    assert "m.jsonl:2: " in str(err.value)


def test_duplicate_ids_and_empty_manifests(tmp_path: Path) -> None:
    item = {"id": "a", "image": "x.jpg", "query": "q"}
    with pytest.raises(ManifestError, match="m.jsonl:2: id 'a' already used on line 1"):
        read_manifest(write(tmp_path, item, item))
    with pytest.raises(ManifestError, match="no items"):
        read_manifest(write(tmp_path, "", "// nothing"))
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(tmp_path / "absent.jsonl")


def test_binary_and_huge_lines_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(ManifestError, match="m.jsonl:1: not UTF-8"):
        read_manifest(path)
    path.write_bytes(b'{"id": "' + b"a" * (1 << 20) + b'"}\n')
    with pytest.raises(ManifestError, match="longer than"):
        read_manifest(path)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "data"
    inner.mkdir()
    (inner / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    path = write(inner, {"id": "a", "image": "link.jpg", "query": "q"})
    with pytest.raises(ManifestError, match="points outside"):
        read_manifest(path)


def test_root_confines_paths_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    path = write(tmp_path / "lists", {"id": "a", "image": "img/x.jpg", "query": "q"})
    assert (
        read_manifest(path, root=tmp_path)[0].images["IMAGE"] == (tmp_path / "img/x.jpg").resolve()
    )


def test_folder_items(tmp_path: Path) -> None:
    for name in ("b.PNG", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.jpg").mkdir()
    items = folder_items(tmp_path, query="Is there a cat?")
    assert [i.id for i in items] == ["a.jpg", "b.PNG"]
    assert items[0].query == "Is there a cat?" and items[0].program is None
    with pytest.raises(ManifestError, match="exactly one of --query or --program"):
        folder_items(tmp_path)
    with pytest.raises(ManifestError, match="no images"):
        folder_items(tmp_path / "sub.jpg", program="X = Result(var=IMAGE)")
