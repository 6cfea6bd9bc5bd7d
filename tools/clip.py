"""Select and Classify: pick or name objects by comparing their crops with text, using CLIP.

Each object is cropped from the image it is given (its root-frame box mapped with
``image.to_local``) and embedded by CLIP's image tower; texts are embedded by its text tower,
each as the mean of several prompt templates (prompt ensembling, as in the CLIP paper), and
compared by cosine similarity scaled by CLIP's learned temperature.

- ``Select`` keeps, for each comma-separated query, the object that matches it best. As in
  VisProg, a query that equals an object's label (``'person'``, ``'grass-merged'``) selects
  those objects by name without a model, and ``category`` first narrows the candidates to
  objects with that label.
- ``Classify`` labels objects with one of the categories (a list, or VisProg's comma string)
  and a probability. As in VisProg, each category names at most one object (the best scored)
  and a single category picks the one object that fits it best against 'other';
  ``classify.one_per_category = false`` keeps every object with its best category.

Settings: ``model.clip`` (default ``openai/clip-vit-large-patch14``, VisProg's model, MIT
licence; any transformers model with ``get_image_features``/``get_text_features`` such as
SigLIP 2 works too), ``clip.templates`` (a list of templates with ``{}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.geometry import box_area, clip_boxes
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import TEXT_LIST, declare_model, option
from visprog.registry import tool
from visprog.values import FloatArray, Image, Objects

DEFAULT_ID = "openai/clip-vit-large-patch14"
SETTING = "model.clip"
TEMPLATES = (
    "a photo of a {}.",
    "a photo of {}.",
    "a close-up photo of {}.",
    "a cropped photo of the {}.",
    "a bright photo of {}.",
    "a dark photo of {}.",
    "a drawing of a {}.",
    "a painting of {}.",
)
BATCH = 32
OTHER = "other"


# -- model ----------------------------------------------------------------------------------


def load_clip(
    model_id: str,
    device: str,
    dtype_setting: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> tuple[Any, Any]:
    """(processor, model) of a CLIP-like dual encoder on ``device``."""
    tf = require("transformers", "models", "Select/Classify")
    processor = hub_load("Select/Classify", model_id, tf.AutoProcessor.from_pretrained, SETTING)
    model = hub_load("Select/Classify", model_id, tf.AutoModel.from_pretrained, SETTING)
    return processor, model.to(device=device, dtype=torch_dtype(device, dtype_setting)).eval()


TEMPLATES_OPTION = option(
    "clip.templates",
    TEXT_LIST,
    list(TEMPLATES),
    "Select/Classify prompt templates, each with {} for the name",
    contains="{}",
)
ONE_PER_CATEGORY = option(
    "classify.one_per_category",
    bool,
    True,
    "Classify keeps only the best object per category (VisProg)",
)
MODEL = declare_model(
    "Select, Classify",
    SETTING,
    DEFAULT_ID,
    load_clip,
    kind="clip",
    help="Select/Classify's CLIP model: a Hugging Face id or a local folder",
    options=(TEMPLATES_OPTION, ONE_PER_CATEGORY),
)


def _unit(features: Any) -> FloatArray:
    """Rows of a feature tensor (or a model output holding it) as unit float64 vectors."""
    tensor = getattr(features, "pooler_output", features)  # transformers 5 returns an output
    return unit_rows(np.asarray(tensor.float().cpu().numpy(), dtype=np.float64))


def unit_rows(rows: FloatArray) -> FloatArray:
    """Each row divided by its length (zero rows stay zero)."""
    out: FloatArray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return out


def embed_images(bundle: tuple[Any, Any], images: Sequence[Any]) -> FloatArray:
    """Unit image embeddings (N, D) of PIL images."""
    processor, model = bundle
    out = []
    for start in range(0, len(images), BATCH):
        inputs = processor(images=list(images[start : start + BATCH]), return_tensors="pt")
        inputs = inputs.to(model.device, dtype=model.dtype)
        with inference_mode():
            out.append(_unit(model.get_image_features(pixel_values=inputs["pixel_values"])))
    return np.concatenate(out)


def embed_texts(bundle: tuple[Any, Any], texts: Sequence[str]) -> FloatArray:
    """Unit text embeddings (N, D)."""
    processor, model = bundle
    out = []
    for start in range(0, len(texts), BATCH):
        inputs = processor(
            text=list(texts[start : start + BATCH]),
            return_tensors="pt",
            padding=True,
            truncation=True,
        ).to(model.device)
        with inference_mode():
            out.append(_unit(model.get_text_features(**inputs)))
    return np.concatenate(out)


def class_vectors(
    bundle: tuple[Any, Any], names: Sequence[str], templates: Sequence[str]
) -> FloatArray:
    """One unit vector per name: the mean of its templates' embeddings, renormalised."""
    texts = [t.format(name) for name in names for t in templates]
    per_text = embed_texts(bundle, texts).reshape(len(names), len(templates), -1)
    return unit_rows(per_text.mean(axis=1))


def logit_scale(bundle: tuple[Any, Any]) -> float:
    """CLIP's learned temperature (exp of ``logit_scale``); 100 when the model has none."""
    scale = getattr(bundle[1], "logit_scale", None)
    return 100.0 if scale is None else float(scale.float().exp().item())


def softmax(logits: FloatArray, axis: int) -> FloatArray:
    """Numerically stable softmax along ``axis``."""
    z = np.exp(logits - logits.max(axis=axis, keepdims=True))
    out: FloatArray = z / z.sum(axis=axis, keepdims=True)
    return out


# -- shared steps ---------------------------------------------------------------------------


