"""Rules of the eleventh round, from planner_dev8.toml's failures and probe queries of my own:
a parity counted in one image, coloured things edited, colour splashes, crops that keep a part,
and questions about one thing's name. (Compound edits are in ``test_compound.py``.)

As in ``test_round10.py``, programs are fed line by line through the per-statement grammars and
the tests check what they admit and refuse.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import choose_task
from visprog.planner.vocab import query_vocabulary

from .test_scope import admits, opens, scoped

RESULT = "FINAL_RESULT = Result(var={})"


def test_a_parity_of_one_image_counts_the_thing_and_nothing_else(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("count", "is the number of oranges even")
    # "even" is no place to count in: what is found names the oranges
    assert not admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='object')\n")
    counted = "OBJ0 = Loc(image=IMAGE, object='orange')\nANSWER0 = Count(box=OBJ0)\n"
    assert admits(tiny, sp, counted)
    # counted: its Eval is next (it pointed at 'object' before it)
    assert not opens(tiny, sp, counted, "POINTS0 = Point(")
    even = counted + 'ANSWER1 = Eval(expr="{ANSWER0} % 2 == 0")\n'
    assert admits(tiny, sp, even + RESULT.format("ANSWER1"))


def test_an_edited_thing_is_found_with_its_colour(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "colour pop the yellow flowers")
    found = "BOX0 = Loc(image=IMAGE, object='flower')\nOBJ0 = Seg(image=IMAGE, object=BOX0)\n"
    popped = "IMAGE0 = ColorPop(image=IMAGE, object=OBJ0)\n"
    # every flower popped: the colour was never said
    assert not admits(tiny, sp, found + popped + RESULT.format("IMAGE0"))
    yellow = (
        "BOX0 = Loc(image=IMAGE, object='yellow flowers')\nOBJ0 = Seg(image=IMAGE, object=BOX0)\n"
    )
    assert admits(tiny, sp, yellow + popped + RESULT.format("IMAGE0"))
    # or the yellow ones selected among the flowers found (as the bank's examples do)
    selected = (
        "BOX0 = Loc(image=IMAGE, object='flower')\n"
        "BOX1 = Select(image=IMAGE, object=BOX0, query='yellow flower')\n"
        "OBJ0 = Seg(image=IMAGE, object=BOX1)\n"
    )
    assert admits(tiny, sp, selected + popped + RESULT.format("IMAGE0"))
    assert query_vocabulary("turn the red car blue").coloured[:2] == ("red", "car")
    # the new thing of a replacement is painted, not found
    assert query_vocabulary("replace the car with a red truck").coloured == ()
    sp = scoped("edit", "replace the car with a red truck")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='car')\n")


def test_colour_splashes_and_kept_parts() -> None:
    v = query_vocabulary("color splash the red car")
    assert "ColorPop" in v.required and "Replace" not in v.required
    assert choose_task("color splash the red car") == "edit"
    # keeping one half is a crop, not a colour pop
    v = query_vocabulary("keep only the lower half of the image")
    assert v.cropping and "Crop" in v.required and "ColorPop" in v.excluded
    v = query_vocabulary("keep only the lower half in colour")
    assert "ColorPop" not in v.excluded
    for query in ("enlarge the area around the cake", "give me a close-up of the dog"):
        assert choose_task(query) == "edit"
        assert query_vocabulary(query).cropping


def test_a_question_about_one_things_name_is_asked() -> None:
    assert choose_task("what's the name of the shop across the street") == "gqa"
    assert choose_task("what are the names of these people?") == "tag"


def test_one_image_and_the_other_are_asked_apart(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "One picture shows a cat and the other shows a dog.", ("LEFT", "RIGHT"))
    # one question names one image's thing, never both ("Is a cat a dog?" of each image)
    assert not admits(tiny, sp, "ANSWER0 = VQA(image=LEFT, question='Is a cat a dog?')\n")
    assert admits(tiny, sp, "ANSWER0 = VQA(image=LEFT, question='Is there a cat?')\n")
    assert admits(tiny, sp, "ANSWER0 = VQA(image=LEFT, question='Is there a dog?')\n")


def test_a_total_compared_with_a_number_is_no_equality() -> None:
    assert query_vocabulary("Together the images show more than 6 birds.").comparisons == (">",)
    assert query_vocabulary("Altogether there are at least 3 cats.").comparisons == (">=",)
    assert query_vocabulary("There are six birds in total").comparisons == ("==",)


def test_say_if_each_is_labels_it_or_not() -> None:
    v = query_vocabulary("mark the faces and say if each person is smiling")
    assert v.categories == ("smiling", "not smiling")
    v = query_vocabulary("label the mugs and write whether each is full or empty")
    assert v.categories == ("full", "empty")


def test_the_photo_and_its_parts_are_no_things_to_edit(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "turn the photo black and white except for the flowers")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='photo')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='flowers')\n")
    sp = scoped("edit", "blow up the part with the sign")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='part')\n")
    # nor is the new thing of a replacement found ('beach beach beach background')
    sp = scoped("edit", "replace the background with a beach")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='beach background')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='background')\n")
    # "the kitchen utensils" are utensils, not a kitchen
    sp = scoped("edit", "blur the kitchen utensils")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='kitchen')\n")


def test_which_edit_the_words_ask_for() -> None:
    # the faces blurred, the dog kept sharp: no background blur
    assert "BgBlur" in query_vocabulary("blur everyone's face but keep the dog sharp").excluded
    v = query_vocabulary("sharpen the dog and blur the rest")
    assert "BgBlur" in v.required and "Blur" not in v.required
    assert "BgBlur" not in v.excluded
    assert "Blur" in query_vocabulary("obliterate the logo on the shirt").required
    assert "Replace" in query_vocabulary("darken the sky").required
    assert "Emoji" in query_vocabulary("put a star on the girl in the pink dress").required
    for query in ("obliterate the logo on the shirt", "darken the sky"):
        assert choose_task(query) == "edit"
    assert query_vocabulary("zoom into the face of the girl").cropping
    # what a person wears only says which person: no colour to edit
    assert query_vocabulary("put a star on the girl in the pink dress").coloured == ()


def test_a_labelled_kind_is_looked_up_of_the_things_labelled() -> None:
    v = query_vocabulary("draw boxes around the bottles and label them with their brand")
    assert v.lookup_text == "bottle brands"
    assert query_vocabulary("identify the dogs' breeds and tag them").lookup_text == "dog breeds"
    # people's names are looked up as before
    assert query_vocabulary("tag the people on the right with their names").lookup_text == ""


def test_a_face_picked_out_by_who_it_is_is_selected() -> None:
    for query in ("put a heart on the bride's face", "blur the groom's face"):
        assert "Select" in query_vocabulary(query).required
    # every face of a kind is every face, as the development sets' authors judge it
    assert "Select" not in query_vocabulary("blur the faces of the students").required
