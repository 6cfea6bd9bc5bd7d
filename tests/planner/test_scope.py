"""Scope- and type-constrained generation: what each per-statement grammar admits and refuses.

Grammars are compiled by llguidance against the tiny model's byte-level tokenizer (any text
tokenizes), and programs are fed line by line exactly as the local backend writes them. The
sampling test runs the tiny random-weight model through the real stepwise decoding loop: its
programs are nonsense, but every one must parse and check.
"""

from __future__ import annotations

from typing import Any

import pytest

import visprog
from visprog.planner import generate_program
from visprog.planner.backends.local import TransformersBackend
from visprog.planner.prompts import load_prompt
from visprog.planner.scope import ScopedProgram
from visprog.planner.vocab import emoji_vocabulary, listed_categories, query_vocabulary, singular

EMOJI = ["grinning_face", "red_heart", "cat_face", "smiling_face_with_sunglasses"]


def scoped(task: str, query: str, inputs: tuple[str, ...] = ("IMAGE",)) -> ScopedProgram:
    visprog.api.ensure_tools()
    emoji = EMOJI if "Emoji" in load_prompt(task).tools else []
    return ScopedProgram(inputs, load_prompt(task).tools, query_vocabulary(query, emoji))


def _matcher(tiny: TransformersBackend, sp: ScopedProgram, written: str) -> Any:
    """An llguidance matcher of the statement that follows ``written``."""
    import llguidance as llg

    tiny.matcher('start: "x"')  # builds the llguidance tokenizer once
    m = llg.LLMatcher(tiny._ll, llg.LLMatcher.grammar_from_lark(sp.grammar(written).to_lark()))
    assert not m.is_error(), m.get_error()
    return m


def _feed(tiny: TransformersBackend, m: Any, text: str) -> bool:
    """Whether ``m`` takes every token of ``text``."""
    ids = tiny.tokenizer(text, add_special_tokens=False)["input_ids"]
    return all(m.consume_token(i) for i in ids)


def admits(tiny: TransformersBackend, sp: ScopedProgram, program: str) -> bool:
    """Whether the per-statement grammars admit ``program``, fed line by line."""
    written = ""
    for line in program.strip().split("\n"):
        line += "" if line.startswith("FINAL_RESULT") else "\n"
        m = _matcher(tiny, sp, written)
        if not _feed(tiny, m, line) or not m.is_accepting():
            return False
        written += line
    return True


def opens(tiny: TransformersBackend, sp: ScopedProgram, written: str, prefix: str) -> bool:
    """Whether, after ``written``, the next statement's grammar admits a line starting ``prefix``.

    For a step that must not come next, whatever its arguments: a partial line is never a
    whole one, so :func:`admits` cannot tell.
    """
    return _feed(tiny, _matcher(tiny, sp, written), prefix)


COUNT_LEFT = """BOX0 = Loc(image=IMAGE, object='lamp')
IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)
BOX1 = Loc(image=IMAGE0, object='books')
ANSWER0 = Count(box=BOX1)
FINAL_RESULT = Result(var=ANSWER0)"""
Q_LEFT = "How many books are to the left of the lamp?"


@pytest.mark.parametrize(
    ("program", "why"),
    [
        (
            "IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)\nFINAL_RESULT = Result(var=IMAGE0)",
            "undefined",
        ),
        (
            "BOX0 = Loc(image=IMAGE, object='lamp')\nBOX0 = Loc(image=IMAGE, object='book')",
            "redefined",
        ),
        ("BOX0 = Loc(image=IMAGE, object='lamp')\nIMAGE0 = Crop(image=IMAGE, box=IMAGE)", "type"),
        ("BOX0 = Loc(image=IMAGE, object='lamp')\nFINAL_RESULT = Result(var=BOX1)", "result"),
        ("FINAL_RESULT = Result(var=IMAGE)", "result names an input, nothing written"),
        ("BOX0 = Loc(image=IMAGE, object='dog')", "a word the query does not use"),
        ("BOX0 = Loc(image=IMAGE, object='Left')", "a half must be LEFT, RIGHT, TOP or BOTTOM"),
        ("IMAGE = Loc(image=IMAGE, object='lamp')", "targets never shadow inputs"),
    ],
)
def test_refuses(tiny: TransformersBackend, program: str, why: str) -> None:
    assert admits(tiny, scoped("gqa", Q_LEFT), COUNT_LEFT)
    assert not admits(tiny, scoped("gqa", Q_LEFT), program), why


def test_loc_halves_are_admitted(tiny: TransformersBackend) -> None:
    program = "BOX0 = Loc(image=IMAGE, object='LEFT')\nFINAL_RESULT = Result(var=BOX0)"
    # what is on the left is found in the left half's crop, not the half itself
    left = scoped("count", "Point to what is on the left")
    assert not admits(tiny, left, program)
    in_half = (
        "IMAGE0 = Crop(image=IMAGE, box=BOX0)\nPOINTS0 = Point(image=IMAGE0, object='thing')\n"
    )
    assert admits(
        tiny,
        left,
        "BOX0 = Loc(image=IMAGE, object='LEFT')\n" + in_half + "FINAL_RESULT = Result(var=POINTS0)",
    )
    # a question is answered by a value, not by a box or points
    assert not admits(tiny, scoped("gqa", "What is on the left?"), program)
    ask = (
        "ANSWER0 = VQA(image=IMAGE0, question='What is this?')\nFINAL_RESULT = Result(var=ANSWER0)"
    )
    crop = "BOX0 = Loc(image=IMAGE, object='LEFT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert admits(tiny, scoped("gqa", "What is on the left?"), crop + ask)


def test_eval_names_defined_scalars_only(tiny: TransformersBackend) -> None:
    head = "BOX0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=BOX0)\n"
    ok = (
        head
        + "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 2 else 'no'\")\nFINAL_RESULT = Result(var=ANSWER1)"
    )
    sp = scoped("count", "Are there more than two faces?")
    assert admits(tiny, sp, ok)
    assert not admits(tiny, sp, ok.replace("{ANSWER0}", "{BOX0}"))  # Objects, not a number
    assert not admits(tiny, sp, ok.replace("{ANSWER0}", "{ANSWER7}"))  # undefined
    assert not admits(tiny, sp, ok.replace("> 2", "> > 2"))  # not an expression


def test_a_querys_categories_are_closed(tiny: TransformersBackend) -> None:
    query = "Label each fruit as apple, banana or orange"
    program = """OBJ0 = Loc(image=IMAGE, object='fruit')
OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['apple', 'banana', 'orange'])
IMAGE0 = Tag(image=IMAGE, object=OBJ1)
FINAL_RESULT = Result(var=IMAGE0)"""
    assert admits(tiny, scoped("tag", query), program)
    assert not admits(tiny, scoped("tag", query), program.replace("'orange'", "'pear'"))


