"""Scope- and type-constrained generation: one grammar per statement, built from the state so far.

The syntax grammar (:func:`~visprog.planner.grammar.program_grammar`) makes every output parse;
this module makes it *check* as well. A local backend writes the program one statement at a time
and asks :meth:`ScopedProgram.grammar` for the grammar of the next line, given the lines so far:

* a new target name (never one already defined, never an input);
* only steps whose required variable arguments have a defined variable of an accepted type, and
  for each such argument only those variables (``Crop(box=...)`` names an ``Objects`` variable
  defined above; ``Count(box=...)`` an ``Objects`` or ``Points`` one);
* ``Eval`` expressions in the expression language, whose ``{VAR}`` are defined numbers, text or
  bools;
* closed vocabularies: ``Emoji`` names, ``Loc``'s halves ``'LEFT'``/``'RIGHT'``/``'TOP'``/
  ``'BOTTOM'``, the categories a query lists (then ``Classify`` takes exactly those, and
  ``List``/``Select`` are not offered), and object names, questions and prompts made of the
  query's own words (:mod:`visprog.planner.vocab`);
* ``FINAL_RESULT = Result(var=...)`` naming a defined variable, and nothing after it.

Every program written this way parses and passes :func:`visprog.checker.check`.
"""

from __future__ import annotations

import functools
import itertools
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from visprog import values as V
from visprog.planner.grammar import Grammar, _allowed_specs, _chain, lit
from visprog.planner.vocab import (
    ALWAYS,
    COLOURS,
    NUMBER_WORDS,
    PEOPLE_NOUNS,
    PHRASE_WORDS,
    QUESTION_WORDS,
    Vocabulary,
    forms,
    plural,
    singular,
    there_questions,
)
from visprog.program import Argument, ListValue, Literal, Program, Ref
from visprog.registry import REGISTRY, Param, Registry, ToolSpec
from visprog.syntax import parse

RESULT_LINE = "FINAL_RESULT = Result(var="
HALVES = ("LEFT", "RIGHT", "TOP", "BOTTOM")
RELATION_CROPS = frozenset(
    {"CropLeftOf", "CropRightOf", "CropAbove", "CropBelow", "CropFrontOf", "CropBehind"}
)
CROPS = RELATION_CROPS | {"Crop"}
# While the Result line waits for a step, after this many statements only that step is offered
# (when it can be called): the small model filled the statement limit with other lines.
PATIENCE = 5
EVAL_CLAUSES = 4  # most conditions one Eval joins with and/or/xor
ARITH_OPS = 2  # most operations on one side of an Eval's comparison
# Until this many statements, the Result names a value computed from every thing the query
# names (see ScopedProgram._covering); then any value, so a thing the small model cannot name
# does not hold the program to the statement limit.
COVER_PATIENCE = 8
_FINDS = frozenset({V.OBJECTS})
_LITERAL_TYPES = frozenset({V.TEXT, V.TEXT_LIST, V.NUMBER, V.BOOL})
_COUNTABLE = frozenset({V.OBJECTS, V.POINTS})
_SCALARS = frozenset({V.NUMBER, V.TEXT, V.BOOL, V.ANY})
_REF_TYPES = frozenset({V.IMAGE, V.OBJECTS, V.POINTS, V.ANY, V.TEXT_LIST, V.NUMBER, V.BOOL})
# Text arguments written from the query's words, and how many words each may take.
PHRASES: dict[tuple[str, str], int] = {
    ("Loc", "object"): 4,
    ("Point", "object"): 4,
    ("Seg", "query"): 4,
    ("Select", "query"): 6,
    ("Select", "category"): 3,
    ("Replace", "prompt"): 6,
    ("List", "query"): 8,
    ("Classify", "categories"): 3,
}
QUESTION_WORDS_MAX = 16
FOCUS_MAX = 5  # most content words a question must keep (a longer query keeps its things)
# A question is a question: the small model stopped at 'Who' or 'What' (a VQA of one word).
QUESTION_WORDS_MIN = 3
# Steps whose object is never a face when FaceDet is offered: a small model writes
# Loc(object='face') for "every face", and OWLv2 finds faces far worse than MTCNN.
_FACE_STEPS = frozenset({("Loc", "object"), ("Point", "object")})
_FACES = frozenset({"face", "faces"})
_SEG_SOURCES = frozenset({"object", "point", "query"})  # Seg takes exactly one of them
_SUBJECT_STEPS = frozenset({("Loc", "object"), ("Point", "object"), ("Seg", "query")})
# Optional in the signature, needed in a written program: Classify without categories labels
# only with a probe file, which generation never names.
_NEEDED = frozenset({("Classify", "categories")})
# Words a thing's name never ends with: function words and colours ("orange" is a fruit too).
_NOT_LAST = frozenset(
    {
        *PHRASE_WORDS,
        *"or to at by for from its their his her many much".split(),
        # "except the red one": no thing is named 'one' ('car on the ones' was located)
        *"one ones".split(),
        # no thing is named by a pronoun or a verb ("Is there anything on the table?" found
        # 'there', then 'there is')
        *"there here anything something everything nothing it them this that".split(),
        *"is are was were be you me see could would should will tell".split(),
        # a side is no thing: "on the left or right of the keyboard" located 'left'
        *"left right".split(),
        # nor a place word ("blur the background behind the dog" kept 'behind' sharp)
        *"behind above below under beneath underneath beside near inside between among "
        "across along around onto into".split(),
        *(COLOURS - {"orange"}),
    }
)
_WORD_RE = re.compile(r"[A-Za-z]+")
# Words of a counting query that name no place to count in ("more than three birds").
_NO_PLACE = frozenset(
    "count counts more mores than thans fewer less least most exactly over under total "
    # "is the number of oranges even": no place to count in (it located 'a of in thing')
    "altogether number numbers many odd odds even evens".split()
)
# Words that say nothing of what a counted thing is like: the question's own and its numbers
# (with the plural forms the vocabulary adds: 'ons', 'theres').
_NOT_DESCRIBING = frozenset(
    w + end
    for w in (
        *_NO_PLACE,
        *NUMBER_WORDS,
        *NUMBER_WORDS.values(),
        *"are is was were there how what which do does can see any at".split(),
    )
    for end in ("", "s")
)
# The names a program may give anything (:data:`ALWAYS`), which name nothing of the query.
_FILLER = frozenset(w.lower() for w in ALWAYS)
# Steps that make found things from found things.
_SELECTORS = frozenset({"Seg", "Select", "Exclude"})
# (what a thing wears or holds picks it: "the man holding the umbrella"; a side does not, as
# CLIP cannot tell one, so a thing on one side is found in that half)
_QUESTION_WORDS_LOWER = frozenset(w.lower() for w in QUESTION_WORDS) - {"wearing", "holding"}
_HALVES_LOWER = frozenset(h.lower() for h in HALVES)
# Words a Replace prompt does not end with: places and the request's own verbs.
_NOT_PAINTED = frozenset(
    "left right top bottom side half upper lower remove delete erase replace swap get rid".split()
)
# Steps whose text names a thing (the object found, the question asked).
_NAMERS = frozenset({"Loc", "Point", "Seg", "Select", "VQA"})
# Steps that find things in an image.
_FINDERS = frozenset({"FaceDet", "Loc", "Point", "Seg"})
_SEEKERS = frozenset({"FaceDet", "Loc", "Point"})  # steps that find things from nothing
# Words of a tagging request that name no thing to find.
_TAGGING_WORDS = frozenset(
    "tag tags label labels mark identify name draw say whether around box boxes circle "
    "highlight highlite outline find detect locate show each every".split()
)
# What a tagging's labels are, not what is labelled ("tag every person with their job"
# located 'job').
_ATTRIBUTES = frozenset(
    "breed breeds species brand brands make model models type types kind kinds variety name "
    "names genre author title titles value values denomination emotion emotions expression "
    "expressions mood moods feeling feelings occupation occupations profession professions "
    "job jobs artist artists style styles colour colours color colors".split()
)
# Words of an edit request that name no thing to edit.
_EDIT_WORDS = frozenset(
    "blur blurs blurred blurry replace replaced swap cover covered hide hidden make turn "
    "change keep sharp pop colour color grey gray greyscale grayscale pixelate censor "
    "anonymise anonymize remove erase delete put puts stick sticks place places give gives "
    "add adds paint obscure recolor recolour crop zoom turns makes changes keeps except "
    "excepts enlarge magnify darken brighten lighten obliterate "
    # (and how it looks after: "keep the person in focus" located 'the in focus')
    "focus focuses crisp".split()
)
# Words of an edit request that say what is done or where, not which thing it is done to.
_DOING_WORDS = _EDIT_WORDS | frozenset(
    "emoji emojis only highlight select outline segment tag label mark box draw everything "
    "else rest but face faces pop popped pixelated".split()
)
# What an edit's image or part of it is called, never a thing found in it ("turn the photo
# black and white except for the flowers" popped Loc('photo'); "blow up the part with the
# sign" cropped to 'part')
_FRAME_WORDS = frozenset(
    "image images picture pictures photo photos photograph photographs pic pics frame shot "
    "part parts area areas region regions section sections portion portions bit spot".split()
)
_BACKDROPS = frozenset("background backgrounds backdrop backdrops scenery".split())
_NOT_FIRST = frozenset("of with in on and or to at by for from".split())
_NOT_LAST_PLURALS = frozenset(plural(w) for w in _NOT_LAST)
# Words of a choice between sides ("on the left or right of the keyboard").
_SIDE_WORDS = frozenset("left right top bottom above below".split())
# Words of a query that may name a half of the image.
_HALF_SAID = frozenset("left right top bottom side sides half halves upper lower".split())
# Words that deny, which a two-image statement's Eval says and its questions do not.
_DENYING = frozenset(
    "neither nor not no none without doesn't isn't aren't don't didn't nors nots nos nones".split()
)
# Words of a request to locate, whose answer is where things are, not a value.
_LOCATING = frozenset("where find locate show point mark box boxes".split())
# Edits return the whole image, so a half the query names is located, not cropped to.
_WHOLE_IMAGE_EDITS = frozenset({"Blur", "BgBlur", "Emoji", "Replace", "ColorPop"})
# A string in an Eval is a word or a few ("yes", "left", "red car"): not "' if {ANSWER1} == '",
# with which the small model wrote a whole expression inside one string.
EVAL_LITERAL = r"/'[A-Za-z0-9][A-Za-z0-9 _.,!?-]{0,39}'/"
# A question answered yes or no: it opens with a verb ("Is there a lighthouse?"). Its answer
# is compared with 'yes' or 'no' only ("{ANSWER1} == 'lighthouse'" was always false).
_POLAR = re.compile(
    r"\s*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b",
    re.IGNORECASE,
)


@dataclass
class Scope:
    """What the lines so far define: variable -> type tags, in definition order.

    Attributes:
        types: Variable -> type tags (inputs first).
        statements: How many statements.
        steps: Canonical names of the steps called.
        calls: Step name as written -> how many calls.
        deps: Variable -> every variable it was computed from (transitively).
        made_by: Variable -> the canonical step that defined it.
        counted: Variables some ``Count`` counted.
        classified: Variables some ``Classify`` took (its object, image, categories).
        objects: ``(image, object)`` of each ``Loc`` and ``Point`` call.
        ref_calls: Step -> the variables of each of its calls whose arguments are all variables.
        source: Objects variable -> the image it was found in.
        halves: Variables a ``Loc`` of a half (``'LEFT'``, ...) defined, and that half.
        edited: (step, variable) of each whole-image edit of the things a variable holds.
        said: Lower-case words of every text literal so far.
        said_by: Variable -> the lower-case words of its own statement's text literals.
        cropped: Images whose pixels are a crop (a crop, or an edit of one).
        in_half: Of those, the ones cut from a half's box.
        looked: Variable a ``Loc`` or ``Point`` defined -> the object it looked for.
        crop_box: Image a crop defined -> the box it was cropped to.
        found_in: Variable a ``Loc`` or ``Point`` defined -> the image it looked in.
        questions: Answer of a ``VQA`` -> its question.
        drawn_on: Image a ``Tag`` drew -> the image it drew on first (through Tags of Tags).
        selected_from: Variable a ``Select`` defined -> the objects it selected from.
        unsaid: Set by :meth:`ScopedProgram.grammar` while the Result waits for things no text
            names yet (their forms): found things and questions name one of them.
    """

    types: dict[str, frozenset[str]] = field(default_factory=dict)
    statements: int = 0
    steps: set[str] = field(default_factory=set)
    calls: dict[str, int] = field(default_factory=dict)
    deps: dict[str, set[str]] = field(default_factory=dict)
    made_by: dict[str, str] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)
    classified: set[str] = field(default_factory=set)
    objects: set[tuple[str, str]] = field(default_factory=set)
    ref_calls: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    halves: dict[str, str] = field(default_factory=dict)
    edited: set[tuple[str, str]] = field(default_factory=set)
    said: set[str] = field(default_factory=set)
    said_by: dict[str, set[str]] = field(default_factory=dict)
    cropped: set[str] = field(default_factory=set)
    in_half: set[str] = field(default_factory=set)
    looked: dict[str, str] = field(default_factory=dict)
    crop_box: dict[str, str] = field(default_factory=dict)
    found_in: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    drawn_on: dict[str, str] = field(default_factory=dict)
    selected_from: dict[str, str] = field(default_factory=dict)
    # Set by ScopedProgram.grammar: things the waiting Result needs named (see _covering).
    unsaid: list[tuple[str, ...]] = field(default_factory=list)

    def made_with(self, name: str, step: str) -> bool:
        """Whether ``step`` made ``name`` or a variable it was computed from."""
        return any(self.made_by.get(d) == step for d in (name, *self.deps.get(name, ())))

    @classmethod
    def of(cls, inputs: Iterable[str], program: Program, registry: Registry) -> Scope:
        """The scope after ``program``'s statements (inputs are images)."""
        scope = cls({name: frozenset({V.IMAGE}) for name in inputs})
        for st in program.statements:
            spec = registry.get(st.step)
            name = spec.name if spec else st.step
            scope.types[st.target] = spec.returns if spec else frozenset({V.ANY})
            scope.statements += 1
            scope.steps.add(name)
            scope.calls[st.step] = scope.calls.get(st.step, 0) + 1
            scope.made_by[st.target] = name
            own = scope.said_by.setdefault(st.target, set())
            for a in st.args:
                items = a.value.items if isinstance(a.value, ListValue) else [a.value]
                for item in items:
                    if isinstance(item, Literal) and isinstance(item.value, str):
                        own.update(re.findall(r"[a-z0-9]+", item.value.lower()))
            scope.said |= own
            refs = _refs(st.args)
            scope.deps[st.target] = refs.union(*(scope.deps.get(r, set()) for r in refs))
            if name == "Count":
                scope.counted |= refs
            picked = next((a.value for a in st.args if a.name == "object"), None)
            if name == "Select" and isinstance(picked, Ref):
                scope.selected_from[st.target] = picked.name
            if name == "Classify":
                scope.classified |= refs
            image = next((a.value for a in st.args if a.name == "image"), None)
            if isinstance(image, Ref) and V.OBJECTS in scope.types[st.target]:
                scope.source[st.target] = image.name
            box = next((a.value for a in st.args if a.name == "box"), None)
            if name in CROPS and isinstance(box, Ref):
                scope.crop_box[st.target] = box.name
            obj = next((a.value for a in st.args if a.name == "object"), None)
            if name in _WHOLE_IMAGE_EDITS and isinstance(obj, Ref):
                scope.edited.add((name, obj.name))
            if name == "Tag" and isinstance(image, Ref):
                scope.drawn_on[st.target] = scope.drawn_on.get(image.name, image.name)
            if V.IMAGE in scope.types[st.target] and isinstance(image, Ref):
                if name in CROPS or image.name in scope.cropped:
                    scope.cropped.add(st.target)
                half_box = name in CROPS and isinstance(box, Ref) and box.name in scope.halves
                if half_box or image.name in scope.in_half:
                    scope.in_half.add(st.target)
            question = next((a.value for a in st.args if a.name == "question"), None)
            if name == "VQA" and isinstance(question, Literal):
                scope.questions[st.target] = str(question.value)
            if st.args and all(isinstance(a.value, Ref) for a in st.args):
                names = tuple(a.value.name for a in st.args if isinstance(a.value, Ref))
                scope.ref_calls.setdefault(name, set()).add(names)
            if name in ("Loc", "Point"):
                args = {a.name: a.value for a in st.args}
                image, obj = args.get("image"), args.get("object")
                if isinstance(image, Ref) and isinstance(obj, Literal):
                    scope.objects.add((image.name, str(obj.value)))
                    scope.looked[st.target] = str(obj.value)
                    scope.found_in[st.target] = image.name
                    if name == "Loc" and obj.value in HALVES:
                        scope.halves[st.target] = str(obj.value)
        return scope

    @property
    def polar(self) -> set[str]:
        """Answers of a ``VQA`` whose question is a yes/no question (its answer is yes or no)."""
        return {n for n, q in self.questions.items() if _POLAR.match(q)}

    def evidence(self, name: str) -> set[str]:
        """Words of the text literals that ``name`` was computed from (its own and its deps')."""
        return set().union(*(self.said_by.get(d, set()) for d in (name, *self.deps.get(name, ()))))

    def names(self, accepted: frozenset[str]) -> list[str]:
        """Variables whose type an argument accepting ``accepted`` takes."""
        if V.ANY in accepted:
            return list(self.types)
        return [n for n, t in self.types.items() if V.ANY in t or t & accepted]


