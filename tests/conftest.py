"""Shared fixtures: small images and a registry with the built-in tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import visprog
import visprog.tools  # noqa: F401  (registers the built-in tools)
from visprog.values import Image, Objects

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run torch on one thread: tiny models are far faster so on a shared CPU."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rgb() -> Image:
    """A 64x48 gradient image with distinct pixels (so crops can be located exactly)."""
    ys, xs = np.mgrid[0:48, 0:64]
    pixels = np.stack([xs * 4, ys * 5, (xs + ys) % 256], axis=2).astype(np.uint8)
    return Image(pixels, "IMAGE")


@pytest.fixture
def two_boxes() -> Objects:
    """Two objects in root pixels of the 64x48 fixture image, the second one better scored."""
    return Objects(np.array([[4, 4, 20, 20], [30, 10, 50, 40]]), [0.4, 0.9], ["cat", "dog"])


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    """A real photo with one face (NASA, public domain), shipped in demos/."""
    return DEMOS / "images" / "astronaut.jpg"


@pytest.fixture(scope="session")
def astronaut(astronaut_path: Path) -> Image:
    """The astronaut photo as an input image."""
    return visprog.load_image(astronaut_path)
