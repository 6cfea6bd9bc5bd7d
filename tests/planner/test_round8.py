"""Rules from probe queries of the eighth round: denials, "X or Y" questions, side choices.

As in ``test_round7.py``, programs are fed line by line through the per-statement grammars and
the tests check what they admit and refuse.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import choose_task
from visprog.planner.vocab import half_named, query_vocabulary

from .test_scope import admits, opens, scoped

RESULT = "FINAL_RESULT = Result(var={})"
TWO = ("LEFT", "RIGHT")
ASKED = (
    "ANSWER0 = VQA(image=LEFT, question='Is there a dog?')\n"
    "ANSWER1 = VQA(image=RIGHT, question='Is there a dog?')\n"
)


def test_a_denial_of_an_image_negates_its_answer(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "There is a dog in the left image but not in the right image.", TWO)
    # "{A} and {B}" said the dog is in both
    assert not admits(tiny, sp, ASKED + 'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\n')
    good = ASKED + 'ANSWER2 = Eval(expr="{ANSWER0} and not {ANSWER1}")\n'
    assert admits(tiny, sp, good + RESULT.format("ANSWER2"))
    sp = scoped("nlvr", "Neither image contains a dog.", TWO)
    assert admits(tiny, sp, ASKED + 'ANSWER2 = Eval(expr="not {ANSWER0} and not {ANSWER1}")\n')
    # the question asks, the Eval denies ("Is there an animal that is not a dog?")
    bad = "ANSWER0 = VQA(image=LEFT, question='Is there an animal that is not a dog?')\n"
    assert not admits(tiny, sp, bad)


def test_a_described_thing_is_no_denial_of_the_image(tiny: TransformersBackend) -> None:
    assert not query_vocabulary("Both images show a dog without a collar.").negated
    assert query_vocabulary("The right image does not show any birds.").negated
    sp = scoped("nlvr", "Both images show a dog without a collar.", TWO)
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a dog without a collar?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a dog without a collar?')\n"
    )
    good = asked + 'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\n'
    assert admits(tiny, sp, good + RESULT.format("ANSWER2"))


def test_a_denial_of_one_image_is_its_answer_negated(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "The right image does not show any birds.", TWO)
    asked = "ANSWER0 = VQA(image=RIGHT, question='Is there a bird?')\n"
    # its answer alone said the birds are there; nor is the question asked twice
    assert not admits(tiny, sp, asked + RESULT.format("ANSWER0"))
    assert not admits(tiny, sp, asked + asked.replace("ANSWER0", "ANSWER1"))
    good = asked + 'ANSWER1 = Eval(expr="not {ANSWER0}")\n'
    assert admits(tiny, sp, good + RESULT.format("ANSWER1"))


def test_either_of_two_things_counts_each(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Is there a dog or a cat in the picture?")
    # it cropped to the dog and counted cats in it
    dog = "BOX0 = Loc(image=IMAGE, object='dog')\n"
    assert not opens(tiny, sp, dog, "IMAGE0 = Crop(")
    assert opens(tiny, sp, dog, "ANSWER0 = Count(")
    counted = (
        "BOX0 = Loc(image=IMAGE, object='dog')\n"
        "ANSWER0 = Count(box=BOX0)\n"
        "BOX1 = Loc(image=IMAGE, object='cat')\n"
        "ANSWER1 = Count(box=BOX1)\n"
    )
    one = "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > 0 else 'no'\")\n"
    assert not admits(tiny, sp, counted + one)
    both = "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > 0 or {ANSWER1} > 0 else 'no'\")\n"
    assert admits(tiny, sp, counted + both + RESULT.format("ANSWER2"))


def test_a_side_choice_is_answered_by_its_question(tiny: TransformersBackend) -> None:
    query = "Is the mug on the left or right of the keyboard?"
    sp = scoped("gqa", query)
    # no half is located, and no side is a thing
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='LEFT')\n")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='left')\n")
    asked = f"ANSWER0 = VQA(image=IMAGE, question='{query}')\n"
    assert admits(tiny, sp, asked + RESULT.format("ANSWER0"))
    # the answer is the question's: no Eval after it ("'left' if {ANSWER0} == 'yes'")
    assert not opens(tiny, sp, asked, "ANSWER1 = Eval(")
    assert opens(tiny, sp, "", "ANSWER0 = VQA(")
    assert half_named("Is the cat on the left or the right side of the image?") == ""
    assert half_named("How many cats are on the left side of the image?") == "LEFT"


def test_questions_are_not_edits() -> None:
    assert choose_task("Is the sky blue or gray?") == "gqa"
    assert choose_task("Can you make the photo gray?") == "edit"
    assert choose_task("Put sunglasses on the dog") == "edit"
    assert choose_task("Put a box around each car") == "tag"
    # a dot on each face points at them (the closest example was an Emoji edit)
    assert choose_task("Put a dot on each person's face.") == "count"


def test_boxes_are_tagged_once_on_the_image_they_were_found_in(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("count", "Put a dot on each person's face.")
    found = "BOX0 = FaceDet(image=IMAGE)\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    # the photo's faces drawn on a crop of it are in the wrong place
    assert not admits(tiny, sp, found + "IMAGE1 = Tag(image=IMAGE0, object=BOX0)\n")
    tagged = found + "IMAGE1 = Tag(image=IMAGE, object=BOX0)\n"
    assert admits(tiny, sp, tagged + RESULT.format("IMAGE1"))
    # the same boxes again, on the drawing of them (ten times over)
    assert not admits(tiny, sp, tagged + "IMAGE2 = Tag(image=IMAGE1, object=BOX0)\n")