def test_emoji_names_are_closed(tiny: TransformersBackend) -> None:
    query = "Hide all faces with a grinning emoji"
    program = """OBJ0 = FaceDet(image=IMAGE)
IMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='grinning_face')
FINAL_RESULT = Result(var=IMAGE0)"""
    assert admits(tiny, scoped("edit", query), program)
    assert not admits(tiny, scoped("edit", query), program.replace("grinning_face", "smiling"))


def test_questions_use_the_querys_words(tiny: TransformersBackend) -> None:
    query = "Both images show a bird."
    good = """ANSWER0 = VQA(image=LEFT, question='Is there a bird?')
ANSWER1 = VQA(image=RIGHT, question='Is there a bird?')
ANSWER2 = Eval(expr="{ANSWER0} == 'yes' and {ANSWER1} == 'yes'")
FINAL_RESULT = Result(var=ANSWER2)"""
    sp = scoped("nlvr", query, ("LEFT", "RIGHT"))
    assert admits(tiny, sp, good)
    assert not admits(tiny, sp, good.replace("a bird", "a dog a mammal"))


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task", ["gqa", "tag", "edit"])
def test_sampled_programs_all_check(tiny: TransformersBackend, task: str) -> None:
    visprog.api.ensure_tools()
    queries = {
        "gqa": "What is to the left of the red car?",
        "tag": "Tag the faces as happy or sad",
        "edit": "Put a heart emoji on every face",
    }
    sp = scoped(task, queries[task])
    sp.max_statements = 3
    for _ in range(4):
        text = tiny.complete("Question: x\nProgram:\n", grammar=sp, max_tokens=600, temperature=1.5)
        program = visprog.parse(text)
        assert program.statements[-1].step == "Result"
        assert visprog.check(program, ["IMAGE"]) == []


def test_generate_program_uses_scoped_grammars_on_stepwise_backends(
    tiny: TransformersBackend, one_thread: None
) -> None:
    gen = generate_program("How many faces are there?", tiny, attempts=1)
    assert len(gen.attempts) == 1 and gen.program  # checks by construction: no repair needed


def test_listed_categories() -> None:
    assert listed_categories("Tag the faces as male or female") == ("male", "female")
    assert listed_categories("Tag each bird as either a sparrow or a pigeon") == (
        "sparrow",
        "pigeon",
    )
    assert listed_categories("mood: happy, sad, or angry") == ("happy", "sad", "angry")
    assert listed_categories("Are there more cats than dogs?") == ()
    assert listed_categories("Is the plate left or right of the cup?") == ()
    # three or more without "or", and a slash
    assert listed_categories("Tag each fruit: apple, pear, banana") == ("apple", "pear", "banana")
    assert listed_categories("Label the drinks (coffee/tea)") == ("coffee", "tea")
    assert listed_categories("Classify each vehicle as truck, van or car") == (
        "truck",
        "van",
        "car",
    )


def test_emoji_vocabulary_and_singular() -> None:
    assert emoji_vocabulary("a heart emoji", EMOJI) == ("red_heart",)
    assert emoji_vocabulary("sunglasses emoji", EMOJI) == ("smiling_face_with_sunglasses",)
    assert "grinning_face" in emoji_vocabulary("cover them", EMOJI)  # faces as a fallback
    assert [singular(w) for w in ["faces", "berries", "glass", "bus", "dogs"]] == [
        "face",
        "berry",
        "glass",
        "bus",
        "dog",
    ]


@pytest.mark.parametrize("task", ["gqa", "nlvr", "edit", "tag", "count"])
def test_every_prompt_example_is_written_in_its_querys_words(
    tiny: TransformersBackend, task: str
) -> None:
    """The examples teach what the scoped grammar allows: each is admitted for its own query."""
    from visprog.tools.emoji import emoji_names

    visprog.api.ensure_tools()
    prompts = load_prompt(task)
    names = list(emoji_names()) if "Emoji" in prompts.tools else []
    refused = [
        e.query
        for e in prompts.examples
        if not admits(
            tiny,
            ScopedProgram(prompts.inputs, prompts.tools, query_vocabulary(e.query, names)),
            e.program,
        )
    ]
    assert refused == []


def test_a_stated_relation_is_not_dropped(tiny: TransformersBackend) -> None:
    """ "under the table": no plain Crop to the table, and no Result before the CropBelow."""
    sp = scoped("gqa", "What is under the table?")
    below = """BOX0 = Loc(image=IMAGE, object='table')
IMAGE0 = CropBelow(image=IMAGE, box=BOX0)
ANSWER0 = VQA(image=IMAGE0, question='What is under the table?')
FINAL_RESULT = Result(var=ANSWER0)"""
    assert admits(tiny, sp, below)
    assert not admits(tiny, sp, below.replace("CropBelow", "Crop"))
    assert not admits(
        tiny,
        sp,
        "ANSWER0 = VQA(image=IMAGE, question='What is under the table?')\nFINAL_RESULT = Result(var=ANSWER0)",
    )


def test_eval_logic_follows_the_statements_words(tiny: TransformersBackend) -> None:
    program = """ANSWER0 = VQA(image=LEFT, question='Is there a bird?')
ANSWER1 = VQA(image=RIGHT, question='Is there a bird?')
ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")
FINAL_RESULT = Result(var=ANSWER2)"""
    both = scoped("nlvr", "Both images show a bird.", ("LEFT", "RIGHT"))
    assert admits(tiny, both, program)
    assert not admits(tiny, both, program.replace(" and ", " xor "))


def test_eval_joins_a_bounded_number_of_conditions(tiny: TransformersBackend) -> None:
    """The model once repeated "and {A} == {B}" until the token limit cut the line."""
    from visprog.planner.scope import EVAL_CLAUSES

    asked = "".join(
        f"ANSWER{k} = VQA(image={side}, question='{q}')\n"
        for k, (side, q) in enumerate(
            [(s, q) for q in ("Is it indoors?", "Was it taken indoors?") for s in ("LEFT", "RIGHT")]
        )
    )
    both = scoped("nlvr", "Both pictures were taken indoors.", ("LEFT", "RIGHT"))

    def joined(n: int, values: int = 4) -> str:
        clauses = [f"{{ANSWER{i % values}}}" for i in range(n)]
        head = "".join(asked.splitlines(keepends=True)[:values])
        return f'{head}ANSWER{values} = Eval(expr="{" and ".join(clauses)}")\n'

    assert admits(tiny, both, joined(EVAL_CLAUSES))
    assert not admits(tiny, both, joined(EVAL_CLAUSES + 1))
    # nor more conditions than values: "{A} and {B} and {A} and {B}" repeated itself
    assert admits(tiny, both, joined(2, values=2))
    assert not admits(tiny, both, joined(3, values=2))


