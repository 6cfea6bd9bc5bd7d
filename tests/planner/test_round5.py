"""Rules from the fifth development set: labels, named people, removals and chained edits.

As in ``test_evidence.py``, programs are fed line by line through the per-statement grammars
and the tests check what they admit and refuse; the vocabulary tests check the words the
grammars are built from.
"""

from __future__ import annotations

from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import choose_task
from visprog.planner.vocab import (
    counted_words,
    listed_categories,
    person_names,
    query_vocabulary,
    removal_prompts,
    removed_words,
    replaces_thing,
)

from .test_scope import admits, scoped

RESULT = "FINAL_RESULT = Result(var={})"


def test_which_and_which_lists_two_labels() -> None:
    assert listed_categories("which face is a man and which is a woman? label them") == (
        "man",
        "woman",
    )
    # a negating second half is the first label's absence
    assert listed_categories("Mark which of these people are wearing helmets and which aren't") == (
        "helmet",
        "no helmet",
    )
    assert listed_categories("label which cars are taxis and which are police cars")[1] == (
        "police car"
    )
    # a question that labels nothing lists nothing
    assert listed_categories("which is bigger and which is smaller?") == ()


def test_labels_named_after_a_tagging_verb() -> None:
    query = "put boxes around the signs and label them stop sign, yield sign or speed limit"
    assert listed_categories(query) == ("stop sign", "yield sign", "speed limit")
    # 'tank and tag' is no list of labels: the species are looked up
    query = "identify the fish species in the tank and tag them"
    assert listed_categories(query) == ()
    assert "List" in query_vocabulary(query).required


def test_box_as_a_verb_is_tagging() -> None:
    assert choose_task("box every laptop") == "tag"
    assert choose_task("what is in the box the cat likes?") == "gqa"


def test_a_thing_is_labelled_once(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "label the people as child or adult")
    found = "OBJ0 = Loc(image=IMAGE, object='person')\n"
    once = "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['child', 'adult'])\n"
    assert admits(tiny, sp, found + once + "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\n")
    # its labels are not classified again, nor the same things a second time
    assert not admits(
        tiny, sp, found + once + "OBJ2 = Classify(image=IMAGE, object=OBJ1, categories=LIST0)\n"
    )
    again = "OBJ2 = Classify(image=IMAGE, object=OBJ0, categories=['child', 'adult'])\n"
    assert not admits(tiny, sp, found + once + again)


def test_one_named_person_is_selected_among_the_faces(tiny: TransformersBackend) -> None:
    assert person_names("tag Taylor Swift in the photo") == ("Taylor Swift",)
    assert person_names("Tag Barack Obama and Joe Biden") == ("Barack Obama", "Joe Biden")
    # places are "the ..."; a kind to look up is a List; no tagging or finding verb: no label
    assert person_names("label the Eiffel Tower") == ()
    assert person_names("tag the Avengers cast") == ()
    assert person_names("What is Tom Hanks holding?") == ()
    vocab = query_vocabulary("tag Taylor Swift in the photo")
    assert vocab.person == "Taylor Swift" and not vocab.knowledge
    assert {"FaceDet", "Select"} <= set(vocab.required)
    assert query_vocabulary("Tag Barack Obama and Joe Biden").categories == (
        "Barack Obama",
        "Joe Biden",
    )
    assert choose_task("where is Tom Hanks?") == "tag"
    sp = scoped("tag", "tag Taylor Swift in the photo")
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    named = "OBJ1 = Select(image=IMAGE, object=OBJ0, query='Taylor Swift')\n"
    assert admits(tiny, sp, faces + named + "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\n")
    assert not admits(tiny, sp, faces + "OBJ1 = Select(image=IMAGE, object=OBJ0, query='Taylor')\n")
    assert not admits(tiny, sp, "LIST0 = List(query='Taylor Swift', max=10)\n")
    assert not admits(tiny, sp, "OBJ0 = Loc(image=IMAGE, object='Taylor Swift')\n")


def test_a_removal_finds_what_it_removes(tiny: TransformersBackend) -> None:
    assert removed_words("erase the graffiti on the wall")[0] == "graffiti"
    assert removed_words("remove the person sitting on the bench")[0] == "person"
    assert removed_words("remove it") == ()
    sp = scoped("edit", "erase the graffiti on the wall")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='wall')\n")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='graffiti')\n")


def test_a_thing_replaced_beside_faces_is_no_face(tiny: TransformersBackend) -> None:
    query = "replace the sky with a sunset and blur the faces"
    assert replaces_thing(query)
    assert not replaces_thing("replace the faces with smileys")
    sp = scoped("edit", query)
    faces = "BOX0 = FaceDet(image=IMAGE)\n"
    # the sky is not selected among the faces
    assert not admits(tiny, sp, faces + "BOX1 = Select(image=IMAGE, object=BOX0, query='sky')\n")
    sky = "BOX1 = Loc(image=IMAGE, object='sky')\n"
    blur = "IMAGE0 = Blur(image=IMAGE, object=BOX0)\n"
    assert admits(tiny, sp, faces + sky + blur)
    # the second edit edits the first's result: both edits reach the Result
    replace = "IMAGE1 = Replace(image={}, object=BOX1, prompt='sunset')\n"
    assert admits(tiny, sp, faces + sky + blur + replace.format("IMAGE0") + RESULT.format("IMAGE1"))
    assert not admits(tiny, sp, faces + sky + blur + replace.format("IMAGE"))


