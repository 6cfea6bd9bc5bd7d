#!/usr/bin/env python
"""GPU check: every model-backed tool with random weights at real model sizes, on one device.

No download: each model is built from its config (the released architecture, random weights),
saved to a temporary folder and loaded by the tool exactly as a real checkpoint would be (Molmo 2
4B, too large to write and read back in time, is built on the device and handed to the model
manager under the key the Point tool uses). Each tool runs inside its own try/except, so one
failure does not hide the others. Prints per-step time and peak GPU memory.

    .venv/bin/python scripts/gpu_check.py                 # cuda, real sizes (about 3 minutes)
    .venv/bin/python scripts/gpu_check.py --device cpu --small   # self-test with tiny models
    .venv/bin/python scripts/gpu_check.py --only Loc,Seg
    .venv/bin/python scripts/gpu_check.py --only batch    # batched vs loop (bench_batch.py)
    .venv/bin/python scripts/gpu_check.py --only write    # program writing, batched vs alone
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tools import conftest as tiny  # noqa: E402  (builders shared with the tests)

IMAGE = ROOT / "demos" / "images" / "astronaut.jpg"

from visprog.models import ModelManager  # noqa: E402

MODELS = ModelManager()  # shared by each check's Session (cleared after each): models built here
Setup = Callable[[Path, bool, str], dict[str, Any]]


# -- builders at real size (small=True falls back to the tests' tiny ones) ----------------------


def molmo_primed(folder: Path, small: bool, device: str) -> dict[str, Any]:
    """Molmo 2: tiny saved folder, or the 4B shapes built on the device and primed."""
    if small:
        return {"model.point": tiny.build_molmo(folder / "molmo"), "point.max_new_tokens": 16}
    import torch
    from transformers import Molmo2ForConditionalGeneration

    from visprog.models import dtype_name, torch_dtype
    from visprog.tools.point import MOLMO

    tok = tiny.molmo_tokenizer()
    dtype = torch_dtype(device)
    with torch.device(device):
        model = Molmo2ForConditionalGeneration(tiny.molmo_config(tok, small=False)).to(dtype).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.eos_token_id
    bundle = (tiny.molmo_processor(tok, small=False), model)
    model_id = "random/Molmo2-4B-shapes"
    key = MOLMO.cache_key(model_id, dtype_name(device, {}), {})
    MODELS.get(key, device, lambda d: bundle)
    return {"model.point": model_id, "point.max_new_tokens": 32}


def clip_folder(folder: Path, small: bool) -> str:
    """CLIP ViT-L/14 (the Select/Classify default) or the tests' tiny CLIP."""
    from tests.tools import fixtures_hf as hf

    if small:
        return hf.save_tiny_clip(folder / "clip")
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tok = hf.clip_tokenizer()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=768, intermediate_size=3072,
                         num_hidden_layers=12, num_attention_heads=12, bos_token_id=0,
                         eos_token_id=1),
        vision_config=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                           num_attention_heads=16, image_size=224, patch_size=14),
        projection_dim=768,
    )  # fmt: skip
    CLIPModel(config).save_pretrained(folder / "clip")
    CLIPProcessor(CLIPImageProcessor(), tok).save_pretrained(folder / "clip")
    return str(folder / "clip")


def vqa_folder(folder: Path, small: bool) -> str:
    """SmolVLM-500M shapes (Idefics3: SigLIP-B/16 at 512 + a 360M Llama) or the tiny one."""
    from tests.tools import fixtures_hf as hf

    if small:
        return hf.save_tiny_idefics3(folder / "vqa")
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    tok = hf.word_tokenizer(hf.IDEFICS3_SPECIALS + hf.ROW_COL)
    images = Idefics3ImageProcessor(
        size={"longest_edge": 1024}, max_image_size={"longest_edge": 512}
    )
    processor = Idefics3Processor(images, tok, image_seq_len=64, chat_template=hf.IDEFICS3_TEMPLATE)
    config = Idefics3Config(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=512, patch_size=16),
        text_config=dict(model_type="llama", hidden_size=960, intermediate_size=2560,
                         num_hidden_layers=32, num_attention_heads=15, num_key_value_heads=5,
                         vocab_size=49280, max_position_embeddings=8192,
                         pad_token_id=tok.pad_token_id),
        scale_factor=4,
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )  # fmt: skip
    Idefics3ForConditionalGeneration(config).save_pretrained(folder / "vqa")
    processor.save_pretrained(folder / "vqa")
    return str(folder / "vqa")


