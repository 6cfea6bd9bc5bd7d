"""Rules from the fourth development set: a program's answer rests on what the query names.

Each test feeds programs line by line through the per-statement grammars (see
``test_scope.py``) and checks what they admit and refuse; the vocabulary tests check the words
the grammars are built from.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import choose_task
from visprog.planner.vocab import (
    focus_words,
    lookup_phrase,
    query_vocabulary,
    replacement_words,
    threshold_numbers,
)

from .test_scope import admits, scoped

RESULT = "FINAL_RESULT = Result(var={})"
CAT_DOG_COUNTS = (
    "BOX0 = Loc(image=IMAGE, object='cat')\nANSWER0 = Count(box=BOX0)\n"
    "BOX1 = Loc(image=IMAGE, object='dog')\nANSWER1 = Count(box=BOX1)\n"
)


def test_a_question_is_answered_from_every_thing_it_names(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "do you see any dogs or cats in this photo")
    dogs = "BOX0 = Loc(image=IMAGE, object='dog')\nANSWER0 = Count(box=BOX0)\n"
    yes = "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 0 else 'no'\")\n"
    # a count of dogs does not answer for the cats
    assert not admits(tiny, sp, dogs + yes + RESULT.format("ANSWER1"))
    # while the Result waits, the next step names the thing not named yet
    assert not admits(tiny, sp, dogs + yes)
    assert admits(tiny, sp, dogs + "BOX1 = Loc(image=IMAGE, object='cat')\n")
    asked = "ANSWER0 = VQA(image=IMAGE, question='Do you see any dogs or cats?')\n"
    assert admits(tiny, sp, asked + RESULT.format("ANSWER0"))


def test_an_edit_is_not_held_to_every_thing_it_names(tiny: TransformersBackend) -> None:
    # the table only places the faces; the result is an image, not a value
    sp = scoped("edit", "Blur the faces of the people at the table")
    program = "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Blur(image=IMAGE, object=OBJ0)\n"
    assert admits(tiny, sp, program + RESULT.format("IMAGE0"))


def test_nothing_is_looked_for_twice_in_one_image(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Outline each of the cookies on the tray.")
    tray = "BOX0 = Loc(image=IMAGE, object='tray')\n"
    assert not admits(tiny, sp, tray + "BOX1 = Loc(image=IMAGE, object='tray')\n")
    assert not admits(tiny, sp, tray + "BOX1 = Loc(image=IMAGE, object='trays')\n")
    assert admits(tiny, sp, tray + "BOX1 = Loc(image=IMAGE, object='cookies')\n")
    # nor the thing an image was cropped to, inside its crop
    sp = scoped("gqa", "Is anybody sitting on the bench next to the tree?")
    crop = "BOX0 = Loc(image=IMAGE, object='tree')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, crop + "BOX1 = Loc(image=IMAGE0, object='tree')\n")
    assert admits(tiny, sp, crop + "BOX1 = Loc(image=IMAGE0, object='bench')\n")


def test_a_choice_of_sides_is_asked_not_cropped(tiny: TransformersBackend) -> None:
    query = "is the cup on the left or right side of the keyboard"
    sp = scoped("gqa", query)
    assert not admits(
        tiny,
        sp,
        "BOX0 = Loc(image=IMAGE, object='keyboard')\nIMAGE0 = CropRightOf(image=IMAGE, box=BOX0)\n",
    )
    ask = "ANSWER0 = VQA(image=IMAGE, question='Is the cup on the left or right side of the keyboard?')\n"
    assert admits(tiny, sp, ask + RESULT.format("ANSWER0"))
    assert query_vocabulary("Is the dog on the left or right side?").relations == ()
    assert query_vocabulary("Is the left or right image showing a dog?").choice == ""


def test_a_text_answer_is_compared_as_text(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What is the color of the cup, red or blue?")
    ask = "ANSWER0 = VQA(image=IMAGE, question='What is the color of the cup red or blue?')\n"
    # one answer of one image is the answer: no Eval that only rephrases it
    assert not admits(
        tiny, sp, ask + "ANSWER1 = Eval(expr=\"'red' if {ANSWER0} > 0 else 'blue'\")\n"
    )
    assert admits(tiny, sp, ask + RESULT.format("ANSWER0"))
    two = scoped("nlvr", "Both images contain a person wearing a hat", ("LEFT", "RIGHT"))
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a person wearing a hat?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a person wearing a hat?')\n"
    )
    joined = 'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\n'
    assert admits(tiny, two, asked + joined + RESULT.format("ANSWER2"))
    # two answers are compared only when the query compares
    assert not admits(tiny, two, asked + joined.replace(" and ", " == "))
    same = scoped("nlvr", "The two images show the same animal", ("LEFT", "RIGHT"))
    animal = asked.replace("Is there a person wearing a hat?", "What animal is this?")
    assert admits(tiny, same, animal + joined.replace(" and ", " == ") + RESULT.format("ANSWER2"))


def test_a_stated_number_of_things_is_compared_with(tiny: TransformersBackend) -> None:
    query = "The right image has exactly three more birds than the left image."
    sp = scoped("nlvr", query, ("LEFT", "RIGHT"))
    counts = (
        "BOX0 = Loc(image=LEFT, object='bird')\nBOX1 = Loc(image=RIGHT, object='bird')\n"
        "ANSWER0 = Count(box=BOX0)\nANSWER1 = Count(box=BOX1)\n"
    )
    assert not admits(
        tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} - {ANSWER1} > {ANSWER0}")\n'
    )
    assert not admits(
        tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER1} - {ANSWER0} == {ANSWER0} - 3")\n'
    )
    assert admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER1} - {ANSWER0} == 3")\n')
    assert threshold_numbers(query) == ("3",)
    assert threshold_numbers("In the two images there are more cats than dogs") == ()
    assert query_vocabulary(query).comparisons == ("==",)  # "three more": a difference
    total = scoped("nlvr", "there are seven birds total in the two images", ("LEFT", "RIGHT"))
    assert not admits(tiny, total, counts + 'ANSWER2 = Eval(expr="{ANSWER0} == 7")\n')
    assert admits(tiny, total, counts + 'ANSWER2 = Eval(expr="{ANSWER0} + {ANSWER1} == 7")\n')


def test_eval_strings_are_words(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more cats than dogs?")
    counts = CAT_DOG_COUNTS
    good = "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > {ANSWER1} else 'no'\")\n"
    assert admits(tiny, sp, counts + good)
    assert not admits(tiny, sp, counts + good.replace("'no'", "' if {ANSWER1} == '"))


def test_a_needed_step_is_not_computed_and_ignored(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Outline each of the cookies on the tray.")
    found = "BOX0 = Loc(image=IMAGE, object='cookies')\nBOX1 = Seg(image=IMAGE, object=BOX0)\n"
    tagged = "IMAGE0 = Tag(image=IMAGE, object=BOX0)\n"
    assert not admits(tiny, sp, found + tagged + RESULT.format("IMAGE0"))
    assert admits(tiny, sp, found + RESULT.format("BOX1"))


def test_things_in_a_half_are_found_in_its_crop_and_edited_in_the_photo(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("edit", "blur faces on the right side only")
    half = "BOX0 = Loc(image=IMAGE, object='RIGHT')\n"
    assert not admits(tiny, sp, half + "OBJ0 = FaceDet(image=IMAGE)\n")
    crop = half + "IMAGE0 = Crop(image=IMAGE, box=BOX0)\nOBJ0 = FaceDet(image=IMAGE0)\n"
    assert admits(
        tiny, sp, crop + "IMAGE1 = Blur(image=IMAGE, object=OBJ0)\n" + RESULT.format("IMAGE1")
    )
    assert not admits(tiny, sp, crop + "IMAGE1 = Blur(image=IMAGE0, object=OBJ0)\n")
    # the half as the region edited is not cropped to
    region = scoped("edit", "blur the right half")
    assert admits(
        tiny, region, half + "IMAGE0 = Blur(image=IMAGE, object=BOX0)\n" + RESULT.format("IMAGE0")
    )


def test_a_crop_is_an_edit_when_asked_for(tiny: TransformersBackend) -> None:
    assert choose_task("crop the photo to the face") == "edit"
    sp = scoped("edit", "crop the photo to the face")
    crop = "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
    assert admits(tiny, sp, crop + RESULT.format("IMAGE0"))
    # an edit that asks for no crop returns the whole photo
    blur = scoped("edit", "Blur the dog")
    loc = "BOX0 = Loc(image=IMAGE, object='dog')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, blur, loc + RESULT.format("IMAGE0"))


def test_a_question_keeps_its_content_words(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What animal is to the left of the fire hydrant?")
    crop = (
        "BOX0 = Loc(image=IMAGE, object='fire hydrant')\n"
        "IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)\n"
    )
    ask = "ANSWER0 = VQA(image=IMAGE0, question='{}')\n"
    assert not admits(tiny, sp, crop + ask.format("What is to the left of the fire hydrant?"))
    assert admits(tiny, sp, crop + ask.format("What animal is this?") + RESULT.format("ANSWER0"))
    assert focus_words("whats the building behind the statue made of") == (
        ("building", "buildings"),
        ("statue", "statues"),
        ("made", "mades"),
    )


def test_request_words() -> None:
    assert lookup_phrase("tag the avengers actors in this pic")[0] == "avengers actors"
    assert lookup_phrase("Label each dog with its breed") == ()
    assert "List" in query_vocabulary("Tag the planets").required
    assert "sky" not in replacement_words("replace the sky with a sunset and blur the faces")
    assert "blur" not in replacement_words("replace the sky with a sunset and blur the faces")
    assert "FaceDet" in query_vocabulary("remove the person sitting on the bench").excluded
    assert "FaceDet" not in query_vocabulary("Replace every face with a smiley").excluded
    assert choose_task("which country's flag is that?") == "gqa"  # "country" is no count
    assert choose_task("Count the dogs") == "count"
    assert choose_task("put boxes on every person") == "tag"


def test_a_statement_about_either_image_keeps_its_words(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "At least one of the images has a red car in it", ("LEFT", "RIGHT"))
    ask = "ANSWER0 = VQA(image=LEFT, question='{}')\n"
    assert not admits(tiny, sp, ask.format("Is a car in the image?"))
    assert admits(tiny, sp, ask.format("Is there a red car?"))
    # a statement that splits its words between the images keeps the usual question
    split = scoped("nlvr", "The left image shows a dog and the right one a cat", ("LEFT", "RIGHT"))
    assert admits(tiny, split, ask.format("Is there a dog?"))


def test_a_crop_asked_for_comes_last(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "crop the photo to the face")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='person')\n")
    faces = "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
    assert not admits(tiny, sp, faces + "OBJ1 = FaceDet(image=IMAGE0)\n" + RESULT.format("OBJ1"))


def test_past_the_relations_object_comes_its_crop(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more forks than knives on the table?")
    table = "OBJ0 = Loc(image=IMAGE, object='table')\n"
    assert not admits(tiny, sp, table + "OBJ1 = Seg(image=IMAGE, object=OBJ0)\n")
    assert admits(tiny, sp, table + "IMAGE0 = Crop(image=IMAGE, box=OBJ0)\n")
    # past the crop, what the question asks about is in it, kept with its own words
    sp = scoped("gqa", "whats the building behind the statue made of")
    crop = "BOX0 = Loc(image=IMAGE, object='statue')\nIMAGE0 = CropBehind(image=IMAGE, box=BOX0)\n"
    ask = "ANSWER0 = VQA(image=IMAGE0, question='{}')\n"
    assert not admits(tiny, sp, crop + ask.format("What is the building behind the statue?"))
    assert admits(tiny, sp, crop + ask.format("What is the building made of?"))


def test_an_eval_line_is_bounded(tiny: TransformersBackend) -> None:
    # nesting and chains ran to the token limit: a line that could not close
    sp = scoped("count", "Are there more cats than dogs in total?")
    counts = CAT_DOG_COUNTS
    line = 'ANSWER2 = Eval(expr="{}")\n'
    assert admits(tiny, sp, counts + line.format("{ANSWER0} > {ANSWER1} + 1"))
    assert not admits(tiny, sp, counts + line.format("{ANSWER0} > ({ANSWER1} + 1)"))
    assert not admits(tiny, sp, counts + line.format("{ANSWER0} > {ANSWER1} + 1 + 1 + 1"))
    assert not admits(tiny, sp, counts + line.format("not not {ANSWER0} > {ANSWER1}"))


def test_a_statement_about_one_image_is_about_that_image(tiny: TransformersBackend) -> None:
    query = "There are at least three cups in the right image."
    assert query_vocabulary(query).side == "RIGHT"
    sp = scoped("nlvr", query, ("LEFT", "RIGHT"))
    assert not admits(tiny, sp, "BOX0 = Loc(image=LEFT, object='cup')\n")
    counted = "BOX0 = Loc(image=RIGHT, object='cup')\nANSWER0 = Count(box=BOX0)\n"
    assert admits(
        tiny, sp, counted + 'ANSWER1 = Eval(expr="{ANSWER0} >= 3")\n' + RESULT.format("ANSWER1")
    )
    both = "The dog in the left image wears a collar, and the dog on the right does not."
    assert query_vocabulary(both).side == ""


def test_an_edit_names_what_it_paints(tiny: TransformersBackend) -> None:
    from visprog.planner.vocab import replacement_phrase

    removal = replacement_words("Remove the cup from the table")
    assert "cup" not in removal and "table" in removal and "empty" in removal
    assert replacement_phrase("Turn the red car blue") == "blue car"
    assert replacement_phrase("Make the dress purple") == "purple dress"
    # her face, not every face; an edit crops only when asked or to a half
    assert "Select" in query_vocabulary("Put a heart emoji on the face of the girl").required
    assert "Select" not in query_vocabulary("Blur every face").required
    sp = scoped("edit", "Pixelate the faces of the people in the background")
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    assert not admits(tiny, sp, faces + "IMAGE0 = Crop(image=IMAGE, box=OBJ0)\n")


def test_a_choice_of_sides_from_hostile_text_stays_inside_its_quotes(
    tiny: TransformersBackend,
) -> None:
    for query in (
        "Is the cup left or right of Bob's mug?",
        'Is the cup left or right of the "mug\\"?',
        "is it on the left or right of the {ANSWER0}') box",
    ):
        choice = query_vocabulary(query).choice
        assert choice.startswith("left or right of")
        assert not set(choice) & set("'\"\\{}()"), choice
    sp = scoped("gqa", "Is the cup left or right of Bob's mug?")
    ask = "ANSWER0 = VQA(image=IMAGE, question='Is the cup left or right of Bob mug?')\n"
    assert admits(tiny, sp, ask + RESULT.format("ANSWER0"))