def test_final_grammar_admits_only_the_result_line() -> None:
    sp = scoped("count", "How many faces?")
    lark = sp.grammar("OBJ0 = FaceDet(image=IMAGE)\n", final=True).to_lark()
    assert '"FaceDet("' not in lark and '"FINAL_RESULT = Result(var="' in lark
    assert '"FaceDet("' in sp.grammar("", final=True).to_lark()  # nothing to name yet


def test_a_comparison_never_has_one_variable_on_both_sides(tiny: TransformersBackend) -> None:
    query = "Are there more cats than dogs in total?"  # "in total": arithmetic allowed
    good = """POINTS0 = Point(image=IMAGE, object='cat')
ANSWER0 = Count(box=POINTS0)
POINTS1 = Point(image=IMAGE, object='dog')
ANSWER1 = Count(box=POINTS1)
ANSWER2 = Eval(expr="'yes' if {ANSWER0} > {ANSWER1} else 'no'")
FINAL_RESULT = Result(var=ANSWER2)"""
    sp = scoped("count", query)
    assert admits(tiny, sp, good)
    assert admits(tiny, sp, good.replace("{ANSWER1} else", "{ANSWER1} - 1 else"))
    # the other side never names the bare variable at all ("{A} > {A} - 1" evaded a bare rule)
    assert not admits(tiny, sp, good.replace("{ANSWER1} else", "{ANSWER0} - 1 else"))
    assert not admits(tiny, sp, good.replace("{ANSWER1} else", "{ANSWER1} - {ANSWER0} else"))
    # no arithmetic unless the query calls for it (a total, twice, how many more)
    plain = scoped("count", "Are there more cats than dogs?")
    assert admits(tiny, plain, good)
    assert not admits(tiny, plain, good.replace("{ANSWER1} else", "{ANSWER1} - 1 else"))
    assert admits(tiny, sp, good.replace("{ANSWER0} > {ANSWER1}", "{ANSWER0} + 1 > {ANSWER1}"))
    # what a condition computes starts with a value, not a literal ("1 + 1 + 1 == 1")
    assert not admits(tiny, sp, good.replace("{ANSWER0} > {ANSWER1}", "1 + {ANSWER0} > {ANSWER1}"))
    assert not admits(tiny, sp, good.replace("{ANSWER1} else", "{ANSWER0} else"))
    assert not admits(tiny, sp, good.replace("{ANSWER0} >", "{ANSWER1} >"))


def test_a_replace_prompt_names_the_new_thing(tiny: TransformersBackend) -> None:
    query = "Make the dog a lion"  # no marker: any query word
    program = """OBJ0 = Seg(image=IMAGE, query='dog')
IMAGE0 = Replace(image=IMAGE, object=OBJ0, prompt='a lion')
FINAL_RESULT = Result(var=IMAGE0)"""
    assert admits(tiny, scoped("edit", query), program.replace("'a lion'", "'a dog'"))
    assert not admits(
        tiny, scoped("edit", "Swap the dog for a lion"), program.replace("'a lion'", "'a dog'")
    )
    query = "Replace the dog with a lion"
    assert admits(tiny, scoped("edit", query), program)
    assert not admits(tiny, scoped("edit", query), program.replace("'a lion'", "'a dog'"))
    assert not admits(tiny, scoped("edit", query), program.replace("'a lion'", "'a dog lion'"))


def test_replacement_words() -> None:
    from visprog.planner.vocab import replacement_words

    assert "sunset" in replacement_words("Turn the sky into a sunset")
    assert "sky" not in replacement_words("Turn the sky into a sunset")
    assert "blue" in replacement_words("Change the colour of the car to blue")
    # a new colour alone may take the query's other words ("blue car")
    assert "car" in replacement_words("Change the colour of the car to blue")
    assert "horse" not in replacement_words("Replace the horse with a zebra")
    assert replacement_words("Blur the faces of the children") == ()


def test_a_replace_prompt_of_several_words_is_exactly_them(tiny: TransformersBackend) -> None:
    query = "Turn the white horse into a brown horse"
    program = """BOX0 = Loc(image=IMAGE, object='horse')
OBJ0 = Seg(image=IMAGE, object=BOX0)
IMAGE0 = Replace(image=IMAGE, object=OBJ0, prompt='a brown horse')
FINAL_RESULT = Result(var=IMAGE0)"""
    assert admits(tiny, scoped("edit", query), program)
    assert not admits(tiny, scoped("edit", query), program.replace("a brown horse", "a horse"))


def test_faces_are_found_by_facedet(tiny: TransformersBackend) -> None:
    query = "Blur every face"
    program = """OBJ0 = FaceDet(image=IMAGE)
IMAGE0 = Blur(image=IMAGE, object=OBJ0)
FINAL_RESULT = Result(var=IMAGE0)"""
    assert admits(tiny, scoped("edit", query), program)
    loc = program.replace("FaceDet(image=IMAGE)", "Loc(image=IMAGE, object='face')")
    assert not admits(tiny, scoped("edit", query), loc)


def test_a_recolouring_is_not_a_colour_pop(tiny: TransformersBackend) -> None:
    program = """OBJ0 = Seg(image=IMAGE, query='car')
IMAGE0 = ColorPop(image=IMAGE, object=OBJ0)
FINAL_RESULT = Result(var=IMAGE0)"""
    assert not admits(tiny, scoped("edit", "Change the colour of the car to blue"), program)
    assert admits(tiny, scoped("edit", "Keep only the car in colour"), program)


def test_a_count_in_two_images_counts_in_each(tiny: TransformersBackend) -> None:
    query = "There are three horses in total in the two pictures."
    vqa = """ANSWER0 = VQA(image=LEFT, question='Are there horses?')
ANSWER1 = VQA(image=RIGHT, question='Are there horses?')
ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")
FINAL_RESULT = Result(var=ANSWER2)"""
    count = """BOX0 = Loc(image=LEFT, object='horse')
BOX1 = Loc(image=RIGHT, object='horse')
ANSWER0 = Count(box=BOX0)
ANSWER1 = Count(box=BOX1)
ANSWER2 = Eval(expr="{ANSWER0} + {ANSWER1} == 3")
FINAL_RESULT = Result(var=ANSWER2)"""
    sp = scoped("nlvr", query, ("LEFT", "RIGHT"))
    assert admits(tiny, sp, count)
    assert not admits(tiny, sp, vqa)
    assert admits(tiny, scoped("nlvr", "Both pictures show horses.", ("LEFT", "RIGHT")), vqa)


