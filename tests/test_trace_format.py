"""Loading hostile traces (issue 8, items 2, 5, 7): only ever a TraceFormatError naming the field."""

from __future__ import annotations

import base64
import copy
import json
import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visprog import Image, Objects, Trace
from visprog.errors import TraceFormatError
from visprog.render import render_html
from visprog.trace import StepRecord, Thumbnail


def _trace(rgb: Image) -> Trace:
    masks = np.zeros((1, 48, 64), bool)
    masks[0, 2:5, 3:9] = True
    objs = Objects(np.array([[3, 2, 9, 5]]), [0.9], ["cat"], masks=masks)
    trace = Trace(program="A = X()", inputs={"IMAGE": rgb}, query="q")
    trace.steps.append(StepRecord(0, 1, "A", "Loc", "A = Loc()", {"image": rgb}, objs, 0.5))
    trace.result = objs
    return trace


@pytest.fixture
def saved(tmp_path: Path, rgb: Image) -> Path:
    return _trace(rgb).save(tmp_path / "t.json")


def _edit(path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _set_src(src: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["inputs"]["IMAGE"]["src"] = src
        data["steps"][0]["args"]["image"]["src"] = src

    return change


def _png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_a_saved_trace_still_loads(saved: Path) -> None:
    again = Trace.load(saved)
    assert np.asarray(again.steps[0].output.masks).sum() == 18


@pytest.mark.parametrize(
    "src",
    [
        "../secret.png",
        "/etc/passwd",
        "t_images/../../secret.png",
        "other_images/a.png",
        "t_images/sub/a.png",
        "t_images/.hidden.png",
        "t_images/",
        "file:///etc/passwd",
        "data:text/html;base64,PGI+",
        "t_images/a\0.png",
    ],
)
def test_image_src_outside_its_folder_is_refused(saved: Path, tmp_path: Path, src: str) -> None:
    (tmp_path / "secret.png").write_bytes(
        (saved.parent / "t_images").iterdir().__next__().read_bytes()
    )
    _edit(saved, _set_src(src))
    with pytest.raises(TraceFormatError, match=r"inputs\.IMAGE\.src"):
        Trace.load(saved)


def test_symlinks_fifos_folders_and_missing_files_are_refused(saved: Path, tmp_path: Path) -> None:
    folder = saved.parent / "t_images"
    real = next(folder.iterdir())
    outside = tmp_path / "outside.png"
    outside.write_bytes(real.read_bytes())
    cases = {"link.png": lambda p: p.symlink_to(outside), "dir.png": lambda p: p.mkdir()}
    if hasattr(os, "mkfifo"):
        cases["fifo.png"] = lambda p: os.mkfifo(p)
    cases["missing.png"] = lambda p: None
    for name, make in cases.items():
        make(folder / name)
        _edit(saved, _set_src(f"t_images/{name}"))
        t0 = time.perf_counter()
        with pytest.raises(TraceFormatError, match=r"inputs\.IMAGE\.src: cannot read image file"):
            Trace.load(saved)
        assert time.perf_counter() - t0 < 5  # a FIFO is never opened for a blocking read


def test_a_symlinked_image_folder_is_refused(saved: Path, tmp_path: Path) -> None:
    (saved.parent / "t_images").rename(tmp_path / "elsewhere")
    (saved.parent / "t_images").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(TraceFormatError, match="symbolic link"):
        Trace.load(saved)


@pytest.mark.parametrize("embed", [False, True])
def test_a_decompression_bomb_is_refused_before_decoding(
    saved: Path, tmp_path: Path, embed: bool
) -> None:
    bomb = _png(100_000, 100_000)
    if embed:
        src = "data:image/png;base64," + base64.b64encode(bomb).decode()
    else:
        (saved.parent / "t_images" / "bomb.png").write_bytes(bomb)
        src = "t_images/bomb.png"
    _edit(saved, _set_src(src))
    with pytest.raises(
        TraceFormatError, match=r"inputs\.IMAGE\.src: .*larger than 64,000,000 pixels"
    ):
        Trace.load(saved)


def _mask_shape(data: dict[str, Any]) -> None:
    data["steps"][0]["output"]["mask_shape"] = [100_000, 100_000]
    data["steps"][0]["output"]["masks"] = [[10**10]]


def _bad_counts(data: dict[str, Any]) -> None:
    data["steps"][0]["output"]["masks"] = [[1, 2, 3]]


def _nan(data: dict[str, Any]) -> None:
    data["seconds"] = float("nan")


def _box(data: dict[str, Any]) -> None:
    data["steps"][0]["output"]["boxes"] = [[1, 2, 3]]


def _labels(data: dict[str, Any]) -> None:
    data["steps"][0]["output"]["labels"] = [1]


def _missing(data: dict[str, Any]) -> None:
    del data["steps"][0]["target"]


def _error(data: dict[str, Any]) -> None:
    data["error"] = {"type": "X", "message": "m", "surprise": 1, "line": "one"}


def _kind(data: dict[str, Any]) -> None:
    data["result"] = {"kind": "bomb"}


def _b64(data: dict[str, Any]) -> None:
    data["inputs"]["IMAGE"]["src"] = "data:image/png;base64,@@@@"


def _deep(data: dict[str, Any]) -> None:
    value: Any = "x"
    for _ in range(50):
        value = [value]
    data["result"] = value


def _big_int(data: dict[str, Any]) -> None:
    data["steps"][0]["line"] = 2**70


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (_mask_shape, r"steps\[0\]\.output\.mask_shape"),
        (_bad_counts, r"steps\[0\]\.output\.masks\[0\]"),
        (_nan, r"seconds: expected a finite number"),
        (_box, r"steps\[0\]\.output\.boxes\[0\]"),
        (_labels, r"steps\[0\]\.output\.labels\[0\]"),
        (_missing, r"steps\[0\]\.target: missing"),
        (_error, r"error\.line"),
        (_kind, r"result\.kind"),
        (_b64, r"inputs\.IMAGE\.src: embedded image is not valid base64"),
        (_deep, r"result(\[0\])+: lists nested"),
        (_big_int, r"steps\[0\]\.line"),
    ],
)
def test_malformed_fields_are_named(saved: Path, change: Any, where: str) -> None:
    _edit(saved, change)
    with pytest.raises(TraceFormatError, match=where):
        Trace.load(saved)


