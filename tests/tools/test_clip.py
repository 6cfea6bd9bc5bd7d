from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from visprog.context import Context
from visprog.errors import ConfigurationError, ToolArgumentError
from visprog.interpreter import Interpreter
from visprog.models import ModelManager
from visprog.tools.clip import (
    MODEL,
    TEMPLATES,
    assign,
    class_vectors,
    classify,
    crops,
    embed_texts,
    label_matches,
    load_clip,
    pick_best,
    select,
    softmax,
    split_names,
)
from visprog.values import Image, Objects

from .fixtures_hf import save_tiny_clip


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("transformers")
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture
def three() -> Objects:
    """Three unlabelled objects of the 64x48 fixture image, the first one with a mask."""
    masks = np.zeros((3, 48, 64), bool)
    masks[0, 5:15, 5:15] = True
    return Objects(
        np.array([[4, 4, 20, 20], [30, 10, 50, 40], [0, 30, 16, 47]]),
        [0.5, 0.6, 0.7],
        ["object"] * 3,
        masks=masks,
    )


def _ctx(clip_dir: str, **settings: object) -> Context:
    return Context(
        device="cpu", models=ModelManager(log=None), settings={"model.clip": clip_dir, **settings}
    )


# -- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("apple,orange", ["apple", "orange"]),
        (" apple , orange ,, ", ["apple", "orange"]),
        (["red", " blue", "red"], ["red", "blue"]),
        ("Barack Obama", ["Barack Obama"]),
        ("", []),
        (None, []),
    ],
)
def test_split_names(value: object, expected: list[str]) -> None:
    assert split_names(value) == expected  # type: ignore[arg-type]


def test_label_matches_follow_visprog_panoptic_names() -> None:
    objs = Objects(np.zeros((4, 4)), np.ones(4), ["dog", "grass-merged", "sky-other-merged", "Dog"])
    assert label_matches(objs, "dog") == [0, 3]
    assert label_matches(objs, "Grass") == [1]
    assert label_matches(objs, "sky") == [2]
    assert label_matches(objs, "cat") == []


def test_softmax_rows_and_columns_sum_to_one() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softmax(logits, axis=1).sum(axis=1), 1.0)
    np.testing.assert_allclose(softmax(logits, axis=0).sum(axis=0), 1.0)


def test_pick_best_takes_one_object_per_query_without_duplicates() -> None:
    sims = np.array([[0.9, 0.1, 0.8], [0.2, 0.7, 0.1], [0.1, 0.2, 0.3]])  # objects x queries
    index, labels, scores = pick_best(sims, 100.0, ["a", "b", "c"])
    assert index == [0, 1]  # 'c' also picks object 0, which 'a' already has
    assert labels == ["a", "b"]
    assert all(0.0 < s <= 1.0 for s in scores)


def test_assign_keeps_the_best_object_of_each_category() -> None:
    probs = np.array([[0.8, 0.2], [0.9, 0.1], [0.3, 0.7]])
    assert assign(probs, ["cat", "dog"], True) == ([1, 2], ["cat", "dog"], [0.9, 0.7])
    keep, labels, _ = assign(probs, ["cat", "dog"], False)
    assert keep == [1, 0, 2] and labels == ["cat", "cat", "dog"]


