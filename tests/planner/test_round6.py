"""Rules from the sixth development set: sums of counts, described counts, halves in tagging.

As in ``test_round5.py``, programs are fed line by line through the per-statement grammars
and the tests check what they admit and refuse; the vocabulary tests check the words the
grammars are built from.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.vocab import (
    counted_description,
    counted_words,
    listed_categories,
    lookup_text,
    query_vocabulary,
    removal_prompts,
    replaced_words,
    replacement_phrase,
    side_only,
    summed_things,
    threshold_numbers,
)

from .test_scope import admits, scoped

RESULT = "FINAL_RESULT = Result(var={})"


def test_determiners_are_no_categories() -> None:
    assert listed_categories("tag every person and every bike") == ("person", "bike")
    assert listed_categories("label each cat and each dog") == ("cat", "dog")
    assert listed_categories("Is it a cat or a dog?") == ("cat", "dog")


def test_a_recolouring_to_a_colour_paints_the_thing_in_it() -> None:
    assert replacement_phrase("recolor the red car to green") == "green car"
    assert replacement_phrase("paint the door in yellow") == "yellow door"
    assert replacement_phrase("Turn the red car blue") == "blue car"
    # a new thing is still the phrase as written
    assert replacement_phrase("replace the car with a red truck") == "a red truck"


def test_only_one_side_is_a_statement_about_both() -> None:
    assert side_only("only the left image has a dog in it") == ""
    assert side_only("just the right picture contains a cat") == ""
    assert side_only("the left image shows only one dog") == "LEFT"


def test_summed_things_and_described_counts() -> None:
    assert summed_things("total number of cats and dogs?") == (("cats", "cat"), ("dogs", "dog"))
    assert summed_things("how many people are there and what are they doing") == ()
    assert summed_things("How many more cats and dogs than birds?") == ()
    assert counted_description("Count how many people are wearing sunglasses")[0] == "sunglasses"
    assert counted_description("how many people are in the room") == ()
    v = query_vocabulary("how many apples and oranges are there?")
    assert v.summed and "Eval" in v.required and v.compared


def test_a_sum_of_two_counts_adds_them(tiny: TransformersBackend) -> None:
    sp = scoped("count", "total number of cats and dogs?")
    found = "BOX0 = Loc(image=IMAGE, object='cat')\nBOX1 = Loc(image=IMAGE, object='dog')\n"
    # once both are found, they are counted (it went on to Loc('animal'), Loc('person'))
    assert not admits(tiny, sp, found + "BOX2 = Loc(image=IMAGE, object='animal')\n")
    counted = found + "ANSWER0 = Count(box=BOX0)\nANSWER1 = Count(box=BOX1)\n"
    good = counted + 'ANSWER2 = Eval(expr="{ANSWER0} + {ANSWER1}")\n' + RESULT.format("ANSWER2")
    assert admits(tiny, sp, good)
    assert not admits(tiny, sp, counted + 'ANSWER2 = Eval(expr="1 + 1 + 1 == 1")\n')
    assert not admits(tiny, sp, counted + RESULT.format("ANSWER0"))
    # the place only places them: the sum answers "how many cups and plates are on the table"
    sp = scoped("count", "how many cups and plates are on the table?")
    table = "BOX0 = Loc(image=IMAGE, object='table')\n"
    assert not admits(tiny, sp, table + "ANSWER0 = Count(box=BOX0)\n")


def test_a_found_counted_thing_is_counted_before_its_threshold(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there exactly 3 boats?")
    boats = "BOX0 = Loc(image=IMAGE, object='boat')\n"
    assert not admits(tiny, sp, boats + "BOX1 = Loc(image=IMAGE, object='boat')\n")
    good = (
        boats
        + "ANSWER0 = Count(box=BOX0)\n"
        + "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} == 3 else 'no'\")\n"
        + RESULT.format("ANSWER1")
    )
    assert admits(tiny, sp, good)


def test_faces_are_not_located_beside_facedet(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Do exactly three faces appear in the photo?")
    faces = "BOX0 = FaceDet(image=IMAGE)\n"
    assert not admits(tiny, sp, faces + "BOX1 = Loc(image=IMAGE, object='face')\n")
    assert admits(tiny, sp, faces + "ANSWER0 = Count(box=BOX0)\n")


def test_a_described_count_names_the_description(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Count how many people are wearing sunglasses")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='person')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='person wearing sunglasses')\n")


def test_tagging_in_a_half_crops_to_it(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "tag the faces in the left half of the image")
    good = (
        "OBJ0 = Loc(image=IMAGE, object='LEFT')\n"
        "IMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
        "OBJ1 = FaceDet(image=IMAGE0)\n"
        "IMAGE1 = Tag(image=IMAGE, object=OBJ1)\n" + RESULT.format("IMAGE1")
    )
    assert admits(tiny, sp, good)
    # the half's box is no answer (it ended there)
    assert not admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='LEFT')\n" + RESULT.format("OBJ0"))
    # without a half, tagging does not crop
    sp = scoped("tag", "tag the faces")
    assert not admits(
        tiny, sp, "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Crop(image=IMAGE, box=OBJ0)\n"
    )


def test_a_looked_up_kind_keeps_what_it_is_of() -> None:
    assert lookup_text("label the players from the 1998 french world cup team") == (
        "players from the 1998 french world cup team"
    )
    assert lookup_text("Tag the main characters of Friends") == "main characters of Friends"
    assert lookup_text("Identify the members of BTS in this photo") == "members of BTS"
    assert lookup_text("Tag the fruits in the bowl") == ""  # a place, not what they are of


def test_a_looked_up_kind_is_listed_as_written(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "label the players from the 1998 french world cup team")
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    assert admits(
        tiny,
        sp,
        faces + "LIST0 = List(query='players from the 1998 french world cup team', max=10)\n",
    )
    assert not admits(
        tiny, sp, faces + "LIST0 = List(query='player from the 1998 cup team', max=10)\n"
    )


def test_a_pointed_part_is_found_in_its_owners_crop(tiny: TransformersBackend) -> None:
    assert counted_words("point at the dog's nose")[0] == "nose"
    assert counted_words("Point to every apple")[0] == "apple"
    sp = scoped("count", "point at the dog's nose")
    crop = "BOX0 = Loc(image=IMAGE, object='dog')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, crop + "POINTS0 = Point(image=IMAGE0, object='animal')\n")
    assert admits(tiny, sp, crop + "POINTS0 = Point(image=IMAGE0, object='dog nose')\n")


def test_nothing_is_found_in_a_tagged_image(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Point to the cat")
    tagged = "BOX0 = Loc(image=IMAGE, object='cat')\nIMAGE0 = Tag(image=IMAGE, object=BOX0)\n"
    assert not admits(tiny, sp, tagged + "POINTS0 = Point(image=IMAGE0, object='cat')\n")
    assert admits(tiny, sp, tagged + "POINTS0 = Point(image=IMAGE, object='cat')\n")


def test_probe_rules_of_the_sixth_round() -> None:
    # "next to the bench" places the removed thing: it paints the background, not a bench
    assert replacement_phrase("remove the trash can next to the bench") == ""
    assert removal_prompts("remove the trash can next to the bench")[0] == "background"
    assert replacement_phrase("swap the cat for a small dog") == "a small dog"
    # the two images state no number; "a single" states one
    assert query_vocabulary("There are three dogs in total across the two pictures.").numbers == (
        "3",
    )
    assert threshold_numbers("Both pictures show a single giraffe.") == ("1",)
    # a superlative is no counted thing, nor what is pointed at a place
    assert counted_words("Point to the tallest tree")[0] == "tree"
    assert query_vocabulary("Point to the tallest tree").places == ()
    assert query_vocabulary("point at the dog's nose").places == ("dog",)


def test_the_labelled_thing_is_found_not_a_label(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "label each person as adult or child")
    assert not admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='adult')\n")
    assert admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='person')\n")


def test_a_replaced_thing_is_not_its_place() -> None:
    assert replaced_words("replace the flowers in the vase with tulips")[0] == "flowers"
    assert replaced_words("swap the mug on the desk for a glass of juice")[0] == "mug"
