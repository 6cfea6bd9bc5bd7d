"""Labelled image sets for probes and few-shot examples: a folder per class, CSV or JSON Lines.

- A folder whose sub-folders are the classes (``birds/sparrow/*.jpg``, ``birds/robin/*.jpg``);
  images may sit in nested folders below a class folder. Hidden entries (``.DS_Store``) are
  skipped; any other file must be an image (it is decoded when its features are computed).
- A ``.csv`` file with a ``path,label`` header, or a ``.jsonl`` file of
  ``{"path": ..., "label": ...}`` objects; relative paths are relative to that file's folder.

Symbolic links to folders are not followed (no loops); every listed path must be a regular file.
"""

from __future__ import annotations

import csv
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from visprog.errors import ImageLoadError, ProbeError
from visprog.probe.probefile import MAX_NAME

MAX_IMAGES = 200_000
MAX_EXAMPLES = 10_000
"""Largest few-shot example set (a program may name any folder; walking stops at this)."""
MAX_DEPTH = 8
MAX_LIST_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Dataset:
    """Image paths with their class names.

    Attributes:
        paths: One regular file per example.
        labels: The class name of each example, parallel to ``paths``.
        source: Where the set was read from (for messages).
    """

    paths: tuple[Path, ...]
    labels: tuple[str, ...]
    source: str

    @property
    def classes(self) -> list[str]:
        """The class names, sorted."""
        return sorted(set(self.labels))

    def counts(self) -> dict[str, int]:
        """Examples per class, by sorted class name."""
        return {c: self.labels.count(c) for c in self.classes}


def read_dataset(
    source: str | os.PathLike[str], min_classes: int = 2, max_images: int = MAX_IMAGES
) -> Dataset:
    """Read a labelled image set (see the module docstring for the layouts).

    Args:
        source: A folder of class folders, a ``.csv`` or a ``.jsonl`` file.
        min_classes: Fewer distinct classes than this is an error (a probe needs two).
        max_images: More images than this is an error (the folder walk stops there).

    Raises:
        ProbeError: Not a data set, an empty class, too few classes, a bad list line.
        ImageLoadError: A listed image is missing or not a regular file.
    """
    p = Path(source)
    if p.is_dir():
        data = _read_folder(p, max_images)
    elif p.is_file() and p.suffix.lower() in (".csv", ".jsonl"):
        data = _read_list(p, max_images)
    elif not p.exists():
        raise ProbeError(f"{p}: no such data set (a folder of class folders, .csv or .jsonl)")
    else:
        raise ProbeError(f"{p}: a data set is a folder of class folders, a .csv or a .jsonl")
    if len(set(data.labels)) < min_classes:
        found = ", ".join(sorted(set(data.labels))) or "none"
        raise ProbeError(f"{p}: needs at least {min_classes} classes, found {found}")
    return data


def _visible(entries: list[os.DirEntry[str]]) -> list[os.DirEntry[str]]:
    return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _read_folder(root: Path, max_images: int) -> Dataset:
    paths: list[Path] = []
    labels: list[str] = []
    with os.scandir(root) as it:
        entries = _visible(list(it))
    stray = [e.name for e in entries if not e.is_dir(follow_symlinks=False)]
    if stray:
        raise ProbeError(
            f"{root}: expected only class folders, found files {stray[:3]} (put each image in "
            "the folder named after its class)"
        )
    for entry in entries:
        label = check_label(entry.name, str(root))
        found = _images_under(Path(entry.path), 0, max_images - len(paths))
        if not found:
            raise ProbeError(f"{entry.path}: the class {label!r} has no images")
        paths += found
        labels += [label] * len(found)
    return Dataset(tuple(paths), tuple(labels), str(root))


def _images_under(folder: Path, depth: int, room: int) -> list[Path]:
    """Regular files below ``folder`` (sorted), at most ``room``; symlinked folders are skipped."""
    if depth > MAX_DEPTH:
        raise ProbeError(f"{folder}: folders nested more than {MAX_DEPTH} deep")
    out: list[Path] = []
    with os.scandir(folder) as it:
        entries = _visible(list(it))
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            out += _images_under(Path(e.path), depth + 1, room - len(out))
        elif not e.is_symlink() or not Path(e.path).is_dir():
            out.append(regular_file(Path(e.path)))
        if len(out) > room:
            raise ProbeError(f"{folder}: the data set has more images than the limit")
    return out


def regular_file(p: Path) -> Path:
    """``p`` when it is (or links to) a regular file, else an ImageLoadError."""
    try:
        mode = p.stat().st_mode
    except OSError as e:
        raise ImageLoadError(f"{p}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        raise ImageLoadError(f"{p}: not a regular file")
    return p


def check_label(label: object, where: str) -> str:
    """A class name: non-empty printable text of at most MAX_NAME characters."""
    text = str(label).strip() if isinstance(label, (str, int)) else ""
    if not text or len(text) > MAX_NAME or not text.isprintable():
        raise ProbeError(f"{where}: invalid class name {str(label)[:60]!r}")
    return text


def _read_list(p: Path, max_images: int) -> Dataset:
    if p.stat().st_size > MAX_LIST_BYTES:
        raise ProbeError(f"{p}: the list is larger than {MAX_LIST_BYTES // 2**20} MiB")
    try:
        text = p.read_text(encoding="utf-8-sig")  # spreadsheets often write a BOM
    except (OSError, UnicodeDecodeError) as e:
        raise ProbeError(f"{p}: cannot read the list ({e})") from None
    rows = _csv_rows(p, text) if p.suffix.lower() == ".csv" else _jsonl_rows(p, text)
    if len(rows) > max_images:
        raise ProbeError(f"{p}: more than {max_images:,} images")
    paths = tuple(regular_file(p.parent / path) for path, _ in rows)
    return Dataset(paths, tuple(label for _, label in rows), str(p))


def _csv_rows(p: Path, text: str) -> list[tuple[str, str]]:
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"path", "label"} <= set(reader.fieldnames):
        raise ProbeError(f"{p}: a CSV data set needs a header with the columns path,label")
    rows = []
    for n, row in enumerate(reader, start=2):
        path, label = row.get("path"), row.get("label")
        if not path or label is None:
            raise ProbeError(f"{p}:{n}: a row needs a path and a label")
        rows.append((path, check_label(label, f"{p}:{n}")))
    return rows


def _jsonl_rows(p: Path, text: str) -> list[tuple[str, str]]:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise ProbeError(f"{p}:{n}: not JSON ({e.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ProbeError(f'{p}:{n}: expected an object with "path" and "label"')
        rows.append((item["path"], check_label(item.get("label"), f"{p}:{n}")))
    return rows
