"""Rules of the thirteenth round, from planner_dev10.toml's failures and probe queries of my own:
a count on a place is found and counted in its crop, arithmetic on one count, a thing that is
not where a question says, the other image's elided denial, and people known by name.

As in ``test_round12.py``, programs are fed line by line through the per-statement grammars and
the tests check what they admit and refuse.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.vocab import (
    asked_whole,
    comparison_ops,
    count_worked,
    query_vocabulary,
    side_only,
)

from .test_scope import admits, opens, scoped

RESULT = "FINAL_RESULT = Result(var={})"
PAIR = ("LEFT", "RIGHT")


def test_a_count_on_a_place_finds_and_counts_the_thing_in_its_crop(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("count", "Are there fewer than 5 people on the beach?")
    placed = "OBJ0 = Loc(image=IMAGE, object='beach')\n"
    # the place is found: its crop next (it outlined the room and counted the outline)
    assert not opens(tiny, sp, placed, "OBJ1 = Seg(")
    assert not opens(tiny, sp, placed, "OBJ1 = Loc(image=IMAGE,")
    assert opens(tiny, sp, placed, "IMAGE0 = Crop(image=IMAGE, box=OBJ0)")
    cropped = placed + "IMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
    # the thing is named by the query's words for it, not its numbers or the place
    assert not admits(tiny, sp, cropped + "OBJ1 = Loc(image=IMAGE0, object='beach 5 people')\n")
    assert not admits(tiny, sp, cropped + "OBJ1 = Loc(image=IMAGE0, object='fewer people')\n")
    found = cropped + "OBJ1 = Loc(image=IMAGE0, object='person')\n"
    assert admits(tiny, sp, found)
    # found in the crop: counted next (it located 'animal', 'object' and 'thing')
    assert not opens(tiny, sp, found, "OBJ2 = Loc(")
    assert opens(tiny, sp, found, "ANSWER0 = Count(box=OBJ1)")
    program = (
        found
        + "ANSWER0 = Count(box=OBJ1)\n"
        + "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} < 5 else 'no'\")\n"
        + RESULT.format("ANSWER1")
    )
    assert admits(tiny, sp, program)


def test_what_a_question_does_to_one_count_is_its_eval(tiny: TransformersBackend) -> None:
    assert count_worked("count the faces, then double it") == " * 2"
    assert count_worked("Count the cars and multiply by three") == " * 3"
    assert count_worked("How many faces are there, plus two?") == " + 2"
    assert count_worked("half the number of people") == " / 2"
    # a comparison of counts, or a kind of thing, is no arithmetic on one count
    assert count_worked("Are there twice as many cats as dogs?") == ""
    assert count_worked("How many double-decker buses are there?") == ""
    sp = scoped("count", "count the faces, then double it")
    counted = "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\n"
    # it stopped at the count
    assert not admits(tiny, sp, counted + RESULT.format("ANSWER0"))
    assert not admits(tiny, sp, counted + 'ANSWER1 = Eval(expr="{ANSWER0} + 2")\n')
    doubled = counted + 'ANSWER1 = Eval(expr="{ANSWER0} * 2")\n'
    assert admits(tiny, sp, doubled + RESULT.format("ANSWER1"))


def test_a_thing_not_where_the_question_says_is_asked_as_written(
    tiny: TransformersBackend,
) -> None:
    query = "Is there a dog that isn't in its bed?"
    assert asked_whole(query) == "Is there a dog that is not in its bed?"
    assert asked_whole("Is there a cat on the sofa?") == ""
    vocab = query_vocabulary(query)
    assert vocab.relations == () and "VQA" in vocab.required and "Count" in vocab.excluded
    sp = scoped("gqa", query)
    # it counted the beds in the dog's crop
    assert not opens(tiny, sp, "", "BOX0 = Loc(")
    asked = "ANSWER0 = VQA(image=IMAGE, question='Is there a dog that is not in its bed?')\n"
    assert admits(tiny, sp, asked + RESULT.format("ANSWER0"))
    lost = "ANSWER0 = VQA(image=IMAGE, question='Is there a dog in its bed?')\n"
    assert not admits(tiny, sp, lost)


def test_people_and_figures_known_by_name_are_looked_up() -> None:
    for query in ("tag the marvel superheroes", "Label each pokemon", "Tag the Greek gods"):
        assert query_vocabulary(query).knowledge, query
    # with the words before the kind (it looked up 'marvels superheroes of the marvel ...')
    assert query_vocabulary("tag the marvel superheroes").lookup_text == "marvel superheroes"
    assert query_vocabulary("Tag the Star Wars characters").lookup_text == "Star Wars characters"
    # but not without a name the query says elsewhere
    query = "identify the football players by name and tag them, its the Argentina national team"
    assert query_vocabulary(query).lookup_text == ""


def test_the_other_image_denying_what_one_shows_is_exclusive(tiny: TransformersBackend) -> None:
    # "One image has a bus and the other does not" was "{A} and {B} == 'yes'"
    assert query_vocabulary("One image has a bus and the other does not").logic == ("xor",)
    assert query_vocabulary("one picture shows a dog, the other one doesn't.").logic == ("xor",)
    # a denial of a thing of its own keeps its operators
    assert "and" in query_vocabulary("One image shows a bus and the other has no cars").logic
    sp = scoped("nlvr", "One image has a bus and the other does not", PAIR)
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a bus?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a bus?')\n"
    )
    assert not admits(
        tiny, sp, asked + "ANSWER2 = Eval(expr=\"{ANSWER0} and {ANSWER1} == 'yes'\")\n"
    )
    assert admits(tiny, sp, asked + 'ANSWER2 = Eval(expr="{ANSWER0} xor {ANSWER1}")\n')


def test_a_selection_among_things_found_by_name_says_which_one(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Color pop the girl in the yellow dress")
    found = "BOX0 = Loc(image=IMAGE, object='girl')\n"
    # 'girl' among the girls picks any of them
    assert not admits(tiny, sp, found + "BOX1 = Select(image=IMAGE, object=BOX0, query='girl')\n")
    picked = "BOX1 = Select(image=IMAGE, object=BOX0, query='girl in yellow dress')\n"
    assert admits(tiny, sp, found + picked)
    sp = scoped("edit", "Remove the white cup")
    found = "BOX0 = Loc(image=IMAGE, object='cup')\n"
    assert admits(tiny, sp, found + "BOX1 = Select(image=IMAGE, object=BOX0, query='white cup')\n")
    # the plural the vocabulary adds is no word of the query's
    assert not admits(
        tiny, sp, found + "BOX1 = Select(image=IMAGE, object=BOX0, query='whites cup')\n"
    )
    # nor is a part selected among its owners ("the car's license plate" blurred a car)
    sp = scoped("edit", "Blur the car's license plate")
    assert not opens(tiny, sp, "BOX0 = Loc(image=IMAGE, object='car')\n", "BOX1 = Select(")


def test_what_an_edit_finds_is_named_by_the_query(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Blur the background behind the bride")
    # it kept every 'person' sharp
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='person')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='bride')\n")
    # of two things found, the edit takes the one the query names (as written by a model
    # whose grammar let it find both)
    two = "BOX0 = Loc(image=IMAGE, object='bride')\nBOX1 = Loc(image=IMAGE, object='person')\n"
    assert not opens(tiny, sp, two, "IMAGE0 = BgBlur(image=IMAGE, object=BOX1)")
    assert opens(tiny, sp, two, "IMAGE0 = BgBlur(image=IMAGE, object=BOX0)")
    sp = scoped("edit", "Make the background blurry and keep the person in focus")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='the in focus')\n")
    # a new colour of hair is painted (it blurred her hair)
    assert "Replace" in query_vocabulary("Make the woman's hair blonde").required


def test_a_number_of_things_stated_is_that_number(tiny: TransformersBackend) -> None:
    # "There are two birds in the left photo" was "{ANSWER0} > 2"
    assert comparison_ops("There are two birds in the left photo") == ("==",)
    assert comparison_ops("Both images have a single giraffe") == ("==",)
    # which image is no number of things, and a count asked states none
    assert comparison_ops("Exactly one image has a bus") == ()
    assert comparison_ops("How many dogs are there?") == ()
    # the two dogs of one image are that image's only (both images were counted)
    assert side_only("The left image has exactly two dogs") == "LEFT"
    assert side_only("The two images show dogs") == ""
    sp = scoped("nlvr", "There are two birds in the left photo", PAIR)
    counted = "BOX0 = Loc(image=LEFT, object='bird')\nANSWER0 = Count(box=BOX0)\n"
    assert not admits(tiny, sp, counted + 'ANSWER1 = Eval(expr="{ANSWER0} > 2")\n')
    assert admits(tiny, sp, counted + 'ANSWER1 = Eval(expr="{ANSWER0} == 2")\n')