def split_names(value: str | Sequence[str] | None) -> list[str]:
    """``'apple, orange'`` or ``['apple', 'orange']`` -> ``['apple', 'orange']`` (deduplicated)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return list(dict.fromkeys(s.strip() for s in items if s.strip()))


def crops(image: Image, objects: Objects) -> list[Any]:
    """Each object's box cut from ``image`` (root-frame boxes mapped to its pixels), as PIL."""
    local = clip_boxes(image.to_local(objects.boxes), image.width, image.height)
    empty = np.flatnonzero(box_area(local) <= 0)
    if empty.size:
        raise ToolArgumentError(
            f"object {int(empty[0]) + 1} ({objects.labels[int(empty[0])]!r}, box "
            f"{objects.boxes[int(empty[0])].round(1).tolist()}) lies outside this image"
        )
    return [image.crop(box).to_pil() for box in local]


def similarity(
    image: Image, objects: Objects, names: Sequence[str], ctx: Context
) -> tuple[FloatArray, float]:
    """Cosine similarities (objects x names) of the crops and the prompt-ensembled names."""
    templates = tuple(ctx.option(TEMPLATES_OPTION))
    bundle, _ = ctx.load_model(MODEL)
    sims = embed_images(bundle, crops(image, objects)) @ class_vectors(bundle, names, templates).T
    return sims, logit_scale(bundle)


# -- Select ---------------------------------------------------------------------------------


def label_matches(objects: Objects, query: str) -> list[int]:
    """Objects whose label is the query (VisProg also accepts panoptic '-merged' labels)."""
    q = query.lower()
    labels = [label.lower() for label in objects.labels]
    for name in (q, f"{q}-merged", f"{q}-other-merged"):
        hits = [i for i, label in enumerate(labels) if label == name]
        if hits:
            return hits
    return []


def pick_best(
    sims: FloatArray, scale: float, queries: Sequence[str]
) -> tuple[list[int], list[str], list[float]]:
    """For each query the best object: indices (first occurrence kept), labels and probabilities.

    The probability is the softmax over the candidate objects for that query.
    """
    probs = softmax(sims * scale, axis=0)
    chosen: dict[int, tuple[str, float]] = {}
    for j, query in enumerate(queries):
        i = int(np.argmax(sims[:, j]))
        chosen.setdefault(i, (query, float(probs[i, j])))
    return list(chosen), [v[0] for v in chosen.values()], [v[1] for v in chosen.values()]


@tool("Select", model=f"CLIP {DEFAULT_ID} (transformers)")
def select(
    image: Image,
    object: Objects,
    query: str | list[str],
    ctx: Context,
    category: str | None = None,
) -> Objects:
    """Keep the objects that best match the query ('man,woman' picks one object for each)."""
    queries = split_names(query)
    if not queries:
        raise ToolArgumentError("Select: the query is empty")
    candidates = object
    wanted = [c.lower() for c in split_names(category)]
    if wanted:
        keep = [i for i, label in enumerate(object.labels) if label.lower() in wanted]
        if keep:
            candidates = object.subset(keep)
            ctx.note(f"{len(keep)} of {len(object)} objects have the category {category!r}")
    if len(candidates) == 0:
        ctx.note("no objects to select from")
        return Objects.empty(object.source)
    if not wanted:
        by_label = sorted({i for q in queries for i in label_matches(candidates, q)})
        if by_label:
            ctx.note("selected by label (no model needed)")
            return candidates.subset(by_label)
    sims, scale = similarity(image, candidates, queries, ctx)
    index, labels, scores = pick_best(sims, scale, queries)
    return candidates.subset(index).with_labels(labels, scores)


# -- Classify -------------------------------------------------------------------------------


def assign(
    probs: FloatArray, names: Sequence[str], one_per_category: bool
) -> tuple[list[int], list[str], list[float]]:
    """Objects to keep with their category and probability, best first.

    ``probs`` is (objects x names). With one name (plus 'other' as the last column) the single
    best object for it; otherwise each object's best category, and with ``one_per_category``
    only the best-scored object of each category.
    """
    if len(names) == 2 and names[1] == OTHER:
        i = int(np.argmax(probs[:, 0]))
        return [i], [names[0]], [float(probs[i, 0])]
    best = probs.argmax(axis=1)
    order = sorted(range(len(best)), key=lambda i: -probs[i, best[i]])
    seen: set[int] = set()
    keep: list[int] = []
    for i in order:
        if one_per_category and int(best[i]) in seen:
            continue
        seen.add(int(best[i]))
        keep.append(i)
    return keep, [names[best[i]] for i in keep], [float(probs[i, best[i]]) for i in keep]


@tool("Classify", model=f"CLIP {DEFAULT_ID} with prompt ensembles (transformers)")
def classify(image: Image, object: Objects, categories: list[str] | str, ctx: Context) -> Objects:
    """Label each object with the category it shows best ('apple,orange' or a List result)."""
    names = split_names(categories)
    if not names:
        raise ToolArgumentError("Classify: no categories given")
    if len(object) == 0:
        ctx.note("no objects to classify")
        return Objects.empty(object.source)
    if len(names) == 1:
        names.append(OTHER)  # VisProg: one category is scored against 'other'
    sims, scale = similarity(image, object, names, ctx)
    one = ctx.option(ONE_PER_CATEGORY)
    keep, labels, scores = assign(softmax(sims * scale, axis=1), names, one)
    if len(keep) < len(object):
        ctx.note(f"kept {len(keep)} of {len(object)} objects (one per category)")
    return object.subset(keep).with_labels(labels, scores)