def test_words_that_call_for_or_rule_out_a_step(tiny: TransformersBackend) -> None:
    emoji = """OBJ0 = FaceDet(image=IMAGE)
IMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='cat_face')
FINAL_RESULT = Result(var=IMAGE0)"""
    blur = emoji.replace(
        "Emoji(image=IMAGE, object=OBJ0, emoji='cat_face')", "Blur(image=IMAGE, object=OBJ0)"
    )
    sp = scoped("edit", "Cover every face with a cat emoji")
    assert admits(tiny, sp, emoji)
    assert not admits(tiny, sp, blur)  # the query asks for an emoji
    bg = blur.replace("Blur(", "BgBlur(")
    assert not admits(tiny, scoped("edit", "Blur every face"), bg)
    assert admits(tiny, scoped("edit", "Blur the background behind every face"), bg)


def test_two_counts_compared_are_two_counts(tiny: TransformersBackend) -> None:
    one = """POINTS0 = Point(image=IMAGE, object='cat')
ANSWER0 = Count(box=POINTS0)
ANSWER1 = Eval(expr="'yes' if {ANSWER0} > 1 else 'no'")
FINAL_RESULT = Result(var=ANSWER1)"""
    assert not admits(tiny, scoped("count", "Are there more cats than dogs?"), one)
    assert admits(tiny, scoped("count", "Are there more than one cat?"), one)


def test_no_target_is_named_final(tiny: TransformersBackend) -> None:
    program = "BOX0 = Loc(image=IMAGE, object='plate')\nFINAL_RESULT = Result(var=BOX0)"
    sp = scoped("gqa", "Where is the plate?")
    assert admits(tiny, sp, program)
    assert not admits(tiny, sp, program.replace("BOX0", "FINALX1"))


