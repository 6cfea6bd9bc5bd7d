from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from visprog import execute
from visprog.context import Context
from visprog.errors import ConfigurationError, ModelUnavailableError, ToolArgumentError
from visprog.interpreter import Interpreter, StepFailedError
from visprog.models import ModelManager
from visprog.tools.vqa import MODEL, PROMPT, _drop_prompt, ask, load_vqa, normalize_answer, vqa
from visprog.values import Image

from .fixtures_hf import (
    IMAGE_SEQ_LEN,
    save_tiny_blip,
    save_tiny_blip2,
    save_tiny_idefics3,
    save_tiny_qwen3_vl,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Two.", "2"),
        ("two", "2"),
        ("Twenty-one", "21"),
        ("twenty one", "21"),
        ("none", "0"),
        ("3", "3"),
        ("2.5", "2.5"),
        ("3 dogs", "3 dogs"),
        ("Yes", "yes"),
        ("NO.", "no"),
        ("Yes, there is a dog.", "yes"),
        ("no one", "no one"),
        ("nothing", "nothing"),
        ("Red!", "red"),
        ("Answer: blue.", "blue"),
        ("Assistant: Left", "left"),
        ("'green'", "green"),
        ('"cat".', "cat"),
        ("The left.", "left"),
        ("a dog", "dog"),
        ("an apple", "apple"),
        ("a two", "2"),
        ("tree\nsecond line", "tree"),
        ("\n\n  Wooden table  \n", "wooden table"),
        ("", ""),
        ("   \n ", ""),
        ("...", ""),
        ("<end_of_utterance> ?!", "<end_of_utterance>"),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


@pytest.fixture(scope="module")
def idefics3_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("transformers")
    return save_tiny_idefics3(tmp_path_factory.mktemp("tiny-idefics3"))


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("transformers")
    return save_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


def _spy_generate(model: Any) -> dict[str, Any]:
    """Record the inputs the real ``generate`` receives."""
    seen: dict[str, Any] = {}
    real = model.model.generate

    def generate(**kwargs: Any) -> Any:
        seen.update(kwargs)
        return real(**kwargs)

    model.model.generate = generate
    return seen


def test_chat_model_through_the_tool(idefics3_dir: str, rgb: Image) -> None:
    manager = ModelManager(log=None)
    ctx = Context(device="cpu", models=manager, settings={"model.vqa": idefics3_dir})
    answer = vqa(rgb, "what is the color of dog ?", ctx)
    assert isinstance(answer, str) and answer and answer == answer.strip()
    assert ctx.models_used == [f"{idefics3_dir} on cpu"]
    assert manager.loaded() == [f"vqa:{idefics3_dir}:float32@cpu"]
    loaded = manager.get(ctx.model_key(MODEL), "cpu", lambda d: pytest.fail("reloaded"))
    assert loaded.kind == "chat"
    assert type(loaded.model).__name__ == "Idefics3ForConditionalGeneration"


def test_chat_prompt_carries_image_tokens_and_question(idefics3_dir: str, rgb: Image) -> None:
    loaded = load_vqa(idefics3_dir, "cpu")
    seen = _spy_generate(loaded)
    raw = ask(loaded, rgb.crop((0, 0, 40, 30)), "what is the color of dog ?", 3, PROMPT)
    assert isinstance(raw, str)  # (what the prompt holds is checked below)
    ids = seen["input_ids"][0].tolist()
    tok = loaded.processor.tokenizer
    assert ids.count(tok.convert_tokens_to_ids("<image>")) == IMAGE_SEQ_LEN
    assert seen["pixel_values"].shape[-2:] == (32, 32)
    assert seen["max_new_tokens"] == 3 and seen["do_sample"] is False
    prompt = tok.decode(ids)
    assert "what is the color of dog ?" in prompt and "single word or phrase" in prompt
    assert "<unk>" not in prompt
    assert prompt.rstrip().endswith("assistant :")  # the generation prompt closes the turn


def test_blip_is_selected_from_its_config(blip_dir: str, rgb: Image) -> None:
    loaded = load_vqa(blip_dir, "cpu")
    assert loaded.kind == "blip"
    assert type(loaded.model).__name__ == "BlipForQuestionAnswering"
    seen = _spy_generate(loaded)
    raw = ask(loaded, rgb, "what is the color of dog ?", 4, PROMPT)
    assert isinstance(raw, str) and raw.strip()
    # BLIP gets the bare question (no chat template, no instruction) and the pixels.
    question = loaded.processor.tokenizer.decode(seen["input_ids"][0], skip_special_tokens=True)
    assert question.replace(" ?", "?") == "what is the color of dog?"
    assert tuple(seen["pixel_values"].shape) == (1, 3, 32, 32)


def test_vqa_in_a_program_loads_the_model_once(blip_dir: str, rgb: Image) -> None:
    manager = ModelManager(log=None)
    program = (
        "A = VQA(image=IMAGE, question='what is the color of dog ?')\n"
        "B = VQA(image=IMAGE, question='is the dog red ?')\n"
        "R = Result(var=B)"
    )
    interpreter = Interpreter(device="cpu", models=manager, settings={"model.vqa": blip_dir})
    trace = interpreter.run(program, {"IMAGE": rgb})
    assert isinstance(trace.result, str) and trace.result
    assert trace.steps[0].output and trace.steps[1].output  # each step answered
    assert len(manager.load_seconds) == 1
    assert trace.steps[0].models == [f"{blip_dir} on cpu"]


def test_empty_question_is_an_argument_error(rgb: Image) -> None:
    with pytest.raises(ToolArgumentError, match="question is empty"):
        vqa(rgb, "  ", Context(device="cpu", models=ModelManager(log=None)))


def test_custom_prompt_is_used_and_must_hold_the_question(idefics3_dir: str, rgb: Image) -> None:
    manager = ModelManager(log=None)
    settings = {
        "model.vqa": idefics3_dir,
        "vqa.prompt": "{question} answer using a single word {x}",
    }
    ctx = Context("cpu", manager, settings=settings)
    loaded = manager.get(ctx.model_key(MODEL), "cpu", lambda d: load_vqa(idefics3_dir, d))
    seen = _spy_generate(loaded)
    vqa(rgb, "what is the dog ?", ctx)
    text = loaded.processor.tokenizer.decode(seen["input_ids"][0])
    assert "what is the dog ? answer using a single word" in text
    bad = {**settings, "vqa.prompt": "Describe the image."}
    with pytest.raises(ConfigurationError, match=r"vqa.prompt: expected text holding \{question\}"):
        vqa(rgb, "what?", Context("cpu", manager, settings=bad))


def test_missing_model_offline_fails_fast_naming_the_setting(
    rgb: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx = Context(
        device="cpu",
        models=ModelManager(log=None),
        settings={"model.vqa": "nobody/no-such-vqa-model"},
    )
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match=r"no-such-vqa-model.*model\.vqa"):
        vqa(rgb, "what is it?", ctx)
    assert time.perf_counter() - start < 10


def test_missing_model_in_a_program_is_a_step_failure(
    rgb: Image, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    program = "A = VQA(image=IMAGE, question='what?')\nR = Result(var=A)"
    with pytest.raises(StepFailedError) as info:
        execute(program, rgb, device="cpu", settings={"model.vqa": str(tmp_path / "nothing")})
    assert isinstance(info.value.error, ModelUnavailableError)
    assert "model.vqa" in str(info.value.error)


def test_half_precision_plumbing(idefics3_dir: str, rgb: Image) -> None:
    # What a GPU run uses (bf16), exercised on the CPU: pixels must follow the model's dtype.
    manager = ModelManager(log=None)
    settings = {"model.vqa": idefics3_dir, "models.dtype": "bfloat16"}
    ctx = Context("cpu", manager, settings=settings)
    answer = vqa(rgb, "what is the color of dog ?", ctx)
    assert isinstance(answer, str) and answer
    loaded = manager.get(ctx.model_key(MODEL), "cpu", lambda d: pytest.fail("reloaded"))
    assert str(loaded.model.dtype) == "torch.bfloat16"


def test_qwen3_vl_runs_through_the_same_chat_path(
    tmp_path_factory: pytest.TempPathFactory, rgb: Image
) -> None:
    pytest.importorskip("transformers")
    qwen_dir = save_tiny_qwen3_vl(tmp_path_factory.mktemp("tiny-qwen3-vl"))
    loaded = load_vqa(qwen_dir, "cpu")
    assert loaded.kind == "chat"
    assert type(loaded.model).__name__ == "Qwen3VLForConditionalGeneration"
    seen = _spy_generate(loaded)
    ctx = Context(device="cpu", models=ModelManager(log=None), settings={"model.vqa": qwen_dir})
    ctx.models.get(ctx.model_key(MODEL), "cpu", lambda d: loaded)
    assert isinstance(vqa(rgb, "what is the color of dog ?", ctx), str)
    ids = seen["input_ids"][0].tolist()
    pad = loaded.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    t, h, w = seen["image_grid_thw"][0].tolist()
    assert ids.count(pad) == t * h * w // 4  # one token per 2x2 merged patch
    assert "what is the color of dog ?" in loaded.processor.tokenizer.decode(ids)


def test_molmo2_answers_through_the_same_chat_path(molmo_dir: str, rgb: Image) -> None:
    # molmo_dir: the tiny Molmo 2 that Point's tests build (tests/tools/conftest.py).
    ctx = Context(device="cpu", models=ModelManager(log=None), settings={"model.vqa": molmo_dir})
    answer = vqa(rgb.crop((8, 8, 40, 40)), "what is the color of the dog?", ctx)
    assert isinstance(answer, str) and answer == answer.lower().strip()
    loaded = ctx.models.get(ctx.model_key(MODEL), "cpu", lambda d: pytest.fail("reloaded"))
    assert type(loaded.model).__name__ == "Molmo2ForConditionalGeneration"


def test_blip2_without_chat_template_gets_question_answer_prompt(
    tmp_path_factory: pytest.TempPathFactory, rgb: Image
) -> None:
    pytest.importorskip("transformers")
    loaded = load_vqa(save_tiny_blip2(tmp_path_factory.mktemp("tiny-blip2")), "cpu")
    assert loaded.kind == "chat" and loaded.processor.chat_template is None
    seen = _spy_generate(loaded)
    raw = ask(loaded, rgb, "what is the color of dog ?", 4, PROMPT)
    tok = loaded.processor.tokenizer
    prompt = tok.decode(seen["input_ids"][0], skip_special_tokens=True)
    assert prompt == "question : what is the color of dog ? answer :"  # lower-cased vocabulary
    # BLIP-2 echoes the prompt; the answer is only what follows it.
    assert not raw.startswith("question") and len(raw.split()) <= 4


def test_drop_prompt_only_strips_an_echoed_prefix() -> None:
    torch = pytest.importorskip("torch")
    prompt = torch.tensor([[5, 6, 7]])
    assert _drop_prompt(torch.tensor([[5, 6, 7, 9, 2]]), prompt).tolist() == [[9, 2]]
    assert _drop_prompt(torch.tensor([[1, 9, 2]]), prompt).tolist() == [[1, 9, 2]]
    assert _drop_prompt(torch.tensor([[5, 6]]), prompt).tolist() == [[5, 6]]


def test_chat_answer_equals_the_image_text_to_text_pipeline(idefics3_dir: str, rgb: Image) -> None:
    """The same prompt and greedy settings through transformers' own pipeline: the same text."""
    from transformers import pipeline

    loaded = load_vqa(idefics3_dir, "cpu")
    question = "what is the color of dog ?"
    raw = ask(loaded, rgb, question, 8, PROMPT)
    pipe = pipeline("image-text-to-text", model=loaded.model, processor=loaded.processor)
    content = [{"type": "image", "image": rgb.to_pil()},
               {"type": "text", "text": PROMPT.replace("{question}", question)}]  # fmt: skip
    out = pipe(
        text=[{"role": "user", "content": content}],
        max_new_tokens=8,
        generate_kwargs={"do_sample": False},
        return_full_text=False,
    )
    assert raw.strip() and out[0]["generated_text"].strip() == raw.strip()
