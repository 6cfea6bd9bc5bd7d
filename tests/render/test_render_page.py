"""The trace page as HTML text: structure, escaping, purity, size, the CLI."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from visprog.cli import main
from visprog.render import render_html, write_html
from visprog.render.highlight import highlight_line
from visprog.render.html import esc
from visprog.render.page import asset, csp_hash
from visprog.trace import StepRecord, Trace
from visprog.values import Image, Objects

from .conftest import error_trace, overlay_trace


class Elements(HTMLParser):
    """Collects (tag, attrs) of every element of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def all(self, tag: str, **want: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.found
            if t == tag
            and all(w in (a.get(k) or "").split() or a.get(k) == w for k, w in want.items())
        ]


def test_summary_cards_and_links(halves_trace: Trace) -> None:
    page = Elements(render_html(halves_trace))
    cards = page.all("li", **{"class": "step"})
    assert [c["id"] for c in cards] == [f"step-{i}" for i in range(6)]
    assert all("s-ok" in (c["class"] or "") for c in cards)
    links = [a["href"] for a in page.all("a", **{"class": "ln"})]
    assert links == [f"#step-{i}" for i in range(6)]  # the comment line links nowhere
    assert page.all("div", **{"class": "result"})
    assert len(page.all("g", **{"class": "obj"})) == 5  # Loc outputs and the boxes passed on
    assert len(page.all("script")) == 1


def test_every_image_has_alt_text(objects_trace: Trace) -> None:
    page = Elements(render_html(objects_trace))
    svgs = page.all("svg", **{"class": "pic"})
    assert svgs and all(s.get("role") == "img" and s.get("aria-label") for s in svgs)
    assert all(
        b.get("aria-label", "").startswith("Enlarge")
        for b in page.all("button", **{"class": "thumb"})
    )


def test_objects_drawn_with_masks_points_and_table(objects_trace: Trace) -> None:
    html = render_html(objects_trace)
    page = Elements(html)
    assert len(page.all("image", **{"class": "mask"})) >= 2
    assert len(page.all("circle", **{"class": "pt"})) >= 4  # object prompt points and Points
    assert len(page.all("g", **{"class": "point"})) == 2
    assert "<td>0.910</td>" in html and "<td>100, 120, 210, 290</td>" in html
    assert ">two cats<" in html and 'class="answer text"' in html


def test_boxes_are_drawn_relative_to_the_crop(photo: Image) -> None:
    crop = photo.crop((256, 100, 512, 400))
    objs = Objects(np.array([[300.0, 150, 350, 200]]), [0.8], ["thing"], source="IMAGE")
    rec = StepRecord(
        0, 1, "B", "Loc", "B = Loc(image=IMAGE0, object='thing')", {"image": crop}, objs
    )
    trace = Trace("B = Loc(image=IMAGE0, object='thing')", {"IMAGE": photo}, [rec], objs)
    html = render_html(trace)
    boxes = [
        (a["x"], a["y"], a["width"], a["height"])
        for a in Elements(html).all("rect", **{"class": "box"})
    ]
    # On the crop (offset 256, 100) the box starts at (44, 50); on the root image at (300, 150).
    assert ("44", "50", "50", "50") in boxes
    assert ("300", "150", "50", "50") in boxes


def test_failed_step_and_not_run_steps(failed_trace: Trace) -> None:
    html = render_html(failed_trace)
    page = Elements(html)
    status = [c["class"] for c in page.all("li", **{"class": "step"})]
    assert status == ["step s-ok", "step s-ok", "step s-failed", "step s-notrun", "step s-notrun"]
    assert "division by zero" in html or "divide" in html.lower()
    assert page.all("div", **{"class": "error"})
    assert "Not run: an earlier step failed." in html
    assert 'class="ln s-notrun"' in html and 'class="ln s-failed"' in html


def test_several_inputs_left_before_right(pair_trace: Trace) -> None:
    html = render_html(pair_trace)
    names = re.findall(r'<div class="input"><h3><code>(\w+)</code>', html)
    assert names == ["LEFT", "RIGHT", "OTHER"]
    assert 'class="answer bool' in html


def test_page_is_pure_and_survives_json_round_trip(halves_trace: Trace, tmp_path: Path) -> None:
    first = render_html(halves_trace)
    assert render_html(halves_trace) == first
    reloaded = Trace.load(halves_trace.save(tmp_path / "t.json"))
    assert render_html(reloaded) == first


def test_csp_forbids_other_origins_and_allows_only_the_inline_assets(halves_trace: Trace) -> None:
    html = render_html(halves_trace)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert f"script-src {csp_hash(asset('viewer.js'))}" in policy
    assert f"style-src {csp_hash(asset('viewer.css'))}" in policy
    assert "unsafe" not in policy and "http" not in policy
    assert html.index("Content-Security-Policy") < html.index("<style>")
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html)  # only data: URIs and anchors
    assert " style=" not in html  # inline style attributes would be blocked by the CSP


@pytest.mark.parametrize(
    "payload",
    [
        "<script>x</script>",
        '"><img src=x onerror=alert(1)>',
        "'onmouseover='alert(1)",
        "</style>",
        "javascript:alert(1)",
        "&lt;b&gt;",
        "\x00\x1b[31m\ud800",
    ],
)
def test_escape_leaves_no_markup(payload: str) -> None:
    out = esc(payload)
    assert not set(out) & set("<>\"'`") and "\x00" not in out
    out.encode("utf-8")  # lone surrogates replaced


