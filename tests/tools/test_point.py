"""Point: Molmo's pointing output parser (pure) and the tool through a tiny Molmo 2."""

from __future__ import annotations

import numpy as np
import pytest

import visprog
from visprog.context import Context
from visprog.errors import ToolExecutionError
from visprog.interpreter import StepFailedError
from visprog.models import ModelManager
from visprog.tools import point as P
from visprog.values import Image, Points

# The documented forms. Molmo 2: the model card of allenai/Molmo2-8B (huggingface.co/allenai/
# Molmo2-8B, "Multi-Image Point QA", "Pointing Video QA", "Tracking Video QA": coords groups split
# by tab : , or ;, each an image index or timestamp then "id x y" with x, y per mille, the tag
# <points or <tracks, closed by > or />); the answers around it ("Counting the ... shows a total
# of N.", "There are none.") and the alt-before-coords order are those of the Molmo 2 training
# code's point formatter. Molmo 1: the maintainers' answer in huggingface.co/allenai/
# Molmo-7B-O-0924/discussions/1 (x="..." y="..." in percent, blanks allowed inside the quotes).
DOCUMENTED = [
    ("", []),
    ("There are none.", []),
    ('Counting the <points coords="1 1 073 160 2 173 600 3 258 725" alt="boats">the boats'
     "</points> shows a total of 3.",
     [(0.073, 0.16, "boats"), (0.173, 0.6, "boats"), (0.258, 0.725, "boats")]),
    ('There are 2 <points alt="dog" coords="1 1 424 446 2 610 400">dog</points>.',
     [(0.424, 0.446, "dog"), (0.61, 0.4, "dog")]),
    ('<points coords="1 1 500 500"/>', [(0.5, 0.5, "")]),
    ('<points coords="1 1 1000 0000">edge</points>', [(1.0, 0.0, "")]),
    # Several images: html-v2 separates them with ';', html-v1 with a tab; ids run on.
    ('<points coords="1 1 098 629 2 162 629;2 3 142 418">boats</points>',
     [(0.098, 0.629, ""), (0.162, 0.629, ""), (0.142, 0.418, "")]),
    ('<points coords="1 1 098 629\t2 2 142 418">boats</points>',
     [(0.098, 0.629, ""), (0.142, 0.418, "")]),
    ('<points coords="1 1 500 250;2 ">x</points>', [(0.5, 0.25, "")]),  # image 2: no points
    # Video: a timestamp per frame; tracking answers use <tracks.
    ('<tracks coords="0.0 1 500 500\t0.5 1 510 505">player</tracks>',
     [(0.5, 0.5, ""), (0.51, 0.505, "")]),
    ('<points coords="1 1 424 1446">far</points>', []),  # outside: dropped, as the card does
    # Molmo 1.
    ('<point x="61.5" y="40.6" alt="dog">dog</point>', [(0.615, 0.406, "dog")]),
    ('Counting the <points x1="9.1" y1="11.7" x2="17.2" y2="41.3" alt="the boats">the boats'
     "</points> shows a total of 2.", [(0.091, 0.117, "the boats"), (0.172, 0.413, "the boats")]),
    ('<point x=" 61.5" y=" 40.6" alt="dog">dog</point>', [(0.615, 0.406, "dog")]),
    ('<point x="161" y="40">far</point>', []),
    # No pointing tag at all.
    ("<<<>>> point x= y= </point> \x00 \U0001f4a5", []),
    ("A <pointer> to nowhere </points>", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), DOCUMENTED)
def test_parse_points(text: str, expected: list[tuple[float, float, str]]) -> None:
    got = P.parse_points(text)
    assert len(got) == len(expected)
    for (x, y, alt), (ex, ey, ealt) in zip(got, expected, strict=True):
        assert (x, y, alt) == (pytest.approx(ex), pytest.approx(ey), ealt)


def test_points_outside_the_image_are_counted() -> None:
    points, dropped = P.read_points('<points coords="1 1 500 500 2 1500 100 3 100 9999">x</points>')
    assert points == [(0.5, 0.5, "")] and dropped == 2