def test_many_large_masks_are_refused_before_allocating(saved: Path) -> None:
    # Each mask is legal (64 MP, described by one run length), but 100 of them would take 6 GB.
    def change(data: dict[str, Any]) -> None:
        out = data["steps"][0]["output"]
        out["boxes"], out["scores"], out["labels"] = [[0, 0, 1, 1]] * 100, [1] * 100, ["a"] * 100
        out["mask_shape"], out["masks"] = [8000, 8000], [[64_000_000]] * 100

    _edit(saved, change)
    with pytest.raises(TraceFormatError, match=r"steps\[0\]\.output\.masks: .*more than"):
        Trace.load(saved)


@pytest.mark.parametrize(
    "text",
    ["{}", "[]", "null", "1", '"x"', "not json", "[" * 100_000 + "]" * 100_000, "\xff\xfe"],
)
def test_not_a_trace_at_all(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(TraceFormatError):
        Trace.load(path)


def test_a_trace_path_that_is_a_fifo_or_folder(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="not a regular file"):
        Trace.load(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "f.json")
        with pytest.raises(TraceFormatError, match="not a regular file"):
            Trace.load(tmp_path / "f.json")


def test_thumbnails_round_trip_with_their_full_size(tmp_path: Path, rgb: Image) -> None:
    trace = _trace(rgb)
    big = Image(np.zeros((600, 1000, 3), np.uint8))
    thumb = Thumbnail.of(big, 100)
    trace.steps[0].args["image"] = thumb
    again = Trace.load(trace.save(tmp_path / "t.json"))
    loaded = again.steps[0].args["image"]
    assert isinstance(loaded, Thumbnail) and loaded.size == (1000, 600)
    assert loaded.pixels.shape == (60, 100, 3)


# ---------------------------------------------------------------------------------------------
# Generated traces: whatever the JSON, loading gives a trace or a TraceFormatError, never
# anything else, and a trace that loads also renders.
# ---------------------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_special = st.sampled_from(
    [
        {"kind": "image", "src": "t_images/missing.png"},
        {"kind": "image", "src": "data:image/png;base64,AAAA"},
        {"kind": "objects", "boxes": [[0, 0, 1, 1]], "scores": [1], "labels": ["a"], "source": "I"},
        {
            "kind": "objects",
            "boxes": [],
            "scores": [],
            "labels": [],
            "source": "I",
            "mask_shape": [2, 2],
            "masks": [],
        },
        {"kind": "points", "xy": [[1, 2]], "labels": ["p"], "source": "I"},
        {"kind": "points", "xy": [[1]], "labels": [], "source": "I"},
        {"kind": "objects"},
    ]
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@pytest.fixture(scope="module")
def valid_dict(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ys, xs = np.mgrid[0:48, 0:64]
    rgb = Image(np.stack([xs * 4, ys * 5, (xs + ys) % 256], axis=2).astype(np.uint8))
    return _trace(rgb).to_dict()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_traces_only_raise_trace_format_errors(
    valid_dict: dict[str, Any], data: st.DataObject
) -> None:
    trace_json = copy.deepcopy(valid_dict)
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _paths(trace_json)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["delete", "replace", "special"])) if path else "replace"
        value = copy.deepcopy(data.draw(_special if action == "special" else _json))
        trace_json = _mutate(trace_json, path, action, value)
    try:
        trace = Trace.from_dict(trace_json)
    except TraceFormatError as e:
        assert str(e)  # a message, naming the field
        return
    render_html(trace)  # what loads, renders (visprog view never fails after a load)