def test_a_count_counts_the_thing_it_names() -> None:
    assert counted_words("how many windows does the house have?")[0] == "windows"
    assert counted_words("how many red cars are there")[0] == "cars"
    assert counted_words("is there exactly one face in the photo")[0] == "face"
    # two things, or a comparison: no one counted thing
    assert counted_words("how many cats and dogs are there") == ()
    assert counted_words("how many more spoons than forks are there") == ()


def test_a_count_is_of_the_counted_thing_in_its_place(tiny: TransformersBackend) -> None:
    sp = scoped("count", "how many windows does the house have?")
    # the place is found first: the windows are counted in the house's crop
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='window')\n")
    house = "BOX0 = Loc(image=IMAGE, object='house')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, house + "ANSWER0 = Count(box=BOX0)\n")
    windows = (
        house + "POINTS0 = Point(image=IMAGE0, object='window')\nANSWER0 = Count(box=POINTS0)\n"
    )
    assert admits(tiny, sp, windows + RESULT.format("ANSWER0"))


def test_a_count_of_one_thing_alone_is_counted_at_once(tiny: TransformersBackend) -> None:
    sp = scoped("count", "how many apples are there")
    apples = "BOX0 = Loc(image=IMAGE, object='apple')\n"
    # no crop to an apple, no other thing looked for: the apples are counted
    assert not admits(tiny, sp, apples + "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n")
    assert not admits(tiny, sp, apples + "BOX1 = Loc(image=IMAGE, object='person')\n")
    assert admits(tiny, sp, apples + "ANSWER0 = Count(box=BOX0)\n" + RESULT.format("ANSWER0"))


def test_a_question_of_a_crop_names_what_places_the_thing(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "what colour is the car parked next to the tree?")
    car = "BOX0 = Loc(image=IMAGE, object='car')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(
        tiny, sp, car + "ANSWER0 = VQA(image=IMAGE0, question='What colour is the car?')\n"
    )
    asked = "ANSWER0 = VQA(image=IMAGE0, question='What colour is the car next to the tree?')\n"
    assert admits(tiny, sp, car + asked + RESULT.format("ANSWER0"))


def test_a_covering_question_is_bounded(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "is the dog bigger than the cat on the sofa?")
    short = "ANSWER0 = VQA(image=IMAGE, question='Is the dog bigger than the cat on the sofa?')\n"
    assert admits(tiny, sp, short)
    # three names with eight words around each asked a question of 36 words
    filler = " the dog bigger than the cat on"
    long = f"ANSWER0 = VQA(image=IMAGE, question='Is{filler * 4} the sofa?')\n"
    assert not admits(tiny, sp, long)


def test_who_is_doing_something_is_a_question() -> None:
    assert choose_task("Who is holding the umbrella, a man or a woman?") == "gqa"
    assert choose_task("who is wearing the hat?") == "gqa"
    assert choose_task("who is in this photo?") == "tag"


def test_a_removal_paints_the_background_or_the_empty_place(tiny: TransformersBackend) -> None:
    assert removal_prompts("remove the cup from the table") == ("empty table", "table")
    assert removal_prompts("delete the sign on the right") == ("background", "empty background")
    assert removal_prompts("remove the car and replace it with a bike") == ()
    sp = scoped("edit", "remove the cup from the table")
    cup = "OBJ0 = Loc(image=IMAGE, object='cup')\n"
    assert admits(
        tiny, sp, cup + "IMAGE0 = Replace(image=IMAGE, object=OBJ0, prompt='empty table')\n"
    )
    assert not admits(tiny, sp, cup + "IMAGE0 = Replace(image=IMAGE, object=OBJ0, prompt='a')\n")


def test_a_thing_in_a_half_is_found_in_its_crop(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "delete the sign on the right")
    half = "BOX0 = Loc(image=IMAGE, object='RIGHT')\n"
    # nothing is selected among the half's one box; its crop is where the sign is found
    assert not admits(tiny, sp, half + "BOX1 = Select(image=IMAGE, object=BOX0, query='sign')\n")
    crop = half + "IMAGE0 = Crop(image=IMAGE, box=BOX0)\nOBJ0 = Loc(image=IMAGE0, object='sign')\n"
    assert admits(tiny, sp, crop)
    # and the sign is not cropped to in turn: an edit crops only to a half
    assert not admits(tiny, sp, crop + "IMAGE1 = Crop(image=IMAGE0, box=OBJ0)\n")
    painted = "IMAGE1 = Replace(image=IMAGE, object=OBJ0, prompt='background')\n"
    assert admits(tiny, sp, crop + painted + RESULT.format("IMAGE1"))


def test_no_list_or_labels_out_of_nothing(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "box the biggest pumpkin")
    pumpkins = "OBJ0 = Loc(image=IMAGE, object='pumpkin')\n"
    assert not admits(tiny, sp, pumpkins + "LIST0 = List(query='pumpkin', max=10)\n")
    made_up = "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['pumpkin', 'pumpkin'])\n"
    assert not admits(tiny, sp, pumpkins + made_up)
    # a looked-up kind keeps its List
    sp = scoped("tag", "tag the dog breeds")
    assert admits(
        tiny,
        sp,
        "OBJ0 = Loc(image=IMAGE, object='dog')\nLIST0 = List(query='dog breeds', max=10)\n",
    )
