"""Probes and few-shot examples with a tiny random-weight CLIP loaded through the real path.

The synthetic classes differ visibly (a red wash, white stripes, a blue disc on noise), so even
random features separate them: a probe must beat chance clearly. Labels in programs are
asserted only where the probe scored perfectly on held-out images of the same kind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from visprog.cli import main
from visprog.errors import ConfigurationError, ProbeError, ToolArgumentError
from visprog.interpreter import Interpreter
from visprog.models import ModelManager
from visprog.probe import evaluate, fit, load
from visprog.probe.features import cache_root
from visprog.values import Image, Objects

from .fixtures_hf import save_tiny_clip

CLASSES = ("blue_disc", "red", "stripes")
SIDE = 40


def draw(kind: str, rng: np.random.Generator) -> np.ndarray:
    a = rng.integers(0, 60, (SIDE, SIDE, 3)).astype(np.uint8)
    if kind == "red":
        a[..., 0] = 200 + rng.integers(0, 55)
    elif kind == "stripes":
        a[:: 4 + int(rng.integers(0, 2))] = 255
    else:
        yy, xx = np.mgrid[:SIDE, :SIDE]
        r = 10 + rng.integers(0, 4)
        a[(yy - 20) ** 2 + (xx - 20) ** 2 < r * r] = (40, 90, 230)
    return a


def make_set(folder: Path, per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (folder / kind).mkdir(parents=True)
        for i in range(per_class):
            PILImage.fromarray(draw(kind, rng)).save(folder / kind / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("transformers")
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("shapes")
    return make_set(root / "train", 12, 0), make_set(root / "val", 6, 1)


@pytest.fixture(autouse=True)
def feature_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VISPROG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def trained(
    clip_dir: str, shapes: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("probe") / "shapes.probe"
    settings = {"model.clip": clip_dir}
    fit(shapes[0], out=out, val=shapes[1], settings=settings, device="cpu", cache_dir=None)
    return out


def _opts(clip_dir: str) -> dict[str, object]:
    return {"settings": {"model.clip": clip_dir}, "device": "cpu", "models": ModelManager(log=None)}


def test_probe_beats_chance_and_the_file_round_trips(
    clip_dir: str, shapes: tuple[Path, Path], tmp_path: Path
) -> None:
    probe = fit(shapes[0], out=tmp_path / "p.probe", val=shapes[1], **_opts(clip_dir))  # type: ignore[arg-type]
    assert probe.classes == CLASSES
    assert probe.meta["val_accuracy"] >= 0.8  # chance is 1/3
    assert probe.meta["examples_per_class"] == dict.fromkeys(CLASSES, 12)
    assert probe.clip_model == str(Path(clip_dir).resolve())
    assert probe.clip_revision.startswith("local-")
    back = load(tmp_path / "p.probe")
    feats = np.random.default_rng(0).standard_normal((5, probe.dim))
    np.testing.assert_allclose(back.predict(feats), probe.predict(feats), atol=1e-5)
    report = evaluate(back, shapes[1], **_opts(clip_dir))  # type: ignore[arg-type]
    assert report.probe.accuracy == pytest.approx(probe.meta["val_accuracy"])
    zero_shot = report.zero_shot  # random CLIP: no accuracy to expect, but a consistent one
    assert zero_shot.confusion.sum() == 18
    assert zero_shot.accuracy == pytest.approx(np.trace(zero_shot.confusion) / 18)


def test_second_fit_reads_features_from_the_cache(
    clip_dir: str, shapes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visprog.tools.clip as clip

    calls: list[int] = []
    real = clip.embed_images
    monkeypatch.setattr(
        clip, "embed_images", lambda b, imgs: calls.append(len(imgs)) or real(b, imgs)
    )
    first = fit(shapes[0], **_opts(clip_dir))  # type: ignore[arg-type]
    assert sum(calls) == 36
    second = fit(shapes[0], **_opts(clip_dir))  # type: ignore[arg-type]
    assert sum(calls) == 36  # nothing recomputed
    np.testing.assert_allclose(first.weight, second.weight)
    assert len(list(cache_root().rglob("*.npy"))) == 36
    fit(shapes[0], cache_dir=None, **_opts(clip_dir))  # type: ignore[arg-type]
    assert sum(calls) == 72


def test_corrupt_cache_entries_are_recomputed(clip_dir: str, shapes: tuple[Path, Path]) -> None:
    fit(shapes[0], **_opts(clip_dir))  # type: ignore[arg-type]
    entry = next(cache_root().rglob("*.npy"))
    entry.write_bytes(b"garbage")
    probe = fit(shapes[0], **_opts(clip_dir))  # type: ignore[arg-type]
    assert probe.meta["train_accuracy"] > 0.5
    assert np.load(entry, allow_pickle=False).dtype == np.float32  # rewritten


def test_probe_from_another_model_is_refused(
    clip_dir: str, shapes: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-clip"
    shutil.copytree(clip_dir, other)
    manager = ModelManager(log=None)
    with pytest.raises(ProbeError, match="model.clip is"):
        evaluate(load(trained), shapes[1], settings={"model.clip": str(other)}, models=manager)
    assert manager.loaded() == []  # refused before loading anything
    probe = fit(shapes[0], **_opts(str(other)))  # type: ignore[arg-type]
    import torch
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(other)
    with torch.no_grad():
        model.visual_projection.weight.mul_(-1.0)
    model.save_pretrained(other)  # same folder, new weights
    with pytest.raises(ProbeError, match="revision"):
        evaluate(probe, shapes[1], **_opts(str(other)))  # type: ignore[arg-type]


def test_cli_fit_and_eval(
    clip_dir: str, shapes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.probe"
    opts = ["--set", f"model.clip={clip_dir}", "--device", "cpu", "-q"]
    assert (
        main(["probe", "fit", str(shapes[0]), "--out", str(out), "--val", str(shapes[1]), *opts])
        == 0
    )
    text = capsys.readouterr().out
    assert "validation accuracy" in text and "held-out set" in text and out.is_file()
    assert "validation confusion" in text and " 0 blue_disc" in text
    assert main(["probe", "eval", str(out), str(shapes[1]), *opts]) == 0
    text = capsys.readouterr().out
    assert "zero-shot CLIP" in text and "confusion" in text and "probe P" in text
    inside = shapes[0] / "red" / "x.probe"
    assert main(["probe", "fit", str(shapes[0]), "--out", str(inside), *opts]) == 20
    assert not inside.exists()
    assert main(["probe", "fit", str(tmp_path / "none"), "--out", str(out), *opts]) == 20
    assert main(["probe", "eval", str(shapes[0] / "red" / "0.png"), str(shapes[1]), *opts]) == 20
    bad = tmp_path / "notimg"
    (bad / "a").mkdir(parents=True)
    (bad / "b").mkdir()
    (bad / "a" / "x.png").write_text("not an image")
    (bad / "b" / "y.png").write_text("not an image")
    assert main(["probe", "fit", str(bad), "--out", str(out), *opts]) == 5  # ImageLoadError


# -- in programs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene() -> tuple[Image, Objects]:
    """One image holding a blue disc, a red patch and stripes side by side, with their boxes."""
    rng = np.random.default_rng(7)
    pixels = np.concatenate([draw(k, rng) for k in CLASSES], axis=1)
    boxes = np.array([[i * SIDE, 0, (i + 1) * SIDE, SIDE] for i in range(3)], dtype=float)
    return Image(pixels, "IMAGE"), Objects(boxes, np.ones(3), ["object"] * 3)


def _run(program: str, clip_dir: str, scene: tuple[Image, Objects], **settings: object) -> object:
    interp = Interpreter(
        device="cpu", models=ModelManager(log=None), settings={"model.clip": clip_dir, **settings}
    )
    return interp.run(program, {"IMAGE": scene[0], "OBJ": scene[1]})


def test_classify_and_select_with_a_probe_in_a_program(
    clip_dir: str, trained: Path, scene: tuple[Image, Objects]
) -> None:
    assert load(trained).meta["val_accuracy"] == 1.0  # so its labels below are expected right
    program = (
        f"C = Classify(image=IMAGE, object=OBJ, probe='{trained}')\n"
        f"S = Select(image=IMAGE, object=OBJ, query='stripes', probe='{trained}')\n"
        "R = Result(var=S)"
    )
    trace = _run(program, clip_dir, scene)
    labelled = trace.steps[0].output  # type: ignore[attr-defined]
    assert dict(zip(map(tuple, labelled.boxes), labelled.labels, strict=True)) == {
        tuple(scene[1].boxes[i]): name for i, name in enumerate(CLASSES)
    }
    assert all(1 / 3 < s <= 1.0 for s in labelled.scores)
    notes = " ".join(trace.steps[0].notes)  # type: ignore[attr-defined]
    assert (
        "probe shapes.probe: 3 classes (blue_disc, red, stripes), validation accuracy 1.000"
        in notes
    )
    assert "probe shapes.probe" in trace.steps[0].models  # type: ignore[attr-defined]
    chosen = trace.result  # type: ignore[attr-defined]
    assert chosen.labels == ("stripes",) and np.array_equal(chosen.boxes[0], scene[1].boxes[2])


def test_classify_probe_from_the_setting_and_restricted_categories(
    clip_dir: str, trained: Path, scene: tuple[Image, Objects]
) -> None:
    program = "C = Classify(image=IMAGE, object=OBJ, categories='red')\nR = Result(var=C)"
    trace = _run(program, clip_dir, scene, **{"classify.probe": str(trained)})
    out = trace.result  # type: ignore[attr-defined]
    assert out.labels == ("red",) and np.array_equal(out.boxes[0], scene[1].boxes[1])


def test_classify_with_example_images(
    clip_dir: str, shapes: tuple[Path, Path], scene: tuple[Image, Objects]
) -> None:
    program = f"C = Classify(image=IMAGE, object=OBJ, examples='{shapes[0]}')\nR = Result(var=C)"
    trace = _run(program, clip_dir, scene, **{"classify.one_per_category": False})
    out = trace.result  # type: ignore[attr-defined]
    assert len(out) == 3 and set(out.labels) <= set(CLASSES)
    assert any("examples" in n for n in trace.steps[0].notes)  # type: ignore[attr-defined]
    both = (
        f"C = Classify(image=IMAGE, object=OBJ, categories='red,stripes', examples='{shapes[0]}')\n"
        "R = Result(var=C)"
    )
    trace = _run(both, clip_dir, scene, **{"classify.examples_weight": 0.8})
    assert set(trace.result.labels) <= {"red", "stripes"}  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="examples_weight"):
        _run(both, clip_dir, scene, **{"classify.examples_weight": 2})


@pytest.mark.parametrize(
    ("step", "error", "match"),
    [
        ("Classify(image=IMAGE, object=OBJ, probe='missing.probe')", ProbeError, "no such probe"),
        ("Classify(image=IMAGE, object=OBJ)", ToolArgumentError, "needs categories"),
        ("Classify(image=IMAGE, object=OBJ, examples='no/such/dir')", ProbeError, "no such data"),
        ("Select(image=IMAGE, object=OBJ, query='sparrow', probe='{p}')", ToolArgumentError,
         "not classes of the probe"),
        ("Classify(image=IMAGE, object=OBJ, probe='{p}', examples='x')", ToolArgumentError,
         "not both"),
    ],
)  # fmt: skip
def test_probe_problems_are_found_before_any_model_loads(
    clip_dir: str, trained: Path, scene: tuple[Image, Objects], step: str, error: type, match: str
) -> None:
    manager = ModelManager(log=None)
    interp = Interpreter(device="cpu", models=manager, settings={"model.clip": clip_dir})
    program = f"B = Loc(image=IMAGE, object='x')\nC = {step.format(p=trained)}\nR = Result(var=C)"
    with pytest.raises(error, match=match) as info:
        interp.run(program, {"IMAGE": scene[0], "OBJ": scene[1]})
    assert "line 2 (" in str(info.value)
    assert manager.loaded() == []


def test_a_probe_for_another_model_is_refused_before_running(
    trained: Path, scene: tuple[Image, Objects], tmp_path: Path
) -> None:
    manager = ModelManager(log=None)
    interp = Interpreter(device="cpu", models=manager, settings={"model.clip": str(tmp_path)})
    program = f"C = Classify(image=IMAGE, object=OBJ, probe='{trained}')\nR = Result(var=C)"
    with pytest.raises(ProbeError, match="trained on features of the CLIP model"):
        interp.run(program, {"IMAGE": scene[0], "OBJ": scene[1]})
    assert manager.loaded() == []


def test_a_bad_examples_weight_is_refused_before_running(
    clip_dir: str, shapes: tuple[Path, Path], scene: tuple[Image, Objects]
) -> None:
    manager = ModelManager(log=None)
    settings = {"model.clip": clip_dir, "classify.examples_weight": "half"}
    interp = Interpreter(device="cpu", models=manager, settings=settings)
    program = f"C = Classify(image=IMAGE, object=OBJ, examples='{shapes[0]}')\nR = Result(var=C)"
    with pytest.raises(ConfigurationError, match="examples_weight"):
        interp.run(program, {"IMAGE": scene[0], "OBJ": scene[1]})
    assert manager.loaded() == []
