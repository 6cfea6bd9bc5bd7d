"""Rules from probe queries of the seventh round: yes/no answers, everyday things, lists.

As in ``test_round6.py``, programs are fed line by line through the per-statement grammars and
the tests check what they admit and refuse; the vocabulary tests check the words the grammars
are built from.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.vocab import modifier_words, query_vocabulary, thing_nouns

from .test_scope import admits, scoped

RESULT = "FINAL_RESULT = Result(var={})"
TWO = ("LEFT", "RIGHT")


def test_a_yes_no_answer_is_compared_with_yes_or_no(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "Both images contain a lighthouse.", TWO)
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a lighthouse?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a lighthouse?')\n"
    )
    good = asked + "ANSWER2 = Eval(expr=\"{ANSWER0} and {ANSWER1} == 'yes'\")\n"
    assert admits(tiny, sp, good + RESULT.format("ANSWER2"))
    # a yes/no answer is never the thing asked about (it was always false)
    bad = asked + "ANSWER2 = Eval(expr=\"{ANSWER0} and {ANSWER1} == 'lighthouse'\")\n"
    assert not admits(tiny, sp, bad)


def test_open_answers_are_compared_yes_no_answers_are_not(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Is the cup the same color as the plate?")
    asked = (
        "BOX0 = Loc(image=IMAGE, object='cup')\n"
        "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "ANSWER0 = VQA(image=IMAGE0, question='What color is the cup?')\n"
        "BOX1 = Loc(image=IMAGE, object='plate')\n"
        "IMAGE1 = Crop(image=IMAGE, box=BOX1)\n"
    )
    same = "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} == {ANSWER1} else 'no'\")\n"
    good = asked + "ANSWER1 = VQA(image=IMAGE1, question='What color is the plate?')\n" + same
    assert admits(tiny, sp, good + RESULT.format("ANSWER2"))
    # "Is there a dog?" twice, then the two answers compared, answered "the same colour"
    sp = scoped("nlvr", "The dogs in both images are the same color.", TWO)
    polar = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a dog?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a dog?')\n"
    )
    assert not admits(tiny, sp, polar + 'ANSWER2 = Eval(expr="{ANSWER0} == {ANSWER1}")\n')


def test_everyday_things_are_things() -> None:
    # the scarf was dropped from the question ("What color is the woman?")
    assert thing_nouns("What color is the scarf the woman is wearing?") == ("scarf", "woman")
    assert thing_nouns("Is there a pumpkin on the porch?") == ("pumpkin", "porch")
    assert thing_nouns("what is the little girl holding in her hand") == ("girl", "hand")
    # scenery and directions are not things
    assert thing_nouns("What is on the grass at the top?") == ()


def test_no_word_modifies_the_next_across_a_comma() -> None:
    # "coffee, tea or juice" are three categories, not a "coffee tea"
    assert "coffee" not in modifier_words("Label each drink as coffee, tea or juice")
    assert "sneaker" not in modifier_words("Tag each shoe as a sneaker, boot or sandal")
    assert "coffee" in modifier_words("Label the coffee mug")
    v = query_vocabulary("Label each drink as coffee, tea or juice")
    assert {"coffee", "tea", "juice"} <= {n.lower() for n in v.nouns}


def test_a_statement_about_two_images_is_answered_by_a_value(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "The right image shows a beach with an umbrella.", TWO)
    found = "BOX0 = Loc(image=RIGHT, object='beach')\nBOX1 = Loc(image=RIGHT, object='umbrella')\n"
    # the umbrella's boxes were named as the answer
    assert not admits(tiny, sp, found + RESULT.format("BOX1"))
    asked = "ANSWER0 = VQA(image=RIGHT, question='Is there a beach with an umbrella?')\n"
    assert admits(tiny, sp, found + asked + RESULT.format("ANSWER0"))


def test_more_of_one_thing_than_another_compares_the_counts(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more cars than people?")
    counted = (
        "POINTS0 = Point(image=IMAGE, object='car')\nANSWER0 = Count(box=POINTS0)\n"
        "POINTS1 = Point(image=IMAGE, object='person')\nANSWER1 = Count(box=POINTS1)\n"
    )
    assert not admits(
        tiny, sp, counted + "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > 1 else 'no'\")\n"
    )
    good = counted + "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > {ANSWER1} else 'no'\")\n"
    assert admits(tiny, sp, good + RESULT.format("ANSWER2"))
    # a stated number is still compared with: "more than 3 cars"
    sp = scoped("count", "Are there more than 3 cars?")
    counted = "POINTS0 = Point(image=IMAGE, object='car')\nANSWER0 = Count(box=POINTS0)\n"
    assert admits(tiny, sp, counted + "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 3 else 'no'\")\n")


def test_no_thing_is_named_by_a_pronoun_or_a_verb(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Is there anything on the table?")
    crop = "BOX0 = Loc(image=IMAGE, object='table')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, crop + "BOX1 = Loc(image=IMAGE0, object='there')\n")
    assert not admits(tiny, sp, crop + "BOX1 = Loc(image=IMAGE0, object='there is')\n")


def test_the_counted_thing_is_found_in_its_place_once(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many candles are on the cake?")
    found = (
        "BOX0 = Loc(image=IMAGE, object='cake')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "POINTS0 = Point(image=IMAGE0, object='candle')\n"
    )
    assert admits(tiny, sp, found + "ANSWER0 = Count(box=POINTS0)\n")
    # it pointed at the plates in the table's crop nine times
    assert not admits(tiny, sp, found + "POINTS1 = Point(image=IMAGE0, object='candle')\n")


def test_edit_and_count_phrasings_of_the_seventh_round() -> None:
    v = query_vocabulary("Make the sky look like sunset")
    assert "Replace" in v.required  # it blurred the sky
    assert "Replace" not in query_vocabulary("make the dog pop, rest grey").required
    v = query_vocabulary("Change the color of the car to yellow")
    assert v.replacement_phrase == "yellow car" and v.removed[0] == "car"
    # an equal number of things is a count in each image (it asked "Is there a bottle?")
    assert query_vocabulary("the two images have an equal number of bottles").counts
    assert query_vocabulary("point at the dog's nose").owners >= {"dog"}


def test_a_plain_count_ends_at_its_count(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many wheels can you see?")
    counted = "BOX0 = Loc(image=IMAGE, object='wheel')\nANSWER0 = Count(box=BOX0)\n"
    assert admits(tiny, sp, counted + RESULT.format("ANSWER0"))
    # it went on to Tag the wheels and point at 'cans'
    assert not admits(tiny, sp, counted + "IMAGE0 = Tag(image=IMAGE, object=BOX0)\n")
    assert not admits(tiny, sp, "POINTS0 = Point(image=IMAGE, object='cans')\n")


def test_a_count_compared_with_a_number_is_answered_by_the_eval(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("count", "Count the birds on the wire and tell me if there are more than four")
    counted = (
        "BOX0 = Loc(image=IMAGE, object='wire')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
        "POINTS0 = Point(image=IMAGE0, object='bird')\nANSWER0 = Count(box=POINTS0)\n"
    )
    assert not admits(tiny, sp, counted + RESULT.format("ANSWER0"))
    good = counted + "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 4 else 'no'\")\n"
    assert admits(tiny, sp, good + RESULT.format("ANSWER1"))


def test_a_described_count_names_the_counted_thing_first(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many people are wearing hats?")
    # 'hat' ten times, which nothing counted
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='hat')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='person wearing hat')\n")
    v = query_vocabulary("how many dogs have collars?")
    assert v.described[0] == "collars"
    assert query_vocabulary("At least one of the images has a red car in it").described == ()


def test_the_half_is_located_once(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Erase the person on the left")
    half = "BOX0 = Loc(image=IMAGE, object='LEFT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, half + "OBJ0 = Loc(image=IMAGE0, object='LEFT')\n")
    assert admits(tiny, sp, half + "OBJ0 = Loc(image=IMAGE0, object='person')\n")


def test_whose_face_it_covers_is_no_emoji() -> None:
    from visprog.planner.vocab import emoji_vocabulary

    names = ["woman", "smiling_face", "grinning_face", "red_heart"]
    assert emoji_vocabulary("Put a smiley on the woman's face", names) == ("smiling_face",)
    assert emoji_vocabulary("Put a heart emoji on the woman's face", names) == ("red_heart",)


def test_the_same_kind_in_two_images_asks_what_it_is(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "Both images show the same kind of animal.", TWO)
    assert not admits(tiny, sp, "ANSWER0 = VQA(image=LEFT, question='Is there an animal?')\n")
    what = "ANSWER0 = VQA(image=LEFT, question='What kind of animal is this?')\n"
    assert admits(tiny, sp, what)
    both = what + "ANSWER1 = VQA(image=RIGHT, question='What kind of animal is this?')\n"
    same = 'ANSWER2 = Eval(expr="{ANSWER0} == {ANSWER1}")\n'
    assert admits(tiny, sp, both + same + RESULT.format("ANSWER2"))


def test_a_coloured_count_finds_that_colour(tiny: TransformersBackend) -> None:
    assert query_vocabulary("How many red cars are there?").counted_colour == "red"
    assert query_vocabulary("How many cars are next to the red truck?").counted_colour == ""
    sp = scoped("count", "How many red cars are there?")
    # it counted every car
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='car')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='red car')\n")


def test_a_trash_can_is_a_thing_and_looking_dry_is_an_edit(tiny: TransformersBackend) -> None:
    assert "Replace" in query_vocabulary("make the grass look dry").required
    sp = scoped("edit", "get rid of the trash can")
    assert admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='trash can')\n")
