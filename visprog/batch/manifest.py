"""Batch manifests: JSON Lines, one item a line, validated as hostile input.

One item::

    {"id": "q1", "image": "img/1.jpg", "query": "How many dogs?", "answer": "2"}

``"images": {"LEFT": ..., "RIGHT": ...}`` instead of ``"image"`` for several inputs;
``"program"`` (source text) or ``"program_file"`` (a ``.vp`` file) instead of ``"query"``.
Optional: ``answer`` (text, number, bool, or an ``[x1, y1, x2, y2]`` box), ``metric``
(see :mod:`visprog.batch.score`), ``category`` (grouping in the report) and ``task`` (the prompt
for the query). Paths are relative to the manifest's folder and must stay inside it (or inside
the ``root`` given); absolute paths and ``..`` escapes are refused, so a manifest from a stranger
cannot make visprog read files elsewhere.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from visprog.errors import ConfigurationError

MAX_LINE_BYTES = 1 << 20  # one item; a program or query longer than this is not a real item
MAX_ID_CHARS = 200
MAX_PROGRAM_BYTES = 256 << 10
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
METRICS = frozenset({"auto", "vqa", "bool", "iou", "count", "none"})
_KEYS = frozenset(
    {
        "id",
        "image",
        "images",
        "query",
        "program",
        "program_file",
        "answer",
        "metric",
        "category",
        "task",
    }
)


class ManifestError(ConfigurationError):
    """A manifest line (or a folder given with ``--images``) is not a valid batch item."""


@dataclass(frozen=True)
class Item:
    """One unit of a batch: named input images and a query or a program.

    Attributes:
        id: Unique within the batch; results are keyed by it.
        images: Input name -> image path (resolved, inside the manifest's folder).
        query: The natural-language query (None when ``program`` is given).
        program: Program source (None when ``query`` is given).
        answer: The expected answer, if any (text, number, bool, or a box as 4 numbers).
        metric: How to score (``auto`` picks from the answer; see :mod:`visprog.batch.score`).
        category: A label for grouping accuracy in the report.
        task: The prompt task for the query (None: chosen from the query).
        line: 1-based line in the manifest (0 for items not read from a file).
    """

    id: str
    images: Mapping[str, Path]
    query: str | None = None
    program: str | None = None
    answer: Any = None
    metric: str = "auto"
    category: str = ""
    task: str | None = None
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for another process (a Ray worker): paths become strings."""
        return {
            "id": self.id,
            "images": {k: str(v) for k, v in self.images.items()},
            "query": self.query,
            "program": self.program,
            "answer": self.answer,
            "metric": self.metric,
            "category": self.category,
            "task": self.task,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """Inverse of :meth:`to_dict` (trusted data: our own driver wrote it)."""
        images = {k: Path(v) for k, v in data["images"].items()}
        return cls(**{**data, "images": images})


def read_manifest(path: str | Path, root: str | Path | None = None) -> list[Item]:
    """Read and validate every line of a manifest.

    Args:
        path: The ``.jsonl`` file. Blank lines and lines starting with ``//`` are skipped.
        root: The folder image paths are relative to and confined to (default: the
            manifest's folder).

    Returns:
        The items, in file order.

    Raises:
        ManifestError: Naming the line of the first invalid item (or the unreadable file).
    """
    path = Path(path)
    base = Path(root) if root is not None else path.parent
    items = list(_parse_lines(path, base.resolve()))
    if not items:
        raise ManifestError(f"{path}: the manifest has no items")
    return items


def _open_regular(path: Path) -> BinaryIO:
    """Open a manifest that is a regular file; a FIFO or device would block or never end."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or e
        raise ManifestError(f"{path}: cannot read the manifest ({reason})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ManifestError(f"{path}: the manifest is not a regular file")
    return os.fdopen(fd, "rb")


def _parse_lines(path: Path, base: Path) -> Iterator[Item]:
    seen: dict[str, int] = {}
    handle = _open_regular(path)
    with handle:
        # readline with a bound: a file with no line breaks (or /dev/zero) is never read whole.
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), 1):
            where = f"{path}:{number}"
            if len(raw) > MAX_LINE_BYTES:
                raise ManifestError(f"{where}: line longer than {MAX_LINE_BYTES} bytes")
            text = _decode(raw, where).strip()
            if not text or text.startswith("//"):
                continue
            item = parse_item(_load_json(text, where), base, where, number)
            if item.id in seen:
                raise ManifestError(f"{where}: id {item.id!r} already used on line {seen[item.id]}")
            seen[item.id] = number
            yield item


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(f"{where}: not UTF-8 text") from None


def _load_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as e:
        raise ManifestError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_item(data: Mapping[str, Any], base: Path, where: str, line: int = 0) -> Item:
    """Validate one manifest object (exposed for the format converters and tests).

    Args:
        data: The decoded JSON object.
        base: The resolved folder paths are relative to and confined to.
        where: ``FILE:LINE`` for messages.
        line: The line number kept on the item.

    Raises:
        ManifestError: For any field that is missing, of the wrong type, or unsafe.
    """
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    query, program = _query_or_program(data, base, where)
    metric = _text(data, "metric", where, default="auto")
    if metric not in METRICS:
        raise ManifestError(
            f"{where}: metric {metric!r} is not one of {', '.join(sorted(METRICS))}"
        )
    return Item(
        id=_item_id(data, where),
        images=_images(data, base, where),
        query=query,
        program=program,
        answer=_answer(data.get("answer"), where),
        metric=metric,
        category=_text(data, "category", where, default=""),
        task=_text(data, "task", where, default=None),
        line=line,
    )


def _item_id(data: Mapping[str, Any], where: str) -> str:
    value = data.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: 'id' must be a non-empty string or an integer")
    if len(value) > MAX_ID_CHARS or any(ord(c) < 32 for c in value):
        raise ManifestError(f"{where}: 'id' must be at most {MAX_ID_CHARS} printable characters")
    return value


def _text(data: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    value = data.get(key, default)
    if value is not default and not isinstance(value, str):
        raise ManifestError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return value


def _images(data: Mapping[str, Any], base: Path, where: str) -> dict[str, Path]:
    if ("image" in data) == ("images" in data):
        raise ManifestError(
            f"{where}: give exactly one of 'image' (a path) or 'images' (a mapping)"
        )
    if "image" in data:
        return {"IMAGE": confined_path(data["image"], base, where, "image")}
    images = data["images"]
    if not isinstance(images, dict) or not images:
        raise ManifestError(
            f"{where}: 'images' must map input names to paths, like {{'LEFT': ...}}"
        )
    out = {}
    for name, value in images.items():
        if not name.isidentifier() or not name.isupper():
            raise ManifestError(f"{where}: input name {name!r} must be an upper-case identifier")
        out[name] = confined_path(value, base, where, f"images.{name}")
    return out


def confined_path(value: Any, base: Path, where: str, what: str) -> Path:
    """``base / value``, refusing anything that is not a relative path inside ``base``.

    Symbolic links are resolved before the check, so a link pointing out of the folder is
    refused too.

    Raises:
        ManifestError: For a non-string, empty, absolute or escaping path.
    """
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ManifestError(f"{where}: {what!r} must be a non-empty relative path")
    relative = Path(value)
    if relative.is_absolute() or relative.drive:
        raise ManifestError(
            f"{where}: {what!r} is absolute ({value}); paths are relative to {base}"
        )
    full = (base / relative).resolve()
    if not full.is_relative_to(base):
        raise ManifestError(f"{where}: {what!r} ({value}) points outside {base}")
    return full


def _query_or_program(
    data: Mapping[str, Any], base: Path, where: str
) -> tuple[str | None, str | None]:
    given = [k for k in ("query", "program", "program_file") if k in data]
    if len(given) != 1:
        raise ManifestError(f"{where}: give exactly one of 'query', 'program' or 'program_file'")
    key = given[0]
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: {key!r} must be a non-empty string")
    if key == "query":
        return value, None
    if key == "program_file":
        value = _read_program(confined_path(value, base, where, key), where)
    if len(value.encode("utf-8")) > MAX_PROGRAM_BYTES:
        raise ManifestError(f"{where}: the program is longer than {MAX_PROGRAM_BYTES} bytes")
    return None, value


def _read_program(path: Path, where: str) -> str:
    try:
        if path.stat().st_size > MAX_PROGRAM_BYTES:
            raise ManifestError(f"{where}: {path} is longer than {MAX_PROGRAM_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{where}: cannot read program {path} ({type(e).__name__})") from None


def _answer(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return [float(v) for v in value]
    raise ManifestError(
        f"{where}: 'answer' must be text, a number, true/false or a box [x1, y1, x2, y2]"
    )


def folder_items(
    folder: str | Path, *, query: str | None = None, program: str | None = None
) -> list[Item]:
    """The same query or program over every image in a folder (``--images DIR``).

    Images are found directly in ``folder`` (not below it), by suffix, sorted by name; each
    item's id is the file name.

    Raises:
        ManifestError: When neither or both of query and program are given, the folder cannot
            be read, or it holds no images.
    """
    if (query is None) == (program is None):
        raise ManifestError("with --images DIR give exactly one of --query or --program")
    base = Path(folder)
    try:
        files = sorted(
            p for p in base.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
    except OSError as e:
        raise ManifestError(f"{base}: cannot list the folder ({e.strerror or e})") from None
    if not files:
        raise ManifestError(f"{base}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    root = base.resolve()
    return [
        Item(
            id=p.name,
            images={"IMAGE": confined_path(p.name, root, str(base), "image")},
            query=query,
            program=program,
        )
        for p in files
    ]