def test_highlight_is_escaped_and_never_fails() -> None:
    line = "X = Loc(image=IMAGE, object='<b>\"', n=-1.5, ok=True) # </pre>"
    out = highlight_line(line)
    assert "<b>" not in out and "</pre>" not in out
    assert '<span class="t-step">Loc</span>' in out and '<span class="t-target">X</span>' in out
    assert '<span class="t-arg">object</span>' in out and '<span class="t-const">True</span>' in out
    assert '<span class="t-comment">' in out
    assert highlight_line("))) '''unterminated") != ""


def test_generation_records_render_any_shape(halves_trace: Trace) -> None:
    trace = Trace(
        halves_trace.program, halves_trace.inputs, halves_trace.steps, halves_trace.result
    )
    trace.generation = [
        {
            "task": "gqa",
            "model": "gemma <3>",
            "attempts": [
                {
                    "program": "X = Foo(a=1",
                    "diagnostics": ["line 1: expected ')'"],
                    "prompt": "p" * 900,
                },
                {"program": "X = Count(box=B)", "diagnostics": []},
            ],
        },
        {
            "task": "gqa",
            "model": "m",
            "query": "q",
            "attempt": 2,
            "program": "X = Y(",
            "diagnostics": ["line 1, column 6: expected a value\n  X = Y(\n       ^"],
            "seconds": 0.5,
        },
        "a bare string",
        3,
        None,
        {"nested": {"deep": [[[[[[[[["x"]]]]]]]]]}},
    ]
    html = render_html(trace)
    assert '<details class="generation">' in html and "gemma &lt;3&gt;" in html
    assert "prompt (900 characters)" in html
    assert '<span class="t-step">Foo</span>' in html
    assert "1 problem</span>" in html and "Program generation: 6 records" in html
    assert '<pre class="plain">line 1, column 6: expected a value\n  X = Y(\n       ^</pre>' in html


def test_twenty_steps_over_12_megapixels_stay_under_5_mb(photo: Image) -> None:
    big = Image.from_pil(photo.to_pil().resize((4000, 3000)))
    steps, lines = [], []
    for i in range(20):
        # Twenty different full-size images, as twenty edits would make.
        edited = big.with_pixels(
            big.pixels ^ np.uint8(i + 1)  # cheap, and every image differs
        )
        lines.append(f"IMAGE{i} = Blur(image=IMAGE, object=OBJ{i})")
        objs = Objects(np.array([[100.0 * i, 200, 100.0 * i + 900, 1800]]), [0.5], [f"o{i}"])
        steps.append(
            StepRecord(
                i,
                i + 1,
                f"IMAGE{i}",
                "Blur",
                lines[-1],
                {"image": big, "object": objs},
                edited,
                1.0,
            )
        )
    trace = Trace("\n".join(lines), {"IMAGE": big}, steps, steps[-1].output)
    html = render_html(trace)
    assert len(html.encode()) < 5_000_000
    # Each distinct image once (the input is shared by all steps), as a 768-px JPEG.
    assert html.count("data:image/jpeg") == 21
    assert html.count("<image id=") == 21 and html.count('<use href="#im') >= 41


def test_full_images_keep_every_pixel(photo: Image, tmp_path: Path) -> None:
    trace = overlay_trace(photo)
    small = render_html(trace, max_side=128)
    full = render_html(trace, full_images=True)
    assert len(full) > len(small)
    assert "data:image/jpeg" not in full
    import base64
    import io

    from PIL import Image as PILImage

    uri = re.search(
        r'<image id="im0" width="512" height="512" href="data:image/png;base64,([^"]+)"', full
    )
    assert uri is not None
    pixels = np.asarray(PILImage.open(io.BytesIO(base64.b64decode(uri.group(1)))).convert("RGB"))
    assert np.array_equal(pixels, photo.pixels)


def test_error_messages_are_shown_escaped(photo: Image) -> None:
    html = render_html(error_trace(photo, "model said <b>no</b>\nsecond line"))
    assert "model said &lt;b&gt;no&lt;/b&gt;\nsecond line" in html
    assert "Run failed" in html


def test_cli_view_and_run_write_pages(halves_trace: Trace, tmp_path: Path, photo: Image) -> None:
    saved = halves_trace.save(tmp_path / "trace.json")
    assert main(["view", str(saved), "--no-open"]) == 0
    assert (tmp_path / "trace.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    out = tmp_path / "full.html"
    assert main(["view", str(saved), "--no-open", "--full-images", "--html", str(out)]) == 0
    assert out.stat().st_size > (tmp_path / "trace.html").stat().st_size
    program = tmp_path / "p.vp"
    program.write_text("BOX0 = Loc(image=IMAGE, object='LEFT')\nFINAL_RESULT = Result(var=BOX0)\n")
    image = tmp_path / "a.png"
    photo.to_pil().save(image)
    page = tmp_path / "run.html"
    assert main(["run", "-q", "--program", str(program), str(image), "--html", str(page)]) == 0
    assert 'id="step-1"' in page.read_text(encoding="utf-8")


def test_write_html_creates_folders(halves_trace: Trace, tmp_path: Path) -> None:
    path = write_html(halves_trace, tmp_path / "a" / "b" / "t.html")
    assert path.read_text(encoding="utf-8") == render_html(halves_trace)