def inpaint_folder(folder: Path, small: bool) -> str:
    """Stable Diffusion 1.5 inpainting shapes (9-channel UNet, VAE, CLIP-L text) or tiny."""
    from tests.tools import fixtures_hf as hf

    if small:
        return hf.save_tiny_inpainting(folder / "inpaint")
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = hf.clip_tokenizer()
    unet = UNet2DConditionModel(sample_size=64, in_channels=9, out_channels=4,
                                cross_attention_dim=768)  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2,
        sample_size=512,
    )  # fmt: skip
    text = CLIPTextModel(
        CLIPTextConfig(vocab_size=len(tok), hidden_size=768, intermediate_size=3072,
                       num_hidden_layers=12, num_attention_heads=12, bos_token_id=0,
                       eos_token_id=1)
    )  # fmt: skip
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text, tokenizer=tok, unet=unet,
        scheduler=PNDMScheduler(skip_prk_steps=True), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(folder / "inpaint")
    return str(folder / "inpaint")


def seg_points(settings: dict[str, Any], device: str) -> list[tuple[str, float, Any]]:
    """Seg with point prompts (one click, three masks; two clicks), called directly, since a
    program gets Points only from Point, whose random-weight answer holds none."""
    import numpy as np

    from visprog.context import Context
    from visprog.tools.seg import seg
    from visprog.values import Points

    image = visprog_image()
    ctx = Context(device=device, models=MODELS, settings=settings)
    out = []
    for label, xy, multimask in [("1 click, multimask", [[256, 200]], True),
                                 ("2 clicks", [[256, 200], [100, 400]], False)]:  # fmt: skip
        points = Points(np.asarray(xy, dtype=float), ["x"] * len(xy))
        start = time.perf_counter()
        value = seg(image, ctx, point=points, multimask=multimask)
        out.append((label, time.perf_counter() - start, value))
    return out


def visprog_image() -> Any:
    """The check image as a visprog Image."""
    import visprog

    return visprog.load_image(IMAGE)


# -- the checks: (name, setup, program) ------------------------------------------------------

FACE = "OBJ = FaceDet(image=IMAGE)\n"
Direct = Callable[[dict[str, Any], str], list[tuple[str, float, Any]]]
CHECKS: list[tuple[str, Setup, str | Direct]] = [
    ("FaceDet", lambda f, s, d: {}, FACE + "R = Result(var=OBJ)"),
    (
        "Loc(owlv2)",
        lambda f, s, d: {
            "model.loc": tiny.build_owlv2(f / "owl", s),
            "loc.threshold": 0.0,
            "loc.max_objects": 20,
        },
        "B = Loc(image=IMAGE, object='face')\nR = Result(var=B)",
    ),  # fmt: skip
    (
        "Loc(grounding_dino)",
        lambda f, s, d: {
            "model.loc": tiny.build_grounding_dino(f / "gdino", s),
            "loc.threshold": 0.0,
            "loc.max_objects": 20,
        },
        "B = Loc(image=IMAGE, object='person')\nR = Result(var=B)",
    ),  # fmt: skip
    (
        "Loc(yolo)",
        lambda f, s, d: {
            "model.loc": tiny.build_yolo(f / "yolo", "yolo11n.yaml" if s else "yolo11x.yaml"),
            "loc.threshold": 0.0,
        },
        "B = Loc(image=IMAGE, object='person')\nR = Result(var=B)",
    ),  # fmt: skip
    (
        "Seg(box, point, auto)",
        lambda f, s, d: {
            "model.seg": tiny.build_sam2(f / "sam2", s),
            "seg.points_per_side": 8,
            "seg.pred_iou_thresh": 0.0,
            "seg.stability_score_thresh": 0.0,
        },
        "B = Loc(image=IMAGE, object='LEFT')\nM0 = Seg(image=IMAGE, object=B)\n"
        "M1 = Seg(image=IMAGE, object=B, multimask=True)\nM2 = Seg(image=IMAGE)\n"
        "R = Result(var=M1)",
    ),  # fmt: skip
    (
        "Seg(point)",
        lambda f, s, d: {"model.seg": tiny.build_sam2(f / "sam2pt", s)},
        seg_points,
    ),
    (
        "Point+Seg",
        lambda f, s, d: {**molmo_primed(f, s, d), "model.seg": tiny.build_sam2(f / "sam2p", s)},
        "P = Point(image=IMAGE, object='face')\nN = Count(box=P)\n"
        "M = Seg(image=IMAGE, point=P)\nR = Result(var=N)",
    ),  # fmt: skip
    (
        "VQA",
        lambda f, s, d: {"model.vqa": vqa_folder(f, s)},
        "A = VQA(image=IMAGE, question='What is the person holding?')\nR = Result(var=A)",
    ),
    (
        "Select+Classify",
        lambda f, s, d: {"model.clip": clip_folder(f, s)},
        FACE + "S = Select(image=IMAGE, object=OBJ, query='face')\n"
        "C = Classify(image=IMAGE, object=OBJ, categories='man,woman')\nR = Result(var=C)",
    ),
    (
        "Replace",
        lambda f, s, d: {"model.replace": inpaint_folder(f, s), "replace.steps": 10},
        FACE + "I = Replace(image=IMAGE, object=OBJ, prompt='a smiling face')\nR = Result(var=I)",
    ),
    (
        "Emoji",
        lambda f, s, d: {},
        FACE + "I = Emoji(image=IMAGE, object=OBJ, emoji='smiling_face_with_sunglasses')\n"
        "R = Result(var=I)",
    ),
]