class ScopedProgram:
    """The grammar for each next statement of one program (see the module docstring).

    Args:
        inputs: Input names (images).
        steps: Step names the task may use (``Result`` is always the last line).
        vocabulary: The query's words, categories and emoji names.
        registry: The tools (the default registry when omitted).
        max_statements: Most statements before the Result line.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        steps: Iterable[str] | None,
        vocabulary: Vocabulary,
        registry: Registry | None = None,
        max_statements: int = 12,
    ) -> None:
        self.inputs = tuple(inputs)
        self.registry = registry if registry is not None else REGISTRY
        self.specs = _allowed_specs(self.registry, steps)
        tagging = any(s.name == "Classify" for s in self.specs)  # the tagging task's tools
        if vocabulary.categories and tagging:
            # The query names the categories: Classify with them, not a List or a Select.
            self.specs = [s for s in self.specs if s.name not in ("List", "Select")]
        if "Replace" in vocabulary.required and "FaceDet" not in vocabulary.required:
            # "make the shirt of the boy on the left red": a thing repainted, no face (it
            # repainted the faces found in the left half)
            self.specs = [s for s in self.specs if s.name != "FaceDet"]
        # "Change the car to blue": a recolouring is a Replace, not a ColorPop.
        if vocabulary.replacement and not vocabulary.colour_pop:
            self.specs = [s for s in self.specs if s.name != "ColorPop"]
        self.specs = [s for s in self.specs if s.name not in vocabulary.excluded]
        faces_only = (
            "FaceDet" in vocabulary.required
            and not vocabulary.nouns
            and not vocabulary.replaces_thing
            and not {"Replace", "ColorPop", "BgBlur", "Crop"} & set(vocabulary.required)
        )
        if faces_only and any(s.name in _WHOLE_IMAGE_EDITS for s in self.specs):
            # an edit of faces and nothing else: nothing else to find ("Blur out everyone's
            # face" outlined, then located, a 'person' it never used, which needed SAM 2 or
            # OWLv2 to run); a half is still located
            drop = {"Seg", "Point"} | (set() if vocabulary.half else {"Loc"})
            self.specs = [s for s in self.specs if s.name not in drop]
        if "Exclude" not in vocabulary.required:
            # nothing is left out where the query leaves out no one ("Blur out everyone's
            # face" selected a 'person' and blurred the other faces)
            self.specs = [s for s in self.specs if s.name != "Exclude"]
        self.facedet = any(s.name == "FaceDet" for s in self.specs)
        # A statement about counts in two images counts in each ("four sheep in total"), not
        # a yes/no question per image.
        counting = vocabulary.counts and len(self.inputs) >= 2
        if len(self.inputs) >= 2 and not vocabulary.counts and not vocabulary.compared:
            # "The dog on the left wears a collar": a statement without a number is asked, not
            # counted (the small model compared two counts of dogs).
            self.specs = [s for s in self.specs if s.name != "Count"]
        per_image = 1 if vocabulary.side in self.inputs else len(self.inputs)
        counts = max(per_image if counting else 0, 2 if vocabulary.compared else 0)
        offered = {s.name for s in self.specs}
        self.counts_needed = counts if "Count" in offered else 0
        self.required = [r for r in vocabulary.required if r in offered]
        thresholded = vocabulary.thresholds and vocabulary.comparisons and len(self.inputs) == 1
        if thresholded and "Eval" in offered and "Eval" not in self.required:
            # "count the birds and tell me if there are more than four": a number compared
            # with is an Eval's (it named the count)
            self.required.append("Eval")
        # "Is there a dog or a cat?" (not "red or blue" for the counts)
        exists_either = vocabulary.exists and len(vocabulary.categories) >= 2
        kinds = [c for c in vocabulary.categories if c.lower() not in COLOURS]
        either = exists_either and len(kinds) >= 2 and len(self.inputs) == 1
        self.either = either and {"Count", "Eval"} <= offered
        if self.either:
            # "Are there any cups or glasses?": a count of each, joined by an Eval (it counted
            # the cups only, or asked one long question)
            self.counts_needed = max(self.counts_needed, 2)
            if "Eval" not in self.required:
                self.required.append("Eval")
        if vocabulary.categories and "Classify" in offered and "Classify" not in self.required:
            self.required.append("Classify")  # categories the user gave are used, not dropped
        if "List" in self.required and "Classify" in offered and "Classify" not in self.required:
            self.required.append("Classify")  # looked-up names label the objects
        if "List" not in self.required:
            # nothing to look up: "box the biggest pumpkin" listed 'pumpkin' to label them by
            self.specs = [s for s in self.specs if s.name != "List"]
            if not vocabulary.categories:  # nor labels given: Classify made up ['pumpkin'] * 3
                self.specs = [s for s in self.specs if s.name != "Classify"]
        # A statement about two images is true or false: the Result names an Eval that joins
        # what each shows (a VQA of one image was named as the answer).
        # Not a statement about one of them without a number ("the left image shows a cat
        # on a couch": its one answer; it asked twice and joined the two with xor).
        # A denial of one image is its answer negated ("the right image does not show any
        # birds" named the answer of "Is there a bird?").
        one_side = vocabulary.side in self.inputs and not vocabulary.counts
        one_side = one_side and not vocabulary.negated
        self.joined = len(self.inputs) >= 2 and "Eval" in offered and not one_side
        # "One image shows a bus and the other shows a train": each image is asked both
        # questions, and the Eval says either image may show either ("{A} or {B}" of a bus on
        # the left or a train on the right was written)
        self.one_other = (
            vocabulary.one_other
            and len(self.inputs) == 2
            and self.joined
            and "VQA" in offered
            and not self.counts_needed
        )
        # "There is a dog in the left image and a cat in the right one": each image is asked
        # its own clause's question, and the Eval joins the answers (it asked each image
        # about the dog, then about the cat, and joined the dog's answers)
        self.sided = (
            vocabulary.side_questions
            if len(self.inputs) == 2
            and set(self.inputs) == {"LEFT", "RIGHT"}
            and self.joined
            and "VQA" in offered
            and not self.counts_needed
            and not self.one_other
            else ()
        )
        # "How many people are on the right half?": the half is located (and cropped) first.
        # Not for edits, whose result is the whole image.
        self.half = vocabulary.half if len(self.inputs) == 1 and "Loc" in offered else ""
        # "blur the right half" edits the half itself; "blur the faces on the right side"
        # finds them in the half's crop, and edits the whole image with them
        self.half_crops = not offered & _WHOLE_IMAGE_EDITS or vocabulary.half_place
        self.cropping = vocabulary.cropping and "Crop" in offered  # "crop the photo to it"
        self.edits = bool(offered & _WHOLE_IMAGE_EDITS)
        drop = set()
        if self.edits and not self.cropping and not (self.half and self.half_crops):
            drop.add("Crop")  # an edit crops only to a half or when asked to
        if exists_either and not vocabulary.relations and not self.half:
            # "Is there a dog or a cat in the picture?": neither is where the other is (it
            # cropped to the dog and counted cats in it)
            drop.add("Crop")
        if tagging and not self.edits and not self.half:
            drop.add("Crop")  # tagging crops only to a half ("tag the faces in the left half")
        if self.half and not self.half_crops:
            drop.add("Seg")  # the half is the region edited ("Seg(query='top')" was written)
        if "FaceDet" in self.required:
            drop.add("Point")  # faces are found by FaceDet ("Point(object='right')" was added)
        options = [o for o in re.split(r"\s*(?:,|\bor\b)\s*", vocabulary.choice.lower()) if o]
        if len(self.inputs) == 1 and options and set(options) <= COLOURS and "VQA" in offered:
            # a choice of colours is the VQA's: "is the cat on the chair black or white?"
            # counted the cats and answered "'black' if {ANSWER0} > 0 else 'white'"
            drop |= {"Count", "Eval"}
        self.specs = [s for s in self.specs if s.name not in drop]
        # A tagging request's answer is the drawing ("tag the people on the left" named the
        # crop of the left half).
        self.tagging = tagging and "Tag" in {s.name for s in self.specs} and not self.edits
        said = {w.lower() for w in vocabulary.words}
        labelled = self.tagging and "Classify" in self.required
        if labelled and not vocabulary.relations and not self.half and not said & COLOURS:
            # what is labelled is all that was found: "which Marvel heroes are in this
            # picture? Tag them" selected 'Marvel' among the faces, and used it nowhere
            self.specs = [s for s in self.specs if s.name != "Select"]
        # How many things found may wait unused before the next Loc or Point: "make the
        # woman's face anonymous" located 'woman', 'person', 'animal' and 'object' in turn,
        # none of them used. Two, or one per thing the query lists ("a dog, a cat or a bird").
        listed = 0 if vocabulary.labels_apart else len(vocabulary.categories)
        self.unused_limit = max(2, listed) * len(self.inputs)
        if self.edits and vocabulary.nouns:
            # an edit finds the things it names ("blur the background behind the dog"
            # located the dog, then 'behind')
            self.unused_limit = len(vocabulary.nouns) * len(self.inputs)
        if self.tagging:
            # a tagging finds each thing it names once, then labels or draws it ("draw boxes
            # around the people and say whether each is a man, woman or child" located the
            # people, then 'the or the around')
            labels = set(vocabulary.label_only)
            named = [
                n
                for n in vocabulary.nouns
                if n.lower() not in labels and singular(n.lower()) not in _TAGGING_WORDS
            ]
            self.unused_limit = max(1, len(named)) * len(self.inputs)
        # Only the relations the query states: "behind the truck" got a CropBelow.
        self.unstated = RELATION_CROPS - set(vocabulary.relations)
        # The things the answer is computed from: each noun of the query ("any dogs or cats"
        # was answered by a count of dogs), but not the answers a choice offers, nor the
        # people whose faces FaceDet finds ("blur the man's face").
        choice = set(vocabulary.choice.lower().split())
        people = PEOPLE_NOUNS if "FaceDet" in self.required else frozenset()
        self.things = [
            tuple(x.lower() for x in forms(n))
            for n in vocabulary.nouns
            if n.lower() not in choice and singular(n.lower()) not in people
        ]
        if vocabulary.summed and len(self.inputs) == 1:
            # "how many cups and plates are on the table": their sum, the table only places them
            self.things = [tuple(f) for f in vocabulary.summed]
        self.colour_said = ""
        if (
            vocabulary.coloured
            and not vocabulary.counts
            and set(self.required) & _WHOLE_IMAGE_EDITS
        ):
            # "colour pop the yellow flowers" popped every flower: the edit is of what names
            # the colour, found or selected by it
            self.colour_said = vocabulary.coloured[0]
        self.vocabulary = vocabulary
        self.max_statements = max_statements

    def grammar(self, written: str, final: bool = False) -> Grammar:
        """The grammar of the line after ``written`` (complete lines of this program so far).

        ``final``: only the Result line (the writer is running out of tokens), when a variable
        is defined to name.

        Raises:
            VisprogSyntaxError: When ``written`` does not parse (it always does when it was
                written under these grammars).
        """
        scope = Scope.of(self.inputs, parse(written), self.registry)
        g = Grammar()
        defined = [n for n in scope.types if n not in self.inputs]
        lines: list[list[str]] = []
        # Out of statements, any defined variable ends it (the input image was named instead).
        last = final or scope.statements >= self.max_statements
        results = defined if last else self._results(scope, defined)
        ready = bool(results) and (last or self._required_done(scope))
        covering = results if last else self._covering(scope, results)
        if ready and not covering:
            # The Result waits for the things no value names yet: the next names name them.
            scope.unsaid = self._unsaid(scope)
        room = scope.statements < self.max_statements and not (final and defined)
        if covering and ready and self._side_answered(scope, covering):
            room = False  # "the left image shows a cat on a couch": asked, so answered
        if covering and ready and self._count_answered(scope, covering):
            room = False  # "how many wheels": counted, so answered
        if covering and ready and self._half_edited(scope):
            room = False  # "blur the right half": blurred, so done (it blurred a face too)
        chosen = [n for n in covering if self._chosen(scope, n)] if ready else []
        if chosen:
            # "Is the mug on the left or right of the keyboard?": the question that offers
            # the choice answers it (an Eval went on to answer 'left' or 'no')
            covering, room = chosen, False
        calls = self._calls(g, scope) if room else []
        by_prefix: dict[str, list[str]] = {}
        for rule, spec in calls:
            for prefix in target_prefixes(spec):
                by_prefix.setdefault(prefix, []).append(rule)
        for prefix, rules in by_prefix.items():
            g.add(f"t{prefix.lower()}", *[[r] for r in rules])
            target = f"{prefix}{_next_index(scope.types, prefix)} = "
            lines.append([lit(target), f"t{prefix.lower()}", lit("\n")])
        if covering and ready:
            g.add("defined", *[[lit(n)] for n in covering])
            lines.append([lit(RESULT_LINE), "defined", lit(")")])
        if not lines and defined:  # nothing callable: a value computed so far, not the input
            g.add("defined", *[[lit(n)] for n in defined])
            lines.append([lit(RESULT_LINE), "defined", lit(")")])
        if not lines:  # nothing callable and nothing defined: only possible with no inputs
            lines.append([lit(f"{RESULT_LINE}{self.inputs[0]})")] if self.inputs else [lit("")])
        return Grammar({"line": lines, **g.rules}, g.lexemes)

    def _results(self, scope: Scope, defined: list[str]) -> list[str]:
        """Variables the Result line may name.

        With a stated relation, those computed from every relation's crop (not the crop
        itself): a relation is not computed and then ignored.
        """
        locating = _LOCATING & set(self.vocabulary.words)  # "Where is the plate?": a box
        # a question is answered by a value ("Is the man smiling?" named Point's points), and
        # a statement about two images is true or false ("the right image shows a beach with
        # an umbrella" named the umbrella's boxes)
        asked = len(self.inputs) == 1 and "VQA" in {s.name for s in self.specs} and not locating
        if asked or len(self.inputs) >= 2:
            defined = [n for n in defined if scope.types.get(n, frozenset()) & _SCALARS]
        if self.joined or "Eval" in self.required:
            # "Are there more than two faces?" is answered by its Eval, not by the points
            defined = [n for n in defined if scope.made_by.get(n) == "Eval"]
        if self.tagging:
            defined = [n for n in defined if scope.made_by.get(n) == "Tag"]
        if self.cropping:  # "crop the photo to the face": the crop
            defined = [n for n in defined if n in scope.cropped]
        elif self.edits:  # an edit's result is the whole photo
            defined = [
                n
                for n in defined
                if V.IMAGE not in scope.types.get(n, frozenset()) or n not in scope.cropped
            ]
        if self.colour_said and scope.statements < COVER_PATIENCE:
            defined = [n for n in defined if self.colour_said in scope.evidence(n)]
        # A step the query needs is not computed and then ignored: "outline each cookie" wrote
        # its Seg and named a Tag of the boxes found before it.
        using = [n for n in defined if all(scope.made_with(n, r) for r in self.required)]
        defined = using or defined
        if self.half and self.half_crops:  # computed from the half, not the half's box itself
            defined = [
                n
                for n in defined
                if n not in scope.halves and scope.halves.keys() & scope.deps.get(n, set())
            ]
        crops = self._relations()
        if not crops:
            return defined
        return [
            n
            for n in defined
            if scope.made_by.get(n) not in (*RELATION_CROPS, *crops)
            and all(any(scope.made_by.get(d) == c for d in scope.deps.get(n, ())) for c in crops)
        ]

    def _covering(self, scope: Scope, results: list[str]) -> list[str]:
        """Of ``results``, those a question's answer may be: values computed from every thing.

        A value (a number, a text, a truth) answers a question, so it is computed from every
        thing the query names (:attr:`things`): "do you see any dogs or cats" was answered by
        a count of dogs, "Is anybody sitting on the bench next to the tree?" by a count of
        trees. Boxes and images (edits, tags, "where is") are left alone: an edit's query
        names things it only places ("the faces of the people at the table"). From
        :data:`COVER_PATIENCE` statements on, any of ``results``.
        """
        if not self.things or scope.statements >= COVER_PATIENCE:
            return results

        def covers(n: str) -> bool:
            if not scope.types.get(n, frozenset()) & _SCALARS:
                return True
            said = scope.evidence(n)
            return all(set(f) & said for f in self.things)

        return [n for n in results if covers(n)]

    def _unsaid(self, scope: Scope) -> list[tuple[str, ...]]:
        """The forms of each thing of the query that no text of the program names yet."""
        return [f for f in self.things if not set(f) & scope.said]

    def _goals(self, scope: Scope) -> list[str]:
        """The steps the Result line still waits for (relation crops, counts, required)."""
        goals = [r for r in self._relations() if r not in scope.steps]
        if scope.calls.get("Count", 0) < self.counts_needed:
            goals.append("Count")
        if self.joined and "Eval" not in scope.steps and "Eval" not in self.required:
            goals.append("Eval")
        return goals + [r for r in self.required if r not in scope.steps]

    def _progress(self, scope: Scope) -> set[str] | None:
        """While the Result line waits: the steps that lead to what it waits for (None: any).

        A relation's crop and an Emoji need found objects; a Count needs objects or points; an
        Eval needs a count. So only the waited-for steps and the steps that find what they
        take are offered; after :data:`PATIENCE` statements, only a waited-for step that can
        be called now (else the finders).
        """
        goals = self._goals(scope)
        if self.vocabulary.asked and "VQA" in goals:
            return {"VQA"}  # the question as written answers it: nothing to find first
        if goals == ["Eval"] and self._one_other_open(scope):
            return {"Eval"} if self._one_other_expr(scope) else {"VQA"}
        if goals == ["Eval"] and self.sided:
            return {"Eval"} if self._sided_expr(scope) else {"VQA"}
        if goals == ["Eval"] and self.joined:  # a two-image statement's Eval joins anything
            if scope.statements >= PATIENCE and self._can_call("Eval", scope):
                return {"Eval"}  # the small model asked VQA after VQA to the limit
            asked = "VQA" in scope.steps and self._can_call("Eval", scope)
            if asked and self.vocabulary.negated and self._one_image():
                # a denial of one image negates its answer ("the right image does not show
                # any birds" asked "Is there a bird?" twice)
                return {"Eval"}
            return None
        if not goals:
            return None
        # the relation first: what is counted is in its crop (not a crop the request asks
        # for, which comes last: "crop the photo to the face" cropped to a person first)
        crops = [g for g in goals if g in CROPS and not (self.cropping and g == "Crop")]
        goals = crops or goals
        if "FaceDet" in goals:  # "how many faces": the faces, not Loc('kids') five times
            return {"FaceDet"} | {s.name for s in self.specs if s.name in CROPS}  # or a half's
        # Count and Seg take points too ("outline each cookie": Point, then Seg)
        want = _COUNTABLE if {"Count", "Eval", "Seg"} & set(goals) else _FINDS
        finders = {s.name for s in self.specs if s.returns & want and s.name != "Count"}
        if "Eval" in goals:
            finders.add("Count")
        alone = not self._places() and not self.half and not self._relations()
        # (not a sum of things with nowhere to count them: "the total number of apples and
        # oranges" counted the oranges in a crop of the apples)
        counting_in = {"Count", "Eval"} & set(goals) and not (self._summed() and alone)
        if counting_in or (self.half and self.half_crops):
            # counting on a half or a place crops to it first, and so does finding things in
            # a half ("delete the sign on the right" had no Crop to find the sign in)
            finders |= {s.name for s in self.specs if s.name in CROPS}
        callable_now = {g for g in goals if self._can_call(g, scope)}
        if scope.statements >= PATIENCE and callable_now:
            return callable_now
        if self._summed() and {"Count", "Eval"} & set(goals):
            found = {x for _, obj in scope.objects for x in obj.lower().split()}
            if all(set(f) & found for f in self.vocabulary.summed):
                # each thing is found: count them and add (it went on to Loc('person'))
                return {"Count", "Eval"}
        counting = "Count" in goals or ("Eval" in goals and not scope.calls.get("Count"))
        if counting and self._counted_here() and alone and self._can_call("Count", scope):
            # the counted thing is found and there is nowhere else to look: its Count, also
            # before the Eval a threshold needs ("exactly 3 boats" located the boats 12 times)
            return {"Count"}
        if counting and self._counted_here() and self._places() and not scope.crop_box:
            places = self._place_words()
            if any(obj.lower() in places for _, obj in scope.objects) and not self.half:
                # the place is found: the crop to it ("fewer than 5 people in the room" found
                # the room, then outlined it, and counted its outline)
                return {s.name for s in self.specs if s.name == "Crop"} or None
        if counting and self._counted_here() and not alone and not set(goals) & CROPS:
            # the counted thing is found in the place's or the relation's crop: its Count
            # ("fewer than 5 people on the beach" found them on it, then located 'animal',
            # 'object' and 'thing')
            where = [scope.found_in.get(n) or scope.source.get(n) for n in self._countable(scope)]
            if any(image in scope.crop_box for image in where if image):
                return {"Count"}
        if self._counted_here() and alone and scope.calls.get("Count") and set(goals) == {"Eval"}:
            # counted, and its Eval is all that is left ("is the number of oranges even"
            # pointed at 'object' first)
            return {"Eval"}
        return set(goals) | finders

    def _can_call(self, step: str, scope: Scope) -> bool:
        if step == "Count":
            return bool(self._countable(scope))
        if step == "Seg":
            return bool(scope.names(_COUNTABLE))
        if step == "Eval" and self._one_other_open(scope):
            return bool(self._one_other_expr(scope))
        if step == "Eval" and self.sided:
            return bool(self._sided_expr(scope))
        if step == "Eval" and self.joined and not self.counts_needed:
            return bool([n for n, t in scope.types.items() if t & _SCALARS])
        if step == "Eval":
            return bool(scope.names(frozenset({V.NUMBER})))
        return bool(scope.names(_FINDS))

    def _faces(self, spec: ToolSpec, scope: Scope, names: list[str]) -> list[str]:
        """When the query is about faces, what a step counts, edits or labels comes from FaceDet.

        "Blur the kids' faces" blurred Loc('kids'); "how many faces" counted Point('person').
        Crops are left alone (a half or a relation's object is no face).
        """
        if "FaceDet" not in self.required or spec.name in CROPS or spec.name == "FaceDet":
            return names
        if spec.name in ("Replace", "Select") and self.vocabulary.replaces_thing:
            # "replace the sky ... and blur the faces": the sky is no face (it was selected
            # among the faces)
            return [n for n in names if scope.made_by.get(n) != "FaceDet"]

        def found(n: str) -> bool:
            if not scope.types.get(n, frozenset()) & _COUNTABLE:
                return True  # an image, a number: not found things
            return scope.made_with(n, "FaceDet")

        return [n for n in names if found(n)]

    def _countable(self, scope: Scope) -> list[str]:
        """What a Count may count: while counts are missing, only what was not counted yet."""
        # Never the box of a half or of a relation's object: "faces in the bottom half" counted
        # the half, "cars on the road" the road.
        anchors = {
            c[1]
            for r in self._relations()
            for c in scope.ref_calls.get(r, ())
            if len(c) == 2 and c[0] in self.inputs  # the relation's object is in the photo
        }
        names = [n for n in scope.names(_COUNTABLE) if n not in scope.halves and n not in anchors]
        if self._summed():
            # "how many cats and dogs": the cats and the dogs (it counted Loc('people') too)
            names = [n for n in names if n not in scope.looked or self._names_thing(scope, n)]
        if self._counted_here():
            # "how many windows does the house have" counted Point('house') in a window's crop
            counted = {w.lower() for w in self.vocabulary.counted}

            def names_counted(n: str) -> bool:
                if n in scope.looked:
                    return _names(scope.looked[n], counted)
                if scope.made_by.get(n) != "Seg":
                    return True  # faces, a selection: as found
                if scope.said_by.get(n):  # Seg(query='room')
                    return bool(scope.said_by[n] & counted)
                # a Seg of what was found: of the counted thing ("fewer than 5 people in the
                # room" counted the room's mask)
                looked = [
                    scope.looked[d]
                    for d in scope.deps.get(n, ())
                    if d in scope.looked and d not in scope.halves
                ]
                return not looked or any(_names(o, counted) for o in looked)

            names = [n for n in names if names_counted(n)]
        if scope.calls.get("Count", 0) < self.counts_needed:
            names = [n for n in names if n not in scope.counted]
        return names

    def _summed(self) -> bool:
        """Whether the query adds the counts of the things it names in its one image."""
        return bool(self.vocabulary.summed) and len(self.inputs) == 1

    def _names_thing(self, scope: Scope, n: str) -> bool:
        """Whether what ``n`` was looked for by names one of the query's things."""
        said = set(scope.looked.get(n, "").lower().split())
        return any(set(f) & said for f in self.vocabulary.summed)

    def _counted_here(self) -> bool:
        """Whether the query counts one named thing in its one image (:attr:`Vocabulary.counted`)."""
        return bool(self.vocabulary.counted and self._one_image()) and self.counts_needed <= 1

    def _side_answered(self, scope: Scope, covering: list[str]) -> bool:
        """Whether a statement about one of two images, without a number, has its answer.

        Its VQA of that image: it asked the same question again and joined the two with xor.
        """
        side = self.vocabulary.side
        if len(self.inputs) < 2 or side not in self.inputs or self.joined:
            return False
        return any(
            scope.made_by.get(n) == "VQA" and side in scope.deps.get(n, ()) for n in covering
        )

    def _count_answered(self, scope: Scope, covering: list[str]) -> bool:
        """Whether a plain count of one image ("How many wheels can you see?") has its Count.

        Then the Result follows: it went on to Tag the wheels, point at 'cans' and answer
        "not {ANSWER0} > 0". Not for a count that is compared, summed or thresholded.
        """
        v = self.vocabulary
        plain = not (v.thresholds or v.comparisons or v.compared or v.summed or v.difference)
        if len(self.inputs) != 1 or not v.counted or not plain or "Eval" in self.required:
            return False
        return any(scope.made_by.get(n) == "Count" for n in covering)

    def _chosen(self, scope: Scope, name: str) -> bool:
        """Whether ``name`` answers the VQA question of one image that ends with its choice."""
        choice = self.vocabulary.choice
        if len(self.inputs) != 1 or not choice or scope.made_by.get(name) != "VQA":
            return False
        return scope.questions.get(name, "").lower().endswith(f"{choice.lower()}?")

    def _coloured(self, g: Grammar) -> str:
        """The rule naming the counted thing with its colour ("red car"), or "" without one.

        "How many red cars are there?" counted every car.
        """
        colour, counted = self.vocabulary.counted_colour, self.vocabulary.counted
        if not colour and self.vocabulary.coloured and self.vocabulary.counts:
            # "none of the images have a red car": the red cars are counted (it counted cars)
            colour, counted = self.vocabulary.coloured[0], self.vocabulary.coloured[1:]
        if not colour:
            return ""
        return _closed(g, "cntc", [f"{colour} {w}" for w in counted])

    def _one_image(self) -> str:
        """The one image a query is about: the input, or the side a pair's statement names."""
        if len(self.inputs) == 1:
            return self.inputs[0]
        return self.vocabulary.side if self.vocabulary.side in self.inputs else ""

    def _place_words(self) -> set[str]:
        """Every form of every place word (:meth:`_places`), in lower case."""
        return {x.lower() for f in self._places() for x in f}

    def _places(self) -> list[tuple[str, ...]]:
        """What a counting query names besides the counted thing: where to count ("the bowl").

        Its content words (:attr:`Vocabulary.focus`) but the counted thing's, colours,
        modifiers, ``-ing`` forms and "count" itself.
        """
        vocab = self.vocabulary
        skip = {w.lower() for w in vocab.counted} | _NO_PLACE
        where = set(vocab.places)  # "in the carton", not "empty" of "how many cups are empty"
        return [
            f
            for f in vocab.focus
            if not {x.lower() for x in f} & skip
            and {x.lower() for x in f} & where
            and f[0].lower() not in COLOURS
            and (f[0].lower() not in vocab.modifiers or f[0].lower() in vocab.owners)
            and not f[0].lower().endswith("ing")
        ]

    def _relations(self) -> list[str]:
        """The query's relation crops that this task offers."""
        offered = {s.name for s in self.specs}
        return [r for r in self.vocabulary.relations if r in offered]

    def _within_relation(self, scope: Scope, names: list[str]) -> list[str]:
        """Past the relation's crop (one input image): only images made from that crop.

        "What is the man right of the horse wearing" once cropped right of the horse and then
        asked about a crop of the whole image: the relation was computed and then ignored.
        """
        crops = self._relations()
        if len(self.inputs) != 1 or not crops or not self._relations_done(scope):
            return names

        def inside(n: str) -> bool:
            if V.IMAGE not in scope.types.get(n, frozenset()):
                return True
            made = {n, *scope.deps.get(n, ())}
            return any(scope.made_by.get(d) in crops for d in made)

        return [n for n in names if inside(n)]

    def _edited(self, spec: ToolSpec, p: Param, scope: Scope, names: list[str]) -> list[str]:
        """Variables an argument may name, by image frame (:meth:`_frames`) and half.

        An edit of the things in a half takes the things, not the half's box; an edit of the
        one thing the query selects ("the man's face") takes the selection.
        """
        if p.name == "image":
            return self._frames(spec, scope, names)
        if spec.name in _WHOLE_IMAGE_EDITS and p.name == "object":
            # an edit of the same things again, whatever its other arguments ("colour the
            # car on the left purple" repainted the car purple eight times over)
            names = [n for n in names if (spec.name, n) not in scope.edited]
            if self.vocabulary.relations and "BgBlur" not in self.required:
                # the relation's object only places what is edited ("blur the people walking
                # behind the couple" blurred the couple)
                anchor = {w.lower() for w in self.vocabulary.anchor}

                def places(n: str) -> bool:  # found as the relation's object, or made from it
                    return any(
                        d in scope.looked and set(scope.looked[d].lower().split()) <= anchor
                        for d in (n, *scope.deps.get(n, ()))
                    )

                names = [n for n in names if not places(n)]
            if self.colour_said:
                # "colour pop the yellow flowers": of the things named with the colour (it
                # popped every flower, then again the yellow ones)
                names = [n for n in names if self.colour_said in scope.evidence(n)]
        if spec.name in _WHOLE_IMAGE_EDITS and p.name == "object":
            names = self._named_things(scope, names)
        if spec.name in _WHOLE_IMAGE_EDITS and "Select" in self.required and p.name == "object":
            # "cover the man's face with a star": it covered every face, then his
            names = [n for n in names if scope.made_with(n, "Select")]
        if spec.name in _WHOLE_IMAGE_EDITS and "Exclude" in self.required and p.name == "object":
            # "blur every face except the child's": what is left once the child's is taken
            # out (it blurred every face)
            names = [n for n in names if scope.made_by.get(n) == "Exclude"]
        if spec.name == "Seg" and p.name == "object":
            # a face is edited by its box: a Seg of FaceDet's faces ("Blur out everyone's
            # face") only needed SAM 2 to run
            names = [n for n in names if not scope.made_with(n, "FaceDet")]
        if spec.name == "Exclude" and p.name == "object":
            # from the things found, not from the selection to take out
            names = [n for n in names if scope.made_by.get(n) != "Select"]
        if spec.name == "Exclude" and p.name == "remove":
            names = [n for n in names if scope.made_by.get(n) == "Select"]
        if spec.name in _WHOLE_IMAGE_EDITS and self.half and self.half_crops:
            return [n for n in names if n not in scope.halves]
        return names

    @functools.cached_property
    def _things_named(self) -> frozenset[str]:
        """The query's own words for things (all forms): its content words but an edit's verbs."""
        return frozenset(
            w.lower()
            for w in self.vocabulary.content
            if w.lower() not in _DOING_WORDS and w.lower() not in _NOT_PAINTED
        ) - {"background", "backdrop", "foreground", "backgrounds"}

    def _named_things(self, scope: Scope, names: list[str]) -> list[str]:
        """Of things found by name, the ones named by the query's words, where there are some.

        "Blur the background behind the bride" located the bride, then 'person', and kept the
        person sharp: what an edit takes is found by the query's name for it.
        """
        nouns = self._things_named - _FILLER
        if not nouns:
            return names
        found = [n for n in names if n in scope.looked or scope.made_by.get(n) in _SELECTORS]

        def named(n: str) -> bool:
            return bool(scope.evidence(n) & nouns)

        if not any(named(n) for n in found):
            return names
        return [n for n in names if n not in found or named(n)]

    def _frames(self, spec: ToolSpec, scope: Scope, names: list[str]) -> list[str]:
        """The images a step's image argument may name.

        Of two images, a statement about one of them names that one only. Of one image: an edit
        returns the whole photo, so it never edits a crop (things found in a crop keep their
        place in the photo); past a half the query places things in ("the faces on the right
        side"), they are found in the half's crop.
        """

        def image(n: str) -> bool:
            return V.IMAGE in scope.types.get(n, frozenset())

        if spec.name != "Tag":
            # a drawn image is for the eye: "point to the cat" pointed in the tagged photo
            names = [n for n in names if scope.made_by.get(n) != "Tag"]
        side = self.vocabulary.side
        if len(self.inputs) == 2 and side in self.inputs:
            # "at least three cups in the right image": that image only
            return [n for n in names if n not in self.inputs or n == side]
        if len(self.inputs) != 1:
            return names

        if spec.name in _WHOLE_IMAGE_EDITS:
            names = [n for n in names if not image(n) or n not in scope.cropped]
            asked = [r for r in self.required if r in _WHOLE_IMAGE_EDITS]
            if asked and spec.name not in asked and all(r in scope.steps for r in asked):
                # the edits asked for are made: "blur the bottom half" went on to colour-pop
                # the half it had blurred
                return []
            edits = [n for n in scope.types if scope.made_by.get(n) in _WHOLE_IMAGE_EDITS]
            if edits:  # a second edit edits the first's result ("replace the sky and blur the
                # faces" returned the blurred photo with the old sky)
                return [n for n in names if not image(n) or n == edits[-1]]
            return names
        if spec.name in _FINDERS and self.half and self.half_crops and self._half_done(scope):
            return [n for n in names if not image(n) or n in scope.in_half]
        return names

    def _half_edited(self, scope: Scope) -> bool:
        """Whether the half the query edits (not a half it finds things in) was edited.

        Or cropped to, where the query asks for a crop ("crop to the left half").
        """
        if not self.half or self.half_crops:
            return False
        steps = _WHOLE_IMAGE_EDITS | ({"Crop"} if self.cropping else set())
        return any(c[-1] in scope.halves for step in steps for c in scope.ref_calls.get(step, ()))

    def _half_done(self, scope: Scope) -> bool:
        """Whether the half the query names is located (always, when it names none)."""
        return not self.half or self.half in scope.halves.values()

    def _relations_done(self, scope: Scope) -> bool:
        """Whether every relation the query states has its crop (then Result may follow)."""
        return all(r in scope.steps for r in self._relations())

    def _required_done(self, scope: Scope) -> bool:
        """Whether the relations' crops, the counts and the steps the query needs are written."""
        return (
            self._relations_done(scope)
            and self._half_done(scope)
            and scope.calls.get("Count", 0) >= self.counts_needed
            and all(r in scope.steps for r in self.required)
        )

    def _calls(self, g: Grammar, scope: Scope) -> list[tuple[str, ToolSpec]]:
        """Add one rule per step callable now; their names and specs.

        While a relation the query states ("under the table") has no crop yet, the plain
        ``Crop`` is not offered: the relation is not dropped for a crop to the object itself.
        While counts the query needs are missing, ``Eval`` is not offered.
        """
        out = []
        waiting = not self._relations_done(scope) and "Crop" not in self._relations()
        skip = set(self.unstated) | ({"Crop"} if waiting else set())
        if scope.calls.get("Count", 0) < self.counts_needed:
            skip.add("Eval")  # count everything first: Eval would only compare a count with itself
        anchor = {w.lower() for w in self.vocabulary.anchor}
        anchored = not self._relations_done(scope) and any(
            set(obj.lower().split()) <= anchor for _, obj in scope.objects
        )
        if anchored:
            # the relation's object is found: its crop comes next, not another Loc of it
            # (a small model located the anchor again and again, or segmented it, instead)
            skip.add("Loc")
        progress = self._progress(scope)
        if anchored and scope.statements >= 1:
            progress = {r for r in self._relations() if r not in scope.steps}
        if self._unused(scope) >= self.unused_limit:
            skip |= {"Loc", "Point"}  # use what was found before finding more
            if "FaceDet" not in self.required or "FaceDet" in scope.steps:
                skip.add("FaceDet")  # ("circle the cyclists" found faces too, unused)
        if not self._half_done(scope):
            progress = {"Loc"}  # the half first: what is asked about or counted is in it
        elif self.half and not self.half_crops and not self.vocabulary.nouns:
            # the half is what is edited and the query names nothing else: nothing more to
            # find ("crop out the bottom half" located 'BOTTOM', then 'bottoms')
            skip |= {"Loc", "Point", "Seg"}
            if "FaceDet" not in self.required or "FaceDet" in scope.steps:
                skip.add("FaceDet")
        if scope.unsaid:  # the Result waits for a thing to be named: a step that names it
            progress = set(_NAMERS) if progress is None else progress & _NAMERS
        for i, spec in enumerate(self.specs):
            if spec.name in skip or (progress is not None and spec.name not in progress):
                continue
            bodies = self._vqa_bodies(g, spec, i, scope) if spec.name == "VQA" else None
            if spec.name in ("VQA", "Eval") and self._one_other_open(scope):
                bodies = self._one_other_bodies(g, spec, i, scope)
                if bodies is not None and not bodies:
                    continue
            if spec.name in ("VQA", "Eval") and self.sided:
                bodies = self._sided_bodies(g, spec, i, scope)
                if not bodies:
                    continue
            if spec.name in ("Loc", "Point"):
                bodies = self._finder_bodies(g, spec, i, scope)
            if spec.name == "Select":
                bodies = self._select_bodies(g, spec, i, scope)
                if bodies is not None and not bodies:
                    continue
            if bodies is None:
                items = self._call_items(g, spec, i, scope)
                bodies = [items] if items is not None else []
            if bodies:
                g.add(f"c{i}", *bodies)
                out.append((f"c{i}", spec))
        return out

    def _select_bodies(
        self, g: Grammar, spec: ToolSpec, i: int, scope: Scope
    ) -> list[list[str]] | None:
        """A ``Select`` among things found by name picks one by what the query says of it.

        Its query names the thing and a word the query says of it besides its name: "color
        pop the girl in the yellow dress" selected 'girl' among the girls (which picks any),
        "blur the car's license plate" selected 'license plate' among the cars (a car). Things
        found otherwise (faces, a selection) keep the usual query; with no word to pick one
        by, nothing is selected among things found by name. None: the usual bodies.
        """
        vocab = self.vocabulary
        if vocab.person:
            return None  # a named person among the faces (the usual closed query)
        param = next(p for p in spec.params if p.name == "object")
        objects = [a for a in self._values(g, spec, param, scope) if len(a) == 1]
        named = {lit(n): n for n in scope.looked}
        if not any(a[0] in named for a in objects):
            return None
        bodies = []
        plain = [a for a in objects if a[0] not in named]
        if plain:
            body = self._call_items(g, spec, i, scope, {"object": plain}, tag="s")
            if body is not None:
                bodies.append(body)
        low = {w.lower() for w in vocab.words}
        # the written form, not the plural the vocabulary adds ('girl in yellows dress')
        said = [
            w
            for w in vocab.words
            if (w.lower() not in _NOT_LAST or w.lower() in COLOURS)
            and not (w.endswith("s") and w[:-1].lower() in low)
        ]
        for k, a in enumerate(a for a in objects if a[0] in named):
            name = scope.looked[named[a[0]]].lower().split()
            if not name or name[0] in _HALVES_LOWER or set(name) & vocab.owners:
                # (nor among the owners of the part edited: "blur the car's license plate"
                # selected among the cars)
                continue
            own = {x for word in name for x in forms(word)}
            describing = [
                w
                for w in said
                if w.lower() not in own
                and w.lower() not in _NOT_DESCRIBING
                and w.lower() not in _DOING_WORDS
                and w.lower() not in _NOT_PAINTED
                and w.lower() not in _QUESTION_WORDS_LOWER
            ]
            if not describing:
                continue
            # the thing by its whole name ('trash can next to the bench'), and only a colour
            # or a modifier before it ('white cup', not 'bench can')
            before = [w for w in describing if w.lower() in COLOURS | vocab.modifiers]
            query = _picked_phrase(
                g,
                f"sel{k}",
                [*said, *PHRASE_WORDS],
                [" ".join(name)],
                describing,
                before,
                PHRASES[("Select", "query")],
            )
            body = self._call_items(
                g, spec, i, scope, {"object": [a], "query": [[query]]}, tag=f"s{k}"
            )
            if body is not None:
                bodies.append(body)
        return bodies

    @staticmethod
    def _unused(scope: Scope) -> int:
        """How many things found from nothing no later statement uses yet.

        Found from nothing: by FaceDet, Loc or Point, or by a Seg of a query alone.
        """
        used = set().union(*scope.deps.values()) if scope.deps else set()

        def seeks(v: str, step: str) -> bool:
            if step == "Seg":
                return not any(scope.made_by.get(d) in _FINDERS for d in scope.deps.get(v, ()))
            return step in _SEEKERS

        return sum(1 for v, step in scope.made_by.items() if seeks(v, step) and v not in used)

    def _ref_combos(self, spec: ToolSpec, scope: Scope) -> list[tuple[str, ...]] | None:
        """For a step that takes only variables: the combinations not called before.

        None for any other step. The same call twice computes nothing new: the small model
        repeated ``IMAGE1 = Crop(image=IMAGE, box=BOX0)`` to the statement limit. A crop takes a
        box found in the image it crops (not a chain of crops of crops with one box).
        """
        options = []
        for p in spec.params:
            if not p.required or p.expression or p.types & _LITERAL_TYPES:
                return None
            if (spec.name, p.name) == ("Count", "box"):
                options.append(self._faces(spec, scope, self._countable(scope)))
            else:
                names = self._faces(spec, scope, scope.names(p.types & _REF_TYPES))
                options.append(self._edited(spec, p, scope, names))
        options = [self._within_relation(scope, o) for o in options]
        used = scope.ref_calls.get(spec.name, set())
        combos = [c for c in itertools.product(*options) if c not in used]
        if spec.name in CROPS:  # a crop uses a box found in the image it crops
            combos = [(im, box) for im, box in combos if scope.source.get(box, im) == im]
        if spec.name == "Exclude":
            # the selection is taken out of what it was selected from (of a Seg's masks, the
            # Loc's boxes lost nothing: their boxes differ)
            combos = [(o, r) for o, r in combos if scope.selected_from.get(r) == o]
        if spec.name == "Tag":
            # boxes are drawn on an input or the image they were found in (or a drawing on
            # it): faces found in the photo were tagged on a crop of it, ten times over
            def base(im: str) -> str:
                return scope.drawn_on.get(im, im)

            # and never the same boxes twice (it tagged them again to the statement limit),
            # nor a half's box ("tag the people on the left" drew the left half, no person)
            tagged = {(base(im), obj) for im, obj in used}
            combos = [
                (im, obj)
                for im, obj in combos
                if base(im) in (base(scope.source.get(obj, im)), *self.inputs)
                and (base(im), obj) not in tagged
                and obj not in scope.halves
            ]
            if "Classify" in self.required:
                # the labels made are drawn ("say whether each is a man, woman or child"
                # classified the people and tagged an unlabelled copy of them)
                combos = [(im, obj) for im, obj in combos if scope.made_with(obj, "Classify")]
        elif spec.name in _WHOLE_IMAGE_EDITS:
            # an edit of the same things twice changes nothing the first did not: "blur the
            # bottom half" blurred the half, then blurred the blurred half again
            done = {c[-1] for c in used}
            combos = [c for c in combos if c[-1] not in done]
        if spec.name == "Crop" and (self.edits or self.tagging) and not self.cropping:
            # an edit or a tagging crops only to find things in a half (a crop of the sign
            # found there was never used; "tag the people on the right with their names"
            # labelled the faces in a crop of the first face)
            combos = [c for c in combos if c[-1] in scope.halves]
        if spec.name in CROPS and self._counted_here():
            # the things counted are no place to count in ("how many apples": Loc('apple'),
            # a crop to the first apple, a Point of something else in it)
            counted = {w.lower() for w in self.vocabulary.counted}
            combos = [c for c in combos if not _names(scope.looked.get(c[-1], ""), counted)]
            if not self._places() and not self.half and not self._relations():
                combos = []  # nor any other thing: a count of apples has no place to crop to
        return combos if options else None

    def _vqa_bodies(
        self, g: Grammar, spec: ToolSpec, i: int, scope: Scope
    ) -> list[list[str]] | None:
        """The bodies of a VQA whose question must name words of the query.

        A VQA of the whole image keeps the query's content words (at most :data:`FOCUS_MAX`;
        else it names every thing the program has not: "Is the pillow the same color as the
        blanket?" was asked "Is the pillow the same color?"). A VQA of a relation's crop keeps
        them but what the crop was cut around; a crop of a thing asks about it ("What color is
        the candle?", then the phone's crop). While the Result waits for unnamed things, every
        question names them. Two images: :meth:`_pair_bodies`. None: the usual question.
        """
        vocab = self.vocabulary
        if len(self.inputs) != 1:
            return self._pair_bodies(g, spec, i, scope)
        if vocab.asked:  # the question as written, of the whole photo
            return [_vqa_body(g, f"c{i}w", self._one_image(), [_words_literal(vocab.asked)])]
        choice = set(vocab.choice.lower().split())
        unsaid = [
            f
            for f in (forms(n) for n in vocab.nouns if n not in choice)
            if not {x.lower() for x in f} & scope.said
        ]
        # The whole image's question keeps every content word of the query ("What animal is
        # ...": not "What is ..."), past a relation's crop every one but the relation's object.
        focus = [f for f in vocab.focus if not set(f) & choice]
        # what the relation's crop was cut around ("the statue", not "made" of "the statue
        # made of", which the query's words after the relation also hold)
        around = {
            w
            for crop, box in scope.crop_box.items()
            if scope.made_by.get(crop) in CROPS
            for w in scope.looked.get(box, "").lower().split()
        }
        inside = [f for f in focus if not {x.lower() for x in f} & around]
        whole_musts = focus if 0 < len(focus) <= FOCUS_MAX else unsaid
        # Past a relation's crop, its question names the subject ("the flowers inside the
        # vase" asked "What colour is the vase?").
        subject = {w.lower() for w in vocab.subject}
        about = [f for f in unsaid if self._relations() and subject & {x.lower() for x in f}]
        if self._relations() and self._relations_done(scope) and 0 < len(inside) <= FOCUS_MAX:
            about = inside
        elif not self._relations() and not vocab.comparisons and not vocab.choice:
            # a crop of one thing, asked about it, still names what the query places it by
            # ("the car parked next to the tree": the car's crop, then a question of the tree
            # that was named as the answer)
            about = unsaid
        if scope.unsaid:
            # The Result waits for things no text names: a question naming them, on any image
            # ("What is on the plate next to the coffee mug?" had not named the mug).
            whole_musts = [*whole_musts, *(u for u in scope.unsaid if u not in whole_musts)]
            about = [*about, *(u for u in scope.unsaid if u not in about)]
        if not whole_musts and not about:
            return None
        image = lit(self.inputs[0])
        whole = self._call_items(g, spec, i, scope, {"image": [[image]]}, whole_musts, "w")
        crops = self._call_items(g, spec, i, scope, unsaid=about, drop=image)
        return [b for b in (whole, crops) if b is not None]

    def _asked(self, scope: Scope) -> dict[str, dict[str, str]]:
        """Each input -> the questions a VQA of it asked -> the answer's variable."""
        out: dict[str, dict[str, str]] = {im: {} for im in self.inputs}
        for answer, question in scope.questions.items():
            for im in self.inputs:
                if im in scope.deps.get(answer, ()):
                    out[im].setdefault(question, answer)
        return out

    @staticmethod
    def _questions(asked: dict[str, dict[str, str]]) -> list[str]:
        """The distinct questions of :meth:`_asked`, in the order first asked."""
        return list(dict.fromkeys(q for qs in asked.values() for q in qs))

    def _one_other_expr(self, scope: Scope) -> str:
        """The Eval of "one image shows X and the other Y" once both images were asked both.

        "{LX} and {RY} or {LY} and {RX}" (``and`` binds first); "" while a question waits.
        """
        asked = self._asked(scope)
        left, right = (asked[im] for im in self.inputs)
        questions = self._questions(asked)
        if len(questions) != 2 or not all(q in left and q in right for q in questions):
            return ""
        x, y = questions
        return f"{{{left[x]}}} and {{{right[y]}}} or {{{left[y]}}} and {{{right[x]}}}"

    def _one_other_bodies(
        self, g: Grammar, spec: ToolSpec, i: int, scope: Scope
    ) -> list[list[str]] | None:
        """A VQA or the Eval of "one image shows X and the other shows Y" (:attr:`one_other`).

        Two questions in all; each image is asked the ones the other was asked; the Eval is
        :meth:`_one_other_expr`. None: the usual VQA (fewer than two questions yet); []: no call.
        """
        if spec.name == "Eval":
            expr = self._one_other_expr(scope)
            return [[lit(f'Eval(expr="{expr}")')]] if expr else []
        asked = self._asked(scope)
        questions = self._questions(asked)
        bodies = []
        for k, im in enumerate(self.inputs):
            todo = [q for q in questions if q not in asked[im] and "'" not in q]
            if todo:
                # word by word, as the free question is lexed (a question as one literal
                # beside the free one left the lexer no way back from its first word)
                bodies.append(_vqa_body(g, f"c{i}n{k}", im, [_words_literal(q) for q in todo]))
        parts = self._one_other_parts()
        if not questions:
            # of one clause's things ("Is a man or a woman a horse?" mixed the two)
            musts = [p for p in parts if p] or [[]]
            for k, must in enumerate(musts):
                # and not the other clause's ("Is a cat a dog?" asked of each image)
                other = {x.lower() for p in parts if p is not must for f in p for x in f}
                usual = self._call_items(g, spec, i, scope, unsaid=must, tag=f"o{k}", exclude=other)
                bodies += [usual] if usual is not None else []
        elif len(questions) == 1:
            # the second question names what the first did not (it asked the first again)
            said = _said_in(questions[0])
            left = [p for p in parts if p and not all(set(f) & said for f in p)]
            rest = left[0] if len(left) == 1 else self._one_other_rest(questions[0])[:1]
            usual = self._call_items(g, spec, i, scope, unsaid=rest, tag="o")
            bodies += [usual] if usual is not None else []
        return bodies

    def _sided_expr(self, scope: Scope) -> str:
        """The Eval of a statement with one clause per image (:attr:`sided`); "" until asked.

        Each clause's answer in the query's order, a denied one under ``not``.
        """
        asked = self._asked(scope)
        parts = []
        for side, question, denied in self.sided:
            answer = asked.get(side, {}).get(question)
            if answer is None:
                return ""
            parts.append(f"not {{{answer}}}" if denied else f"{{{answer}}}")
        return " and ".join(parts)

    def _sided_bodies(self, g: Grammar, spec: ToolSpec, i: int, scope: Scope) -> list[list[str]]:
        """Each image's question not asked yet, or the Eval once both are (:attr:`sided`)."""
        if spec.name == "Eval":
            expr = self._sided_expr(scope)
            return [[lit(f'Eval(expr="{expr}")')]] if expr else []
        asked = self._asked(scope)
        bodies = []
        for k, (side, question, _) in enumerate(self.sided):
            if question in asked.get(side, {}) or "'" in question:
                continue
            bodies.append(_vqa_body(g, f"c{i}s{k}", side, [_words_literal(question)]))
        return bodies

    def _one_other_parts(self) -> list[list[tuple[str, ...]]]:
        """The forms of the things of each clause ("one image shows X" / "the other Y")."""
        vocab = self.vocabulary
        other = set(vocab.other_nouns)
        first = [forms(n) for n in vocab.nouns if n not in other]
        second = [forms(n) for n in vocab.other_nouns]
        return [first, second] if first and second else []

    def _one_other_rest(self, question: str) -> list[tuple[str, ...]]:
        """The forms of the query's things that ``question`` does not name."""
        said = _said_in(question)
        return [
            f
            for f in (forms(n) for n in self.vocabulary.nouns)
            if not {x.lower() for x in f} & said
        ]

    def _one_other_open(self, scope: Scope) -> bool:
        """Whether "one image shows X and the other Y" can still be asked as two questions.

        Not when the first question named every thing the query names ("Is there a bus or a
        train?"): then the usual two-image statement.
        """
        if not self.one_other:
            return False
        questions = self._questions(self._asked(scope))
        return len(questions) != 1 or bool(self._one_other_rest(questions[0]))

    def _pair_bodies(
        self, g: Grammar, spec: ToolSpec, i: int, scope: Scope
    ) -> list[list[str]] | None:
        """A statement about either image alike asks each image with all its content words.

        "At least one of the images has a red car in it" asked "Is a car in the image?". A
        statement that names the left or right image may split its words between them ("a dog
        on the left, a cat on the right"), so it keeps the usual question. None: not such.
        """
        vocab = self.vocabulary
        # of one thing, each image named is asked the same ("The left image has a red bus,
        # but the right image does not" asked "Is there a bus?")
        said = set(vocab.shown.split())
        shown = bool(said) and all(set(f) & said for f in vocab.focus) and "'" not in vocab.shown
        sides = re.search(r"\b(?:left|right|first|second|other)\b", " ".join(vocab.words))
        sided = sides is not None and not shown
        # a comparison asks each image for what it compares ("the same animal": no "same")
        if sided or vocab.counts or vocab.comparisons or not 0 < len(vocab.focus) <= FOCUS_MAX:
            return None
        if shown:
            # the thing and what it is like, all the statement says: whether it is there
            # (a free question went "Is there a bus in the red image of the left image buses?")
            question = [_words_literal(q) for q in there_questions(vocab.shown)]
            body = self._call_items(g, spec, i, scope, {"question": question}, tag="p")
            return [body] if body is not None else None
        body = self._call_items(g, spec, i, scope, unsaid=vocab.focus, tag="p")
        return [body] if body is not None else None

    def _finder_bodies(
        self, g: Grammar, spec: ToolSpec, i: int, scope: Scope
    ) -> list[list[str]] | None:
        """A ``Loc`` or ``Point`` never looks for one thing in one image twice.

        The same call finds the same boxes: "Outline each of the cookies on the tray" located
        the tray five times. Images where a one-word name was looked for (or that were cropped
        to such a thing) get a body of their own whose name has none of that word's forms.
        None: nothing was looked for yet (the usual body).
        """
        used: dict[str, set[str]] = {}
        for image, obj in scope.objects:
            if " " not in obj and obj not in HALVES:
                used.setdefault(image, set()).add(obj.lower())
        for image, box in scope.crop_box.items():
            # nor for the thing cropped to, inside its crop ("the bench next to the tree"
            # cropped to the tree and looked for the tree in it)
            obj = scope.looked.get(box, "")
            if obj and " " not in obj and obj not in HALVES:
                used.setdefault(image, set()).add(obj.lower())
        never: set[str] = set()  # names no image is searched for
        if self.vocabulary.labels_apart and self.vocabulary.categories:
            # the labelled thing is found: "label each person as adult or child" located 'adult'
            never |= self.vocabulary.label_only
        if "FaceDet" in self.required:
            # faces are FaceDet's: "exactly three faces" found them, then located 'face' twice
            never |= {"face", "faces"}
        if never:
            for n, t in scope.types.items():
                if V.IMAGE in t:
                    used.setdefault(n, set()).update(never)
        counted = {w.lower() for w in self.vocabulary.counted}
        keep = counted | COLOURS | self.vocabulary.modifiers  # 'red apples' in the bowl
        counting = ""
        naming: set[str] = set()
        alone = not self._places() and not self.half and not self._relations()
        if self._counted_here() and alone:
            # nowhere to count in: what is found names the counted thing ("how many of the
            # cups are empty" located 'empty', which nothing could count; "people wearing
            # sunglasses" keeps its sunglasses)
            counting = self._one_image()
            used.setdefault(counting, set())
        if self._places() and self._counted_here():
            if not scope.crop_box and not self.half:
                # "how many windows does the house have": the house is found (and cropped to)
                # first; the windows were found first and the house counted in their crop.
                # Nor is it "count" or "wearing" (Loc('count') of "count the dogs in the pen")
                places = {x for f in self._places() for x in f}
                others = {x for f in self.vocabulary.focus for x in f if x not in places}
                used.setdefault(self._one_image(), set()).update(counted | others)
            # and in the place's crop, the counted thing is found (not the place again, under
            # two words: 'many sunglasses' pointed at ten times)
            elsewhere = {x for f in self.vocabulary.focus for x in f if x.lower() not in keep}
            for crop in scope.crop_box:
                used.setdefault(crop, set()).update(elsewhere)
            # which names it ("point at the dog's nose" pointed at 'animal' in the dog's crop)
            naming = set(scope.crop_box)
        if not used:
            return None
        param = next(p for p in spec.params if p.name == "image")
        images = [a for a in self._values(g, spec, param, scope) if len(a) == 1]
        if self._places() and self._counted_here() and not self.half:
            places = self._place_words()
            whole = self._one_image()
            placed = any(image == whole and obj.lower() in places for image, obj in scope.objects)
            if (spec.name == "Point" and not scope.crop_box) or placed:
                # the place is boxed to be cropped to: Point('bowl') left nothing to crop; and
                # once it is boxed, the rest is found in its crop ("fewer than 5 people in the
                # room" located the room, then 'face', 'object' and 'person' in the photo)
                images = [a for a in images if a != [lit(whole)]]
        plain = [a for a in images if a[0] not in {lit(n) for n in used}]
        bodies = []
        if plain:
            bodies.append(self._call_items(g, spec, i, scope, {"image": plain}, tag="f"))
        for k, (image, names) in enumerate(sorted(used.items())):
            # once this step found the counted thing there, not again ("how many plates are
            # on the table and how many cups" pointed at the plates in the table's crop nine
            # times); a Point after a Loc of it is no repeat
            again = any(
                scope.made_by.get(v) == spec.name
                and scope.found_in.get(v) == image
                and obj.lower() in counted
                for v, obj in scope.looked.items()
            )
            named = (image == counting or image in naming) and not again
            if named and [lit(image)] in images and "FaceDet" not in self.required:
                most = PHRASES[(spec.name, "object")]
                must = list(self.vocabulary.counted)
                # Not the question's other words: "fewer than five people on the beach"
                # located 'beach beach ons people', and pointed at 'beach person'
                # (an owner says whose part it is: 'dog nose' in the dog's crop)
                places = self._place_words() - self.vocabulary.owners
                skip = _NOT_DESCRIBING | places
                words = [
                    w
                    for w in self.vocabulary.words
                    if w.lower() not in skip and not w.rstrip("s").isdigit()
                ]
                # 'green pears' (it ends with them) or 'person wearing sunglasses' (it has them)
                ends = self._coloured(g) or _phrase(g, "cnte", words, most, last=must)
                pool = [w for w in words if w.lower() not in _NOT_LAST]
                described = list(self.vocabulary.described)
                # "people wearing sunglasses": the name has the sunglasses (it counted people),
                # after the people ("How many people are wearing hats?" pointed at 'hat' ten
                # times, which nothing counted)
                has = (
                    _described_phrase(g, pool, must, described, most)
                    if described
                    else _must_phrase(g, "cntd", pool, must, most)
                )
                if described:
                    objects = [[has]]
                elif self.vocabulary.counted_colour:  # the colour is in the name
                    objects = [[ends]]
                else:
                    objects = [[ends], [has]]
                only = {"image": [[lit(image)]], "object": objects}
                bodies.append(self._call_items(g, spec, i, scope, only, tag=f"f{k}"))
            elif [lit(image)] in images:
                bodies.append(
                    self._call_items(
                        g, spec, i, scope, {"image": [[lit(image)]]}, tag=f"f{k}", exclude=names
                    )
                )
        return [b for b in bodies if b is not None]

    def _call_items(
        self,
        g: Grammar,
        spec: ToolSpec,
        i: int,
        scope: Scope,
        only: dict[str, list[list[str]]] | None = None,
        unsaid: Sequence[tuple[str, ...]] = (),
        tag: str = "",
        drop: str = "",
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> list[str] | None:
        """``Step(arg=value, ...)`` items, or None when a required argument has no value.

        ``only``: the alternatives of these arguments; ``unsaid``: see :meth:`_text`; ``tag``
        names this body's rules apart from another body of the same step; ``drop``: an image
        alternative left out; ``exclude``: one-word object names not to write.
        """
        combos = self._ref_combos(spec, scope)
        if combos is not None:
            if not combos:
                return None
            args = [
                ", ".join(f"{p.name}={v}" for p, v in zip(spec.params, c, strict=True))
                for c in combos
            ]
            g.add(f"c{i}v", *[[lit(a)] for a in args])
            return [lit(f"{spec.name}("), f"c{i}v", lit(")")]
        items = [lit(f"{spec.name}(")]
        # Seg takes one of its object, point and query, never two ("give one of object,
        # point or query" failed a program that checked)
        one_of: list[tuple[str, list[str]]] = []
        outline = False  # the found thing Seg must outline (then only its object)
        for n, p in enumerate(spec.params):
            if only and p.name in only:
                alts = only[p.name]
            else:
                alts = [a for a in self._values(g, spec, p, scope, unsaid, exclude) if a != [drop]]
            needed = p.required or (spec.name, p.name) in _NEEDED
            if spec.name == "Seg" and p.name == "object":
                # once enough found things wait unused, a Seg outlines one of them ("make
                # the woman's face anonymous" segmented 'woman' from nothing three times)
                needed = needed or self._unused(scope) >= self.unused_limit
            if not alts:
                if needed:
                    return None
                continue
            rule = f"c{i}{tag}a{n}"
            g.add(rule, *alts)
            part = [lit(f"{', ' if n else ''}{p.name}="), rule]
            if spec.name == "Seg" and p.name in _SEG_SOURCES:
                if not one_of:
                    items.append(f"c{i}{tag}one")
                one_of.append((p.name, part))
                outline = outline or (needed and p.name == "object")
            elif needed:
                items += part
            else:  # optional arguments: allowed, never required
                g.add(f"{rule}o", part)
                items.append(f"{rule}o?")
        if one_of:
            g.add(f"c{i}{tag}one", *[part for n, part in one_of if not outline or n == "object"])
        return [*items, lit(")")]

    def _values(
        self,
        g: Grammar,
        spec: ToolSpec,
        p: Param,
        scope: Scope,
        unsaid: Sequence[tuple[str, ...]] = (),
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> list[list[str]]:
        """Alternatives for one argument's value (``exclude``: one-word names not to write)."""
        if p.expression:
            names = list(scope.types)
            evals = [k for k, n in enumerate(names) if scope.made_by.get(n) == "Eval"]
            if evals and not any(scope.types[n] & _SCALARS for n in names[evals[-1] + 1 :]):
                return []  # an Eval again, with nothing new to state, restated the last one
            # never an Eval's own truth again ("{ANSWER1} >= 4" of "{ANSWER0} >= 4": False)
            scalars = [
                n for n, t in scope.types.items() if t & _SCALARS and scope.made_by.get(n) != "Eval"
            ]
            counts = [n for n in scalars if scope.made_by.get(n) == "Count"]
            if self.either and len(counts) >= 2:
                # "Is there a dog or a cat?": either count is more than none ("'yes' if
                # {ANSWER0} > 0 else 'no'" left the cats out)
                g.add(
                    "xeither",
                    *[
                        [lit(f"\"'yes' if {{{a}}} > 0 or {{{b}}} > 0 else 'no'\"")]
                        for a, b in itertools.combinations(counts, 2)
                    ],
                )
                return [["xeither"]]
            side = self.vocabulary.first_side
            leading = [n for n in scalars if side and side in scope.deps.get(n, ())]
            pair = len(self.inputs) >= 2
            texts = [n for n in scalars if scope.types[n] <= {V.TEXT}]
            if len(self.inputs) == 1 and len(texts) == len(scalars) < 2:
                # one answer of one image is the answer: an Eval of it only rephrased it
                # ("'left' if {ANSWER0} > 0 else 'right'" of a VQA that had answered)
                return []
            polar = [n for n in texts if n in scope.polar]
            side = self.vocabulary.denied_side
            denied = [n for n in polar if side and side in scope.deps.get(n, ())]
            expr = _expression(g, scalars, self.vocabulary, pair, leading, texts, polar, denied)
            return [[expr]] if scalars else []
        if (spec.name, p.name) == ("Classify", "categories") and self.vocabulary.categories:
            return self._text(g, spec, p)
        if (spec.name, p.name) == ("Classify", "categories") and "List" in self.required:
            # looked-up names: Classify waits for the List ("dog breeds"), not the query's words
            return [[lit(n)] for n in scope.names(frozenset({V.TEXT_LIST}))]
        if (spec.name, p.name) == ("Loc", "object") and not self._half_done(scope):
            return [[_closed(g, "halfq", (self.half,))]]
        names = self._within_relation(scope, scope.names(p.types & _REF_TYPES))
        names = self._edited(spec, p, scope, names)
        if (spec.name, p.name) == ("Count", "box"):
            names = self._countable(scope)
        if (spec.name, p.name) == ("Classify", "object"):
            # labelled once: it classified its own labels again, six times over; nor is a half
            # a thing to label ("tag the people on the right with their names" named the half)
            names = [
                n
                for n in names
                if n not in scope.classified
                and scope.made_by.get(n) != "Classify"
                and n not in scope.halves
            ]
        names = self._faces(spec, scope, names)
        if spec.name in ("Seg", "Select"):
            # a half is a rectangle already (SAM was asked to outline 'TOP'); nothing is
            # selected among one box (Select(object=<the right half>, query='right'))
            names = [n for n in names if n not in scope.halves]
            if p.name == "object":
                # nor are the same things segmented or selected among twice, nor what such
                # a step made or was made from ("make the woman's face anonymous" selected
                # 'woman' among the faces seven times over, then among its own selection,
                # then segmented that and selected again)
                again = {v for v, step in scope.made_by.items() if step == spec.name}
                names = [
                    n
                    for n in names
                    if not again & {n, *scope.deps.get(n, ())}
                    and not any(n in scope.deps.get(v, ()) for v in again)
                ]
        alts: list[list[str]] = [[lit(n)] for n in names]
        if V.TEXT in p.types or V.TEXT_LIST in p.types:
            alts += self._text(
                g, spec, p, not self._relations_done(scope), unsaid, scope.unsaid, exclude
            )
            if self.half and (scope.in_half or self.half in scope.halves.values()):
                # once cut out (or located), the half the query names is not located again
                # ("erase the person on the left" located 'LEFT' in the left half's crop,
                # then in that crop's; "blur the right half" blurred it twice)
                alts = [a for a in alts if a != ["half"]]
            elif self.half:
                # nor another half ("keep the top half in colour" colour-popped 'BOTTOM')
                only = _closed(g, "halfq", (self.half,))
                alts = [[only] if a == ["half"] else a for a in alts]
        if V.NUMBER in p.types:
            alts.append(["NUMBER"])
        if V.BOOL in p.types:
            alts += [[lit("True")], [lit("False")]]
        return alts

    def _text(
        self,
        g: Grammar,
        spec: ToolSpec,
        p: Param,
        anchored: bool = False,
        unsaid: Sequence[tuple[str, ...]] = (),
        waiting: Sequence[tuple[str, ...]] = (),
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> list[list[str]]:
        """Alternatives for a text (or list of text) argument, closed where the step allows.

        ``anchored``: a relation's crop is still to come, so ``Loc`` names its object ("the
        cups left of the kettle" locates the kettle first). ``unsaid``: the forms of each thing
        the query names that no text of the program names yet (for a VQA question).
        ``waiting``: the forms of the things the Result waits for (:attr:`Scope.unsaid`).
        ``exclude``: one-word names this call may not be (looked for in its image already).
        """
        vocab = self.vocabulary
        key = (spec.name, p.name)
        if key == ("Loc", "object") and anchored and vocab.anchor:
            return [[_phrase(g, "anc", vocab.anchor, PHRASES[key])]]
        if key == ("Emoji", "emoji") and vocab.emoji:
            return [[_closed(g, "emoji", vocab.emoji)]]
        if key == ("Classify", "categories") and vocab.categories:
            # all of them, in the query's order: a subset drops a label the user asked for
            if "given" not in g.rules:
                given = ", ".join(f"'{c}'" for c in vocab.categories if "'" not in c)
                g.add("given", [lit(f"[{given}]")])
            return [["given"]]
        if key == ("VQA", "question"):
            words = (*vocab.words, *QUESTION_WORDS, *(w.capitalize() for w in QUESTION_WORDS))
            one = len(self.inputs) == 1
            if not one and vocab.negated:
                # the Eval denies, the question asks: "Neither image contains a dog" asked
                # "Is there an animal that is not a dog?"
                words = tuple(w for w in words if w.lower() not in _DENYING)
            alike = {"==", "!="} & set(vocab.comparisons)
            if not one and alike and not vocab.counts and not vocab.compared and vocab.content:
                # "the same kind of animal" in both images asks each what it is: two answers of
                # "Is there an animal?" are no kind to compare
                return [[_open_question(g, words, vocab.content)]]
            if unsaid or (one and vocab.choice):
                # "..., a man or a woman?" keeps both answers; each thing the query names and
                # the program has not is in the question ("the same color as the blanket")
                rules = "qv"
                if exclude:  # words this question may not say (the other image's thing)
                    words = tuple(w for w in words if w.lower() not in exclude)
                    rules = f"qv{zlib.crc32(repr(sorted(exclude)).encode()):x}"
                choice = vocab.choice if one else ""
                return [[_covering_question(g, words, unsaid, choice, rules)]]
            if vocab.content:  # the question asks about something the query names
                return [[_question(g, words, vocab.content)]]
            return [[_phrase(g, "q", words, QUESTION_WORDS_MAX, "?", QUESTION_WORDS_MIN)]]
        if key == ("List", "query") and "List" in self.required and vocab.knowledge:
            if vocab.lookup_text:  # "players from the 1998 french world cup team", all of it
                return [[_closed(g, "lkt", (vocab.lookup_text,))]]
            pool = (*vocab.words, *PHRASE_WORDS)
            return [[_must_phrase(g, "lk", pool, vocab.lookup or vocab.knowledge, PHRASES[key])]]
        if key == ("Select", "query") and vocab.person:
            return [[_closed(g, "person", (vocab.person,))]]
        if key == ("Replace", "prompt") and vocab.removal:
            return [[_closed(g, "rmp", vocab.removal)]]
        if key == ("Replace", "prompt") and vocab.replacement_phrase:
            return [[_closed(g, "rpx", (vocab.replacement_phrase,))]]
        if key == ("Replace", "prompt") and vocab.replacement:
            # what is painted ends with a thing, not 'a' or 'left' ("delete the sign on the
            # right" painted 'right')
            last = [
                w
                for w in vocab.replacement
                if w.lower() not in _NOT_LAST and w.lower() not in _NOT_PAINTED
            ]
            return [[_phrase(g, "rp", vocab.replacement, PHRASES[key], last=last)]]
        if key in PHRASES:
            name, pool = f"p{PHRASES[key]}x", vocab.words
            if not anchored and vocab.subject and self._relations() and key in _SUBJECT_STEPS:
                # past the relation's crop, what is looked for is the query's subject
                name, pool = f"{name}s", (*vocab.subject, *ALWAYS, *PHRASE_WORDS)
            if key in _FACE_STEPS and self.facedet:  # faces are FaceDet's, not OWLv2's
                name, pool = f"{name}nf", tuple(w for w in pool if w.lower() not in _FACES)
            # A thing's name ends with a noun, not "the" or "red" (Point(object='red') for "the
            # red apples").
            # Nor with a modifier ("coffee" for "the coffee mug").
            # Not the plurals made of function words ("ons" of "on": 'tray on ons cookies').
            pool = tuple(
                w
                for w in pool
                if not (w[-1:] == "s" and w.lower()[:-1] in _NOT_LAST)
                and w.lower() not in _NOT_LAST_PLURALS  # 'the or the ises' of "is"
                and not (w.lower() != singular(w.lower()) and singular(w.lower()) in _NOT_LAST)
            )  # nor "manies" of "many"
            # An owner that places what is counted is found ("the dog's nose": the dog's crop).
            # ("where are the cat's eyes": 'eye of the cat'), not in an edit ("make the
            # lady's handbag look like gold": the handbag, not the lady)
            placing: set[str] | frozenset[str] = set()
            if _LOCATING & set(vocab.words):
                placing = vocab.owners
            elif vocab.counted:
                placing = {w.lower() for f in self._places() for w in f} & vocab.owners
            ends = tuple(
                w
                for w in pool
                if w.lower() not in _NOT_LAST
                and (w.lower() not in vocab.modifiers or w.lower() in placing)
            )
            said = {w.lower() for w in vocab.content}
            people = bool(said & (PEOPLE_NOUNS | {"person", "people", "everyone"}))
            named = vocab.nouns or people or (self.edits and self._things_named - _FILLER)
            if (self.edits or self.tagging) and key in _SUBJECT_STEPS and named:
                # an edit's or a tagging's things are the query's: "blur the background
                # behind the dog" blurred all but a 'person with a face', "make the woman's
                # face anonymous" located 'animal' and 'object'
                generic = {w for w in ALWAYS if w not in said}
                # 'person' for the people the query names as such, not for "the bride" (it
                # kept every person sharp), nor for "the man" ('person' finds the women too)
                generic -= {"person", "people"} if people and not self.edits else set()
                if self.tagging:  # nor is it the request's verb ('Tag' was looked for)
                    generic |= _TAGGING_WORDS | _ATTRIBUTES
                if self.edits:  # nor the edit's verb (BgBlur kept Loc('blur') sharp)
                    generic |= _EDIT_WORDS
                if "BgBlur" in self.required:
                    # the background is what the BgBlur blurs, not a thing it keeps sharp
                    # ("blur the background behind the dog" kept Loc('background') sharp)
                    generic |= _BACKDROPS
                if generic and any(w.lower() not in generic for w in ends):
                    name = f"{name}g"
                    pool = tuple(w for w in pool if w.lower() not in generic)
                    ends = tuple(w for w in ends if w.lower() not in generic)
            drop: frozenset[str] = frozenset()
            if self.edits and key in _SUBJECT_STEPS:
                drop = _EDIT_WORDS | _FRAME_WORDS
                drop |= _BACKDROPS if "BgBlur" in self.required else frozenset()
            if (
                drop
                and any(w.lower() not in drop for w in ends)
                and drop & _said_in(" ".join(ends))
            ):
                # what an edit finds is no verb of it, nor what a BgBlur keeps sharp a
                # background, whatever else the query names ("blur the background behind the
                # bride" kept 'backgrounds', then 'blur', sharp)
                name = f"{name}b"
                pool = tuple(w for w in pool if w.lower() not in drop)
                ends = tuple(w for w in ends if w.lower() not in drop)
            owner = vocab.part_owners
            if (
                self.edits
                and key in _SUBJECT_STEPS
                and any(w.lower() not in owner for w in ends)
                and owner & {w.lower() for w in ends}
            ):
                # "pixelate the licence plate of the car": the plate is edited, the car only
                # places it (the whole car was blurred)
                name = f"{name}o"
                ends = tuple(w for w in ends if w.lower() not in owner)
            if self.half and key in _SUBJECT_STEPS:
                # in the half's crop, the side is said already ('left of the object' was
                # looked for in the left half)
                name = f"{name}h"
                pool = tuple(w for w in pool if w.lower() not in _SIDE_WORDS)
                ends = tuple(w for w in ends if w.lower() not in _SIDE_WORDS) or ends
            if vocab.emoji_said and key in _SUBJECT_STEPS and self.edits:
                # "a cat emoji over the dog": the cat is the emoji, not a thing to find (nor
                # the crown of "put a crown on the king")
                said = set(vocab.emoji_said)
                name = f"{name}e"
                pool = tuple(w for w in pool if w.lower() not in said)
                ends = tuple(w for w in ends if w.lower() not in said) or ends
            removing = key in _SUBJECT_STEPS or key == ("Select", "query")
            if vocab.removed and removing and "Replace" in self.required:
                # "erase the graffiti on the wall": the graffiti is found, not the wall
                gone = {w.lower() for w in vocab.removed}
                name, ends = f"{name}r", tuple(w for w in ends if w.lower() in gone) or ends
                # nor with the new thing's words ('trucks truck car' for "the red car with a
                # blue truck", 'beach beach beach background' for "replace the background
                # with a beach")
                new = {
                    f.lower()
                    for w in _WORD_RE.findall(
                        vocab.replacement_phrase or " ".join(vocab.replacement)
                    )
                    if w.lower() not in PHRASE_WORDS
                    for f in forms(w)
                }
                pool = tuple(w for w in pool if w.lower() not in new - gone)
            thing, with_, added = vocab.replacement_phrase.partition(" with ")
            if with_ and key in _SUBJECT_STEPS and "Replace" in self.required:
                # "add a rainbow to the sky" paints the sky with one: the rainbow is not
                # there to be found (it located 'rainbow')
                kept = {f.lower() for w in _WORD_RE.findall(thing) for f in forms(w)}
                new = {
                    f.lower()
                    for w in _WORD_RE.findall(added)
                    if w.lower() not in PHRASE_WORDS
                    for f in forms(w)
                } - kept
                if any(w.lower() not in new for w in ends):
                    name = f"{name}n"
                    pool = tuple(w for w in pool if w.lower() not in new)
                    ends = tuple(w for w in ends if w.lower() not in new)
            if removing and "Replace" in self.required and not with_:
                # "make the car on the right yellow": the car is found, not a 'yellow car'
                # (the colour is the new one; "the red car" keeps its old one)
                painted = _said_in(vocab.replacement_phrase) & COLOURS
                if painted and any(w.lower() not in painted for w in ends):
                    name = f"{name}k"
                    pool = tuple(w for w in pool if w.lower() not in painted)
                    ends = tuple(w for w in ends if w.lower() not in painted)
            waited = {x for f in waiting for x in f}
            if waited and any(w.lower() in waited for w in ends):
                # the Result waits for a thing no text names: what is found next is one of them
                name, ends = f"{name}u", tuple(w for w in ends if w.lower() in waited)
            if exclude:  # looked for in this image already: another thing now
                gone = {x.lower() for w in exclude for x in forms(w)}
                name = f"{name}x{zlib.crc32(repr(sorted(gone)).encode()):x}"
                pool = tuple(w for w in pool if w.lower() not in gone)
                ends = tuple(w for w in ends if w.lower() not in gone)
                if not ends:
                    # no thing is left to name: words that end no name ('behind' of "blur
                    # the background behind the dog") were looked for instead
                    return []
            held_by: list[list[str]] = []
            subject, held = vocab.held
            if (
                held
                and (self.edits or self.tagging)
                and key in _SUBJECT_STEPS
                and "FaceDet" not in self.required
            ):
                # "the person holding the umbrella" is named so: 'person' alone boxed everyone
                # (one "with" a red hat may be selected among the women instead)
                gone = {f.lower() for f in forms(subject)}
                if " with " not in held and any(w.lower() not in gone for w in ends):
                    name = f"{name}d"
                    ends = tuple(w for w in ends if w.lower() not in gone)
                if "held" not in g.rules and "'" not in held:
                    # word by word, as the free name beside it is lexed
                    g.add("held", _words_literal(held))
                held_by = [["held"]] if "held" in g.rules else []
            coloured: list[list[str]] = []
            if key in _SUBJECT_STEPS and V.TEXT in p.types and (rule := self._coloured(g)):
                of = {w.lower() for w in vocab.counted or vocab.coloured[1:]}
                if p.name == "object" and {n.lower() for n in vocab.nouns} <= of:
                    # "none of the images have a red car": of the one thing named, the red
                    # ones ('car in red object', 'dog of white object' were written beside
                    # the rule)
                    return [[rule]]
                # the counted thing is named with its colour only
                name = f"{name}c"
                ends = tuple(w for w in ends if w.lower() not in of)
                coloured = [[rule]]
            phrase = _phrase(g, name, pool, PHRASES[key], last=ends)
            alts = [[_text_list(g, phrase)]] if V.TEXT_LIST in p.types else []
            alts += [[phrase]] if V.TEXT in p.types else []
            alts += coloured + (held_by if V.TEXT in p.types else [])
            sides = {w.lower() for w in vocab.words} & _HALF_SAID
            if (
                key == ("Loc", "object")
                and sides
                and not set(vocab.choice.lower().split()) & _SIDE_WORDS
            ):
                # "on the left or right of the keyboard" asks which side: no half is located;
                # nor in a query that names no side ("blur the background behind the dog"
                # blurred all but the bottom half)
                alts.append([_closed(g, "half", HALVES)])
            return alts
        # Free text only where a step needs it: an optional free string is a file path
        # (Classify's probe, examples) the model has no business naming; it wrote junk there.
        return [["STRING"]] if V.TEXT in p.types and p.required else []


def _vqa_body(g: Grammar, name: str, image: str, questions: list[list[str]]) -> list[str]:
    """``VQA(image=<image>, question=<one of questions>)`` (rules ``<name>i``, ``<name>q``)."""
    g.add(f"{name}i", [lit(image)])
    g.add(f"{name}q", *questions)
    return [lit("VQA("), lit("image="), f"{name}i", lit(", question="), f"{name}q", lit(")")]


def _said_in(text: str) -> set[str]:
    """The lower-case words of ``text``."""
    return {w.lower() for w in _WORD_RE.findall(text)}


def _words_literal(text: str) -> list[str]:
    """``'text'`` as the lexemes a free text of the same words is made of.

    A quote, each word and each space, and the closing quote (``?'`` for a question).
    """
    end = "?'" if text.endswith("?") else "'"
    body = text[:-1] if text.endswith("?") else text
    return [lit("'"), *[lit(t) for t in re.split(r"( )", body) if t], lit(end)]


def _names(name: str, forms_: set[str]) -> bool:
    """Whether an object's name has a word of ``forms_`` ("person wearing sunglasses": person)."""
    return bool(set(name.lower().replace("'", " ").split()) & forms_)


def _refs(args: Iterable[Argument]) -> set[str]:
    """Variables an argument list names (references, list items, Eval's ``{VAR}``)."""
    out: set[str] = set()
    for a in args:
        items = a.value.items if isinstance(a.value, ListValue) else (a.value,)
        out |= {i.name for i in items if isinstance(i, Ref)}
        if isinstance(a.value, Literal) and isinstance(a.value.value, str):
            out |= set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", a.value.value))
    return out


def target_prefixes(spec: ToolSpec) -> tuple[str, ...]:
    """The target names a step's value may take, by its type (VisProg's BOX0, IMAGE1, ...).

    Fixed names cost the model one choice per line instead of spelling a name, tell it what
    the line makes, and can never be ``FINAL...`` (a model that wanted the Result line too
    early wrote ``FINALYOR1 = ...`` lines to the statement limit).
    """
    returns = spec.returns
    if V.ANY in returns or len(returns) > 1:
        return ("ANSWER",)
    if V.OBJECTS in returns:
        return ("BOX", "OBJ")
    if V.IMAGE in returns:
        return ("IMAGE",)
    if V.POINTS in returns:
        return ("POINTS",)
    if V.TEXT_LIST in returns:
        return ("LIST",)
    return ("ANSWER",)


def _next_index(defined: Iterable[str], prefix: str) -> int:
    """One more than the highest ``<prefix><n>`` defined (0 when none)."""
    found = [int(m.group(1)) for n in defined if (m := re.fullmatch(rf"{prefix}(\d+)", n))]
    return max(found, default=-1) + 1


def _closed(g: Grammar, name: str, words: Sequence[str]) -> str:
    """A quoted string that is exactly one of ``words`` (rule ``<name>``, added once)."""
    if name not in g.rules:
        g.add(name, *[[lit(f"'{w}'")] for w in dict.fromkeys(words) if "'" not in w])
    return name


def _phrase(
    g: Grammar,
    name: str,
    words: Sequence[str],
    most: int,
    end: str = "",
    least: int = 1,
    last: Sequence[str] = (),
) -> str:
    """A quoted string of ``least`` to ``most`` of ``words``.

    With ``end``, a phrase of ``least`` words or more ends with it (a question with its "?").
    With ``last`` (and no ``end``), its last word is one of those.
    """
    if name in g.rules:  # one rule per name: callers give the length in the name
        return name
    if last and not end:
        g.add(f"{name}w", *[[lit(w)] for w in dict.fromkeys(words)])
        g.add(f"{name}l", *[[lit(w)] for w in dict.fromkeys(last)])
        g.add(f"{name}pre", [f"{name}w", lit(" ")])
        # a name starts with no preposition or conjunction ('on the on people', 'the or
        # the around' were looked for)
        first = [w for w in dict.fromkeys(words) if w.lower() not in _NOT_FIRST] or words
        g.add(f"{name}f", *[[lit(w)] for w in dict.fromkeys(first)])
        g.add(f"{name}fpre", [f"{name}f", lit(" ")])
        before, most_before = max(1, least) - 1, most - 1
        head = [f"{name}fpre", *[f"{name}pre"] * (before - 1)] if before else []
        if most_before > before:
            rest = most_before - max(before, 1)
            if rest:
                _chain(g, f"{name}p", f"{name}pre", rest)
            if before:
                head.append(f"{name}p0?")
            else:
                g.add(f"{name}o", [f"{name}fpre", *([f"{name}p0?"] if rest else [])])
                head.append(f"{name}o?")
        g.add(name, [lit("'"), *head, f"{name}l", lit("'")])
        return name
    g.add(f"{name}w", *[[lit(w)] for w in dict.fromkeys(words)])
    g.add(f"{name}more", [lit(" "), f"{name}w"])
    least = max(1, min(least, most))
    head = [f"{name}w", *[f"{name}more"] * (least - 1)]
    tail: list[str] = []
    if most > least:
        _chain(g, f"{name}m", f"{name}more", most - least)
        tail.append(f"{name}m0?")
    if end:
        g.add(f"{name}end", [lit(end)])
        tail.append(f"{name}end" if least > 1 else f"{name}end?")
    g.add(name, [lit("'"), *head, *tail, lit("'")])
    return name


def _around(g: Grammar, name: str, words: Sequence[str], must: Sequence[str], half: int) -> None:
    """Rules for a phrase around one of ``must`` (rule ``<name>k``).

    ``<name>a0?`` / ``<name>b0?`` are up to ``half`` of ``words`` before / after it,
    ``<name>pre`` / ``<name>post`` exactly one.
    """
    g.add(f"{name}w", *[[lit(w)] for w in dict.fromkeys(words)])
    g.add(f"{name}k", *[[lit(w)] for w in dict.fromkeys(must)])
    g.add(f"{name}pre", [f"{name}w", lit(" ")])
    g.add(f"{name}post", [lit(" "), f"{name}w"])
    _chain(g, f"{name}a", f"{name}pre", half)
    _chain(g, f"{name}b", f"{name}post", half)


def _must_phrase(
    g: Grammar, name: str, words: Sequence[str], must: Sequence[str], most: int
) -> str:
    """A quoted phrase of up to about ``most`` of ``words`` with one of ``must`` in it."""
    if name in g.rules:
        return name
    _around(g, name, words, must, max(1, most // 2))
    g.add(name, [lit("'"), f"{name}a0?", f"{name}k", f"{name}b0?", lit("'")])
    return name


def _picked_phrase(
    g: Grammar,
    name: str,
    words: Sequence[str],
    things: Sequence[str],
    described: Sequence[str],
    before: Sequence[str],
    most: int,
) -> str:
    """A quoted phrase that names one of ``things`` and one of ``described``.

    The thing first and the word that picks it last ("girl in the yellow dress", up to
    ``most`` - 2 of ``words`` between), or one of ``before`` right before it ("red car"). A
    thing may be several words ('trash can').
    """
    if name in g.rules:
        return name
    g.add(
        f"{name}h",
        *[[lit(w) for w in re.split(r"( )", t) if w] for t in dict.fromkeys(things)],
    )
    g.add(f"{name}w", *[[lit(w)] for w in dict.fromkeys(words)])
    g.add(f"{name}l", *[[lit(w)] for w in dict.fromkeys(described)])
    g.add(f"{name}pre", [f"{name}w", lit(" ")])
    _chain(g, f"{name}p", f"{name}pre", max(1, most - 2))
    forms_ = [[lit("'"), f"{name}h", lit(" "), f"{name}p0?", f"{name}l", lit("'")]]
    if before:
        g.add(f"{name}b", *[[lit(w)] for w in dict.fromkeys(before)])
        forms_.append([lit("'"), f"{name}b", lit(" "), f"{name}h", lit("'")])
    g.add(name, *forms_)
    return name


def _described_phrase(
    g: Grammar, words: Sequence[str], things: Sequence[str], described: Sequence[str], most: int
) -> str:
    """A quoted phrase: one of ``things``, up to ``most`` - 2 of ``words``, one of ``described``.

    "person wearing sunglasses" (rule ``cntdd``; :func:`_picked_phrase` without a word before).
    """
    return _picked_phrase(g, "cntdd", words, things, described, (), most)


def _open_question(g: Grammar, words: Sequence[str], content: Sequence[str]) -> str:
    """A quoted question that opens with "What", "Which" or "How" and names one of ``content``.

    Rule ``qo``: its answer is a word to compare, not yes or no.
    """
    if "qo" in g.rules:
        return "qo"
    _around(g, "qo", words, content, QUESTION_WORDS_MAX // 2)
    g.add("qowh", *[[lit(w)] for w in ("What", "Which", "How")])
    g.add("qo", [lit("'"), "qowh", lit(" "), "qoa0?", "qok", "qob0?", lit("?'")])
    return "qo"


def _question(g: Grammar, words: Sequence[str], content: Sequence[str]) -> str:
    """A quoted question of query words with at least one of ``content`` (rule ``qc``).

    Three (``QUESTION_WORDS_MIN``) to about ``QUESTION_WORDS_MAX`` words, ending with "?".
    """
    if "qc" in g.rules:
        return "qc"
    _around(g, "qc", words, content, QUESTION_WORDS_MAX // 2)
    # Three words or more (QUESTION_WORDS_MIN): two before the content word, one before and
    # one after, or two after.
    g.add(
        "qcbody",
        ["qcpre", "qcpre", "qca0?", "qck", "qcb0?"],
        ["qcpre", "qck", "qcpost", "qcb0?"],
        ["qck", "qcpost", "qcpost", "qcb0?"],
    )
    g.add("qc", [lit("'"), "qcbody", lit("?'")])
    return "qc"


def _covering_question(
    g: Grammar,
    words: Sequence[str],
    musts: Sequence[Sequence[str]],
    choice: str = "",
    pool: str = "qv",
) -> str:
    """A quoted question of ``pool`` words that names each of ``musts`` (rule ``qv...``).

    One form of each of ``musts``, in order; it ends with ``choice`` (the answers the query
    offers) when given.

    "Who is holding the umbrella, a man or a woman?" asked "Who is holding the red umbrella?":
    the answer was no longer one of the two.
    """
    # one rule per list of musts (a whole image's question and a crop's differ), and per
    # pool of words
    name = f"qv{zlib.crc32(repr((musts, choice, pool)).encode()):x}"
    if pool == "qv":
        name = f"qv{zlib.crc32(repr((musts, choice)).encode()):x}"
    if name in g.rules:
        return name
    if f"{pool}w" not in g.rules:
        _around(g, pool, words, words, QUESTION_WORDS_MAX // 2)
    # the gaps share QUESTION_WORDS_MAX: three names with eight words around each asked 36
    gap = max(1, QUESTION_WORDS_MAX // (len(musts) + 1))
    before, after = f"{pool}g{gap}", f"{pool}h{gap}"
    if f"{before}0" not in g.rules:
        _chain(g, before, f"{pool}pre", gap)
        _chain(g, after, f"{pool}post", gap)
    body = [lit("'"), f"{pool}pre", f"{before}0?"]
    for k, must in enumerate(musts):
        g.add(f"{name}n{k}", *[[lit(f)] for f in dict.fromkeys(must)])
        body += [lit(" "), f"{before}0?", f"{name}n{k}"] if k else [f"{name}n{k}"]
    if choice:
        body += [lit(" "), f"{before}0?", lit(f"{choice}?'")] if musts else [lit(f"{choice}?'")]
    else:
        body += [f"{after}0?", lit("?'")]
    g.add(name, body)
    return name


def _text_list(g: Grammar, item: str) -> str:
    """``[item, item, ...]`` (1 to 8 items)."""
    name = f"{item}list"
    if name not in g.rules:
        g.add(f"{item}next", [lit(", "), item])
        _chain(g, f"{item}n", f"{item}next", 7)
        g.add(name, [lit("["), item, f"{item}n0?", lit("]")])
    return name


def _expression(
    g: Grammar,
    scalars: Sequence[str],
    vocab: Vocabulary,
    pair: bool = False,
    leading: Sequence[str] = (),
    texts: Sequence[str] = (),
    polar: Sequence[str] = (),
    refused: Sequence[str] = (),
) -> str:
    """A double-quoted Eval expression over the defined scalar variables (rule ``xe``).

    From the query's words (:class:`~visprog.planner.vocab.Vocabulary`): the logic operators
    among ``and``, ``or``, ``xor`` and ``not``; the comparison operators (then every condition
    compares: "at least two ducks" is ``>= 2``, not ``{A} and {B}``); the numbers it states
    (``> 2`` for "more than two", not ``> 3``); and, for a total over two images, a sum of
    counts on the left (``pair``: the inputs are two images). ``leading``: when not empty,
    the only variables a comparison may start with (the count of the image named first).
    With :attr:`~visprog.planner.vocab.Vocabulary.negated` and yes/no answers only, one of
    the first two conditions is negated. ``texts``: the variables that hold text only (VQA's
    answers): compared with ``==`` or
    ``!=`` to a string or another text, never ordered or compared with a number
    ("'left' if {ANSWER0} > 0" of a VQA's answer). ``polar``: those of them that answer a
    yes/no question: compared with ``'yes'`` or ``'no'`` only. ``refused``: those of them
    that answer of the image the statement denies
    (:attr:`~visprog.planner.vocab.Vocabulary.denied_side`): the others' and not theirs.
    """
    if "xe" in g.rules:
        return "xe"
    logic = vocab.logic
    g.lexemes["XSTR"] = EVAL_LITERAL
    if vocab.difference and len(scalars) >= 2:
        # "How many more cars than trucks?": one count minus another (it answered 'yes')
        pairs = [[lit(f'"{{{a}}} - {{{b}}}"')] for a in scalars for b in scalars if a != b]
        g.add("xe", *pairs)
        return "xe"
    numbers = [n for n in scalars if n not in texts]
    if vocab.worked and not pair and numbers:
        # "count the faces, then double it": the count times two (it stopped at the count)
        g.add("xe", *[[lit(f'"{{{a}}}{vocab.worked}"')] for a in numbers])
        return "xe"
    if vocab.parity and numbers:
        # "Is the number of faces odd?": the count modulo 2 (it answered with the count);
        # of two images, each count ("an even number of cups in both images")
        rest = "1" if vocab.parity == "odd" else "0"
        if (vocab.total or vocab.summed) and len(numbers) >= 2:
            # "the total number of cats in both images is odd": the sum's parity (it tested
            # each count's)
            sums = [
                [lit(f'"({{{a}}} + {{{b}}}) % 2 == {rest}"')]
                for a, b in itertools.combinations(numbers, 2)
            ]
            g.add("xe", *sums)
            return "xe"
        one = [[lit(f'"{{{a}}} % 2 == {rest}"')] for a in numbers]
        joined = [
            [lit(f'"{{{a}}} % 2 == {rest} {op} {{{b}}} % 2 == {rest}"')]
            for a, b in itertools.combinations(numbers, 2)
            for op in ("and", "or")
            if op in logic
        ]
        g.add("xe", *(joined if pair and joined else one))
        return "xe"
    if vocab.summed and not pair and not vocab.thresholds and len(scalars) >= 2:
        # "total number of cats and dogs?": one count plus the other ("1 + 1 + 1 == 1")
        sums = [[lit(f'"{{{a}}} + {{{b}}}"')] for a in scalars for b in scalars if a != b]
        g.add("xe", *sums)
        return "xe"
    shown = [n for n in scalars if n not in refused]
    if refused and pair and "not" in logic and set(scalars) <= set(polar) and shown:
        # "The right image has a brown horse, but the left image does not": the left's
        # answer is the negated one (it negated the right's)
        g.add("xe", *[[lit(f'"{{{a}}} and not {{{b}}}"')] for a in shown for b in refused])
        return "xe"
    g.add("xe", [lit('"'), "xc", lit('"')])
    # The branches of a conditional are words or numbers: "{A} if {B} > {A} else {B}" (a
    # count, for a statement that is true or false)
    g.add("xc", ["xo"], ["xuv", lit(" if "), "xo", lit(" else "), "xuv"])
    binary = [[lit(f" {op} ")] for op in ("and", "or", "xor") if op in logic]
    # A number of things the query states is compared with: the first condition holds it
    # ("exactly three more birds than" wrote "{A} - {B} > {A}"). A total or a scale has it.
    numbered = bool(vocab.thresholds) and not vocab.scaled and not (vocab.total and pair)
    first = "xnn" if numbered else "xn"
    # a two-image statement that denies what an image shows, over yes/no answers only
    denied = (
        pair
        and vocab.negated
        and "not" in logic
        and not numbered
        and bool(scalars)
        and set(scalars) <= set(polar)
    )
    if denied:
        g.add("xnot", [lit("not "), "xm"])
    if binary:
        # At most EVAL_CLAUSES conditions: an unbounded chain let the small model repeat
        # "and {A} == {B}" until the token limit cut the line (a program that cannot check).
        g.add("xop", *binary)
        g.add("xot", ["xop", "xn"])
        # And no more conditions than values to state them of: "{A} and {B} and {A} and {B}"
        clauses = min(EVAL_CLAUSES, len(scalars))
        if clauses >= 2:
            _chain(g, "xoc", "xot", clauses - 1)
        if denied:
            # "a dog in the left image but not in the right" was "{A} and {B}": one of the
            # first two conditions is negated
            alts = [["xnot", "xoc0?"] if clauses >= 2 else ["xnot"]]
            if clauses >= 2:
                alts.append(["xm", "xop", "xnot", *(["xoc1?"] if clauses >= 3 else [])])
            g.add("xo", *alts)
        elif clauses >= 2:
            g.add("xo", [first, "xoc0?"])
        else:
            g.add("xo", [first])
    elif denied:
        g.add("xo", ["xnot"])
    else:
        g.add("xo", [first])
    g.add("xn", ["xm"], *([[lit("not "), "xm"]] if "not" in logic else []))  # one "not"
    if numbered:
        g.add("xnn", ["xmn"], *([[lit("not "), "xmn"]] if "not" in logic else []))
    ops = vocab.comparisons or ("==", "!=", ">=", "<=", ">", "<")
    # "two laptops on the right and none on the left": each count is compared with a number,
    # not read as true or false ("{A} and not {B}").
    counted = pair and vocab.counts
    g.add("xcmp", *[[lit(f" {op} ")] for op in ops])
    g.add("xnum", *[[lit(n)] for n in vocab.numbers])
    # A comparison never has one bare variable on both sides ("{ANSWER0} > {ANSWER0}", a
    # small model's copy of "{ANSWER0} > {ANSWER1}"): a bare {A} is compared with a value
    # that is not a bare {A} (rule xnA), anything else with anything.
    arith: list[list[str]] = []
    if vocab.arithmetic:
        # "twice as many": a scale is a product or a quotient (not "{A} + 2")
        ar_ops = ("*", "/") if vocab.scaled else ("+", "-", "*", "/")
        g.add("xar", *[[lit(f" {op} ")] for op in ar_ops])
        # At most ARITH_OPS operations: an unbounded chain ran "{A} - {B} - {A} ..." to the
        # token limit.
        g.add("xart", ["xar", "xu"])
        _chain(g, "xarc", "xart", ARITH_OPS)
        arith = [["xu", "xarc0"]]
    g.add("xs", ["xu"], *arith)
    # what a condition computes starts with a value ("1 + 1 + 1 == 1" compared literals)
    arith_v = [[lit("{"), "xref", lit("}"), "xarc0"]] if arith else []
    if arith:  # an xs that is not one bare variable (nor a bare literal: "1 >= 0")
        g.add("xsv", *arith_v)
    g.add("xref", *[[lit(n)] for n in scalars])
    # No True/False literals: the small model wrote Eval(expr="True") for "exactly one of the
    # images"; a truth value comes from the answers (a bare {A}, a comparison, and/or/not).
    # No parentheses: "(" xc ")" let the small model nest "{A} if ({B} if (..." until the
    # token limit cut the line (a program that cannot check); and/or/not need none here.
    g.add("xuv", ["xnum"], ["XSTR"])
    g.add("xu", [lit("{"), "xref", lit("}")], ["xuv"])
    # "twice as many as": the count named first equals a scaled other side (the bare
    # "{A} == {B}" dropped the scale), so only the per-variable comparisons below, scaled.
    scaled = vocab.scaled and bool(arith)
    compare: list[list[str]] = [] if scaled or not arith else [["xsv", "xcmp", "xs"]]
    # conditions holding a number: "{A} - {B} == 3", not "{A} - {B} == {A} - 3"
    numeric: list[list[str]] = [["xsv", "xcmp", "xnum"]] if arith else []
    if not vocab.comparisons and not counted:
        # a value as a condition is a variable's, never a literal's (it wrote "not 1" again
        # and again)
        g.add("xsr", [lit("{"), "xref", lit("}")], *arith_v)
        compare.insert(0, ["xsr"])
    for i, name in enumerate(scalars):
        # "{", name, "}" as three tokens, as in xu: a one-token "{A}" would shadow "{"
        # The other side never names A at all: "{A} > {A} - {A}" evaded a bare-only rule.
        # A text is compared with texts, a number with numbers.
        kin = [
            o
            for o in scalars
            if o != name and (o in texts) == (name in texts) and (o in polar) == (name in polar)
        ]
        others = [[lit("{"), lit(o), lit("}")] for o in kin]
        if name in texts:
            equal = [op for op in ops if op in ("==", "!=")]
            if equal and (not leading or name in leading):
                g.add(f"xq{i}", *[[lit(f" {op} ")] for op in equal])
                # two answers are compared only when the query compares ("the same colour"):
                # "Both images contain a person wearing a hat" was "{ANSWER0} == {ANSWER1}"
                # two yes/no answers are never compared: "the same colour" of "Is there a
                # dog?" twice; "both" is "and"
                if name in polar:
                    g.add(f"xne{i}", [lit("'yes'")], [lit("'no'")])
                else:
                    g.add(f"xne{i}", ["XSTR"], *(others if vocab.comparisons else []))
                compare.append([lit("{"), lit(name), lit("}"), f"xq{i}", f"xne{i}"])
            continue
        # "more cars than people" compares the two counts, stating no number ("{A} > 1")
        # (with arithmetic a number may be added: "more cats than dogs in total")
        counts_only = vocab.compared and not (numbered or scaled or arith) and bool(others)
        g.add(f"xne{i}u", *([] if counts_only else [["xuv"]]), *others)
        if scaled and others:  # another count times or over a number: "{B} * 2" (not "{B} * {B}")
            g.add(f"xne{i}o", *others)
            g.add(f"xne{i}", [f"xne{i}o", "xar", "xnum"], ["xnum", "xar", f"xne{i}o"])
        else:
            if arith:
                g.add(f"xne{i}t", ["xar", f"xne{i}u"])
                _chain(g, f"xne{i}c", f"xne{i}t", ARITH_OPS)
            g.add(f"xne{i}", [f"xne{i}u"], *([[f"xne{i}u", f"xne{i}c0"]] if arith else []))
        if not leading or name in leading:
            compare.append([lit("{"), lit(name), lit("}"), "xcmp", f"xne{i}"])
            if numbered:  # the other side holds a number: "{A} == 3", "{A} == {B} + 3"
                tail = [[f"xne{i}u", "xar", "xnum"]] if arith else []  # one step: no chain
                g.add(f"xne{i}n", ["xnum"], *tail)
                numeric.append([lit("{"), lit(name), lit("}"), "xcmp", f"xne{i}n"])
    if vocab.total and pair and len(scalars) >= 2:  # "five cups altogether"
        g.add("xplus", [lit(" + {"), "xref", lit("}")])
        _chain(g, "xpl", "xplus", 3)
        compare = [[lit("{"), "xref", lit("}"), "xplus", "xpl0?", "xcmp", "xnum"]]
    bare = [lit("{"), "xref", lit("}")]
    g.add("xm", *(compare or [bare]))
    if numbered:
        g.add("xmn", *(numeric or [bare]))
    return "xe"
