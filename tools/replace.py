"""Replace: repaint the objects with what a text prompt describes (diffusers inpainting).

The region is the union of the objects' masks (their boxes when they carry none), grown by a
few pixels so the new content blends in. Only a window around the region is sent to the model,
scaled so its long side is the model's native resolution (512 for Stable Diffusion, 1024 for
SDXL); the result is scaled back and blended into the original through a feathered mask, so the
output has the input's size and frame and the pixels away from the objects are unchanged.

Settings: ``model.replace`` (any diffusers inpainting pipeline, loaded with
``AutoPipelineForInpainting``; default ``stable-diffusion-v1-5/stable-diffusion-inpainting``,
CreativeML OpenRAIL-M; ``diffusers/stable-diffusion-xl-1.0-inpainting-0.1`` for SDXL),
``replace.seed`` (default 0: the same program gives the same picture), ``replace.steps``
(default 30), ``replace.guidance`` (default 7.5), ``replace.size`` (the long side sent to the
model; default: the model's native size).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.errors import ToolArgumentError
from visprog.geometry import feather, mask_box
from visprog.models import hub_load, inference_mode, require, torch_dtype
from visprog.options import declare_model, option
from visprog.registry import tool
from visprog.values import BoolArray, Image, Objects, UInt8Array

DEFAULT_ID = "stable-diffusion-v1-5/stable-diffusion-inpainting"
SETTING = "model.replace"
DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 7.5
CONTEXT_MARGIN = 0.25  # of the region's size, on each side: the model sees the surroundings


def load_inpainting(
    model_id: str,
    device: str,
    dtype_setting: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Any:
    """A diffusers inpainting pipeline for ``model_id`` on ``device`` (half precision on GPU)."""
    require("torch", "replace", "Replace")
    diffusers = require("diffusers", "replace", "Replace")
    dtype = torch_dtype(device, dtype_setting)
    pipe = hub_load(
        "Replace",
        model_id,
        diffusers.AutoPipelineForInpainting.from_pretrained,
        SETTING,
        dtype=dtype,  # at load time, so modules the model keeps in fp32 stay fp32
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


SEED = option("replace.seed", int, 0, "Replace's random seed (same seed, same image)", 0, 2**32 - 1)
STEPS = option("replace.steps", int, DEFAULT_STEPS, "Replace's diffusion steps", 1, 1000)
GUIDANCE = option(
    "replace.guidance",
    float,
    DEFAULT_GUIDANCE,
    "Replace's classifier-free guidance scale",
    0.0,
    100.0,
)
SIZE = option("replace.size", int, None, "Replace's working size in pixels", 64, 4096)
MODEL = declare_model(
    "Replace",
    SETTING,
    DEFAULT_ID,
    load_inpainting,
    kind="inpaint",
    help="Replace's diffusers inpainting pipeline: a Hugging Face id or a local folder",
    options=(SEED, STEPS, GUIDANCE, SIZE),
)


def native_size(pipe: Any) -> int:
    """The long side the pipeline was trained at (UNet sample size x VAE scale), else 512."""
    unet = getattr(pipe, "unet", None)
    sample = getattr(getattr(unet, "config", None), "sample_size", None)
    scale = getattr(pipe, "vae_scale_factor", 8)
    if isinstance(sample, (tuple, list)):
        sample = max(sample)
    return int(sample * scale) if isinstance(sample, int) else 512


def window(mask: BoolArray, margin: float = CONTEXT_MARGIN) -> tuple[int, int, int, int]:
    """The box (xyxy, pixels) around the mask's pixels, grown by ``margin`` of its size."""
    box = mask_box(mask)
    if box is None:
        raise ValueError("window() of an empty mask")  # the caller checks mask.any() first
    x0, y0, x1, y1 = box
    dx = max(8, int((x1 - x0) * margin))
    dy = max(8, int((y1 - y0) * margin))
    h, w = mask.shape
    return max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)


def model_size(width: int, height: int, long_side: int, multiple: int = 8) -> tuple[int, int]:
    """(width, height) scaled so the long side is ``long_side``, each a multiple of ``multiple``."""
    scale = long_side / max(width, height)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return w, h


def grow(mask: BoolArray, pixels: int) -> BoolArray:
    """The mask dilated by ``pixels`` (a square max filter)."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    if pixels <= 0:
        return mask
    pil = PILImage.fromarray(mask.astype(np.uint8) * 255, "L")
    out: BoolArray = np.asarray(pil.filter(ImageFilter.MaxFilter(2 * pixels + 1))) > 127
    return out


def inpaint(
    pipe: Any, image: Image, mask: BoolArray, prompt: str, options: dict[str, Any]
) -> UInt8Array:
    """``image`` with ``mask`` (H, W, its pixels) repainted to show ``prompt``; same size."""
    side = max(image.width, image.height)
    mask = grow(mask, max(2, side // 100))
    x0, y0, x1, y1 = window(mask)
    size = model_size(x1 - x0, y1 - y0, int(options.get("size") or native_size(pipe)))
    region = image.to_pil().crop((x0, y0, x1, y1))
    painted = generate(pipe, region, mask[y0:y1, x0:x1], size, prompt, options)
    alpha = feather(mask[y0:y1, x0:x1], max(1.0, side / 200))
    out = image.pixels.copy()
    blend = alpha * painted + (1 - alpha) * out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
    return out


def generate(
    pipe: Any,
    region: Any,
    mask: BoolArray,
    size: tuple[int, int],
    prompt: str,
    options: dict[str, Any],
) -> UInt8Array:
    """The PIL ``region`` repainted where ``mask`` is set, run at ``size``, returned at its own."""
    from PIL import Image as PILImage

    torch = require("torch", "replace", "Replace")
    mask_image = PILImage.fromarray(mask.astype(np.uint8) * 255, "L")
    # A CPU generator gives the same noise, and so the same picture, on every device.
    generator = torch.Generator("cpu").manual_seed(int(options["seed"]))
    with inference_mode():
        result = pipe(
            prompt=prompt,
            image=region.resize(size, PILImage.Resampling.LANCZOS),
            mask_image=mask_image.resize(size, PILImage.Resampling.NEAREST),
            width=size[0],
            height=size[1],
            num_inference_steps=int(options["steps"]),
            guidance_scale=float(options["guidance"]),
            generator=generator,
        ).images[0]
    painted: UInt8Array = np.asarray(
        result.convert("RGB").resize(region.size, PILImage.Resampling.LANCZOS), dtype=np.uint8
    )
    return painted


@tool("Replace", model=f"{DEFAULT_ID} (diffusers inpainting; SDXL inpaint selectable)")
def replace(image: Image, object: Objects, prompt: str, ctx: Context) -> Image:
    """Repaint the objects to show what the prompt describes ('blue bus'), keeping the rest."""
    if not prompt.strip():
        raise ToolArgumentError("Replace: the prompt is empty")
    if len(object) == 0:
        ctx.note("no objects: the image is returned unchanged")
        return image
    mask = object.union_mask(image)
    ctx.note("region: object masks" if object.masks is not None else "region: boxes (no masks)")
    if not mask.any():
        ctx.note("the objects do not overlap this image: it is returned unchanged")
        return image
    options = {o.key.split(".")[1]: ctx.option(o) for o in (SEED, STEPS, GUIDANCE, SIZE)}
    pipe, device = ctx.load_model(MODEL)
    ctx.note(f"seed {options['seed']}, {options['steps']} steps")
    return image.with_pixels(inpaint(pipe, image, mask, prompt.strip(), options))
