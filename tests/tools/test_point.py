"""Point: Molmo's pointing output parser (pure) and the tool through a tiny Molmo 2."""

from __future__ import annotations

import numpy as np
import pytest

import visprog
from visprog.context import Context
from visprog.models import ModelManager
from visprog.tools import point as P
from visprog.values import Image, Points


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("There are none.", []),
        ('<point x="61.5" y="40.6" alt="dog">dog</point>', [(0.615, 0.406, "dog")]),
        ('<points x1="10" y1="20" x2="30.5" y2="40" alt="cats">cats</points>',
         [(0.1, 0.2, "cats"), (0.305, 0.4, "cats")]),
        ('<points coords="1 1 424 446 2 610 400" alt="dog">dog</points>',
         [(0.424, 0.446, "dog"), (0.61, 0.4, "dog")]),
        ('<points coords="1 424 446" alt="dog">', [(0.424, 0.446, "dog")]),  # no image index
        ('<point coords="1 1 500 500">', [(0.5, 0.5, "")]),
        ('<point x="61.5" y="40', []),  # cut off mid-attribute
        ('<points x1="10" y1="20" x2="30"', []),  # tag never closed
        ('<points x1="10" y1="20" x2="30">', [(0.1, 0.2, "")]),  # x2 without y2 is dropped
        ('<point x="161" y="40">', []),  # out of range
        ('<points coords="1 1 424 1446">', []),
        ('<point x="abc" y="1">', []),
        ("<points coords='1 1 x y'>", []),
        ("<<<>>> point x= y= </point> \x00 💥", []),
    ],
)  # fmt: skip
def test_parse_points(text: str, expected: list[tuple[float, float, str]]) -> None:
    got = P.parse_points(text)
    assert len(got) == len(expected)
    for (x, y, alt), (ex, ey, ealt) in zip(got, expected, strict=True):
        assert (x, y, alt) == (pytest.approx(ex), pytest.approx(ey), ealt)


def test_to_points_on_a_crop_is_in_root_pixels(rgb: Image) -> None:
    crop = rgb.crop((10, 8, 50, 40))  # 40x32
    out = P.to_points(crop, [(0.5, 0.25, "x")], "bat")
    assert out.xy.tolist() == [[30.0, 16.0]] and out.labels == ("bat",)
    assert len(P.to_points(crop, [], "bat")) == 0


def test_point_runs_tiny_molmo(molmo_dir: str, rgb: Image) -> None:
    ctx = Context(
        "cpu",
        ModelManager(log=None),
        settings={"model.point": molmo_dir, "point.max_new_tokens": 8},
    )
    out = P.point(rgb, "dog", ctx)
    assert isinstance(out, Points) and out.source == "IMAGE"
    assert ctx.models_used == [f"Molmo 2 {molmo_dir} on cpu"]
    assert any(n.startswith("Molmo answered") for n in ctx.notes)


def test_point_count_and_seg(
    molmo_dir: str, sam2_dir: str, monkeypatch: pytest.MonkeyPatch, rgb: Image
) -> None:
    # The real Molmo 2 code runs; its random answer is replaced by a known one so that the
    # points exist and their path into Count and Seg (root frame, on a crop) can be checked.
    real_ask = P.ask

    def answer(bundle: object, image: Image, prompt: str, limit: int) -> str:
        real_ask(bundle, image, prompt, limit)  # type: ignore[arg-type]
        return '<points coords="1 1 250 500 2 750 500" alt="bat">bat</points>'

    monkeypatch.setattr(P, "ask", answer)
    program = (
        "BOX0 = Loc(image=IMAGE, object='RIGHT')\n"
        "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "PTS = Point(image=IMAGE0, object='bat')\n"
        "N = Count(box=PTS)\n"
        "OBJ = Seg(image=IMAGE0, point=PTS)\n"
        "FINAL_RESULT = Result(var=OBJ)"
    )
    settings = {"model.point": molmo_dir, "model.seg": sam2_dir, "point.max_new_tokens": 4}
    trace = visprog.execute(program, rgb, device="cpu", settings=settings)
    crop = trace.steps[1].output
    pts = trace.steps[2].output
    assert trace.steps[3].output == 2
    x0, y0 = crop.offset
    expected = [[x0 + 0.25 * crop.width, y0 + 0.5 * crop.height],
                [x0 + 0.75 * crop.width, y0 + 0.5 * crop.height]]  # fmt: skip
    assert np.allclose(pts.xy, expected)
    assert trace.result.masks.shape == (2, 48, 64) and trace.result.labels == ("bat", "bat")
