"""Reading input images: any common format, EXIF orientation applied, always 8-bit RGB.

Every failure is an :class:`~visprog.errors.ImageLoadError` whose one-line message names the file.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from visprog.errors import ImageLoadError, LimitError
from visprog.values import Image

DEFAULT_MAX_PIXELS = 64_000_000
"""Largest input accepted by default (64 MP: any phone or DSLR photo, no decompression bombs)."""


def load_image(
    path: str | os.PathLike[str], name: str = "IMAGE", max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image:
    """Read an image file as an RGB root :class:`~visprog.values.Image`.

    JPEG, PNG, WebP, GIF (first frame), BMP and TIFF (first page) are read; EXIF orientation is
    applied; CMYK, palette, 16-bit, float and alpha images become 8-bit RGB (alpha over white).

    Args:
        path: The file.
        name: The input name this image is bound to (its provenance).
        max_pixels: Refuse images with more pixels than this, before decoding them.

    Raises:
        ImageLoadError: Missing, empty, unreadable, truncated or too-large file.
    """
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    p = Path(path)
    _check_file(p)
    try:
        with warnings.catch_warnings():
            # Pillow warns, then errors, on huge images; our own limit below is the one that
            # applies, so both become a clean error rather than a warning or a crash.
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with pil_open(p) as img:
                _check_pixels(p, img.size, max_pixels)
                img.seek(0)
                img.load()
                rgb = to_rgb(ImageOps.exif_transpose(img) or img)
    except (LimitError, ImageLoadError):
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(f"{p}: not an image, or a format that cannot be read") from None
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as e:
        raise ImageLoadError(f"{p}: refused as a decompression bomb ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageLoadError(f"{p}: truncated or corrupt image ({e})") from None
    except Exception as e:  # noqa: BLE001 - a decoder's failure on untrusted bytes is the file's
        raise ImageLoadError(f"{p}: the image cannot be decoded ({type(e).__name__})") from None
    return Image(rgb, name)


def pil_open(fp: Any) -> Any:
    """``PIL.Image.open`` itself, not a replacement another package installed over it.

    ultralytics replaces ``Image.open`` when imported with one that, on a file Pillow cannot
    identify, pip-installs a HEIF plugin ("AutoUpdate") and tries again: a broken or hostile
    input must be an :class:`~visprog.errors.ImageLoadError`, never a package install. A
    wrapper that keeps the original in a module global (as ultralytics does) is bypassed.
    """
    from PIL import Image as PILImage

    opener: Any = PILImage.open
    if getattr(opener, "__module__", None) != PILImage.__name__:
        for value in list(getattr(opener, "__globals__", {}).values()):
            if (
                callable(value)
                and getattr(value, "__module__", None) == PILImage.__name__
                and getattr(value, "__name__", None) == "open"
            ):
                opener = value
                break
    return opener(fp)


def _check_file(p: Path) -> None:
    """Refuse what is not a non-empty regular file before Pillow opens it (a FIFO would block)."""
    try:
        info = p.stat()
    except FileNotFoundError:
        raise ImageLoadError(f"{p}: no such file") from None
    except (OSError, ValueError) as e:  # a name too long, a NUL byte, no permission, a loop
        reason = getattr(e, "strerror", None) or e
        raise ImageLoadError(f"{str(p)[:200]}: cannot read the file ({reason})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(f"{p}: is a directory, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(f"{p}: not a regular file (a pipe or device cannot be an image)")
    if info.st_size == 0:
        raise ImageLoadError(f"{p}: the file is empty")


def _check_pixels(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageLoadError(f"{path}: the image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageLoadError(
            f"{path}: {w}x{h} = {w * h:,} pixels is more than the limit of {max_pixels:,} "
            "(raise it with --max-pixels)"
        )


def to_rgb(img: Any) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Convert any PIL image mode to an (H, W, 3) uint8 array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if mode == "F":
            lo, hi = float(arr.min()), float(arr.max())
            arr, top = arr - lo, max(hi - lo, 1e-12)
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA")
    elif mode in ("LA", "PA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        from PIL import Image as PILImage

        background = PILImage.new("RGBA", img.size, (255, 255, 255, 255))
        img = PILImage.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def as_image(value: Any, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Turn a path, PIL image, (H, W, 3) uint8 array or Image into an input Image named ``name``."""
    if isinstance(value, Image):
        root = value.offset == (0, 0) and value.root_size == value.size
        return Image(value.pixels, name) if root else value
    if isinstance(value, (str, os.PathLike)):
        return load_image(value, name, max_pixels)
    if isinstance(value, np.ndarray):
        return Image(value, name)
    if hasattr(value, "convert") and hasattr(value, "size"):
        return Image(to_rgb(value), name)
    raise ImageLoadError(
        f"input {name!r}: expected an image path, PIL image or array, got {type(value).__name__}"
    )


def image_key(image: Image) -> str:
    """A key for an image's pixels and frame: equal keys, equal model inputs (embedding caches)."""
    import hashlib

    digest = hashlib.blake2b(image.pixels.tobytes(), digest_size=16).hexdigest()
    return f"{image.source}@{image.offset}:{image.width}x{image.height}:{digest}"
