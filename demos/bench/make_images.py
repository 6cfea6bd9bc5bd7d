"""Build the mini benchmark's composite images from the shipped photos (demos/images).

Each composite's face count is known by construction: the astronaut photo shows one face, the
cat and the coffee none. Run from the repository root: ``python demos/bench/make_images.py``.
The output is deterministic (same pixels every run), so the shipped files can be rebuilt.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

HERE = Path(__file__).parent
PHOTOS = HERE.parent / "images"
SIDE = 256  # each tile; small enough to keep the benchmark fast on a CPU


def tile(name: str, mirror: bool = False) -> Image.Image:
    """A shipped photo as a SIDE x SIDE RGB tile."""
    image = Image.open(PHOTOS / f"{name}.jpg").convert("RGB")
    image = ImageOps.fit(image, (SIDE, SIDE))
    return ImageOps.mirror(image) if mirror else image


def grid(rows: list[list[str]]) -> Image.Image:
    """Tiles in a grid; a name ending in '~' is mirrored."""
    out = Image.new("RGB", (SIDE * len(rows[0]), SIDE * len(rows)))
    for r, row in enumerate(rows):
        for c, name in enumerate(row):
            out.paste(tile(name.rstrip("~"), name.endswith("~")), (c * SIDE, r * SIDE))
    return out


COMPOSITES = {
    # name: grid of tiles (faces = number of astronaut tiles)
    "one_face": [["astronaut"]],
    "one_face_mirror": [["astronaut~"]],
    "cat": [["chelsea"]],
    "cup": [["coffee"]],
    "two_faces": [["astronaut", "astronaut~"]],
    "three_faces": [["astronaut", "coffee", "astronaut~"], ["chelsea", "astronaut", "coffee"]],
    "four_faces": [["astronaut", "astronaut~"], ["astronaut~", "astronaut"]],
    "face_left": [["astronaut", "coffee"]],
    "face_right": [["chelsea", "astronaut~"]],
    "face_top": [["astronaut"], ["chelsea"]],
    "face_bottom": [["coffee"], ["astronaut"]],
    "no_faces_pair": [["chelsea", "coffee"]],
}


def main() -> None:
    """Write every composite as JPEG (quality 90) into demos/bench/images."""
    out = HERE / "images"
    out.mkdir(exist_ok=True)
    for name, rows in COMPOSITES.items():
        grid(rows).save(out / f"{name}.jpg", quality=90)


if __name__ == "__main__":
    main()
