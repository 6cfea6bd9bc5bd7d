from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from visprog import ImageLoadError, load_image


def _save(tmp_path: Path, name: str, img: PILImage.Image, **kw: object) -> Path:
    path = tmp_path / name
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "bmp", "tiff", "gif"])
def test_common_formats_load_as_rgb(tmp_path: Path, fmt: str) -> None:
    img = PILImage.new("RGB", (20, 10), (200, 30, 40))
    image = load_image(_save(tmp_path, f"x.{fmt}", img), "LEFT")
    assert image.pixels.shape == (10, 20, 3) and image.pixels.dtype == np.uint8
    assert image.source == "LEFT"
    assert abs(int(image.pixels[5, 10, 0]) - 200) < 20


def test_gif_first_frame(tmp_path: Path) -> None:
    frames = [PILImage.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert load_image(path).pixels[0, 0, 0] > 200


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = PILImage.new("RGB", (30, 10), (0, 0, 0))
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = _save(tmp_path, "r.jpg", img, exif=exif)
    assert load_image(path).size == (10, 30)


@pytest.mark.parametrize(
    ("mode", "color"),
    [
        ("CMYK", (0, 255, 255, 0)),
        ("P", 3),
        ("LA", (128, 255)),
        ("RGBA", (10, 20, 30, 0)),
        ("L", 77),
        ("1", 1),
    ],
)
def test_other_modes_become_rgb(tmp_path: Path, mode: str, color: object) -> None:
    img = PILImage.new(mode, (6, 4), color)  # type: ignore[arg-type]
    ext = "jpg" if mode == "CMYK" else "png"
    image = load_image(_save(tmp_path, f"m.{ext}", img))
    assert image.pixels.shape == (4, 6, 3)
    if mode == "RGBA":  # fully transparent pixels composite onto white
        assert image.pixels[0, 0].tolist() == [255, 255, 255]


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    arr = np.full((4, 4), 32768, dtype=np.uint16)
    path = _save(tmp_path, "g16.png", PILImage.fromarray(arr))
    value = int(load_image(path).pixels[0, 0, 0])
    assert 120 <= value <= 135


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_text("hello, not an image"), "not an image"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, setup: object, message: str) -> None:
    path = tmp_path / "bad.jpg"
    setup(path)  # type: ignore[operator]
    with pytest.raises(ImageLoadError, match=message) as info:
        load_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_file(tmp_path: Path) -> None:
    full = _save(tmp_path, "full.jpg", PILImage.effect_noise((200, 200), 50).convert("RGB"))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[:800])
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):
        load_image(cut)


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = _save(tmp_path, "big.png", PILImage.new("1", (12000, 12000)))
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(path, max_pixels=200_000_000)
    with pytest.raises(ImageLoadError, match="more than the limit of 1,000"):
        load_image(_save(tmp_path, "small.png", PILImage.new("RGB", (40, 40))), max_pixels=1000)
