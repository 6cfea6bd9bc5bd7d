"""Other packages' import-time patches cannot turn a bad input into a package install.

ultralytics replaces ``PIL.Image.open`` on import with a wrapper that, on a file Pillow cannot
identify, runs its ``check_requirements("pi-heif")`` "AutoUpdate" (a pip install) and retries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from visprog.errors import ImageLoadError, TraceFormatError
from visprog.images import load_image, pil_open
from visprog.trace_format import decode_png


@pytest.fixture
def patched_pil(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """ultralytics' PIL patch in place, with its installer replaced by a recorder."""
    pytest.importorskip("ultralytics")
    import ultralytics.utils.checks as checks
    import ultralytics.utils.patches  # noqa: F401 - importing it installs the patch
    from PIL import Image as PILImage

    assert PILImage.open.__module__ == "ultralytics.utils.patches"
    installs: list[str] = []
    monkeypatch.setattr(checks, "check_requirements", lambda *a, **k: installs.append(str(a)))
    return installs


def test_a_broken_image_is_an_image_error_not_an_install(
    patched_pil: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(bad)
    with pytest.raises(TraceFormatError):
        decode_png(b"not a png at all", "steps[0].output")
    assert patched_pil == []  # the wrapper (and its pip install) never ran


def test_the_genuine_opener_still_reads_images(patched_pil: list[str], tmp_path: Path) -> None:
    from PIL import Image as PILImage

    path = tmp_path / "ok.png"
    PILImage.new("RGB", (5, 3), (200, 10, 10)).save(path)
    with pil_open(path) as img:
        assert img.size == (5, 3)
    assert load_image(path).pixels[0, 0].tolist() == [200, 10, 10]


def test_requiring_ultralytics_turns_its_auto_install_off() -> None:
    pytest.importorskip("ultralytics")
    code = (
        "from visprog.models import require\n"
        "require('ultralytics', 'yolo', 'Loc')\n"
        "from ultralytics.utils import AUTOINSTALL\n"
        "print(AUTOINSTALL)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "YOLO_AUTOINSTALL"}
    env["YOLO_OFFLINE"] = "true"  # no DNS probe at import
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
