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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visprog._version import __version__
from visprog.errors import ConfigurationError, VisprogError
from visprog.values import Image, Objects, Points

FORMAT = "visprog-trace/1"


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
        path.parent.mkdir(parents=True, exist_ok=True)
        sink: Callable[[Image], str] = data_uri if embed else _FileSink(path).write
        path.write_text(json.dumps(self.to_dict(sink), indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path | None = None) -> Trace:
        """Rebuild a trace from :meth:`to_dict` output (``base`` resolves image file paths)."""
        if data.get("format") != FORMAT:
            raise ConfigurationError(f"not a visprog trace (format {data.get('format')!r})")
        dec = _Decoder(base)
        steps = []
        for s in data["steps"]:
            err = s.get("error")
            steps.append(
                StepRecord(
                    s["index"],
                    s["line"],
                    s["target"],
                    s["step"],
                    s["source"],
                    {k: dec.value(v) for k, v in s["args"].items()},
                    dec.value(s["output"]),
                    s["seconds"],
                    list(s["models"]),
                    list(s["notes"]),
                    ErrorInfo(**err) if err else None,
                )
            )
        err = data.get("error")
        return cls(
            program=data["program"],
            inputs={k: dec.value(v) for k, v in data["inputs"].items()},
            steps=steps,
            result=dec.value(data["result"]),
            error=ErrorInfo(**err) if err else None,
            query=data.get("query"),
            filename=data.get("filename", "<program>"),
            device=data.get("device", "auto"),
            started=data.get("started", ""),
            seconds=data.get("seconds", 0.0),
            generation=list(data.get("generation", [])),
            version=data.get("version", ""),
        )

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigurationError(f"{path}: cannot read trace ({e})") from None
        return cls.from_dict(data, path.parent)


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
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{digest[:16]}.png").write_bytes(png_bytes(image))
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


class _Decoder:
    def __init__(self, base: Path | None) -> None:
        self.base = base
        self.cache: dict[str, np.ndarray[Any, Any]] = {}

    def pixels(self, src: str) -> np.ndarray[Any, Any]:
        if src not in self.cache:
            from PIL import Image as PILImage

            if src.startswith("data:"):
                raw = base64.b64decode(src.split(",", 1)[1])
            else:
                raw = ((self.base or Path(".")) / src).read_bytes()
            self.cache[src] = np.asarray(
                PILImage.open(io.BytesIO(raw)).convert("RGB"), dtype=np.uint8
            )
        return self.cache[src]

    def value(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        kind = v.get("kind")
        if kind == "image":
            return Image(
                self.pixels(v["src"]), v["source"], tuple(v["offset"]), tuple(v["root_size"])
            )
        if kind == "objects":
            masks = _decode_masks(v.get("masks"), v.get("mask_shape"))
            points = None if v.get("points") is None else np.asarray(v["points"]).reshape(-1, 2)
            return Objects(
                np.asarray(v["boxes"]).reshape(-1, 4),
                v["scores"],
                v["labels"],
                masks,
                points,
                v["source"],
                tuple(v.get("root_size", (0, 0))),  # traces written before root_size: unknown
            )
        if kind == "points":
            xy = np.asarray(v["xy"]).reshape(-1, 2)
            return Points(xy, v["labels"], v["source"], tuple(v.get("root_size", (0, 0))))
        raise ConfigurationError(f"unknown value kind in trace: {kind!r}")


def _decode_masks(masks: list[list[int]] | None, shape: list[int] | None) -> Any:
    if masks is None or shape is None:
        return None
    h, w = int(shape[0]), int(shape[1])
    if not masks:
        return np.zeros((0, h, w), dtype=bool)
    return np.stack([rle_decode(m, (h, w)) for m in masks])
