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

import hashlib
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.geometry import box_area, clip_boxes
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import TEXT_LIST, declare_model, option
from visprog.probe.probefile import Probe, unit_rows
from visprog.probe.probefile import load as load_probe
from visprog.registry import UNRESOLVED, tool
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
PROTOTYPES = 4096  # text prototypes kept per loaded model (one per name and template set)
OTHER = "other"
EXAMPLES_WEIGHT = 0.5
"""Default share of the image prototypes when Classify has both examples and categories."""

# Text prototypes per loaded model (weak: evicting the model frees them).
_PROTOTYPES: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], FloatArray]] = (
    weakref.WeakKeyDictionary()
)
# Crop embeddings computed by a batched call before it runs each call (crop_key -> vector).
_PREFETCHED: ContextVar[dict[str, FloatArray] | None] = ContextVar("clip_prefetched", default=None)


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
CLASSIFY_PROBE = option(
    "classify.probe", str, None, "Classify's default probe file (visprog probe fit)"
)
EXAMPLES_WEIGHT_OPTION = option(
    "classify.examples_weight",
    float,
    EXAMPLES_WEIGHT,
    "Classify: share of example-image prototypes beside text (0..1)",
    0.0,
    1.0,
)
SELECT_PROBE = option(
    "select.probe", str, None, "Select's default probe file: queries are its classes"
)
MODEL = declare_model(
    "Select, Classify",
    SETTING,
    DEFAULT_ID,
    load_clip,
    kind="clip",
    help="Select/Classify's CLIP model: a Hugging Face id or a local folder",
    options=(TEMPLATES_OPTION, ONE_PER_CATEGORY, CLASSIFY_PROBE, EXAMPLES_WEIGHT_OPTION,
             SELECT_PROBE),
)  # fmt: skip


def _unit(features: Any) -> FloatArray:
    """Rows of a feature tensor (or a model output holding it) as unit float64 vectors."""
    tensor = getattr(features, "pooler_output", features)  # transformers 5 returns an output
    return unit_rows(np.asarray(tensor.float().cpu().numpy(), dtype=np.float64))


def embed_images(bundle: tuple[Any, Any], images: Sequence[Any]) -> FloatArray:
    """Unit image embeddings (N, D) of PIL images.

    Inside a batched call (:func:`clip_batched`) the crops it embedded beforehand, all calls
    together, are looked up instead of embedded again.
    """
    ready = _PREFETCHED.get()
    if ready is not None and images:
        keys = [crop_key(im) for im in images]
        if all(k in ready for k in keys):
            return np.stack([ready[k] for k in keys])
    return _embed_images(bundle, images)


def _embed_images(bundle: tuple[Any, Any], images: Sequence[Any]) -> FloatArray:
    """Unit image embeddings (N, D) of PIL images, ``BATCH`` per forward."""
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
    """One unit vector per name: the mean of its templates' embeddings, renormalised.

    Cached with the loaded model (so per Session, and gone when the model is evicted): a batch
    that asks about the same categories embeds their prompts once.
    """
    cache = _prototype_cache(bundle)
    missing = [n for n in dict.fromkeys(names) if (n, *templates) not in cache]
    if missing:
        texts = [t.format(name) for name in missing for t in templates]
        per_text = embed_texts(bundle, texts).reshape(len(missing), len(templates), -1)
        for name, vector in zip(missing, unit_rows(per_text.mean(axis=1)), strict=True):
            if len(cache) >= PROTOTYPES:
                cache.pop(next(iter(cache)))
            cache[(name, *templates)] = vector
    return np.stack([cache[(n, *templates)] for n in names])


def _prototype_cache(bundle: tuple[Any, Any]) -> dict[tuple[str, ...], FloatArray]:
    """The text prototypes of one loaded model: (name, *templates) -> unit vector."""
    model = bundle[1]
    if model not in _PROTOTYPES:
        _PROTOTYPES[model] = {}
    return _PROTOTYPES[model]


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


