"""Compound edits: split into clauses, each written alone, chained into one program that runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import visprog
from visprog.planner import ProgramCache, generate_program
from visprog.planner.compound import ChainError, chain, edit_clauses
from visprog.planner.repair import compound_clauses, diagnose
from visprog.registry import REGISTRY
from visprog.session import ensure_tools

from .conftest import ScriptedBackend

BLUR = (
    "OBJ0 = FaceDet(image=IMAGE)\n"
    "IMAGE0 = Blur(image=IMAGE, object=OBJ0)\n"
    "FINAL_RESULT = Result(var=IMAGE0)\n"
)
# a clause whose crop only places what is found: the crop keeps reading the input photo
EMOJI_RIGHT = (
    "BOX0 = Loc(image=IMAGE, object='RIGHT')\n"
    "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    "OBJ0 = FaceDet(image=IMAGE0)\n"
    "IMAGE1 = Emoji(image=IMAGE, object=OBJ0, emoji='star')\n"
    "FINAL_RESULT = Result(var=IMAGE1)\n"
)
CROP_LEFT = (
    "BOX0 = Loc(image=IMAGE, object='LEFT')\n"
    "IMAGE0 = Crop(image=IMAGE, box=BOX0)\n"
    "FINAL_RESULT = Result(var=IMAGE0)\n"
)
COUNT = (
    "OBJ0 = FaceDet(image=IMAGE)\nANSWER0 = Count(box=OBJ0)\nFINAL_RESULT = Result(var=ANSWER0)\n"
)


@pytest.mark.parametrize(
    ("query", "clauses"),
    [
        (
            "blur the faces and replace the car with a truck",
            ["blur the faces", "replace the car with a truck"],
        ),
        (
            "pixelate the faces then crop to the left half",
            ["pixelate the faces", "crop to the left half"],
        ),
        (
            "Put a star on every face. Then blur the bottom half.",
            ["Put a star on every face", "blur the bottom half"],
        ),
        (
            "blur the faces, then crop the image to the left half",
            ["blur the faces", "crop the image to the left half"],
        ),
        # the second edit's verb is implied
        (
            "replace the cat with a tiger and the dog with a wolf",
            ["replace the cat with a tiger", "replace the dog with a wolf"],
        ),
        (
            "make the sky orange and the grass brown",
            ["make the sky orange", "make the grass brown"],
        ),
        ("blur the license plates and the faces", ["blur the license plates", "blur the faces"]),
        (
            "change the sofa to a red one and the lamp to a blue one",
            ["change the sofa to a red one", "change the lamp to a blue one"],
        ),
    ],
)
def test_compound_edits_split_into_their_edits(query: str, clauses: list[str]) -> None:
    assert edit_clauses(query) == clauses


@pytest.mark.parametrize(
    "query",
    [
        "blur every face",
        # one colour pop or background blur, whatever its verbs
        "keep the umbrella in colour and make the rest grey",
        "put a smiley on the man's face and blur the background",
        "make the background blurry but keep the dog sharp",
        # a later clause edits what the one before found
        "crop to the dog and make it black and white",
        "colour the car on the left purple and blur the one on the right",
        # things of one edit, not two edits
        "put a cat emoji on the man and the woman",
        "blur the faces of the man and the woman",
        "replace the dog on the left with a cat",
        # no edit
        "how many dogs and cats are there?",
    ],
)
def test_single_edits_and_other_requests_are_not_split(query: str) -> None:
    assert edit_clauses(query) == [query]


def test_only_edits_of_one_image_are_compound() -> None:
    query = "blur the faces and crop to the left half"
    assert compound_clauses(query, ("IMAGE",), "edit") == [
        "blur the faces",
        "crop to the left half",
    ]
    assert compound_clauses(query, ("LEFT", "RIGHT"), "edit") == []
    assert compound_clauses(query, ("IMAGE",), "tag") == []


def test_chain_renames_and_edits_the_image_the_clause_before_returned() -> None:
    ensure_tools()
    text = chain([BLUR, EMOJI_RIGHT, CROP_LEFT], REGISTRY)
    assert text == (
        "OBJ0 = FaceDet(image=IMAGE)\n"
        "IMAGE0 = Blur(image=IMAGE, object=OBJ0)\n"
        "BOX0 = Loc(image=IMAGE, object='RIGHT')\n"
        # the crop that places the faces still reads the photo; the emoji goes on the blur
        "IMAGE1 = Crop(image=IMAGE, box=BOX0)\n"
        "OBJ1 = FaceDet(image=IMAGE1)\n"
        "IMAGE2 = Emoji(image=IMAGE0, object=OBJ1, emoji='star')\n"
        "BOX1 = Loc(image=IMAGE, object='LEFT')\n"
        "IMAGE3 = Crop(image=IMAGE2, box=BOX1)\n"
        "FINAL_RESULT = Result(var=IMAGE3)\n"
    )
    assert diagnose(text, ("IMAGE",), REGISTRY)[1] == []


def test_a_clause_that_returns_no_image_does_not_chain() -> None:
    ensure_tools()
    with pytest.raises(ChainError, match="clause 2"):
        chain([BLUR, COUNT], REGISTRY)


def test_each_clause_is_written_with_its_own_prompt_and_grammar() -> None:
    query = "blur the faces and crop to the left half"
    backend = ScriptedBackend([BLUR, CROP_LEFT], constrained=True)
    gen = generate_program(query, backend, scoped=False)
    assert gen.program == chain([BLUR, CROP_LEFT], REGISTRY)
    assert gen.clauses == ("blur the faces", "crop to the left half")
    assert gen.task == "edit" and gen.query == query
    assert "Question: blur the faces\nProgram:\n" in backend.prompts[0]
    assert "Question: crop to the left half\nProgram:\n" in backend.prompts[1]
    assert [r["clause"] for r in gen.records()] == ["blur the faces", "crop to the left half"]
    assert all(r["query"] == query for r in gen.records())


def test_a_clause_the_model_cannot_write_sends_the_whole_query_again() -> None:
    query = "blur the faces and crop to the left half"
    broken = "IMAGE0 = Crop(image=IMAGE, box=BOX9)\nFINAL_RESULT = Result(var=IMAGE0)\n"
    whole = BLUR
    backend = ScriptedBackend([BLUR, broken, broken, whole])
    gen = generate_program(query, backend, attempts=2)
    assert gen.program == whole and gen.clauses == ()
    assert f"Question: {query}\nProgram:\n" in backend.prompts[-1]
    assert not backend.replies


def test_a_chain_that_fails_the_runtime_check_is_written_whole_with_repairs() -> None:
    query = "blur the faces and crop to the left half"
    seen: list[str] = []

    def runtime(program: visprog.Program) -> list[str]:
        seen.append(program.source)
        return ["runtime error: no"] if len(seen) == 1 else []

    backend = ScriptedBackend([BLUR, CROP_LEFT, BLUR])
    gen = generate_program(query, backend, runtime_check=runtime)
    assert seen[0] == chain([BLUR, CROP_LEFT], REGISTRY)  # the chain was run, and refused
    assert gen.program == BLUR and gen.clauses == ()


def test_a_compound_edit_is_cached_whole(tmp_path: Path) -> None:
    query = "blur the faces and crop to the left half"
    cache = ProgramCache(tmp_path / "cache")
    first = generate_program(query, ScriptedBackend([BLUR, CROP_LEFT]), cache=cache)
    again = generate_program(query, ScriptedBackend([]), cache=cache)
    assert again.cached and again.program == first.program


def test_a_chained_program_runs_on_a_photo(astronaut_path: Path) -> None:
    """Real MTCNN faces and real edits: each clause edits the image the clause before made."""
    ensure_tools()
    trace = visprog.api.execute(
        chain([BLUR, CROP_LEFT], REGISTRY), str(astronaut_path), device="cpu"
    )
    out = {s.target: s.output for s in trace.steps}
    photo, blurred, cropped = trace.inputs["IMAGE"], out["IMAGE0"], out["IMAGE1"]
    assert len(out["OBJ0"]) >= 1  # the astronaut's face, found in the photo
    assert blurred.size == photo.size and not np.array_equal(blurred.pixels, photo.pixels)
    # the crop is of the blurred photo, not of the input
    x, y = cropped.offset
    w, h = cropped.size
    assert w < photo.width
    assert np.array_equal(cropped.pixels, blurred.pixels[y : y + h, x : x + w])
    assert not np.array_equal(cropped.pixels, photo.pixels[y : y + h, x : x + w])