def test_a_relation_locates_its_object_first(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many cups are to the left of the kettle?")
    good = """BOX0 = Loc(image=IMAGE, object='kettle')
IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)
POINTS0 = Point(image=IMAGE0, object='cup')
ANSWER0 = Count(box=POINTS0)
FINAL_RESULT = Result(var=ANSWER0)"""
    assert admits(tiny, sp, good)
    assert not admits(tiny, sp, good.replace("'kettle'", "'cup'"))


def test_a_yes_no_count_question_compares(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more than two faces in the photo?")
    bare = (
        "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\nFINAL_RESULT = Result(var=ANSWER0)"
    )
    assert not admits(tiny, sp, bare)
    assert admits(tiny, scoped("count", "How many faces are in the photo?"), bare)


def test_eval_has_no_truth_literals(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "Exactly one of the images shows a tractor.", ("LEFT", "RIGHT"))
    program = """ANSWER0 = VQA(image=LEFT, question='Is there a tractor?')
ANSWER1 = VQA(image=RIGHT, question='Is there a tractor?')
ANSWER2 = Eval(expr="{ANSWER0} xor {ANSWER1}")
FINAL_RESULT = Result(var=ANSWER2)"""
    assert admits(tiny, sp, program)
    assert not admits(tiny, sp, program.replace("{ANSWER0} xor {ANSWER1}", "True"))


def test_while_the_result_waits_only_steps_toward_it_are_offered(tiny: TransformersBackend) -> None:
    """The Result waits for the relation's crop: no Point, Count, Eval filler before it."""
    sp = scoped("count", "Count the birds above the fence")
    assert not admits(tiny, sp, "POINTS0 = Point(image=IMAGE, object='bird')")
    good = """BOX0 = Loc(image=IMAGE, object='fence')
IMAGE0 = CropAbove(image=IMAGE, box=BOX0)
POINTS0 = Point(image=IMAGE0, object='bird')
ANSWER0 = Count(box=POINTS0)
FINAL_RESULT = Result(var=ANSWER0)"""
    assert admits(tiny, sp, good)
    # an emoji request: as many things found and unused as it names, then the Emoji
    sp = scoped("edit", "Cover every face with a cat emoji")
    found = "OBJ0 = FaceDet(image=IMAGE)"
    assert admits(tiny, sp, found)
    assert not admits(tiny, sp, found + "\nBOX0 = Loc(image=IMAGE, object='every')")
    assert not admits(tiny, sp, found + "\nBOX0 = Loc(image=IMAGE, object='cat')")
    assert admits(tiny, sp, found + "\nIMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='cat_face')")
    # the same call twice computes nothing new
    assert not admits(tiny, sp, "OBJ0 = FaceDet(image=IMAGE)\nOBJ1 = FaceDet(image=IMAGE)")
    # a yes/no question about a number: no VQA while the Eval waits for a count
    sp = scoped("count", "Does the picture have exactly two windows?")
    assert not admits(tiny, sp, "ANSWER0 = VQA(image=IMAGE, question='windows?')")


def test_the_result_is_computed_from_the_relations_crop(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many cups are to the left of the kettle?")
    head = """POINTS0 = Point(image=IMAGE, object='cup')
BOX0 = Loc(image=IMAGE, object='kettle')
IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)
ANSWER0 = Count(box=POINTS0)
"""
    assert not admits(tiny, sp, head + "FINAL_RESULT = Result(var=ANSWER0)")  # counted outside
    assert not admits(tiny, sp, head + "FINAL_RESULT = Result(var=IMAGE0)")  # the crop itself


def test_only_the_stated_relation_is_cropped(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What is the color of the car behind the truck?")
    loc = "BOX0 = Loc(image=IMAGE, object='truck')\n"
    assert not admits(tiny, sp, loc + "IMAGE0 = CropBelow(image=IMAGE, box=BOX0)")
    assert admits(tiny, sp, loc + "IMAGE0 = CropBehind(image=IMAGE, box=BOX0)")


def test_target_names_follow_the_steps_type(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What is the man holding?")
    assert admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='man')")
    assert not admits(tiny, sp, "IMAGE0 = Loc(image=IMAGE, object='man')")
    assert not admits(tiny, sp, "BOX1 = Loc(image=IMAGE, object='man')")  # numbered in order


def test_a_count_that_is_still_missing_counts_something_new(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more cats than dogs?")
    head = "POINTS0 = Point(image=IMAGE, object='cat')\nANSWER0 = Count(box=POINTS0)\n"
    assert not admits(tiny, sp, head + "ANSWER1 = Count(box=POINTS0)")
    assert admits(tiny, sp, head + "POINTS1 = Point(image=IMAGE, object='dog')")


def test_a_smiley_is_an_emoji(tiny: TransformersBackend) -> None:
    from visprog.tools.emoji import emoji_names

    query = "Put a smiley on every face"
    sp = ScopedProgram(
        ("IMAGE",), load_prompt("edit").tools, query_vocabulary(query, emoji_names())
    )
    faces = "OBJ0 = FaceDet(image=IMAGE)\n"
    assert not admits(tiny, sp, faces + "IMAGE0 = Blur(image=IMAGE, object=OBJ0)")
    assert admits(tiny, sp, faces + "IMAGE0 = Emoji(image=IMAGE, object=OBJ0, emoji='smiley')")


def test_eval_uses_the_querys_numbers_and_comparison(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more than two faces in the photo?")
    head = "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\n"
    line = "ANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 2 else 'no'\")"
    assert admits(tiny, sp, head + line)
    assert not admits(tiny, sp, head + line.replace("> 2", "> 3"))  # not the query's number
    assert not admits(tiny, sp, head + line.replace("> 2", "< 2"))  # "more" is >
    sp = scoped("nlvr", "Each image contains at least two ducks.", ("LEFT", "RIGHT"))
    counts = """BOX0 = Loc(image=LEFT, object='duck')
BOX1 = Loc(image=RIGHT, object='duck')
ANSWER0 = Count(box=BOX0)
ANSWER1 = Count(box=BOX1)
"""
    assert admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} >= 2 and {ANSWER1} >= 2")')
    assert not admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")')


def test_a_total_over_two_images_is_a_sum(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "The two images contain five cups altogether.", ("LEFT", "RIGHT"))
    counts = """BOX0 = Loc(image=LEFT, object='cup')
BOX1 = Loc(image=RIGHT, object='cup')
ANSWER0 = Count(box=BOX0)
ANSWER1 = Count(box=BOX1)
"""
    assert admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} + {ANSWER1} == 5")')
    assert not admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} == {ANSWER1}")')


def test_past_the_relations_crop_the_subject_is_looked_for(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many cups are to the left of the kettle?")
    head = """BOX0 = Loc(image=IMAGE, object='kettle')
IMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)
"""
    assert admits(tiny, sp, head + "POINTS0 = Point(image=IMAGE0, object='cup')")
    assert not admits(tiny, sp, head + "POINTS0 = Point(image=IMAGE0, object='kettle')")


def test_a_crop_takes_a_box_found_in_its_image(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Count the people on the bus")
    head = "BOX0 = Loc(image=IMAGE, object='bus')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert admits(tiny, sp, head)
    assert not admits(tiny, sp, head + "IMAGE1 = Crop(image=IMAGE0, box=BOX0)")


def test_a_comparison_of_the_two_images_starts_with_the_one_named_first(
    tiny: TransformersBackend,
) -> None:
    sp = scoped(
        "nlvr", "The right image shows more bananas than the left image.", ("LEFT", "RIGHT")
    )
    counts = """BOX0 = Loc(image=LEFT, object='banana')
BOX1 = Loc(image=RIGHT, object='banana')
ANSWER0 = Count(box=BOX0)
ANSWER1 = Count(box=BOX1)
"""
    assert admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER1} > {ANSWER0}")')
    assert not admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} > {ANSWER1}")')


def test_a_count_beside_a_place_crops_to_it(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many lamps can you see beside the bed?")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='lamp')")
    assert admits(
        tiny, sp, "BOX0 = Loc(image=IMAGE, object='bed')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)"
    )


def test_an_existence_question_at_a_place_crops_to_it(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Is there a bicycle next to the tree?")
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='bicycle')")
    assert admits(
        tiny, sp, "BOX0 = Loc(image=IMAGE, object='tree')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)"
    )


@pytest.mark.parametrize(
    ("query", "categories"),
    [
        (
            "Name the tools on the bench: hammer, spirit level, hand saw.",
            ("hammer", "spirit level", "hand saw"),
        ),
        ("Label the shirts as 'home kit' or 'away kit'", ("home kit", "away kit")),
        ("Tag each fruit as apple, pear or plum", ("apple", "pear", "plum")),
        ("What is on the shelf: a vase, or a clock?", ("vase", "clock")),
        ("Note: the picture, which is dark, shows two cats", ()),
        ("Is the dog's collar red?", ()),
    ],
)
def test_listed_categories_with_several_words(query: str, categories: tuple[str, ...]) -> None:
    assert listed_categories(query) == categories


ASK = "ANSWER0 = VQA(image=IMAGE, question='{}')\nFINAL_RESULT = Result(var=ANSWER0)"


def test_a_question_has_three_words_and_a_question_mark(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Who is carrying the blue bag?")
    assert admits(tiny, sp, ASK.format("Who is carrying the blue bag?"))
    assert not admits(tiny, sp, ASK.format("Who"))
    assert not admits(tiny, sp, ASK.format("Who is carrying"))  # no question mark


def test_a_question_keeps_the_answers_it_offers(tiny: TransformersBackend) -> None:
    query = "Who is carrying the blue bag, a boy or a girl?"
    assert query_vocabulary(query).choice == "a boy or a girl"
    sp = scoped("gqa", query)
    assert admits(tiny, sp, ASK.format("Who is carrying the blue bag a boy or a girl?"))
    assert not admits(tiny, sp, ASK.format("Who is carrying the blue bag?"))
    assert query_vocabulary("Is the cat black or white?").choice == "black or white"
    # a choice of sides keeps the sides and the thing they are sides of (it cropped to one)
    side = query_vocabulary("Is the cup to the left or to the right of the plate?")
    assert side.choice == "left or to the right of the plate"
    assert side.relations == () and "VQA" in side.required


HALF_COUNT = """BOX0 = Loc(image=IMAGE, object='RIGHT')
IMAGE0 = Crop(image=IMAGE, box=BOX0)
BOX1 = Loc(image=IMAGE0, object='people')
ANSWER0 = Count(box=BOX1)
FINAL_RESULT = Result(var=ANSWER0)"""


def test_a_named_half_is_located_first(tiny: TransformersBackend) -> None:
    query = "Count the people on the right half of the image."
    vocab = query_vocabulary(query)
    assert vocab.half == "RIGHT" and vocab.relations == ()  # a half, not "right of the image"
    assert query_vocabulary("people in the upper part").half == "TOP"
    assert query_vocabulary("the left side of the car").half == ""  # part of a thing
    sp = scoped("count", query)
    assert admits(tiny, sp, HALF_COUNT)
    assert not admits(tiny, sp, "BOX0 = Loc(image=IMAGE, object='people')\n")
    assert not admits(tiny, sp, "POINTS0 = Point(image=IMAGE, object='person')\n")
    # the answer comes from the half, not from the whole image
    whole = "BOX0 = Loc(image=IMAGE, object='RIGHT')\nBOX1 = Loc(image=IMAGE, object='people')\n"
    assert not admits(
        tiny, sp, whole + "ANSWER0 = Count(box=BOX1)\nFINAL_RESULT = Result(var=ANSWER0)"
    )
    # the half's box is no count of people
    box = "BOX0 = Loc(image=IMAGE, object='RIGHT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert not admits(tiny, sp, box + "ANSWER0 = Count(box=BOX0)\n")
    # an edit returns the whole image: the half is located, not cropped to
    edit = scoped("edit", "Please blur the right half of this photo")
    blur = "BOX0 = Loc(image=IMAGE, object='RIGHT')\nIMAGE0 = Blur(image=IMAGE, object=BOX0)\n"
    assert admits(tiny, edit, blur + "FINAL_RESULT = Result(var=IMAGE0)")
    assert not admits(tiny, edit, "BOX0 = Loc(image=IMAGE, object='photo')\n")


PAIR = ("LEFT", "RIGHT")


def test_a_two_image_statement_ends_in_an_eval(tiny: TransformersBackend) -> None:
    sp = scoped(
        "nlvr", "The dog in the left image wears a collar, and the dog on the right does not.", PAIR
    )
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is the dog wearing a collar?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is the dog wearing a collar?')\n"
    )
    assert not admits(tiny, sp, asked + "FINAL_RESULT = Result(var=ANSWER0)")
    joined = 'ANSWER2 = Eval(expr="{ANSWER0} and not {ANSWER1}")\n'
    assert admits(tiny, sp, asked + joined + "FINAL_RESULT = Result(var=ANSWER2)")


COUNTS = (
    "BOX0 = Loc(image=LEFT, object='laptop')\nBOX1 = Loc(image=RIGHT, object='laptop')\n"
    "ANSWER0 = Count(box=BOX0)\nANSWER1 = Count(box=BOX1)\n"
)


def test_stated_numbers_in_two_images_are_compared(tiny: TransformersBackend) -> None:
    sp = scoped(
        "nlvr", "The right picture contains two laptops and the left one contains none.", PAIR
    )
    ev = 'ANSWER2 = Eval(expr="{}")\nFINAL_RESULT = Result(var=ANSWER2)'
    assert not admits(tiny, sp, COUNTS + ev.format("{ANSWER1} and not {ANSWER0}"))
    assert admits(tiny, sp, COUNTS + ev.format("{ANSWER1} == 2 and {ANSWER0} == 0"))


def test_twice_as_many_scales_one_side(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "The right image has twice as many laptops as the left one.", PAIR)
    ev = 'ANSWER2 = Eval(expr="{}")\nFINAL_RESULT = Result(var=ANSWER2)'
    assert admits(tiny, sp, COUNTS + ev.format("{ANSWER1} == {ANSWER0} * 2"))
    assert not admits(tiny, sp, COUNTS + ev.format("{ANSWER1} == {ANSWER0}"))
    assert not admits(tiny, sp, COUNTS + ev.format("{ANSWER1} == {ANSWER0} + 2"))
    assert not admits(tiny, sp, COUNTS + ev.format("{ANSWER1} == {ANSWER0} * {ANSWER0}"))


def test_stated_numbers_leave_out_unsaid_zero_and_one() -> None:
    assert query_vocabulary("two laptops on the right and none on the left").numbers == ("2", "0")
    assert query_vocabulary("more than three dogs").numbers == ("3",)
    assert query_vocabulary("three dogs on the left and one on the right").numbers == ("3", "1")
    assert query_vocabulary("Is there a dog?").numbers == ("0", "1")


def test_an_image_shows_is_either_image() -> None:
    assert query_vocabulary("An image shows a pizza cut into slices.").logic == ("or",)


def test_a_two_image_statement_gets_to_its_eval(tiny: TransformersBackend) -> None:
    sp = scoped(
        "nlvr", "The dog in the left image wears a collar, and the dog on the right does not.", PAIR
    )
    asked = "".join(
        f"ANSWER{i} = VQA(image={side}, question='Is the dog wearing a collar?')\n"
        for i, side in enumerate(["LEFT", "RIGHT", "LEFT", "RIGHT", "LEFT"])
    )
    assert not admits(
        tiny, sp, asked + "ANSWER5 = VQA(image=RIGHT, question='Is the dog wearing a collar?')\n"
    )
    assert admits(tiny, sp, asked + 'ANSWER5 = Eval(expr="{ANSWER0} and not {ANSWER1}")\n')


def test_out_of_statements_the_result_names_a_defined_variable(tiny: TransformersBackend) -> None:
    sp = ScopedProgram(
        ("LEFT", "RIGHT"),
        load_prompt("nlvr").tools,
        query_vocabulary("Both show a dog."),
        max_statements=2,
    )
    asked = (
        "ANSWER0 = VQA(image=LEFT, question='Is there a dog?')\n"
        "ANSWER1 = VQA(image=RIGHT, question='Is there a dog?')\n"
    )
    assert admits(tiny, sp, asked + "FINAL_RESULT = Result(var=ANSWER1)")
    assert not admits(tiny, sp, asked + "FINAL_RESULT = Result(var=LEFT)")


def test_an_outline_is_a_segmentation(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Outline each of the cookies on the tray.")
    assert "Seg" in sp.required
    points = "POINTS0 = Point(image=IMAGE, object='cookies')\n"
    assert not admits(tiny, sp, points + "FINAL_RESULT = Result(var=POINTS0)")
    seg = "OBJ0 = Seg(image=IMAGE, point=POINTS0)\nIMAGE0 = Tag(image=IMAGE, object=OBJ0)\n"
    assert admits(tiny, sp, points + seg + "FINAL_RESULT = Result(var=IMAGE0)")


def test_given_categories_wait_for_classify(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Label the fruits as apple, pear or plum")
    found = "OBJ0 = Loc(image=IMAGE, object='fruits')\n"
    assert not admits(
        tiny,
        sp,
        found + "IMAGE0 = Tag(image=IMAGE, object=OBJ0)\nFINAL_RESULT = Result(var=IMAGE0)",
    )
    assert admits(
        tiny,
        sp,
        found + "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['apple', 'pear', 'plum'])\n"
        "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\nFINAL_RESULT = Result(var=IMAGE0)",
    )


def test_past_the_relations_crop_images_come_from_it(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What is the woman to the left of the bike holding?")
    head = "BOX0 = Loc(image=IMAGE, object='bike')\nIMAGE0 = CropLeftOf(image=IMAGE, box=BOX0)\n"
    ask = "ANSWER0 = VQA(image={}, question='What is the woman holding?')\nFINAL_RESULT = Result(var=ANSWER0)"
    assert admits(tiny, sp, head + ask.format("IMAGE0"))
    assert admits(
        tiny,
        sp,
        head
        + "BOX1 = Loc(image=IMAGE0, object='woman')\nIMAGE1 = Crop(image=IMAGE0, box=BOX1)\n"
        + ask.format("IMAGE1"),
    )
    assert not admits(
        tiny, sp, head + "IMAGE1 = Crop(image=IMAGE, box=BOX0)\n" + ask.format("IMAGE1")
    )
    assert not admits(tiny, sp, head + ask.format("IMAGE"))


def test_blur_everything_but_a_thing_is_a_background_blur() -> None:
    v = query_vocabulary("Please blur everything except the cyclist")
    assert "BgBlur" in v.required and "Blur" not in v.required and "BgBlur" not in v.excluded
    plain = query_vocabulary("Blur the cyclist")
    assert "Blur" in plain.required and "BgBlur" in plain.excluded


def test_a_two_image_statement_without_a_number_is_not_counted() -> None:
    visprog.api.ensure_tools()
    tools = load_prompt("nlvr").tools
    asked = ScopedProgram(
        ("LEFT", "RIGHT"), tools, query_vocabulary("The cat on the left wears a bell.")
    )
    counted = ScopedProgram(
        ("LEFT", "RIGHT"), tools, query_vocabulary("The left image has more cats.")
    )
    assert "Count" not in {s.name for s in asked.specs}
    assert "Count" in {s.name for s in counted.specs}


def test_a_question_names_something_the_query_names(tiny: TransformersBackend) -> None:
    sp = scoped("nlvr", "Both photos were taken at night.", ("LEFT", "RIGHT"))
    ask = "ANSWER0 = VQA(image=LEFT, question='{}')\n"
    rest = (
        "ANSWER1 = VQA(image=RIGHT, question='Was it taken at night?')\n"
        'ANSWER2 = Eval(expr="{ANSWER0} and {ANSWER1}")\nFINAL_RESULT = Result(var=ANSWER2)'
    )
    assert admits(tiny, sp, ask.format("Was this photo taken at night?") + rest)
    assert not admits(tiny, sp, ask.format("Is there a photo?") + rest)


@pytest.mark.parametrize(
    ("query", "needs_list"),
    [
        ("Tag the prime ministers in this photo", True),
        ("Label each cat with its breed", True),
        ("Name the Avengers in the poster", True),
        ("Tag the bicycles", False),
        ("Label each cat as tabby, siamese or persian", False),  # given: Classify, no List
    ],
)
def test_knowledge_tagging_waits_for_a_list(query: str, needs_list: bool) -> None:
    visprog.api.ensure_tools()
    sp = ScopedProgram(("IMAGE",), load_prompt("tag").tools, query_vocabulary(query))
    assert ("List" in sp.required) == needs_list


def test_given_categories_are_all_passed(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Tag the tools: hammer, spirit level, hand saw")
    prog = (
        "OBJ0 = Loc(image=IMAGE, object='tools')\n"
        "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories={})\n"
        "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\nFINAL_RESULT = Result(var=IMAGE0)"
    )
    assert admits(tiny, sp, prog.format("['hammer', 'spirit level', 'hand saw']"))
    assert not admits(tiny, sp, prog.format("['hammer', 'hand saw']"))


def test_a_things_name_does_not_end_with_a_colour(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many green pears are there?")
    prog = (
        "POINTS0 = Point(image=IMAGE, object='{}')\nANSWER0 = Count(box=POINTS0)\n"
        "FINAL_RESULT = Result(var=ANSWER0)"
    )
    assert admits(tiny, sp, prog.format("green pears"))
    assert not admits(tiny, sp, prog.format("green"))
    assert not admits(tiny, sp, prog.format("the"))


def test_a_swap_is_a_replace() -> None:
    assert "Replace" in query_vocabulary("Swap the kettle for a teapot").required
    assert "Replace" in query_vocabulary("Swap the faces for cat emojis").excluded  # an Emoji


def test_knowledge_tagging_classifies_with_the_looked_up_list(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Label each horse with its breed")
    found = "OBJ0 = Loc(image=IMAGE, object='horse')\n"
    tail = (
        "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=LIST0)\n"
        "IMAGE0 = Tag(image=IMAGE, object=OBJ1)\nFINAL_RESULT = Result(var=IMAGE0)"
    )
    assert admits(tiny, sp, found + "LIST0 = List(query='horse breeds', max=10)\n" + tail)
    assert not admits(tiny, sp, found + "LIST0 = List(query='horse', max=10)\n" + tail)
    words = "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=['horse'])\n"
    assert not admits(tiny, sp, found + words)


def test_a_lookup_names_the_proper_noun(tiny: TransformersBackend) -> None:
    sp = scoped("tag", "Which characters from Friends are in this photo? Tag them.")
    found = "OBJ0 = FaceDet(image=IMAGE)\n"
    assert admits(tiny, sp, found + "LIST0 = List(query='characters from Friends', max=8)\n")
    assert not admits(tiny, sp, found + "LIST0 = List(query='characters', max=8)\n")


def test_which_of_two_is_more_counts_both() -> None:
    assert query_vocabulary("Which are there more of, forks or spoons?").compared
    assert not query_vocabulary("Which cup is red, the left or the right one?").compared


def test_generation_never_names_files_or_classifies_without_categories(
    tiny: TransformersBackend,
) -> None:
    sp = scoped("tag", "Tag the members of the band")
    found = "OBJ0 = FaceDet(image=IMAGE)\n"
    for call in ("examples='x/y'", "probe='a.probe'", ""):
        args = f", {call}" if call else ""
        assert not admits(tiny, sp, found + f"OBJ1 = Classify(image=IMAGE, object=OBJ0{args})\n")
    listed = found + "LIST0 = List(query='members of the band', max=6)\n"
    assert admits(
        tiny, sp, listed + "OBJ1 = Classify(image=IMAGE, object=OBJ0, categories=LIST0)\n"
    )


def test_an_object_name_does_not_end_with_a_modifier(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Swap out the coffee mug for a glass of orange juice.")
    loc = "BOX0 = Loc(image=IMAGE, object='{}')\n"
    assert admits(tiny, sp, loc.format("coffee mug"))
    assert not admits(tiny, sp, loc.format("coffee"))
    # a word that also ends a phrase in the query stays an object name
    assert "coffee" not in query_vocabulary("the coffee in the coffee mug").modifiers
    assert "lady" in query_vocabulary("make the lady's handbag golden").modifiers
    assert "man" not in query_vocabulary("blur the man's face").modifiers


@pytest.mark.parametrize(
    ("query", "categories"),
    [
        (
            "Classify each bird as robin, sparrow, blue jay or cardinal and tag them",
            ("robin", "sparrow", "blue jay", "cardinal"),
        ),
        (
            "Tag each shoe as a sneaker, boot, sandal or high heel.",
            ("sneaker", "boot", "sandal", "high heel"),
        ),
        ("label each player with his team, Real Madrid or Barcelona", ("Real Madrid", "Barcelona")),
        ("Label Messi and Ronaldo", ("Messi", "Ronaldo")),  # not "Label Messi"
        ("Is the dog as big as the cat?", ()),
    ],
)
def test_categories_after_as_may_have_several_words(
    query: str, categories: tuple[str, ...]
) -> None:
    assert listed_categories(query) == categories


def test_counting_words_call_for_their_steps() -> None:
    assert "FaceDet" in query_vocabulary("Can you blur the kids' faces?").required
    assert "FaceDet" not in query_vocabulary("Put a dog face emoji over each cat").required
    assert "FaceDet" in query_vocabulary("Identify the cast of Friends").required
    assert "Eval" in query_vocabulary("How many more cars than trucks are there?").required
    same = query_vocabulary("Is the number of cups equal to the number of saucers?")
    assert same.compared and "Eval" in same.required


def test_a_whole_image_question_names_every_thing_asked_about(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "Is the pillow the same color as the blanket?")
    assert admits(tiny, sp, ASK.format("Is the pillow the same color as the blanket?"))
    assert not admits(tiny, sp, ASK.format("Is the pillow the same color?"))
    # a crop's question asks about what was cropped
    crop = "BOX0 = Loc(image=IMAGE, object='pillow')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    assert admits(
        tiny, sp, crop + "ANSWER0 = VQA(image=IMAGE0, question='What color is the pillow?')\n"
    )
    # a word before a head noun is no thing of its own ("fire" of "fire hydrant")
    assert query_vocabulary("Is the dog next to the fire hydrant?").nouns == ("dog", "hydrant")


def test_more_words_that_call_for_steps() -> None:
    assert "Replace" in query_vocabulary("make the woman's dress purple").required
    assert "List" not in query_vocabulary("make the woman's dress purple").required
    assert "Replace" not in query_vocabulary("make everything grey except the red car").required
    assert "Replace" in query_vocabulary("remove the car parked on the street").required
    assert "make" in query_vocabulary("Tag each car with its make").knowledge
    assert "country" in query_vocabulary("Tag each flag with its country").knowledge
    assert not query_vocabulary("are the two dogs the same colour?").counts
    assert query_vocabulary("The right image has three more birds than the left.").arithmetic
    lookup = query_vocabulary("Tag the famous buildings of the New York skyline").lookup
    assert "New York" in lookup and "York" not in lookup


def test_a_query_about_faces_acts_on_found_faces(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "Can you blur the kids' faces so they can't be recognised?")
    kids = "OBJ0 = Loc(image=IMAGE, object='kids')\n"
    assert not admits(tiny, sp, kids + "IMAGE0 = Blur(image=IMAGE, object=OBJ0)\n")
    faces = "OBJ0 = FaceDet(image=IMAGE)\nIMAGE0 = Blur(image=IMAGE, object=OBJ0)\n"
    assert admits(tiny, sp, faces + "FINAL_RESULT = Result(var=IMAGE0)")
    count = scoped("count", "How many faces are on the right side of the image?")
    half = "BOX0 = Loc(image=IMAGE, object='RIGHT')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    people = "POINTS0 = Point(image=IMAGE0, object='person')\n"
    assert not admits(tiny, count, half + people + "ANSWER0 = Count(box=POINTS0)\n")
    found = "OBJ0 = FaceDet(image=IMAGE0)\nANSWER0 = Count(box=OBJ0)\n"
    assert admits(tiny, count, half + found + "FINAL_RESULT = Result(var=ANSWER0)")


def test_how_many_more_subtracts(tiny: TransformersBackend) -> None:
    sp = scoped("count", "How many more cars than trucks are there?")
    counts = (
        "POINTS0 = Point(image=IMAGE, object='cars')\nANSWER0 = Count(box=POINTS0)\n"
        "POINTS1 = Point(image=IMAGE, object='trucks')\nANSWER1 = Count(box=POINTS1)\n"
    )
    assert admits(tiny, sp, counts + 'ANSWER2 = Eval(expr="{ANSWER0} - {ANSWER1}")\n')
    assert not admits(
        tiny, sp, counts + "ANSWER2 = Eval(expr=\"'yes' if {ANSWER0} > {ANSWER1} else 'no'\")\n"
    )


def test_inside_is_a_place_and_the_left_one_is_no_number() -> None:
    vocab = query_vocabulary("What colour are the flowers inside the vase?")
    assert vocab.relations == ("Crop",) and "vase" in vocab.anchor
    assert query_vocabulary("two laptops on the right and none in the left one").numbers == (
        "2",
        "0",
    )


def test_a_question_that_calls_for_an_eval_is_answered_by_it(tiny: TransformersBackend) -> None:
    sp = scoped("count", "Are there more than two faces in the photo?")
    found = "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\n"
    assert not admits(tiny, sp, found + "FINAL_RESULT = Result(var=ANSWER0)")
    # faces first: no Point or Loc of people while FaceDet is waited for
    assert not admits(tiny, sp, "POINTS0 = Point(image=IMAGE, object='person')\n")


def test_a_half_is_not_segmented_and_things_get_no_facedet(tiny: TransformersBackend) -> None:
    sp = scoped("edit", "keep the top half in colour and make the rest grey")
    top = "BOX0 = Loc(image=IMAGE, object='TOP')\n"
    assert not admits(tiny, sp, top + "OBJ0 = Seg(image=IMAGE, object=BOX0)\n")
    assert admits(tiny, sp, top + "IMAGE0 = ColorPop(image=IMAGE, object=BOX0)\n")
    assert not admits(tiny, sp, top + "OBJ0 = Seg(image=IMAGE, query='top')\n")
    assert "FaceDet" in query_vocabulary("Tag the famous buildings of the skyline").excluded
    assert "FaceDet" not in query_vocabulary("Tag the members of the band").excluded


def test_past_a_place_the_question_names_the_subject(tiny: TransformersBackend) -> None:
    sp = scoped("gqa", "What colour are the flowers inside the vase?")
    crop = "BOX0 = Loc(image=IMAGE, object='vase')\nIMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    ask = "ANSWER0 = VQA(image=IMAGE0, question='{}')\n"
    assert admits(tiny, sp, crop + ask.format("What colour are the flowers?"))
    assert not admits(tiny, sp, crop + ask.format("What colour is the vase?"))


def test_a_question_without_a_keyword_is_a_question() -> None:
    from visprog.planner.prompts import choose_task

    assert choose_task("What's the girl with the red hat doing?") == "gqa"