def peak_gib(device: str) -> str:
    """Peak allocated GPU memory since the last reset, as text."""
    import torch

    if not device.startswith("cuda"):
        return "n/a"
    return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"


def run_check(name: str, setup: Setup, program: str | Direct, folder: Path, args: Any) -> bool:
    """Build, run and report one tool; False (with the error printed) when it fails."""
    import torch

    import visprog

    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        settings = setup(folder, args.small, args.device)
        built = time.perf_counter() - start
        if callable(program):
            steps = program(settings, args.device)
        else:
            session = visprog.Session(settings, device=args.device, models=MODELS)
            trace = session.run(program, IMAGE)
            steps = [(f"{s.target} = {s.step}", s.seconds, s.models) for s in trace.steps]
            steps.append(("result", 0.0, trace.result))
    except Exception as e:  # report and go on: one failure must not hide the others
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        if args.verbose:
            traceback.print_exc()
        return False
    finally:
        MODELS.clear()
    total = time.perf_counter() - start
    print(f"OK   {name}: build {built:.1f} s, total {total:.1f} s, peak {peak_gib(args.device)}")
    for label, seconds, detail in steps:
        print(f"       {label:<22} {seconds:7.2f} s  {detail!r}", flush=True)
    return True


def batch_ratio(folder: Path, args: Any) -> bool:
    """Batched vs loop on the GQA-like workload of benchmarks/bench_batch.py, on this device."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_batch

    try:
        settings = bench_batch.models(folder / "batch", "tiny" if args.small else "base")
        bench_batch.compare(
            bench_batch.workload(), settings, "tiny" if args.small else "base", args.device
        )
    except Exception as e:  # report and go on, like the tool checks
        print(f"FAIL batch: {type(e).__name__}: {e}", flush=True)
        return False
    return True


def write_check(folder: Path, args: Any) -> bool:
    """Program writing, batched vs one at a time (benchmarks/bench_batch.py), on this device.

    The real offline Gemma 3 270M when its package is installed (a tiny random Llama with
    ``--small``).
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_batch

    from visprog.planner.backends.local import TransformersBackend

    try:
        backend = None
        if args.small:
            from tests.planner.tiny_lm import build_tiny_lm

            lm = build_tiny_lm(folder / "tiny-lm")
            backend = TransformersBackend.load(str(lm), args.device)
        bench_batch.write_ratio(8 if args.small else 32, 32, args.device, backend)
    except Exception as e:  # report and go on, like the tool checks
        print(f"FAIL write: {type(e).__name__}: {e}", flush=True)
        return False
    return True


def main() -> int:
    """Run the checks; exit status 1 when any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, cpu, mps")
    parser.add_argument("--small", action="store_true", help="tiny models (a quick self-test)")
    parser.add_argument("--only", default="", help="comma-separated check names (prefixes)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print tracebacks")
    args = parser.parse_args()
    import torch

    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()} (torch {torch.__version__})", flush=True)
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    failed: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="visprog-gpu-check-") as tmp:
        for name, setup, program in CHECKS:
            if wanted and not any(name.lower().startswith(w) for w in wanted):
                continue
            torch.manual_seed(0)
            if not run_check(name, setup, program, Path(tmp), args):
                failed.append(name)
        if (not wanted or "batch" in wanted) and not batch_ratio(Path(tmp), args):
            failed.append("batch")
        if (not wanted or "write" in wanted) and not write_check(Path(tmp), args):
            failed.append("write")
    print(f"done in {time.perf_counter() - start:.0f} s; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
