"""Probe files and labelled data sets are input: hostile ones give typed errors, never code."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from visprog.errors import ImageLoadError, ProbeError
from visprog.probe import Probe, load
from visprog.probe.data import read_dataset
from visprog.probe.probefile import FORMAT, NORMALISATION, VERSION


def meta(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "format": FORMAT, "version": VERSION, "clip_model": "m", "clip_revision": "r",
        "classes": ["cat", "dog"], "feature_dim": 3, "normalisation": NORMALISATION, "l2": 0.01,
        "train_accuracy": 1.0, "val_accuracy": 0.9, "val_source": "cv",
        "examples_per_class": {"cat": 2, "dog": 2},
    }  # fmt: skip
    base.update(changes)
    return base


def a_probe(**changes: object) -> Probe:
    rng = np.random.default_rng(0)
    return Probe(
        ("cat", "dog"),
        rng.standard_normal((2, 3)),
        np.zeros(2),
        np.zeros(3),
        np.ones(3),
        meta(**changes),
    )


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    return path


def arrays(m: dict[str, object] | None = None, **over: np.ndarray) -> dict[str, np.ndarray]:
    out = {
        "weight": np.ones((2, 3), np.float32), "bias": np.zeros(2, np.float32),
        "mean": np.zeros(3, np.float32), "scale": np.ones(3, np.float32),
        "metadata": np.frombuffer(json.dumps(m or meta()).encode(), np.uint8),
    }  # fmt: skip
    out.update(over)
    return out


def test_round_trip(tmp_path: Path) -> None:
    probe = a_probe()
    probe.save(tmp_path / "p.probe")
    back = load(tmp_path / "p.probe")
    assert back.classes == probe.classes and back.meta["name"] == "p.probe"
    feats = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(back.predict(feats), probe.predict(feats), atol=1e-5)
    assert back.predict(feats).shape == (4, 2)
    with pytest.raises(ProbeError, match=r"\(3,\)-features"):
        back.predict(np.ones((1, 5)))


def test_probe_of_another_model_is_refused() -> None:
    probe = a_probe()
    probe.check_model("m", "r")
    with pytest.raises(ProbeError, match="trained on features of the CLIP model 'm'"):
        probe.check_model("other")
    with pytest.raises(ProbeError, match="revision"):
        probe.check_model("m", "r2")


def test_pickled_object_arrays_are_never_loaded(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    bad = arrays(weight=np.array([Boom()], dtype=object))
    path = tmp_path / "evil.probe"
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in bad.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, value, allow_pickle=True)
            zf.writestr(f"{name}.npy", buf.getvalue())
    with pytest.raises(ProbeError):
        load(path)
    assert not (tmp_path / "pwned").exists()
    raw = tmp_path / "raw.probe"
    raw.write_bytes(pickle.dumps({"weight": 1}))
    with pytest.raises(ProbeError, match="not a readable probe"):
        load(raw)


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"weight": np.ones((3, 3), np.float32)}, "weight must be a float array"),
        ({"bias": np.zeros(2, np.int64)}, "bias must be a float array"),
        ({"scale": np.zeros(3, np.float32)}, "scale must be positive"),
        ({"mean": np.array([np.nan, 0, 0], np.float32)}, "NaN"),
        ({"metadata": np.frombuffer(b"{not json", np.uint8)}, "not JSON"),
        ({"metadata": np.frombuffer(b"[1, 2]", np.uint8)}, "JSON object"),
        ({"metadata": np.zeros(3, np.float32)}, "UTF-8 JSON bytes"),
    ],
)
def test_inconsistent_arrays_are_refused(
    tmp_path: Path, over: dict[str, np.ndarray], match: str
) -> None:
    path = write_npz(tmp_path / "p.probe", **arrays(**over))
    with pytest.raises(ProbeError, match=match):
        load(path)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format": "other"}, "format"),
        ({"version": 99}, "version"),
        ({"classes": ["cat"]}, "2 to"),
        ({"classes": ["cat", "cat"]}, "repeat"),
        ({"classes": ["cat", "\x1b[31m"]}, "invalid class name"),
        ({"classes": "cat,dog"}, "'classes'"),
        ({"feature_dim": 0}, "feature_dim"),
        ({"val_accuracy": 7}, "not in"),
        ({"val_accuracy": True}, "val_accuracy"),
        ({"normalisation": "none"}, "normalisation"),
        ({"examples_per_class": {"cat": 2}}, "examples_per_class"),
        ({"examples_per_class": {"cat": 2, "dog": "<script>"}}, "examples_per_class"),
    ],
)
def test_invalid_metadata_is_refused(
    tmp_path: Path, changes: dict[str, object], match: str
) -> None:
    path = write_npz(tmp_path / "p.probe", **arrays(meta(**changes)))
    with pytest.raises(ProbeError, match=match):
        load(path)


def test_paths_that_are_not_probe_files(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such probe file"):
        load(tmp_path / "missing.probe")
    with pytest.raises(ProbeError, match="not a regular file"):
        load(tmp_path)
    extra = write_npz(tmp_path / "x.probe", **arrays(), extra=np.zeros(1))
    with pytest.raises(ProbeError, match="not a probe file"):
        load(extra)
    (tmp_path / "text.probe").write_text("hello")
    with pytest.raises(ProbeError, match="not a readable probe"):
        load(tmp_path / "text.probe")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.probe")
        with pytest.raises(ProbeError, match="not a regular file"):
            load(tmp_path / "fifo.probe")


def test_zip_bomb_sizes_are_checked_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visprog.probe.probefile as pf

    path = tmp_path / "bomb.probe"
    with open(path, "wb") as fh:  # 1 MB of zeros deflates to about 1 kB
        np.savez_compressed(fh, **arrays(metadata=np.zeros(2**20, np.uint8)))  # type: ignore[arg-type]
    monkeypatch.setattr(pf, "MAX_FILE_BYTES", 100_000)  # above the file, below its contents
    assert path.stat().st_size < 100_000
    with pytest.raises(ProbeError, match="larger than a probe may hold"):
        load(path)


# -- data sets ------------------------------------------------------------------------------


def png(path: Path, colour: tuple[int, int, int] = (255, 0, 0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", (8, 8), colour).save(path)
    return path


def test_folder_csv_and_jsonl_layouts(tmp_path: Path) -> None:
    for name in ("a/1.png", "a/sub/2.png", "b/3.png", "b/.DS_Store"):
        png(tmp_path / "set" / name) if name.endswith(".png") else (
            tmp_path / "set" / name
        ).write_text("x")
    folder = read_dataset(tmp_path / "set")
    assert folder.counts() == {"a": 2, "b": 1}
    csv = tmp_path / "set" / "list.csv"
    csv.write_text("\ufeffpath,label\na/1.png,a\nb/3.png,b\n", encoding="utf-8")  # with a BOM
    assert read_dataset(csv).labels == ("a", "b")
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(
        '{"path": "set/a/1.png", "label": "x"}\n\n{"path": "set/b/3.png", "label": "y"}\n'
    )
    assert read_dataset(jsonl).classes == ["x", "y"]


def test_hostile_data_sets_give_typed_errors(tmp_path: Path) -> None:
    root = tmp_path / "d"
    png(root / "a" / "1.png")
    (root / "empty").mkdir()
    with pytest.raises(ProbeError, match="has no images"):
        read_dataset(root)
    (root / "empty").rmdir()
    with pytest.raises(ProbeError, match="at least 2 classes"):
        read_dataset(root)
    (root / "stray.png").write_bytes(b"x")
    with pytest.raises(ProbeError, match="only class folders"):
        read_dataset(root)
    (root / "stray.png").unlink()
    (root / "b").mkdir()
    (root / "b" / "loop").symlink_to(root / "b" / "loop")  # a symlink loop
    with pytest.raises(ImageLoadError, match="cannot read"):
        read_dataset(root)
    (root / "b" / "loop").unlink()
    (root / "b" / "up").symlink_to(root, target_is_directory=True)  # not followed
    png(root / "b" / "2.png")
    assert read_dataset(root).counts() == {"a": 1, "b": 1}
    with pytest.raises(ProbeError, match="no such data set"):
        read_dataset(tmp_path / "nope")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,class\nx,y\n")
    with pytest.raises(ProbeError, match="path,label"):
        read_dataset(bad)
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"path": "x"\n')
    with pytest.raises(ProbeError, match="not JSON"):
        read_dataset(bad_json)
    missing = tmp_path / "missing.csv"
    missing.write_text("path,label\nnope.png,a\n")
    with pytest.raises(ImageLoadError, match="nope.png"):
        read_dataset(missing)


def test_probe_api_imports_without_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, visprog; visprog.probe.load; visprog.probe.fit; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_folder_walk_stops_at_the_image_limit(tmp_path: Path) -> None:
    for i in range(4):
        png(tmp_path / "a" / "deep" / f"{i}.png")
        png(tmp_path / "b" / f"{i}.png")
    assert len(read_dataset(tmp_path, max_images=8).paths) == 8
    with pytest.raises(ProbeError, match="more images than the limit"):
        read_dataset(tmp_path, max_images=6)
    listed = tmp_path / "l.csv"
    listed.write_text("path,label\n" + "".join(f"b/{i}.png,b\n" for i in range(4)))
    with pytest.raises(ProbeError, match="more than 3 images"):
        read_dataset(listed, min_classes=1, max_images=3)