def test_assign_one_category_against_other_picks_one_object() -> None:
    probs = np.array([[0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    assert assign(probs, ["harry", "other"], True) == ([1], ["harry"], [0.7])


def test_crops_map_root_boxes_into_a_crop(rgb: Image) -> None:
    crop = rgb.crop((10, 5, 60, 45))  # offset (10, 5) in the root image
    objs = Objects(np.array([[20.0, 10.0, 30.0, 25.0]]), [1.0], ["x"])
    (pil,) = crops(crop, objs)
    np.testing.assert_array_equal(np.asarray(pil), rgb.pixels[10:25, 20:30])


# -- the tiny CLIP through the real loading path ----------------------------------------------


def test_class_vectors_are_normalised_template_means(clip_dir: str) -> None:
    bundle = load_clip(clip_dir, "cpu")
    templates = ("a photo of {}.", "a drawing of {}.")
    vectors = class_vectors(bundle, ["cat", "dog"], templates)
    assert vectors.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    each = embed_texts(bundle, ["a photo of dog.", "a drawing of dog."])
    mean = each.mean(axis=0)
    np.testing.assert_allclose(vectors[1], mean / np.linalg.norm(mean), atol=1e-5)


def test_select_keeps_one_object_per_query(clip_dir: str, rgb: Image, three: Objects) -> None:
    ctx = _ctx(clip_dir)
    out = select(rgb, three, "cat,dog", ctx)
    assert isinstance(out, Objects) and 1 <= len(out) <= 2
    assert set(out.labels) <= {"cat", "dog"}
    assert all(0.0 < s <= 1.0 for s in out.scores)
    for box in out.boxes:  # the boxes are the input's, untouched (root frame)
        assert any(np.array_equal(box, b) for b in three.boxes)
    assert out.masks is not None and out.masks.shape[1:] == (48, 64)
    assert ctx.models_used == [f"{clip_dir} on cpu"]


def test_select_on_a_crop_returns_root_boxes(clip_dir: str, rgb: Image, three: Objects) -> None:
    crop = rgb.crop((0, 0, 56, 48))
    out = select(crop, three, "dog", _ctx(clip_dir))
    assert len(out) == 1 and any(np.array_equal(out.boxes[0], b) for b in three.boxes)


def test_select_by_label_needs_no_model(rgb: Image, two_boxes: Objects) -> None:
    ctx = Context(device="cpu", models=ModelManager(log=None), settings={"model.clip": "/none"})
    out = select(rgb, two_boxes, "dog", ctx)
    assert out.labels == ("dog",) and ctx.models.loaded() == []
    assert any("by label" in n for n in ctx.notes)


def test_select_category_narrows_the_candidates(clip_dir: str, rgb: Image) -> None:
    objs = Objects(
        np.array([[4, 4, 20, 20], [30, 10, 50, 40], [0, 30, 16, 47]]),
        np.ones(3),
        ["person", "bus", "person"],
    )
    out = select(rgb, objs, "man wearing a red suit", _ctx(clip_dir), category="person")
    assert len(out) == 1 and out.labels == ("man wearing a red suit",)
    assert not np.array_equal(out.boxes[0], objs.boxes[1])  # the bus is never a candidate


def test_select_and_classify_on_no_objects_load_nothing(rgb: Image) -> None:
    ctx = Context(device="cpu", models=ModelManager(log=None), settings={"model.clip": "/none"})
    assert len(select(rgb, Objects.empty(), "dog", ctx)) == 0
    assert len(classify(rgb, Objects.empty(), ctx, ["a", "b"])) == 0
    assert ctx.models.loaded() == []


@pytest.mark.parametrize("categories", [["cat", "dog", "bus"], "cat,dog,bus"])
def test_classify_labels_with_probabilities(
    clip_dir: str, rgb: Image, three: Objects, categories: object
) -> None:
    ctx = _ctx(clip_dir, **{"classify.one_per_category": False})
    out = classify(rgb, three, ctx, categories)  # type: ignore[arg-type]
    assert len(out) == 3 and set(out.labels) <= {"cat", "dog", "bus"}
    assert all(1 / 3 <= s <= 1.0 for s in out.scores)  # the winner of three classes
    assert sorted(map(tuple, out.boxes)) == sorted(map(tuple, three.boxes))


def test_classify_default_keeps_one_object_per_category(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    out = classify(rgb, three, _ctx(clip_dir), ["cat", "dog"])
    assert 1 <= len(out) <= 2 and len(set(out.labels)) == len(out)


def test_classify_one_category_returns_the_best_object(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    out = classify(rgb, three, _ctx(clip_dir), "harry potter")
    assert len(out) == 1 and out.labels == ("harry potter",)


def test_classify_rejects_no_categories_and_bad_templates(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    with pytest.raises(ToolArgumentError, match="no categories"):
        classify(rgb, three, _ctx(clip_dir), " , ")
    with pytest.raises(ConfigurationError, match="clip.templates: expected list of text holding"):
        classify(rgb, three, _ctx(clip_dir, **{"clip.templates": ["no slot"]}), "a,b")
    one = classify(rgb, three, _ctx(clip_dir, **{"clip.templates": "a photo of {}"}), "a,b")
    assert set(one.labels) <= {"a", "b"}  # a single template given as text


def test_default_templates_mix_photo_and_drawing_prompts() -> None:
    assert "a photo of a {}." in TEMPLATES and "a drawing of a {}." in TEMPLATES
    assert all("{}" in t for t in TEMPLATES)


def test_classify_in_a_program_takes_visprog_comma_string(
    clip_dir: str, rgb: Image, two_boxes: Objects
) -> None:
    manager = ModelManager(log=None)
    program = (
        "C = Classify(image=IMAGE, object=OBJ, categories='apple,orange')\n"
        "S = Select(image=IMAGE, object=C, query='apple', category=None)\n"
        "R = Result(var=S)"
    )
    interpreter = Interpreter(device="cpu", models=manager, settings={"model.clip": clip_dir})
    trace = interpreter.run(program, {"IMAGE": rgb, "OBJ": two_boxes})
    classified = trace.steps[0].output
    assert len(classified) >= 1 and set(classified.labels) <= {"apple", "orange"}
    apples = [i for i, label in enumerate(classified.labels) if label == "apple"]
    if apples:  # Select by label: exactly the objects Classify called apples, no model call
        np.testing.assert_array_equal(trace.result.boxes, classified.boxes[apples])
    else:  # no apple: CLIP picks the one object that best matches 'apple'
        assert len(trace.result) == 1 and trace.result.labels == ("apple",)
        assert trace.result.boxes.tolist()[0] in classified.boxes.tolist()
    assert len(manager.load_seconds) == 1  # Select and Classify share one CLIP


def test_half_precision_plumbing(clip_dir: str, rgb: Image, three: Objects) -> None:
    ctx = _ctx(clip_dir, **{"models.dtype": "bfloat16"})
    out = classify(rgb, three, ctx, "cat,dog")
    assert 1 <= len(out) <= 2 and np.all(np.isfinite(out.scores))
    processor, model = ctx.models.get(ctx.model_key(MODEL), "cpu", lambda d: pytest.fail("reload"))
    assert str(model.dtype) == "torch.bfloat16"


# -- against a hand computation of CLIP's prompt-ensemble prototypes ---------------------------


def _hand_probs(clip_dir: str, image: Image, objects: Objects, names: list[str]) -> np.ndarray:
    """CLIP by hand with transformers: unit crop features against unit mean-of-unit-template
    prototypes, times exp(logit_scale); rows are objects."""
    import torch
    from transformers import AutoModel, AutoProcessor

    processor = AutoProcessor.from_pretrained(clip_dir)
    model = AutoModel.from_pretrained(clip_dir).eval()

    def unit(x: Any) -> np.ndarray:
        out = getattr(x, "pooler_output", x).detach().double().numpy()  # transformers 5: output
        return out / np.linalg.norm(out, axis=-1, keepdims=True)

    pil = image.to_pil()
    with torch.inference_mode():
        pics = [pil.crop(tuple(int(v) for v in box)) for box in objects.boxes]
        img = unit(model.get_image_features(**processor(images=pics, return_tensors="pt")))
        protos = []
        for name in names:
            texts = [t.format(name) for t in TEMPLATES]
            batch = processor(text=texts, return_tensors="pt", padding=True)
            protos.append(unit(model.get_text_features(**batch)).mean(axis=0))
    p = np.stack(protos)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    logits = (img @ p.T) * float(model.logit_scale.exp())
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_classify_equals_the_hand_computed_ensemble(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    names = ["cat", "dog", "bird"]
    probs = _hand_probs(clip_dir, rgb, three, names)
    ctx = _ctx(clip_dir, **{"classify.one_per_category": False})
    out = classify(rgb, three, ctx, "cat,dog,bird")
    order = np.argsort(-probs.max(axis=1), kind="stable")
    assert out.labels == tuple(names[int(probs[i].argmax())] for i in order)
    np.testing.assert_allclose(out.scores, probs.max(axis=1)[order], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(out.boxes, three.boxes[order])


def test_select_equals_the_hand_computed_ensemble(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    """Select's probability is the softmax over the objects of their similarity to the query."""
    from transformers import AutoModel

    scale = float(AutoModel.from_pretrained(clip_dir).logit_scale.exp().detach())
    logits = _sims_for(clip_dir, rgb, three, "dog") * scale
    over_objects = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    out = select(rgb, three, "dog", _ctx(clip_dir))
    best = int(np.argmax(over_objects))
    assert len(out) == 1 and out.labels == ("dog",)
    np.testing.assert_array_equal(out.boxes[0], three.boxes[best])
    np.testing.assert_allclose(out.scores[0], over_objects[best], rtol=1e-4)


def _sims_for(clip_dir: str, image: Image, objects: Objects, name: str) -> np.ndarray:
    """Cosine similarity of each crop with ``name``'s ensemble prototype, by hand."""
    import torch
    from transformers import AutoModel, AutoProcessor

    processor = AutoProcessor.from_pretrained(clip_dir)
    model = AutoModel.from_pretrained(clip_dir).eval()
    texts = [t.format(name) for t in TEMPLATES]
    with torch.inference_mode():
        pics = [image.to_pil().crop(tuple(int(v) for v in box)) for box in objects.boxes]
        img = model.get_image_features(**processor(images=pics, return_tensors="pt"))
        txt = model.get_text_features(**processor(text=texts, return_tensors="pt", padding=True))
    img = getattr(img, "pooler_output", img).double()
    txt = getattr(txt, "pooler_output", txt).double()
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    proto = txt.mean(dim=0)
    return (img @ (proto / proto.norm())).numpy()


# -- batched forms ----------------------------------------------------------------------------


def _batch_calls(rgb: Image, three: Objects, ctxs: list[Context]) -> list[tuple[str, dict]]:
    """Select and Classify calls of a batch: shared crops, one category, a label match, none."""
    other = Image(rgb.pixels[::-1].copy(), "IMAGE")
    labelled = three.with_labels(["cat", "dog", "cat"], [0.5, 0.6, 0.7])
    cases: list[tuple[str, dict]] = [
        ("Classify", {"image": rgb, "object": three, "categories": ["cat", "dog"]}),
        ("Classify", {"image": rgb, "object": three, "categories": "cat, dog, bird"}),
        ("Classify", {"image": other, "object": three, "categories": ["harry potter"]}),
        ("Classify", {"image": rgb, "object": three.subset([]), "categories": ["cat"]}),
        ("Select", {"image": rgb, "object": three, "query": "dog"}),
        ("Select", {"image": other, "object": three, "query": "man, woman"}),
        ("Select", {"image": rgb, "object": labelled, "query": "dog"}),  # by label: no model
        ("Select", {"image": rgb, "object": labelled, "query": "big one", "category": "cat"}),
    ]
    return [(name, {**args, "ctx": ctx}) for (name, args), ctx in zip(cases, ctxs, strict=True)]


def _plain(objects: Objects) -> tuple[list[list[float]], list[str]]:
    return objects.boxes.tolist(), list(objects.labels)


def test_clip_batched_forms_equal_each_call_alone(
    clip_dir: str, rgb: Image, three: Objects
) -> None:
    from visprog.tools.clip import _classify_batched, _select_batched

    run = {"Select": select, "Classify": classify}
    batched = {"Select": _select_batched, "Classify": _classify_batched}
    alone_ctxs = [_ctx(clip_dir) for _ in range(8)]
    alone = [run[name](**call) for name, call in _batch_calls(rgb, three, alone_ctxs)]
    manager = ModelManager(log=None)  # one model for the batch, as in a batch run
    ctxs = [Context(device="cpu", models=manager, settings={"model.clip": clip_dir})] * 8
    ctxs = [c.for_step({}) for c in ctxs]
    together: list[Objects] = []
    for name in ("Classify", "Select"):
        calls = [call for n, call in _batch_calls(rgb, three, ctxs) if n == name]
        together += batched[name](calls)
    assert [_plain(o) for o in together] == [_plain(o) for o in alone]
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(b.scores, a.scores, rtol=1e-4, atol=1e-6)
    # Each step records its model as when run alone (the label match records none).
    assert [c.models_used for c in ctxs] == [c.models_used for c in alone_ctxs]


def test_clip_batched_embeds_each_crop_and_prototype_once(
    clip_dir: str, rgb: Image, three: Objects, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visprog.tools.clip as clip

    images: list[int] = []
    texts: list[int] = []
    embed, embed_text = clip._embed_images, clip.embed_texts
    monkeypatch.setattr(
        clip, "_embed_images", lambda b, ims: images.append(len(ims)) or embed(b, ims)
    )
    monkeypatch.setattr(
        clip, "embed_texts", lambda b, ts: texts.append(len(ts)) or embed_text(b, ts)
    )
    manager = ModelManager(log=None)
    ctx = Context(device="cpu", models=manager, settings={"model.clip": clip_dir})
    # Four items ask about the same three objects of one image, with two category sets.
    calls = [
        {"image": rgb, "object": three, "categories": cats, "ctx": ctx.for_step({})}
        for cats in (["cat", "dog"], ["dog", "cat"], ["cat", "dog"], ["cat", "bird"])
    ]
    first = clip._classify_batched(calls)
    assert images == [3]  # three distinct crops, one pass, for four calls
    assert texts == [3 * len(TEMPLATES)]  # cat, dog, bird: each name's prompts once
    again = clip._classify_batched(calls)  # the next batch: prototypes cached with the model
    assert texts == [3 * len(TEMPLATES)] and images == [3, 3]
    assert [_plain(o) for o in again] == [_plain(o) for o in first]