@pytest.mark.parametrize(
    ("text", "why"),
    [('<point x="61.5" y="40', "cut off"),
     ('<points x1="10" y1="20" x2="30"', "cut off"),
     ('<points coords="1 1 424 446 2 610 400" alt="dog"', "cut off"),
     ('<points x1="10" y1="20" x2="30">', "an x without its y"),
     ('<point x="abc" y="1">', "x and y must be numbers"),
     ("<points coords='1 1 x y'>", "something other than numbers"),
     ('<points coords="1 424 446">', "an image index, then id x y triples"),  # no image index
     ('<points coords="1 1 424">', "an image index, then id x y triples"),
     ('<points coords="1 1 4.2.4 446">', "an image index, then id x y triples"),
     ('<points alt="dog">dog</points>', "no coords, x or y")],
)  # fmt: skip
def test_an_unreadable_pointing_tag_is_a_tool_error(text: str, why: str) -> None:
    """Zero points would be a silently wrong count: a tag that cannot be read fails the step."""
    with pytest.raises(ToolExecutionError, match=why) as info:
        P.parse_points(text)
    assert info.value.exit_code == 7 and "Molmo's answer" in str(info.value)


def test_to_points_on_a_crop_is_in_root_pixels(rgb: Image) -> None:
    crop = rgb.crop((10, 8, 50, 40))  # 40x32
    out = P.to_points(crop, [(0.5, 0.25, "x")], "bat")
    assert out.xy.tolist() == [[30.0, 16.0]] and out.labels == ("bat",)
    assert len(P.to_points(crop, [], "bat")) == 0


def test_point_runs_tiny_molmo(molmo_dir: str, rgb: Image) -> None:
    """The real Molmo 2 code: the prompt and image reach generate; the answer is what is parsed.

    A random-weight model cannot point, so its answer holds no tag; what can fail here is the
    plumbing: the prompt, the image tokens, greedy decoding within the budget, and the note.
    """
    ctx = Context(
        "cpu",
        ModelManager(log=None),
        settings={"model.point": molmo_dir, "point.max_new_tokens": 8},
    )
    bundle, _ = ctx.load_model(P.MOLMO, record=False)
    processor, model = bundle
    seen: dict[str, object] = {}
    real_generate = model.generate

    def generate(**kwargs: object) -> object:
        seen.update(kwargs)
        seen["out"] = real_generate(**kwargs)
        return seen["out"]

    model.generate = generate
    out = P.point(rgb, "dog", ctx)
    ids = seen["input_ids"][0].tolist()  # type: ignore[index]
    # The tiny ASCII tokenizer decodes without blanks.
    assert "Pointtodog." in processor.tokenizer.decode(ids).replace(" ", "")
    assert ids.count(processor.tokenizer.convert_tokens_to_ids("<im_patch>")) > 0
    assert seen["max_new_tokens"] == 8 and seen["do_sample"] is False
    new_tokens = seen["out"][0, len(ids) :]  # type: ignore[index]
    answer = processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
    assert 0 < len(new_tokens) <= 8
    assert ctx.notes == [f"Molmo answered {answer[:200]!r}: {len(P.parse_points(answer))} points"]
    assert isinstance(out, Points) and (out.source, out.root_size) == ("IMAGE", rgb.root_size)
    assert len(out) == len(P.parse_points(answer))
    assert ctx.models_used == [f"Molmo 2 {molmo_dir} on cpu"]


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


def test_a_cut_off_answer_fails_the_step_instead_of_counting_zero(
    molmo_dir: str, monkeypatch: pytest.MonkeyPatch, rgb: Image
) -> None:
    real_ask = P.ask

    def answer(bundle: object, image: Image, prompt: str, limit: int) -> str:
        real_ask(bundle, image, prompt, limit)  # type: ignore[arg-type]
        return 'Counting the <points coords="1 1 250 500 2 75'  # the token budget ran out

    monkeypatch.setattr(P, "ask", answer)
    program = "PTS = Point(image=IMAGE, object='bat')\nN = Count(box=PTS)\nR = Result(var=N)"
    settings = {"model.point": molmo_dir, "point.max_new_tokens": 4}
    with pytest.raises(StepFailedError) as info:
        visprog.execute(program, rgb, device="cpu", settings=settings)
    assert isinstance(info.value.error, ToolExecutionError) and info.value.exit_code == 7
    assert "cut off" in str(info.value.error) and info.value.trace.steps[-1].line == 1
