"""The execution trace: plain data, a JSON form that reloads into the same trace.

JSON layout (``format: "visprog-trace/1"``)::

    {"format", "version", "query", "program", "filename", "device", "started", "seconds",
     "inputs": {NAME: value}, "steps": [step, ...], "result": value, "error": error | null,
     "generation": [attempt, ...]}

Values are JSON scalars, lists of text, or objects tagged by ``"kind"``: ``image`` (``src`` is a
PNG file path relative to the JSON file, or a ``data:`` URI when embedded), ``objects`` (boxes,
scores, labels, run-length masks, points) and ``points``. :meth:`Trace.save` writes images as PNG
files in a folder beside the JSON (``trace_images/``), each distinct image once; pass
``embed=True`` for a single self-contained file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visprog import trace_format as tf
from visprog._version import __version__
from visprog.config import read_bounded
from visprog.errors import TraceFormatError, VisprogError
from visprog.outputs import atomic_write, check_target
from visprog.values import Image, Objects, Points

FORMAT = "visprog-trace/1"


THUMBNAIL_SIDE = 256
"""Longest side of the images a trace keeps once it is over its memory budget (at most 196 kB
each: 1,000 steps stay under 200 MB)."""


@dataclass(frozen=True, eq=False)
class Thumbnail(Image):
    """A reduced copy of an image kept for display; it reports the full image's size.

    Its ``pixels`` are smaller than the image it stands for, while ``width``, ``height`` and
    ``size`` are the original's, so overlays in the original's pixel frame still line up on the
    page. It is never given to a tool.

    Attributes:
        full_size: (width, height) of the image it stands for.
    """

    full_size: tuple[int, int] = (0, 0)

    @classmethod
    def of(cls, image: Image, max_side: int | None = None) -> Thumbnail:
        """A thumbnail of ``image`` whose longest side is at most ``max_side``.

        The default is :data:`THUMBNAIL_SIDE`, read when called.
        """
        if isinstance(image, Thumbnail):
            return image
        max_side = max_side or THUMBNAIL_SIDE
        scale = min(1.0, max_side / max(image.width, image.height))
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        pil = image.to_pil()
        if size != image.size:
            from PIL import Image as PILImage

            pil = pil.resize(size, resample=PILImage.Resampling.BILINEAR, reducing_gap=2.0)
        small = np.asarray(pil, dtype=np.uint8).copy()
        return cls(small, image.source, image.offset, image.root_size, image.size)

    @classmethod
    def of_pixels(cls, image: Image, full_size: tuple[int, int]) -> Thumbnail:
        """A thumbnail from already reduced pixels (as reloaded from a trace)."""
        return cls(image.pixels, image.source, image.offset, image.root_size, full_size)

    @property
    def width(self) -> int:
        """Width of the image it stands for."""
        return int(self.full_size[0])

    @property
    def height(self) -> int:
        """Height of the image it stands for."""
        return int(self.full_size[1])


def images_in(value: Any) -> list[Image]:
    """The full-resolution images inside a value (a list of values included)."""
    if isinstance(value, Image) and not isinstance(value, Thumbnail):
        return [value]
    if isinstance(value, list):
        return [im for v in value for im in images_in(v)]
    return []


def _swap(value: Any, old: Image, new: Image) -> Any:
    if value is old:
        return new
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value


class ImageBudget:
    """Bounds the bytes of full-resolution images a trace's step records hold.

    Step records keep every intermediate image for the page. Past the budget, the oldest are
    replaced, in every record, by :class:`Thumbnail` copies; inputs and the result stay full.

    Args:
        trace: The trace being recorded.
        budget_bytes: Bytes of full images the step records may hold.
    """

    def __init__(self, trace: Trace, budget_bytes: int) -> None:
        self.trace = trace
        self.budget_bytes = budget_bytes
        self.kept: deque[Image] = deque()
        self.seen = {id(v) for v in trace.inputs.values()}
        # The records each image appears in: a swap touches those alone, so a long program
        # that keeps evicting costs linear time, not a scan of every record per eviction.
        self.users: dict[int, list[StepRecord]] = {}
        self.retained_bytes = 0
        self.thumbnails = 0

    def add(self, record: StepRecord) -> None:
        """Account for a new record's images; thumbnail the oldest while over the budget."""
        for value in [*record.args.values(), record.output]:
            for image in images_in(value):
                users = self.users.setdefault(id(image), [])
                if not users or users[-1] is not record:
                    users.append(record)
                if id(image) not in self.seen:
                    self.seen.add(id(image))
                    self.kept.append(image)
                    self.retained_bytes += image.pixels.nbytes
        while self.retained_bytes > self.budget_bytes and self.kept:
            old = self.kept.popleft()
            self.retained_bytes -= old.pixels.nbytes
            self._replace(old, Thumbnail.of(old))

    def _replace(self, old: Image, new: Thumbnail) -> None:
        self.thumbnails += 1
        self.seen.add(id(new))
        users = self.users.pop(id(old), [])
        self.users[id(new)] = users
        for rec in users:
            rec.args = {k: _swap(v, old, new) for k, v in rec.args.items()}
            rec.output = _swap(rec.output, old, new)