def templates(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The prompt templates of ``clip.templates`` (default :data:`TEMPLATES`), checked."""
    return tuple(TEMPLATES_OPTION.read(settings))


def similarity(
    image: Image, objects: Objects, names: Sequence[str], ctx: Context
) -> tuple[FloatArray, float]:
    """Cosine similarities (objects x names) of the crops and the prompt-ensembled names."""
    chosen = templates(ctx.settings)
    bundle, _ = ctx.load_model(MODEL)
    sims = embed_images(bundle, crops(image, objects)) @ class_vectors(bundle, names, chosen).T
    return sims, logit_scale(bundle)


# -- probes and few-shot examples -------------------------------------------------------------


def open_probe(path: str, settings: Mapping[str, Any]) -> Probe:
    """Load a probe file and check it was trained on the configured CLIP model (by id)."""
    from visprog.probe.features import configured_model_id

    probe = load_probe(path)
    probe.check_model(configured_model_id(settings))
    return probe


def probe_columns(probe: Probe, names: Sequence[str], step: str) -> list[int]:
    """Column of each name among the probe's classes; an unknown name is a ToolArgumentError."""
    unknown = [n for n in names if n not in probe.classes]
    if unknown:
        raise ToolArgumentError(
            f"{step}: {unknown} are not classes of the probe {probe.meta.get('name')} "
            f"(its classes: {', '.join(probe.classes)})"
        )
    return [probe.classes.index(n) for n in names]


def probe_probs(image: Image, objects: Objects, probe: Probe, ctx: Context) -> FloatArray:
    """The probe's class probabilities (objects x classes) of the objects' crops."""
    from visprog.probe.features import load_encoder

    encoder = load_encoder(ctx)
    probe.check_model(encoder.model_id, encoder.revision)
    ctx.note(f"probe {probe.meta.get('name')}: {probe.describe()}")
    ctx.used_model(f"probe {probe.meta.get('name')}")
    return probe.predict(encoder.encode(crops(image, objects)))


def example_prototypes(folder: str, ctx: Context) -> dict[str, FloatArray]:
    """Class name -> the normalised mean of its example images' unit features (cached per run)."""
    from visprog.probe.data import MAX_EXAMPLES, read_dataset
    from visprog.probe.features import cache_root, image_features, load_encoder

    key = f"clip.examples:{Path(folder).resolve()}"
    if key not in ctx.run_cache:
        data = read_dataset(folder, min_classes=1, max_images=MAX_EXAMPLES)
        feats = image_features(load_encoder(ctx), data.paths, cache_root())
        labels = np.array(data.labels)
        means = np.stack([feats[labels == c].mean(axis=0) for c in data.classes])
        ctx.run_cache[key] = dict(zip(data.classes, unit_rows(means), strict=True))
        ctx.note(f"examples {folder}: {data.counts()}")
    out: dict[str, FloatArray] = ctx.run_cache[key]
    return out


def prototypes(categories: list[str], examples: str, ctx: Context) -> tuple[list[str], FloatArray]:
    """Class names and unit prototypes from example images, text, or both.

    Without categories the classes are the example folders; with them every category has a
    prompt-ensembled text prototype, and one that also has examples gets
    ``unit(w * image_prototype + (1 - w) * text_prototype)``, ``w`` = ``classify.examples_weight``.
    """
    ex = example_prototypes(examples, ctx)
    names = list(categories) or list(ex)
    if len(names) == 1:
        names.append(OTHER)
    ignored = sorted(set(ex) - set(names))
    if ignored:
        ctx.note(f"examples of {ignored} ignored (not among the categories)")
    text_names = names if categories else [n for n in names if n not in ex]
    text = dict(zip(text_names, _text_vectors(text_names, ctx), strict=True))
    w = examples_weight(ctx.settings)
    rows = [
        w * ex[n] + (1 - w) * text[n] if n in ex and n in text else ex.get(n, text.get(n))
        for n in names
    ]
    return names, unit_rows(np.stack(rows))  # type: ignore[arg-type]


def _text_vectors(names: list[str], ctx: Context) -> FloatArray:
    """Prompt-ensembled text prototypes of ``names`` ((0, D) for none: no text tower call)."""
    if not names:
        return np.zeros((0, 0))
    bundle, _ = ctx.load_model(MODEL)
    return class_vectors(bundle, names, templates(ctx.settings))


def examples_weight(settings: Mapping[str, Any]) -> float:
    """``classify.examples_weight`` (default 0.5): the image prototypes' share, 0..1."""
    return float(EXAMPLES_WEIGHT_OPTION.read(settings))


def _probe_for(arg: str | None, settings: Mapping[str, Any], key: str) -> str | None:
    """The probe an argument names, else the one the setting names (None: no probe)."""
    path = arg if arg is not None else settings.get(key)
    return None if path is None or path == "" else str(path)


def _precheck_probe(
    args: Mapping[str, Any], settings: Mapping[str, Any], key: str, names_arg: str, step: str
) -> None:
    """A named probe loads, fits model.clip, and has the literal names among its classes."""
    arg = args.get("probe")
    if arg is UNRESOLVED:
        return
    path = _probe_for(arg, settings, key)
    if path is not None:
        names = args.get(names_arg)
        probe = open_probe(path, settings)
        if names is not UNRESOLVED and split_names(names):
            probe_columns(probe, split_names(names), step)


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


def best_per_query(
    probs: FloatArray, queries: Sequence[str]
) -> tuple[list[int], list[str], list[float]]:
    """For each query (column) its best object: indices (first occurrence kept), labels, scores."""
    chosen: dict[int, tuple[str, float]] = {}
    for j, query in enumerate(queries):
        i = int(np.argmax(probs[:, j]))
        chosen.setdefault(i, (query, float(probs[i, j])))
    return list(chosen), [v[0] for v in chosen.values()], [v[1] for v in chosen.values()]


def pick_best(
    sims: FloatArray, scale: float, queries: Sequence[str]
) -> tuple[list[int], list[str], list[float]]:
    """For each query the best object: indices (first occurrence kept), labels and probabilities.

    The probability is the softmax over the candidate objects for that query.
    """
    return best_per_query(softmax(sims * scale, axis=0), queries)


def _precheck_select(args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    _precheck_probe(args, settings, "select.probe", "query", "Select")


def _select_batched(calls: list[dict[str, Any]]) -> list[Objects]:
    """Select's batched form (see :func:`clip_batched`)."""
    return clip_batched(calls, select, _select_crops)


@tool(
    "Select",
    model=f"CLIP {DEFAULT_ID} (transformers), or a probe",
    precheck=_precheck_select,
    batched=_select_batched,
)
def select(
    image: Image,
    object: Objects,
    query: str | list[str],
    ctx: Context,
    category: str | None = None,
    probe: str | None = None,
) -> Objects:
    """Keep the objects that best match the query ('man,woman' picks one object for each).

    With ``probe='birds.probe'`` (or the setting ``select.probe``) the queries are classes of
    that probe and each picks the object the probe scores highest for it.
    """
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
        return Objects.empty(object.source, object.root_size)
    path = _probe_for(probe, ctx.settings, "select.probe")
    if path is not None:
        found = open_probe(path, ctx.settings)
        cols = probe_columns(found, queries, "Select")
        index, labels, scores = best_per_query(
            probe_probs(image, candidates, found, ctx)[:, cols], queries
        )
        return candidates.subset(index).with_labels(labels, scores)
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


def classify_by_probe(
    image: Image, objects: Objects, names: list[str], path: str, ctx: Context
) -> tuple[list[str], FloatArray]:
    """Names and probabilities from a probe; ``names`` (if any) restrict it to those classes.

    One name is scored against 'other' (the rest of the probe's classes).
    """
    found = open_probe(path, ctx.settings)
    cols = probe_columns(found, names, "Classify") if names else list(range(len(found.classes)))
    probs = probe_probs(image, objects, found, ctx)[:, cols]
    if len(cols) == 1:
        return [names[0], OTHER], np.concatenate([probs, 1.0 - probs], axis=1)
    return [found.classes[c] for c in cols], probs / probs.sum(axis=1, keepdims=True)


def classify_by_prototypes(
    image: Image, objects: Objects, names: list[str], examples: str | None, ctx: Context
) -> tuple[list[str], FloatArray]:
    """Names and probabilities from text prototypes, example images, or both."""
    if examples is None:
        if len(names) == 1:
            names = [*names, OTHER]  # VisProg: one category is scored against 'other'
        sims, scale = similarity(image, objects, names, ctx)
    else:
        names, vectors = prototypes(names, examples, ctx)
        bundle, _ = ctx.load_model(MODEL)
        sims, scale = embed_images(bundle, crops(image, objects)) @ vectors.T, logit_scale(bundle)
    return names, softmax(sims * scale, axis=1)


def _precheck_classify(args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    from visprog.probe.data import MAX_EXAMPLES, read_dataset

    examples, categories = args.get("examples"), args.get("categories")
    if args.get("probe") is not None and examples is not None:
        raise ToolArgumentError("Classify: give probe= or examples=, not both")
    if examples is None:
        _precheck_probe(args, settings, "classify.probe", "categories", "Classify")
    else:
        examples_weight(settings)
    if isinstance(examples, str):
        least = 1 if categories not in (None, "", []) else 2
        read_dataset(examples, min_classes=least, max_images=MAX_EXAMPLES)
    if categories is None and examples is None and args.get("probe") is None:
        if settings.get("classify.probe") in (None, ""):
            raise ToolArgumentError("Classify needs categories, a probe= or examples=")


def _classify_batched(calls: list[dict[str, Any]]) -> list[Objects]:
    """Classify's batched form (see :func:`clip_batched`)."""
    return clip_batched(calls, classify, _classify_crops)


@tool(
    "Classify",
    model=f"CLIP {DEFAULT_ID} with prompt ensembles (transformers), a probe, or examples",
    precheck=_precheck_classify,
    batched=_classify_batched,
)
def classify(
    image: Image,
    object: Objects,
    ctx: Context,
    categories: list[str] | str | None = None,
    probe: str | None = None,
    examples: str | None = None,
) -> Objects:
    """Label each object with the category it shows best ('apple,orange' or a List result).

    ``probe='birds.probe'`` (or the setting ``classify.probe``) labels with a trained probe's
    classes; ``examples='refs/'`` (a folder per class) compares with example images.
    """
    names = split_names(categories)
    path = _probe_for(probe, ctx.settings, "classify.probe") if examples is None else None
    if examples is not None and probe is not None:
        raise ToolArgumentError("Classify: give probe= or examples=, not both")
    if not names and path is None and examples is None:
        raise ToolArgumentError("Classify: no categories given (nor a probe= or examples=)")
    if len(object) == 0:
        ctx.note("no objects to classify")
        return Objects.empty(object.source, object.root_size)
    if path is not None:
        names, probs = classify_by_probe(image, object, names, path, ctx)
    else:
        names, probs = classify_by_prototypes(image, object, names, examples, ctx)
    one = ctx.option(ONE_PER_CATEGORY)
    keep, labels, scores = assign(probs, names, one)
    if len(keep) < len(object):
        ctx.note(f"kept {len(keep)} of {len(object)} objects (one per category)")
    return object.subset(keep).with_labels(labels, scores)


# -- batched forms --------------------------------------------------------------------------


def crop_key(image: Any) -> str:
    """A PIL image's identity by content.

    Equal crops (the same box of the same picture, asked about by two items of a batch)
    embed once.
    """
    digest = hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest()
    return f"{image.mode}{image.size}{digest}"


@contextmanager
def prefetched(vectors: dict[str, FloatArray]) -> Iterator[None]:
    """Let :func:`embed_images` answer from ``vectors`` (crop_key -> unit embedding)."""
    token = _PREFETCHED.set(vectors)
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


def clip_batched(calls: list[dict[str, Any]], run: Any, plan: Any) -> list[Objects]:
    """A CLIP step's batched form: every call's crops in one pass, then each call as alone.

    ``plan(call)`` gives ``(crops, names)`` for a call that takes the CLIP path (None for a
    probe, examples, a match by label or no objects). The distinct crops of all calls are
    embedded together (``BATCH`` per forward, each distinct crop once), the distinct names'
    text prototypes in one text pass (then cached with the model), and each call then runs
    its ordinary code, which finds both ready, so its result is what it gets alone.
    """
    planned = [_plan(plan, call) for call in calls]
    useful = [p for p in planned if p is not None]
    if not useful:
        return [run(**call) for call in calls]
    ctx: Context = calls[0]["ctx"]
    bundle, _ = ctx.load_model(MODEL, record=False)
    unique: dict[str, Any] = {}
    for crops_, _names in useful:
        for crop in crops_:
            unique.setdefault(crop_key(crop), crop)
    vectors = dict(zip(unique, _embed_images(bundle, list(unique.values())), strict=True))
    names = list(dict.fromkeys(n for _crops, ns in useful for n in ns))
    class_vectors(bundle, names, templates(ctx.settings))  # fills the per-model cache
    with prefetched(vectors):
        return [run(**call) for call in calls]


def _plan(plan: Any, call: dict[str, Any]) -> tuple[list[Any], list[str]] | None:
    """The call's crops and names, or None.

    None also when planning fails: the call then raises its own error when it runs.
    """
    try:
        out: tuple[list[Any], list[str]] | None = plan(call)
        return out
    except (ToolArgumentError, ValueError):
        return None


def _select_crops(call: dict[str, Any]) -> tuple[list[Any], list[str]] | None:
    """What :func:`select` embeds for this call (mirrors its choice of path)."""
    ctx: Context = call["ctx"]
    queries = split_names(call["query"])
    objects: Objects = call["object"]
    if not queries or _probe_for(call.get("probe"), ctx.settings, "select.probe") is not None:
        return None
    wanted = [c.lower() for c in split_names(call.get("category"))]
    keep = [i for i, label in enumerate(objects.labels) if label.lower() in wanted]
    candidates = objects.subset(keep) if keep else objects
    if len(candidates) == 0:
        return None
    if not wanted and any(label_matches(candidates, q) for q in queries):
        return None
    return crops(call["image"], candidates), queries


def _classify_crops(call: dict[str, Any]) -> tuple[list[Any], list[str]] | None:
    """What :func:`classify` embeds for this call (mirrors its choice of path)."""
    ctx: Context = call["ctx"]
    names = split_names(call.get("categories"))
    objects: Objects = call["object"]
    if call.get("examples") is not None or call.get("probe") is not None or not names:
        return None
    if ctx.settings.get("classify.probe") not in (None, "") or len(objects) == 0:
        return None
    return crops(call["image"], objects), [*names, OTHER] if len(names) == 1 else names
