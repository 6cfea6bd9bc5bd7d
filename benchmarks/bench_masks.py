"""Memory of masks on a large photo: full root-size arrays versus masks stored within their box.

64 masks on a 12-megapixel (4000x3000) frame, the number SAM 2's automatic generator keeps by
default (``seg.max_objects``). The masks are ellipses whose areas spread like an automatic
generator's (a few large regions, many small parts: 0.05% to 12% of the image, log-uniform).
Prints the bytes each form holds and checks that both give the same masks; then the peak memory
(tracemalloc: numpy's allocations) of turning the automatic generator's 64 kept masks into
Objects, the way Seg did (the generator's full-size masks, stacked) and does (run-length masks
decoded one at a time into their boxes).

    python benchmarks/bench_masks.py
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any

import numpy as np

from visprog.masks import BoxMasks
from visprog.tools.seg import rle_mask
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


def to_rle(mask: np.ndarray) -> dict[str, Any]:
    """SAM's uncompressed RLE of an (H, W) mask: column-major runs, zeros first."""
    flat = mask.T.reshape(-1)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(edges).tolist()
    return {"size": list(mask.shape), "counts": ([0] if flat[0] else []) + counts}


def peak_mib(build: Any) -> tuple[float, Any]:
    """Peak traced memory (MiB) while ``build()`` runs, and its result."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = build()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, out


def bench_seg_path(dense: np.ndarray, image: Image) -> None:
    """Seg's automatic path before (dense masks stacked) and after (RLE, one at a time)."""
    rles = [to_rle(m) for m in dense]
    n, h, w = dense.shape
    boxes = np.tile([0.0, 0.0, w, h], (n, 1))

    def before() -> Objects:  # output_mode="binary_mask", then np.stack
        found = [rle_mask(r).copy() for r in rles]
        return Objects.from_local(image, boxes, np.ones(n), ["object"] * n, np.stack(found))

    def after() -> Objects:  # output_mode="uncompressed_rle", then BoxMasks.from_iter
        local = BoxMasks.from_iter((rle_mask(r) for r in rles), h, w)
        return Objects.from_local(image, boxes, np.ones(n), ["object"] * n, local)

    old_peak, old = peak_mib(before)
    new_peak, new = peak_mib(after)
    same = all(np.array_equal(old.masks[i], new.masks[i]) for i in range(n))
    print(f"  Seg's automatic path, peak while building the {n} Objects (tracemalloc):")
    print(f"    before (generator's full-size masks, stacked): {old_peak:8.1f} MiB")
    print(f"    after  (run-length, decoded one at a time):    {new_peak:8.1f} MiB "
          f"(identical masks: {same})")  # fmt: skip


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
    del objects
    bench_seg_path(dense, image)


if __name__ == "__main__":
    main()