@dataclass
class ErrorInfo:
    """A failure as plain data: the error class, its message and the line it happened on."""

    type: str
    message: str
    line: int | None = None
    exit_code: int = 1

    @classmethod
    def of(cls, error: BaseException, line: int | None = None) -> ErrorInfo:
        """Describe an exception."""
        code = error.exit_code if isinstance(error, VisprogError) else 1
        return cls(type(error).__name__, str(error), line, code)


@dataclass
class StepRecord:
    """One executed (or failed) statement.

    Attributes:
        index: 0-based statement number.
        line: Source line.
        target: Variable assigned.
        step: Canonical step name.
        source: The statement's source text.
        args: Argument values as the tool received them.
        output: The value returned (None when the step failed).
        seconds: Wall time of the tool call.
        models: Models the step used, e.g. ``"MTCNN (facenet-pytorch) on cpu"``.
        notes: Remarks from the tool (method used, fallbacks).
        error: The failure, when the step failed.
    """

    index: int
    line: int
    target: str
    step: str
    source: str
    args: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    seconds: float = 0.0
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        """True when the step ran without error."""
        return self.error is None


@dataclass
class Trace:
    """Everything a run did, in order.

    Attributes:
        program: The program source.
        inputs: Input values by name (images, usually).
        steps: One record per statement that ran (the failed one included).
        result: The value of the ``Result`` statement (None when the run failed).
        error: The failure that stopped the run, if any.
        query: The natural-language query the program was written for, if any.
        filename: Where the program came from.
        device: The device requested for models.
        started: ISO-8601 start time (UTC).
        seconds: Total wall time.
        generation: Program-generation attempts (prompt task, model, program, diagnostics).
        version: visprog version that produced the trace.
    """

    program: str
    inputs: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    result: Any = None
    error: ErrorInfo | None = None
    query: str | None = None
    filename: str = "<program>"
    device: str = "auto"
    started: str = ""
    seconds: float = 0.0
    generation: list[dict[str, Any]] = field(default_factory=list)
    version: str = __version__

    @property
    def ok(self) -> bool:
        """True when the run finished without error."""
        return self.error is None

    @property
    def models(self) -> list[str]:
        """Every model used, in first-use order."""
        out: list[str] = []
        for s in self.steps:
            out += [m for m in s.models if m not in out]
        return out

    def to_dict(self, image_sink: Callable[[Image], str] | None = None) -> dict[str, Any]:
        """The JSON-ready form; ``image_sink`` maps each image to its ``src`` (default: data URI)."""
        enc = _Encoder(image_sink or data_uri)
        steps = []
        for s in self.steps:
            d = asdict(s)
            d["args"] = {k: enc.value(v) for k, v in s.args.items()}
            d["output"] = enc.value(s.output)
            steps.append(d)
        return {
            "format": FORMAT,
            "version": self.version,
            "query": self.query,
            "program": self.program,
            "filename": self.filename,
            "device": self.device,
            "started": self.started,
            "seconds": self.seconds,
            "inputs": {k: enc.value(v) for k, v in self.inputs.items()},
            "steps": steps,
            "result": enc.value(self.result),
            "error": None if self.error is None else asdict(self.error),
            "generation": self.generation,
        }

    def save(self, path: str | Path, embed: bool = False) -> Path:
        """Write the trace as JSON; images go to ``<stem>_images/`` beside it unless ``embed``."""
        path = Path(path)
        check_target(path)  # before the images, so a bad target leaves nothing behind
        sink: Callable[[Image], str] = data_uri if embed else _FileSink(path).write
        # Images first, then the JSON that refers to them, each written atomically: a crash
        # leaves either the previous trace or the complete new one, never half a file.
        atomic_write(path, json.dumps(self.to_dict(sink), indent=1).encode("utf-8"))
        return path

    @classmethod
    def from_dict(
        cls, data: Any, base: Path | None = None, images_folder: str | None = None
    ) -> Trace:
        """Rebuild a trace from :meth:`to_dict` output, checking every field.

        Args:
            data: The decoded JSON (anything: it is validated).
            base: The folder image file paths are relative to.
            images_folder: The only folder (inside ``base``) image files may be in; None allows
                embedded images only.

        Raises:
            TraceFormatError: Naming the first malformed, unsafe or oversized field.
        """
        return cls(**_trace_fields(data, tf.ValueReader(base, images_folder)))

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save` (images only from ``<stem>_images/``).

        Raises:
            TraceFormatError: The file is unreadable, not a trace, or malformed (naming the field).
        """
        path = Path(path)
        try:
            raw = read_bounded(path, MAX_TRACE_BYTES)
            data = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or e
            raise TraceFormatError(f"{path}: cannot read trace ({reason})") from None
        except RecursionError:
            raise TraceFormatError(f"{path}: cannot read trace (nested too deeply)") from None
        try:
            return cls.from_dict(data, path.parent, path.stem + "_images")
        except TraceFormatError as e:
            raise TraceFormatError(f"{path}: {e}") from None


MAX_TRACE_BYTES = 256 * 2**20
"""Largest trace file read (embedded images included)."""


def _trace_fields(data: Any, reader: tf.ValueReader) -> dict[str, Any]:
    obj = tf.a_dict(data, "trace")
    if obj.get("format") != FORMAT:
        raise TraceFormatError(f"not a visprog trace (format {obj.get('format')!r:.60})")
    steps = tf.field(obj, "steps", "", tf.a_list)
    return {
        "program": tf.field(obj, "program", "", tf.text),
        "inputs": {
            k: reader.value(v, f"inputs.{k}")
            for k, v in tf.field(obj, "inputs", "", tf.a_dict).items()
        },
        "steps": [_step(s, f"steps[{i}]", reader) for i, s in enumerate(steps)],
        "result": reader.value(obj.get("result"), "result"),
        "error": tf.field(obj, "error", "", tf.optional(_error), None),
        "query": tf.field(obj, "query", "", tf.optional(tf.text), None),
        "filename": tf.field(obj, "filename", "", tf.text, "<program>"),
        "device": tf.field(obj, "device", "", tf.text, "auto"),
        "started": tf.field(obj, "started", "", tf.text, ""),
        "seconds": tf.field(obj, "seconds", "", tf.number, 0.0),
        "generation": [
            tf.a_dict(g, f"generation[{i}]")
            for i, g in enumerate(tf.field(obj, "generation", "", tf.a_list, []))
        ],
        "version": tf.field(obj, "version", "", tf.text, ""),
    }


def _step(v: Any, where: str, reader: tf.ValueReader) -> StepRecord:
    s = tf.a_dict(v, where)
    args = tf.field(s, "args", where, tf.a_dict, {})
    return StepRecord(
        index=tf.field(s, "index", where, tf.integer),
        line=tf.field(s, "line", where, tf.integer),
        target=tf.field(s, "target", where, tf.text),
        step=tf.field(s, "step", where, tf.text),
        source=tf.field(s, "source", where, tf.text, ""),
        args={k: reader.value(a, f"{where}.args.{k}") for k, a in args.items()},
        output=reader.value(s.get("output"), f"{where}.output"),
        seconds=tf.field(s, "seconds", where, tf.number, 0.0),
        models=tf.field(s, "models", where, tf.texts, []),
        notes=tf.field(s, "notes", where, tf.texts, []),
        error=tf.field(s, "error", where, tf.optional(_error), None),
    )


def _error(v: Any, where: str) -> ErrorInfo:
    e = tf.a_dict(v, where)
    return ErrorInfo(
        type=tf.field(e, "type", where, tf.text),
        message=tf.field(e, "message", where, tf.text),
        line=tf.field(e, "line", where, tf.optional(tf.integer), None),
        exit_code=tf.field(e, "exit_code", where, tf.integer, 1),
    )


def png_bytes(image: Image) -> bytes:
    """The image as PNG bytes."""
    buf = io.BytesIO()
    image.to_pil().save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def data_uri(image: Image) -> str:
    """The image as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


class _FileSink:
    """Writes each distinct image once into ``<stem>_images/`` and returns its relative path."""

    def __init__(self, json_path: Path) -> None:
        self.folder_name = json_path.stem + "_images"
        self.folder = json_path.parent / self.folder_name
        self.written: dict[str, str] = {}

    def write(self, image: Image) -> str:
        digest = hashlib.sha1(image.pixels.tobytes() + str(image.pixels.shape).encode()).hexdigest()
        if digest not in self.written:
            atomic_write(self.folder / f"{digest[:16]}.png", png_bytes(image))
            self.written[digest] = f"{self.folder_name}/{digest[:16]}.png"
        return self.written[digest]


def rle_encode(mask: np.ndarray[Any, Any]) -> list[int]:
    """Run lengths of a bool mask in row-major order, starting with a (possibly empty) False run."""
    flat = np.asarray(mask, dtype=bool).reshape(-1)
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs: list[int] = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def rle_decode(counts: list[int], shape: tuple[int, int]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Inverse of :func:`rle_encode`."""
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape(shape)


class _Encoder:
    def __init__(self, sink: Callable[[Image], str]) -> None:
        self.sink = sink
        self.cache: dict[int, str] = {}

    def value(self, v: Any) -> Any:
        if isinstance(v, Image):
            if id(v) not in self.cache:
                self.cache[id(v)] = self.sink(v)
            return {
                "kind": "image",
                "src": self.cache[id(v)],
                "source": v.source,
                "offset": list(v.offset),
                "root_size": list(v.root_size),
                "size": list(v.size),
            }
        if isinstance(v, Objects):
            return {
                "kind": "objects",
                "source": v.source,
                "root_size": list(v.root_size),
                "boxes": v.boxes.tolist(),
                "scores": v.scores.tolist(),
                "labels": list(v.labels),
                "mask_shape": None if v.masks is None else list(v.masks.shape[1:]),
                "masks": None if v.masks is None else [rle_encode(m) for m in v.masks],
                "points": None if v.points is None else v.points.tolist(),
            }
        if isinstance(v, Points):
            return {
                "kind": "points",
                "source": v.source,
                "root_size": list(v.root_size),
                "xy": v.xy.tolist(),
                "labels": list(v.labels),
            }
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        return v
