"""Probe benchmark: feature extraction images/second and fit time on this machine (figures only).

    .venv/bin/python benchmarks/bench_probe.py [--images 64] [--device cpu]

Feature extraction uses a real-size CLIP ViT-B/32 (the transformers ``CLIPConfig`` defaults:
224 px, patch 32, 12 layers, 512-d features) with random weights, saved to a temporary folder
and loaded through the tools' own loader, so the figure is that of the released checkpoint's
architecture. It is measured cold (no feature cache) and warm (every feature read from the
cache). The fit figure times ``train_probe`` (8 L2 strengths x 5-fold CV, then the final fit) on
synthetic 512-d features of 10 classes x 50 examples.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))


def save_vit_b32(folder: Path) -> str:
    """Random-weight CLIP ViT-B/32 with a 224 px processor, saved to ``folder``."""
    import torch
    from fixtures_hf import clip_tokenizer
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    config = CLIPConfig(text_config={"vocab_size": 514, "bos_token_id": 0, "eos_token_id": 1})
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(CLIPImageProcessor(), clip_tokenizer()).save_pretrained(folder)
    return str(folder)


def write_images(folder: Path, n: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (320, 480, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def bench_features(n: int, device: str) -> None:
    from visprog.models import ModelManager
    from visprog.probe.features import image_features, load_encoder
    from visprog.probe.pipeline import make_context

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = save_vit_b32(root / "clip-vit-b32")
        paths = write_images(root, n)
        ctx = make_context({"model.clip": model}, device, ModelManager(log=lambda m: None))
        t0 = time.perf_counter()
        encoder = load_encoder(ctx)
        load_s = time.perf_counter() - t0
        image_features(encoder, paths[:2], None)  # warm-up (first-call overheads)
        t0 = time.perf_counter()
        feats = image_features(encoder, paths, root / "cache")
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        image_features(encoder, paths, root / "cache")
        warm = time.perf_counter() - t0
    print(
        f"CLIP ViT-B/32 (random weights) on {device}: load {load_s:.1f} s, features {feats.shape}"
    )
    print(f"  feature extraction, cold (decode + model): {n / cold:8.1f} images/s ({cold:.2f} s)")
    print(f"  feature extraction, warm (feature cache):  {n / warm:8.1f} images/s ({warm:.3f} s)")


def bench_fit(classes: int = 10, per_class: int = 50, dim: int = 512) -> None:
    from visprog.probe.train import train_probe

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    x = centres[labels] + 8.0 * rng.standard_normal((len(labels), dim))
    names = [f"c{i}" for i in labels]
    t0 = time.perf_counter()
    probe = train_probe(x, names, model_id="bench", revision="0")
    seconds = time.perf_counter() - t0
    print(
        f"fit: {classes} classes x {per_class} examples, {dim}-d: {seconds:.2f} s "
        f"(L2 {probe.meta['l2']:g}, CV accuracy {probe.meta['val_accuracy']:.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_fit()
    bench_features(args.images, args.device)


if __name__ == "__main__":
    main()
