"""VQA: answer a question about an image with a vision-language model.

Any transformers image-text-to-text model works: those with a chat template (SmolVLM,
Qwen2.5-VL / Qwen3-VL, Molmo 2, LLaVA, ...) get the question as a chat turn, those without one
(BLIP-2) get ``"Question: ... Answer:"``, and BLIP's VQA model (``BlipForQuestionAnswering``),
which VisProg used, gets the bare question. The model is chosen by the ``model.vqa`` setting (a
Hugging Face id or a local folder); its kind is read from its config and processor.

The default is SmolVLM-500M-Instruct: Apache-2.0, half a billion parameters (about 1 GB in
bf16), fast enough on a CPU, instruction-tuned with a chat template, so it runs through the same
generic code path as the larger models one may select. Set ``model.vqa`` to
``Qwen/Qwen3-VL-2B-Instruct`` (Apache-2.0) for better answers on a GPU, or to
``Salesforce/blip-vqa-capfilt-large`` (BSD-3-Clause) for VisProg's own model.

The vision encoder's output for an image is kept in the run cache (batch-wide under
``visprog batch``) for the architectures where handing it back to ``generate`` is checked to give
the same answers (SmolVLM / Idefics3): several questions about one image encode it once.

Answers are normalised the way VisProg's programs expect (see :func:`normalize_answer`): short,
lower case, numbers as digits, ``yes``/``no``, no trailing punctuation. Other settings:
``vqa.max_new_tokens`` (default 16) and ``vqa.prompt`` (a template with ``{question}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.geometry import number_word
from visprog.images import image_key
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import Image

DEFAULT_ID = "HuggingFaceTB/SmolVLM-500M-Instruct"
SETTING = "model.vqa"
PROMPT = "{question} Answer the question using a single word or phrase."
PLAIN_PROMPT = "Question: {question} Answer:"
MAX_NEW_TOKENS = 16
# Architectures whose pooled image features, computed alone and handed to ``generate`` as
# ``mm_encoder_outputs``, give the answers of the plain path (tests/tools/test_vqa_features.py).
# Others (Qwen-VL's grid features, Molmo's crops) always encode their pixels in ``generate``.
FEATURE_REUSE = frozenset({"idefics3", "smolvlm"})


_PREFIX = re.compile(r"^\s*(?:answer|assistant|a)\s*:\s*", re.IGNORECASE)
_YES_NO = re.compile(r"^(yes|no)(?:[\s,.!;:]*$|[,.!;:]\s)")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")


def normalize_answer(text: str) -> str:
    """A model's answer in the short form VisProg's programs compare against.

    The first line only, without an ``Answer:`` prefix, quotes, a leading article or trailing
    punctuation; lower case; ``yes``/``no`` for answers that start with one (``"Yes, there
    is."`` -> ``"yes"``); number words as digits (``"Two."`` -> ``"2"``, ``"twenty-one"`` ->
    ``"21"``). Empty input gives ``""``.
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    s = _PREFIX.sub("", lines[0]).strip().strip("\"'`").strip()
    s = s.rstrip(".!?,;:").strip().strip("\"'`").strip().lower()
    match = _YES_NO.match(s)
    if match:
        return match.group(1)
    number = number_word(s)
    if number is not None:
        return str(number)
    without_article = _ARTICLE.sub("", s)
    number = number_word(without_article)
    return str(number) if number is not None else without_article


@dataclass
class VqaModel:
    """A loaded VQA model.

    Attributes:
        kind: ``"blip"`` (question in, answer out) or ``"chat"`` (an image-text-to-text model
            prompted through its chat template).
        processor: The model's processor (image processor and tokenizer).
        model: The torch model, on its device, in eval mode.
    """

    kind: str
    processor: Any
    model: Any


