"""Values know their frame: objects of one input are refused on another input's image."""

from __future__ import annotations

import numpy as np
import pytest

import visprog
from visprog import Image, Objects, Points, Registry, ToolArgumentError
from visprog.interpreter import StepFailedError
from visprog.values import check_frames

USES = [
    "Crop(image=RIGHT, box=B)",
    "CropLeftOf(image=RIGHT, box=B)",
    "Tag(image=RIGHT, object=B)",
    "ColorPop(image=RIGHT, object=B)",
    "BgBlur(image=RIGHT, object=B)",
    "Blur(image=RIGHT, object=B)",
    "Emoji(image=RIGHT, object=B, emoji='smiling_face')",
    "Seg(image=RIGHT, object=B)",
    "Select(image=RIGHT, object=B, query='dog')",
    "Classify(image=RIGHT, object=B, categories='a,b')",
    "Replace(image=RIGHT, object=B, prompt='a cat')",
]


@pytest.mark.parametrize("use", USES)
def test_every_step_refuses_objects_of_another_input(use: str, rgb: Image) -> None:
    """Caught before the tool runs (no model loads): one central check, exit 6."""
    program = f"B = Loc(image=LEFT, object='TOP')\nX = {use}\nR = Result(var=X)\n"
    with pytest.raises(StepFailedError) as info:
        visprog.execute(program, {"LEFT": rgb, "RIGHT": rgb.pixels[:20, :30].copy()})
    error = info.value.error
    assert isinstance(error, ToolArgumentError) and info.value.exit_code == 6
    assert "found in input 'LEFT'" in str(error) and "from input 'RIGHT'" in str(error)
    assert info.value.trace.steps[-1].line == 2


def test_points_of_another_input_are_refused(rgb: Image) -> None:
    points = Points(np.array([[3.0, 4.0]]), ["p"], source="LEFT", root_size=(64, 48))
    with pytest.raises(ToolArgumentError, match="point= holds points found in input 'LEFT'"):
        check_frames("Seg", {"image": rgb, "point": points})


def test_objects_of_a_differently_sized_input_of_the_same_name_are_refused(rgb: Image) -> None:
    objects = Objects(np.array([[0, 0, 4, 4]]), [1.0], ["x"], root_size=(640, 480))
    with pytest.raises(ToolArgumentError, match="of a 640x480 input 'IMAGE'.*64x48"):
        check_frames("Crop", {"image": rgb, "box": objects})
    check_frames("Crop", {"image": rgb, "box": Objects.none_in(rgb)})  # the same frame: fine
    check_frames("Crop", {"image": rgb.crop((5, 5, 20, 20)), "box": Objects.none_in(rgb)})


def test_objects_built_by_tools_carry_their_root_frame(rgb: Image) -> None:
    trace = visprog.execute("H = Loc(image=IMAGE, object='LEFT')\nR = Result(var=H)\n", rgb)
    assert trace.result.source == "IMAGE" and trace.result.root_size == (64, 48)
    crop = rgb.crop((10, 5, 40, 30))
    found = Objects.from_local(crop, [[-5, 0, 10, 100]], [0.5], ["x"], points=[[1, 2]])
    assert found.root_size == (64, 48) and found.boxes.tolist() == [[10, 5, 20, 30]]
    assert found.points is not None and found.points.tolist() == [[11, 7]]


def test_a_tool_that_builds_a_bad_value_is_a_tool_bug(rgb: Image) -> None:
    reg = Registry()
    for spec in visprog.REGISTRY:
        reg.add(spec)

    @visprog.tool("Broken", registry=reg)
    def broken(image: Image) -> Objects:
        """Builds Objects with three scores for two boxes."""
        return Objects(np.zeros((2, 4)), [1.0, 1.0, 1.0], ["a", "b"])

    with pytest.raises(StepFailedError) as info:
        visprog.execute("B = Broken(image=IMAGE)\nR = Result(var=B)\n", rgb, registry=reg)
    assert isinstance(info.value.error, visprog.ToolExecutionError)
    assert info.value.exit_code == 7 and "a bug in the tool" in str(info.value)
    assert "Objects.scores: expected shape (2,)" in str(info.value)


