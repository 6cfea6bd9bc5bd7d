"""Rebuild the demo trace and its screenshot: ``.venv/bin/python demos/traces/make_demo.py``.

Runs a real program (MTCNN face detection, no download needed) on the astronaut photo, saves the
trace as JSON (``visprog view demos/traces/blur_face.json`` renders it) and as a page, and takes
a screenshot of the page in headless Chromium for the README (``demos/trace_screenshot.png``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAM = """# Is there a face? Blur the background around it, and show where it was found.
OBJ0 = FaceDet(image=IMAGE)
ANSWER0 = Count(box=OBJ0)
ANSWER1 = Eval(expr="'yes' if {ANSWER0} > 0 else 'no'")
BOX0 = Loc(image=IMAGE, object='TOP')
IMAGE0 = Crop(image=IMAGE, box=BOX0)
IMAGE1 = BgBlur(image=IMAGE, object=OBJ0)
FINAL_RESULT = Result(var=IMAGE1)
"""


def main() -> None:
    """Run, save, render, screenshot."""
    sys.path.insert(0, str(ROOT))
    import visprog
    from tests.render.browser import chromium
    from visprog.render import write_html

    trace = visprog.execute(
        PROGRAM,
        ROOT / "demos" / "images" / "astronaut.jpg",
        query="Is there a face in the photo? Blur everything around it.",
        device="cpu",
    )
    trace.filename = "demos/traces/make_demo.py"
    trace.save(HERE / "blur_face.json")
    page = write_html(trace, HERE / "blur_face.html")
    with chromium(1200, 2000) as driver:
        driver.get(page.resolve().as_uri())
        driver.save_screenshot(str(ROOT / "demos" / "trace_screenshot.png"))
    print(f"wrote {page} and demos/trace_screenshot.png")


if __name__ == "__main__":
    main()