def load_vqa(
    model_id: str,
    device: str,
    dtype_setting: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> VqaModel:
    """Load ``model_id`` (hub id or folder) for VQA on ``device``, in half precision on GPU.

    Raises:
        ModelUnavailableError: When transformers is missing or the weights cannot be had.
    """
    tf = require("transformers", "models", "VQA")
    config = hub_load("VQA", model_id, tf.AutoConfig.from_pretrained, SETTING)
    kind = "blip" if config.model_type == "blip" else "chat"
    cls = tf.BlipForQuestionAnswering if kind == "blip" else tf.AutoModelForImageTextToText
    processor = hub_load("VQA", model_id, tf.AutoProcessor.from_pretrained, SETTING)
    model = hub_load("VQA", model_id, cls.from_pretrained, SETTING)
    model = model.to(device=device, dtype=torch_dtype(device, dtype_setting)).eval()
    return VqaModel(kind, processor, model)


MAX_TOKENS = option(
    "vqa.max_new_tokens", int, MAX_NEW_TOKENS, "VQA's answer length budget", 1, 4096
)
PROMPT_OPTION = option(
    "vqa.prompt", str, PROMPT, "VQA's instruction, with {question}", contains="{question}"
)
MODEL = declare_model(
    "VQA",
    SETTING,
    DEFAULT_ID,
    load_vqa,
    kind="vqa",
    help="VQA's image-text-to-text model (or BLIP VQA): a Hugging Face id or a local folder",
    options=(MAX_TOKENS, PROMPT_OPTION),
)


def ask(
    vqa: VqaModel,
    image: Image,
    question: str,
    max_new_tokens: int,
    prompt: str,
    features: Any = None,
) -> str:
    """The model's raw answer to ``question`` about ``image`` (greedy decoding).

    ``features``: the image's encoder output from :func:`image_features` (None: encode it).
    """
    inputs = vqa.processor(
        images=[image.to_pil()], text=[_prompt(vqa, question, prompt)], return_tensors="pt"
    )
    return _generate(vqa, inputs, max_new_tokens, None if features is None else [features])[0]


def ask_many(
    vqa: VqaModel,
    pairs: list[tuple[Image, str]],
    max_new_tokens: int,
    prompt: str,
    features: list[Any] | None = None,
) -> list[str]:
    """:func:`ask` for several (image, question) pairs in one left-padded ``generate``.

    Greedy decoding with the padded positions masked gives each pair the answer it gets alone
    (the batch tests check this on the chat architectures). ``features``: one encoder output per
    pair (the same object for pairs that share an image), or None to encode every image.
    """
    tokenizer = vqa.processor.tokenizer
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    try:
        inputs = vqa.processor(
            images=[[image.to_pil()] for image, _ in pairs],
            text=[_prompt(vqa, question, prompt) for _, question in pairs],
            padding=True,
            return_tensors="pt",
        )
    finally:
        tokenizer.padding_side = side
    return _generate(vqa, inputs, max_new_tokens, features)


def reuses_features(vqa: VqaModel) -> bool:
    """Whether this model's image features may be computed once and reused (FEATURE_REUSE)."""
    model_type = getattr(getattr(vqa.model, "config", None), "model_type", None)
    return vqa.kind == "chat" and model_type in FEATURE_REUSE


def image_features(
    vqa: VqaModel,
    image: Image,
    cache: Any,
    model_key: str,
    note: Callable[[str], None] | None = None,
) -> Any:
    """The vision encoder's pooled output for ``image``, from ``cache`` when already computed.

    Only for :func:`reuses_features` models. The processor prepares the pixels exactly as in
    :func:`ask` (same resizing and splitting), so the features are those ``generate`` would
    compute; the language model then reads them in place of the encoder's run. ``note`` is
    told when the cached output is reused.
    """
    key = f"vqa-features:{model_key}:{image_key(image)}"
    if key in cache:
        if note is not None:
            note("image features reused from an earlier VQA call on the same image")
        return cache[key]
    inputs = vqa.processor(
        images=[image.to_pil()], text=[_prompt(vqa, "?", PROMPT)], return_tensors="pt"
    )
    inputs = inputs.to(vqa.model.device, dtype=vqa.model.dtype)
    with inference_mode():
        out = vqa.model.get_image_features(
            pixel_values=inputs["pixel_values"],
            pixel_attention_mask=inputs.get("pixel_attention_mask"),
            return_dict=True,
        )
    features = cache[key] = out.pooler_output
    return features


def _generate(
    vqa: VqaModel, inputs: Any, max_new_tokens: int, features: list[Any] | None
) -> list[str]:
    """Greedy ``generate`` on processed inputs, with precomputed image features when given."""
    # Floating inputs (pixels) follow the model's dtype; token ids stay integers.
    inputs = inputs.to(vqa.model.device, dtype=vqa.model.dtype)
    extra: dict[str, Any] = {}
    if features is not None:
        torch = require("torch", "models", "VQA")
        outputs = require("transformers.modeling_outputs", "models", "VQA")
        inputs.pop("pixel_values", None)
        inputs.pop("pixel_attention_mask", None)
        # Rows in batch order, as generate would stack them (an output may be a list per image).
        parts = [t for f in features for t in (f if isinstance(f, (list, tuple)) else [f])]
        pooled = torch.cat(parts, dim=0)
        extra["mm_encoder_outputs"] = {
            "image": outputs.BaseModelOutputWithPooling(pooler_output=pooled)
        }
    with inference_mode():
        out = vqa.model.generate(**inputs, **extra, max_new_tokens=max_new_tokens, do_sample=False)
    out = _drop_prompt(out, inputs["input_ids"])
    return [str(text) for text in vqa.processor.batch_decode(out, skip_special_tokens=True)]


def _features(vqa: VqaModel, images: list[Image], ctxs: list[Context]) -> list[Any] | None:
    """Each image's cached encoder output (one encoding per distinct image), or None."""
    if not reuses_features(vqa):
        return None
    key = ctxs[0].model_key(MODEL)
    return [
        image_features(vqa, image, ctx.run_cache, key, ctx.note)
        for image, ctx in zip(images, ctxs, strict=True)
    ]


def _prompt(vqa: VqaModel, question: str, prompt: str) -> str:
    """The text given with the image: BLIP's bare question, a chat turn, or BLIP-2's form."""
    if vqa.kind == "blip":
        return question
    if getattr(vqa.processor, "chat_template", None) is None:
        return PLAIN_PROMPT.replace("{question}", question)  # BLIP-2 and others, no template
    content = [{"type": "image"}, {"type": "text", "text": prompt.replace("{question}", question)}]
    messages = [{"role": "user", "content": content}]
    return str(vqa.processor.apply_chat_template(messages, add_generation_prompt=True))


def _drop_prompt(out: Any, input_ids: Any) -> Any:
    """Generated ids without the echoed prompt (decoder-only models repeat it; others do not)."""
    n = input_ids.shape[1]
    if out.shape[1] >= n and bool((out[:, :n] == input_ids.to(out.device)).all()):
        return out[:, n:]
    return out


def vqa_batched(calls: list[dict[str, Any]]) -> list[str]:
    """VQA's batched form: the chat models answer every call in one ``generate``.

    BLIP's VQA model and models without a chat template answer one call at a time (their
    processors are not built for padded batches of image-text pairs).
    """
    for call in calls:
        if not call["question"].strip():
            raise ToolArgumentError("VQA: the question is empty")
    ctxs: list[Context] = [call["ctx"] for call in calls]
    models = [ctx.load_model(MODEL)[0] for ctx in ctxs]  # one cached model, recorded per step
    model = models[0]
    if model.kind == "blip" or getattr(model.processor, "chat_template", None) is None:
        return [vqa(**call) for call in calls]
    pairs = [(call["image"], call["question"].strip()) for call in calls]
    features = _features(model, [image for image, _ in pairs], ctxs)
    raws = ask_many(
        model, pairs, ctxs[0].option(MAX_TOKENS), ctxs[0].option(PROMPT_OPTION), features
    )
    return [_answer(raw, ctx) for raw, ctx in zip(raws, ctxs, strict=True)]


def _answer(raw: str, ctx: Context) -> str:
    """The normalised answer, with a note when normalising changed it."""
    answer = normalize_answer(raw)
    if answer != raw:
        ctx.note(f"model answered {raw!r}; normalised to {answer!r}")
    return answer


@tool(
    "VQA",
    model=f"{DEFAULT_ID} (transformers image-text-to-text; BLIP VQA selectable)",
    batched=vqa_batched,
)
def vqa(image: Image, question: str, ctx: Context) -> str:
    """Answer a question about the image in a word or short phrase ('2', 'yes', 'red')."""
    if not question.strip():
        raise ToolArgumentError("VQA: the question is empty")
    max_new_tokens = ctx.option(MAX_TOKENS)
    prompt = ctx.option(PROMPT_OPTION)
    model, _ = ctx.load_model(MODEL)
    features = _features(model, [image], [ctx])
    raw = ask(
        model,
        image,
        question.strip(),
        max_new_tokens,
        prompt,
        None if features is None else features[0],
    )
    return _answer(raw, ctx)