def test_crop_then_loc_seg_point_land_in_root_pixels(
    rgb: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tools' real plumbing with synthetic model outputs given in the crop's own pixels."""
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from visprog.context import Context
    from visprog.tools import loc as L
    from visprog.tools import point as P
    from visprog.tools import seg as S

    seen: dict[str, object] = {}

    class Predictor:  # SAM 2's predict(): a mask filling the prompt box it is given
        def predict(self, box: np.ndarray, **kwargs: object) -> tuple[np.ndarray, ...]:
            seen["sam_box"] = box.tolist()
            x0, y0, x1, y1 = (int(v) for v in box)
            mask = np.zeros((1, 48, 40), dtype=bool)
            mask[0, y0:y1, x0:x1] = True
            return mask, np.array([0.9]), np.zeros((1, 48, 40))

    def detections(
        bundle: object, image: Image, name: str, threshold: float, *rest: object
    ) -> tuple:
        seen["loc_size"] = image.size
        return np.array([[4.0, 5.0, 14.0, 20.0]]), np.array([0.8])

    monkeypatch.setattr(L, "run_owlv2", detections)
    monkeypatch.setattr(S, "predictor_for", lambda *a, **k: Predictor())
    monkeypatch.setattr(P, "ask", lambda *a: '<point x="50.0" y="25.0" alt="dog">dog</point>')
    settings = {"model.loc": "fake/owl", "model.seg": "fake/sam", "model.point": "fake/molmo"}
    session = visprog.Session(settings, device="cpu", environ={})
    ctx = Context("cpu", session.models, settings=session.settings)
    owl = (None, SimpleNamespace(config=SimpleNamespace(model_type="owlv2")))
    for decl, model in [(L.DETECTOR, owl), (S.SAM2, object()), (P.MOLMO, (None, None))]:
        session.models.get(ctx.model_key(decl), "cpu", lambda d, m=model: m)
    program = (
        "H = Loc(image=IMAGE, object='RIGHT')\nC = Crop(image=IMAGE, box=H)\n"
        "B = Loc(image=C, object='dog')\nS = Seg(image=C, object=B)\n"
        "P = Point(image=C, object='dog')\nR = Result(var=S)\n"
    )
    trace = session.run(program, rgb)
    crop = trace.steps[1].output
    assert crop.offset == (24, 0) and crop.size == (40, 48) and seen["loc_size"] == (40, 48)
    boxes = trace.steps[2].output
    assert boxes.boxes.tolist() == [[28, 5, 38, 20]] and boxes.root_size == (64, 48)
    assert seen["sam_box"] == [4, 5, 14, 20]  # SAM 2 was prompted in the crop's pixels
    masks = trace.result.masks
    expected = np.zeros((48, 64), dtype=bool)
    expected[5:20, 28:38] = True
    assert masks.shape == (1, 48, 64)
    np.testing.assert_array_equal(masks[0], expected)
    assert trace.result.boxes.tolist() == [[28, 5, 38, 20]]
    points = trace.steps[4].output
    assert points.xy.tolist() == [[44.0, 12.0]] and points.root_size == (64, 48)


def _foreign_calls() -> list[str]:
    """Every registered step that takes an image and objects or points, called with values of
    input LEFT (B: Objects, P: Points) on the image RIGHT; other required arguments filled."""
    from visprog import values as V

    fill = {V.TEXT: "'a'", V.NUMBER: "1", V.BOOL: "True", V.TEXT_LIST: "['a']"}
    calls = []
    for spec in visprog.REGISTRY:
        images = [p.name for p in spec.params if V.IMAGE in p.types]
        located = [p for p in spec.params if p.types & {V.OBJECTS, V.POINTS}]
        for target in located if images else []:
            args = []
            for p in spec.params:
                if p.name in images:
                    args.append(f"{p.name}=RIGHT")
                elif p is target:
                    args.append(f"{p.name}={'B' if V.OBJECTS in p.types else 'P'}")
                elif p.required or p.name == "categories":  # Classify needs one of three
                    args.append(f"{p.name}={next(fill[t] for t in sorted(p.types) if t in fill)}")
            calls.append(f"{spec.name}({', '.join(args)})")
    return calls


@pytest.mark.parametrize("call", _foreign_calls())
def test_every_registered_step_refuses_located_values_of_another_input(
    call: str, rgb: Image
) -> None:
    """Not a hand-kept list: a new tool taking an image and objects is covered as it registers."""
    from visprog.interpreter import Interpreter
    from visprog.models import ModelManager

    inputs = {
        "LEFT": rgb,
        "RIGHT": Image(rgb.pixels[:20, :30].copy(), "RIGHT"),
        "B": Objects(np.array([[0, 0, 4, 4]]), [1.0], ["x"], source="LEFT", root_size=(64, 48)),
        "P": Points(np.array([[2.0, 2.0]]), ["x"], source="LEFT", root_size=(64, 48)),
    }
    models = ModelManager(log=None)
    with pytest.raises(StepFailedError) as info:
        Interpreter(device="cpu", models=models).run(f"X = {call}\nR = Result(var=X)\n", inputs)
    assert isinstance(info.value.error, ToolArgumentError) and info.value.exit_code == 6
    assert "input 'LEFT'" in str(info.value.error) and "input 'RIGHT'" in str(info.value.error)
    assert models.loaded() == []  # refused before the tool ran


def test_the_generic_frame_test_covers_the_known_steps() -> None:
    names = {call.split("(")[0] for call in _foreign_calls()}
    assert {"Crop", "CropBehind", "Seg", "Select", "Classify", "Replace", "Emoji", "Tag"} <= names
    assert any(call.startswith("Seg(") and "point=P" in call for call in _foreign_calls())
