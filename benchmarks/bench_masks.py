"""Memory of masks on a large photo: full root-size arrays versus masks stored within their box.

64 masks on a 12-megapixel (4000x3000) frame, the number SAM 2's automatic generator keeps by
default (``seg.max_objects``). The masks are ellipses whose areas spread like an automatic
generator's (a few large regions, many small parts: 0.05% to 12% of the image, log-uniform).
Prints the bytes each form holds and checks that both give the same masks.

    python benchmarks/bench_masks.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from visprog.masks import BoxMasks
from visprog.values import Image, Objects


def ellipse_masks(n: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """(n, height, width) bool ellipses with log-uniform areas, at random places."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, height, width), dtype=bool)
    areas = np.exp(rng.uniform(np.log(5e-4), np.log(0.12), n)) * width * height
    for i, area in enumerate(areas):
        aspect = rng.uniform(0.5, 2.0)
        rx, ry = np.sqrt(area / np.pi * aspect), np.sqrt(area / np.pi / aspect)
        cx, cy = rng.uniform(rx, width - rx), rng.uniform(ry, height - ry)
        x0, x1 = int(max(cx - rx, 0)), int(min(cx + rx + 1, width))
        y0, y1 = int(max(cy - ry, 0)), int(min(cy + ry + 1, height))
        ys, xs = np.ogrid[y0:y1, x0:x1]
        out[i, y0:y1, x0:x1] = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1
    return out


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    dense = ellipse_masks(args.n, args.width, args.height)
    image = Image(np.zeros((args.height, args.width, 3), np.uint8))
    start = time.perf_counter()
    boxes = np.tile([0.0, 0.0, args.width, args.height], (args.n, 1))
    objects = Objects.from_local(image, boxes, np.ones(args.n), ["object"] * args.n, dense)
    seconds = time.perf_counter() - start
    assert isinstance(objects.masks, BoxMasks)
    same = all(np.array_equal(objects.masks[i], dense[i]) for i in range(args.n))
    mp = args.width * args.height / 1e6
    print(f"{args.n} masks on a {args.width}x{args.height} ({mp:.0f} MP) frame")
    print(f"  before (N, H, W) bool array: {dense.nbytes / 2**20:8.1f} MiB")
    print(f"  after  masks within boxes:   {objects.masks.nbytes / 2**20:8.1f} MiB "
          f"({dense.nbytes / objects.masks.nbytes:.0f}x less; built in {seconds:.2f} s)")  # fmt: skip
    print(f"  mean mask area {dense.sum() / dense[0].size / args.n * 100:.1f}% of the image; "
          f"identical masks: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
