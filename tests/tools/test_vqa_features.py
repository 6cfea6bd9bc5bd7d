"""VQA encodes an image once: cached encoder output gives the plain path's answers.

Tiny random-weight Idefics3 (SmolVLM's architecture) saved and loaded through the tool's real
loading path, with and without image splitting; answers are compared as raw generated text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visprog.context import Context
from visprog.interpreter import Interpreter
from visprog.models import ModelManager
from visprog.tools.vqa import (
    MODEL,
    PROMPT,
    ask,
    ask_many,
    image_features,
    load_vqa,
    reuses_features,
    vqa_batched,
)
from visprog.values import Image

from .fixtures_hf import save_tiny_idefics3, save_tiny_qwen3_vl

QUESTIONS = ["what color?", "how many dogs are there?", "is it red", "what is on the left?"]


@pytest.fixture(scope="module", params=[False, True], ids=["whole", "split"])
def idefics3_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(save_tiny_idefics3(tmp_path_factory.mktemp("idefics3")))
    if request.param:  # SmolVLM's default: large images go in as several sub-images
        config = path / "processor_config.json"
        data = json.loads(config.read_text())
        assert data["image_processor"]["do_image_splitting"] is False
        data["image_processor"]["do_image_splitting"] = True
        config.write_text(json.dumps(data))
    return str(path)


def pictures() -> list[Image]:
    rng = np.random.default_rng(1)
    return [
        Image(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), "IMAGE")
        for h, w in [(48, 64), (90, 30), (64, 64)]
    ]


def spy_encoder(model: Any) -> list[int]:
    """Count the vision encoder's runs (inside generate or not)."""
    calls: list[int] = []
    real = model.get_image_features

    def encode(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    model.get_image_features = encode
    return calls


def test_cached_features_give_the_plain_paths_answer(idefics3_dir: str) -> None:
    vqa = load_vqa(idefics3_dir, "cpu")
    assert reuses_features(vqa)
    cache: dict[str, Any] = {}
    for image in pictures():
        features = image_features(vqa, image, cache, "k")
        for question in QUESTIONS:
            plain = ask(vqa, image, question, 12, PROMPT)
            assert ask(vqa, image, question, 12, PROMPT, features) == plain
    assert len(cache) == 3  # one entry per distinct image


def test_a_batch_with_repeated_images_encodes_each_image_once(idefics3_dir: str) -> None:
    vqa = load_vqa(idefics3_dir, "cpu")
    images = pictures()
    pairs = [(images[i % 3], q) for i, q in enumerate(QUESTIONS * 2)]  # 8 rows, 3 images
    plain = ask_many(vqa, pairs, 12, PROMPT)
    assert plain == [ask(vqa, im, q, 12, PROMPT) for im, q in pairs]
    encoder = spy_encoder(vqa.model)
    cache: dict[str, Any] = {}
    features = [image_features(vqa, im, cache, "k") for im, _ in pairs]
    assert ask_many(vqa, pairs, 12, PROMPT, features) == plain
    assert len(encoder) == 3  # not 8, and none inside generate


def test_the_batched_tool_shares_features_through_the_run_cache(idefics3_dir: str) -> None:
    manager = ModelManager(log=None)
    shared: dict[str, Any] = {}  # what the batch runner hands every step
    ctxs = [
        Context(device="cpu", models=manager, settings={"model.vqa": idefics3_dir})
        for _ in QUESTIONS
    ]
    for ctx in ctxs:
        ctx.run_cache = shared
    image = pictures()[0]
    encoder = spy_encoder(ctxs[0].load_model(MODEL, record=False)[0].model)
    answers = vqa_batched(
        [{"image": image, "question": q, "ctx": c} for q, c in zip(QUESTIONS, ctxs, strict=True)]
    )
    alone = Context(
        device="cpu", models=ModelManager(log=None), settings={"model.vqa": idefics3_dir}
    )
    from visprog.tools.vqa import vqa

    assert answers == [vqa(image, q, alone) for q in QUESTIONS]
    assert len(encoder) == 1
    assert [any("features reused" in n for n in c.notes) for c in ctxs] == [False, True, True, True]


def test_two_questions_about_one_image_in_a_program_encode_it_once(idefics3_dir: str) -> None:
    program = (
        "A = VQA(image=IMAGE, question='what color?')\n"
        "B = VQA(image=IMAGE, question='is it red')\n"
        "C = Eval(expr=\"'{A}' + '{B}'\")\n"
        "R = Result(var=C)"
    )
    settings = {"model.vqa": idefics3_dir}
    interp = Interpreter(device="cpu", settings=settings)
    trace = interp.run(program, {"IMAGE": pictures()[1]})
    notes = [s.notes for s in trace.steps]
    assert not any("features reused" in n for n in notes[0])
    assert any("features reused" in n for n in notes[1])


def test_other_architectures_encode_their_pixels_in_generate(tmp_path: Path) -> None:
    vqa = load_vqa(save_tiny_qwen3_vl(tmp_path), "cpu")
    assert not reuses_features(vqa)
