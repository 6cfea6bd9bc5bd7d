"""Rules from probe queries of the ninth round: edits of the background, colour, screens and
gifts; tagging's answer, labels and names; things found and never used.

As in ``test_round8.py``, programs are fed line by line through the per-statement grammars and
the tests check what they admit and refuse.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import choose_task
from visprog.planner.vocab import modifier_words, plural, query_vocabulary, replacement_phrase

from .test_scope import admits, scoped

RESULT = "FINAL_RESULT = Result(var={})"


def test_edits_named_by_new_words_are_required() -> None:
    for query in (
        "Make the photo greyscale except the umbrella",
        "Remove the colour from everything but the balloon",
    ):
        v = query_vocabulary(query)
        assert "ColorPop" in v.required, query
        assert "Replace" not in v.required, query  # "remove" is no inpainting here
    assert "Replace" in query_vocabulary("Remove the car from the street").required
    v = query_vocabulary("Blur the people in the background")
    assert "Blur" in v.required and "BgBlur" not in v.required and "BgBlur" in v.excluded
    v = query_vocabulary("Blur the backdrop but keep the cat sharp")
    assert "BgBlur" in v.required and "Blur" not in v.required
    v = query_vocabulary("Make the laptop screen show a beach")
    assert "Replace" in v.required and "Blur" not in v.required
    assert "Replace" in query_vocabulary("Give the woman a hat").required
    assert choose_task("Give the woman a hat") == "edit"
    assert choose_task("Make the woman's face anonymous") == "edit"
    # a name put on things is a label, not an emoji
    assert choose_task("Put a name on each of the Simpsons characters") == "tag"


def test_the_new_thing_is_said_whole() -> None:
    assert replacement_phrase("Give the woman a hat") == "woman with a hat"
    # the recolouring's own clause, and the thing without its owner
    assert replacement_phrase("Turn the man's shirt red and blur the background") == "red shirt"
    assert replacement_phrase("Change the color of the woman's dress to green") == "green dress"
    assert replacement_phrase("Turn the red car blue") == "blue car"


def test_labels_after_whether_and_plural_people() -> None:
    v = query_vocabulary(
        "Draw boxes around the people and say whether each is a man, woman or child"
    )
    assert list(v.categories) == ["man", "woman", "child"]
    assert plural("person") == "people" and plural("child") == "children"
    assert plural("cat") == "cats"
    # a word before a head of the phrase modifies it: no name ends with it
    assert "smiling" in modifier_words("Tag the smiling people")
    assert "kitchen" in modifier_words("Label the kitchen appliances")


def test_the_background_is_blurred_around_the_things_named(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Blur the background behind the dog")
    dog = "BOX0 = Loc(image=IMAGE, object='dog')\n"
    assert admits(tiny, sp, dog)
    # the background is what is blurred, not what is kept sharp; nor is a place word a thing
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='background')\n")
    assert not admits(tiny, sp, dog + "OBJ0 = Loc(image=IMAGE, object='behind')\n")
    # the one thing it names is found once, then used; no half is named by this query
    assert not admits(tiny, sp, dog + "OBJ0 = Loc(image=IMAGE, object='BOTTOM')\n")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='BOTTOM')\n")
    good = dog + "OBJ0 = Seg(image=IMAGE, object=BOX0)\nIMAGE0 = BgBlur(image=IMAGE, object=OBJ0)\n"
    assert admits(tiny, sp, good + RESULT.format("IMAGE0"))
    # the edit's verb names nothing
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='blur')\n")


def test_an_edit_is_made_once(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Blur the bottom half of the picture")
    half = "OBJ0 = Loc(image=IMAGE, object='BOTTOM')\nIMAGE0 = Blur(image=IMAGE, object=OBJ0)\n"
    assert admits(tiny, sp, half)
    # the blurred half blurred again, or colour-popped after the blur asked for
    assert not admits(tiny, sp, half + "IMAGE1 = Blur(image=IMAGE0, object=OBJ0)\n")
    assert not admits(tiny, sp, half + "IMAGE1 = ColorPop(image=IMAGE0, object=OBJ0)\n")
    assert admits(tiny, sp, half + RESULT.format("IMAGE0"))


def test_a_face_is_selected_once(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Make the woman's face anonymous")
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    picked = faces + "OBJ1 = Select(image=IMAGE, object=OBJ0, query='woman')\n"
    assert admits(tiny, sp, picked)
    # again among the faces, or among its own selection
    assert not admits(tiny, sp, picked + "OBJ2 = Select(image=IMAGE, object=OBJ0, query='woman')\n")
    assert not admits(tiny, sp, picked + "OBJ2 = Select(image=IMAGE, object=OBJ1, query='woman')\n")
    # the one thing named waits unused: nothing more is located, a Seg outlines what was found
    assert not admits(tiny, sp, faces + "BOX0 = Loc(image=IMAGE, object='woman')\n")
    assert not admits(tiny, sp, faces + "OBJ1 = Seg(image=IMAGE, query='woman')\n")
    good = picked + "IMAGE0 = Blur(image=IMAGE, object=OBJ1)\n"
    assert admits(tiny, sp, good + RESULT.format("IMAGE0"))


def test_a_tagging_answers_with_its_drawing(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Tag the people on the left")
    half = "OBJ0 = Loc(image=IMAGE, object='LEFT')\nIMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
    assert admits(tiny, sp, half)
    # the half is no thing to tag, and the crop no answer
    assert not admits(tiny, sp, half + "IMAGE1 = Tag(image=IMAGE, object=OBJ0)\n")
    assert not admits(tiny, sp, half + RESULT.format("IMAGE0"))
    people = half + "OBJ1 = Loc(image=IMAGE0, object='people')\n"
    assert admits(
        tiny, sp, people + "IMAGE1 = Tag(image=IMAGE, object=OBJ1)\n" + RESULT.format("IMAGE1")
    )
    # the request's verb is no thing
    assert not admits(tiny, sp, half + "OBJ1 = Loc(image=IMAGE0, object='Tag')\n")


def test_labels_given_are_drawn(tiny: TransformersBackend) -> None:
    query = "Draw boxes around the people and say whether each is a man, woman or child"
    sp = scoped("tag", query)
    people = "OBJ0 = Loc(image=IMAGE, object='people')\n"
    assert admits(tiny, sp, people)
    # the people are labelled before they are drawn, and drawn labelled
    assert not admits(tiny, sp, people + "IMAGE0 = Tag(image=IMAGE, object=OBJ0)\n")
    labelled = (
        people + "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['man', 'woman', 'child'])\n"
    )
    assert admits(
        tiny, sp, labelled + "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\n" + RESULT.format("IMAGE0")
    )
    # one thing named, found once
    assert not admits(tiny, sp, people + "OBJ1 = Loc(image=IMAGE, object='the or the around')\n")


def test_looked_up_labels_need_no_selection(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Which Marvel heroes are in this picture? Tag them")
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    assert admits(tiny, sp, faces)
    # 'Marvel' selected among the faces was never used
    assert not admits(tiny, sp, faces + "OBJ1 = Select(image=IMAGE, object=OBJ0, query='Marvel')\n")
    listed = faces + "LIST0 = List(query='Marvel heroes', max=10)\n"
    assert admits(tiny, sp, listed)


def test_a_label_word_the_query_says_elsewhere_names_the_thing(tiny: TransformersBackend) -> None:
    query = "put boxes around the signs and label them stop sign, yield sign or speed limit"
    assert query_vocabulary(query).label_only >= {"stop", "yield", "speed", "limit"}
    assert "sign" not in query_vocabulary(query).label_only  # the signs are boxed
    assert "dog" not in query_vocabulary("Label the dogs as puppy or adult dog").label_only
    sp = scoped("tag", query)
    # every name was a label's word, so nothing could be found: it named the input
    assert admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='sign')\n")
    assert not admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='stop')\n")


def test_a_choice_of_colours_is_asked(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "is the cat on the chair black or white?")
    found = (
        "BOX0 = Loc(image=IMAGE, object='chair')\n"
        "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "BOX1 = Loc(image=IMAGE0, object='cat')\n"
    )
    # a count cannot tell a colour ("'black' if {ANSWER0} > 0 else 'white'")
    assert not admits(tiny, sp, found + "ANSWER0 = Count(box=BOX1)\n")
    asked = found + "ANSWER0 = VQA(image=IMAGE0, question='Is the cat black or white?')\n"
    assert admits(tiny, sp, asked + RESULT.format("ANSWER0"))


def test_one_image_and_the_other_asks_each_image_both(tiny: TransformersBackend) -> None:
    query = "One image shows a bus and the other shows a train"
    v = query_vocabulary(query)
    assert v.one_other and v.other_nouns == ("train",)
    assert not query_vocabulary("One image has a dog and the other does not").one_other
    sp = scoped("nlvr", query, ("LEFT", "RIGHT"))
    two = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a bus?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a train?')\n"
    )
    # "{A} or {B}" (or "and") said which image shows which
    assert not admits(tiny, sp, two + 'ANSWER2 = Eval(expr="{ANSWER0} or {ANSWER1}")\n')
    assert not admits(tiny, sp, two + 'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\n')
    # each image is asked what the other was, word for word, and nothing else
    assert not admits(tiny, sp, two + "ANSWER2 = VQA(image=LEFT, question='Is there a car?')\n")
    four = (
        two
        + "ANSWER2 = VQA(image=LEFT, question='Is there a train?')\n"
        + "ANSWER3 = VQA(image=RIGHT, question='Is there a bus?')\n"
    )
    assert admits(tiny, sp, four)
    either = 'ANSWER4 = Eval(expr="{ANSWER0} and {ANSWER1} or {ANSWER2} and {ANSWER3}")\n'
    assert admits(tiny, sp, four + either + RESULT.format("ANSWER4"))
    # the second question asks about the other clause's thing, not the first's again
    one = "ANSWER0 = VQA(image=LEFT, question='Is there a bus?')\n"
    assert not admits(tiny, sp, one + "ANSWER1 = VQA(image=RIGHT, question='Is a bus?')\n")
