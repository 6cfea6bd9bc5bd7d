"""The trace page in real headless Chromium: loads clean and offline, shows every card and
overlay, runs none of the payloads put into its text, and works by keyboard, on a phone and in
dark mode. Skipped (with the reason) only where Chromium is not installed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visprog.render import write_html
from visprog.trace import ErrorInfo, StepRecord, Trace
from visprog.values import Image, Objects, Points

from .browser import MISSING, chromium, console_errors, requests
from .conftest import error_trace, overlay_trace

pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

# Each payload, if it ever ran, would set window.__pwned and change the title.
RUN = "window.__pwned=(window.__pwned||0)+1;document.title='PWNED'"
PAYLOADS = [
    f"<script>{RUN}</script>",
    f'"><img src=x onerror="{RUN}">',
    f"'><svg onload={RUN}>",
    f"javascript:{RUN}",
    f"</style><script>{RUN}</script>",
    f"</title><script>{RUN}</script>",
    f"</textarea></pre></code><script>{RUN}</script>",
    f'<iframe srcdoc="<script>parent.{RUN}</script>"></iframe>',
    f'<a href="javascript:{RUN}" id=evil>click</a>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    '<base href="https://evil.example/"><link rel=stylesheet href="https://evil.example/x.css">',
    f"<!--<script>{RUN}</script>-->",
    f"{{{{constructor.constructor('{RUN}')()}}}}",
    f'<math><mtext><table><mglyph><style><img src=x onerror="{RUN}">',
    f'<details open ontoggle="{RUN}">',
    f"<svg><script>{RUN}</script></svg>",
]
PAYLOAD = " | ".join(PAYLOADS)


def payload_trace(photo: Image) -> Trace:
    """A failed trace with a payload in every text field the page shows."""
    p = PAYLOAD
    base = overlay_trace(photo, label=p, text=p)
    src = Image(photo.pixels, p)
    objs = Objects(np.array([[10.0, 10, 90, 90]]), [0.5], [p], source=p)
    pts = Points(np.array([[50.0, 50]]), [p], source=p)
    program = base.program + f"# {p}\nX = Tag(image=IMAGE, object='{p}')\n"
    err = ErrorInfo(p, p, 7, 7)
    steps = base.steps + [
        StepRecord(
            5,
            6,
            p,
            p,
            p,
            {p: p, "image": src, "object": objs, "points": pts, "list": [p, 1, True]},
            None,
            0.1,
            [p],
            [p],
            err,
        ),
    ]
    return Trace(
        program,
        {"IMAGE": photo, p: src},
        steps,
        None,
        err,
        query=p,
        filename=p,
        device=p,
        started=p,
        seconds=1.0,
        generation=[
            {p: p, "task": p, "attempts": [{"program": p, "diagnostics": [p], "prompt": p}]},
            p,
        ],
        version=p,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def load(driver: Any, trace: Trace, path: Path, **options: Any) -> Path:
    """Write the page and load it, dropping logs from before the load."""
    write_html(trace, path, **options)
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    return path


def assert_clean(driver: Any, page: Path) -> None:
    """No console errors, and no request except the page itself and data: URIs."""
    assert console_errors(driver) == []
    others = [
        u for u in requests(driver) if not u.startswith("data:") and u != page.resolve().as_uri()
    ]
    assert others == []
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert [r for r in resources if not r.startswith("data:")] == []


def assert_not_blank(png: bytes) -> None:
    from PIL import Image as PILImage

    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
    assert pixels.std() > 20
    assert len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 500


@pytest.mark.parametrize("name", ["halves_trace", "objects_trace", "failed_trace", "pair_trace"])
def test_page_loads_clean_with_every_card(
    browser: Any, request: Any, tmp_path: Path, name: str
) -> None:
    trace: Trace = request.getfixturevalue(name)
    page = load(browser, trace, tmp_path / f"{name}.html")
    assert_clean(browser, page)
    n_statements = trace.program.count(" = ")
    assert (
        browser.execute_script("return document.querySelectorAll('li.step').length") == n_statements
    )
    shown = browser.execute_script(
        "return [...document.querySelectorAll('svg.pic use')].map(u => u.getBBox().width > 0)"
    )
    assert shown and all(shown)  # every referenced image really renders
    assert_not_blank(browser.get_screenshot_as_png())


def test_overlays_are_drawn_inside_their_images(
    browser: Any, objects_trace: Trace, tmp_path: Path
) -> None:
    page = load(browser, objects_trace, tmp_path / "objects.html")
    assert_clean(browser, page)
    counts = browser.execute_script(
        "const q = s => document.querySelectorAll(s).length;"
        "return [q('#step-0 .out g.obj'), q('#step-0 .out image.mask'), q('#step-0 .out circle.pt'),"
        " q('#step-2 .out g.point'), q('#step-0 .out tbody tr')]"
    )
    assert counts == [2, 2, 2, 2, 2]
    inside = browser.execute_script(
        "return [...document.querySelectorAll('#step-0 .out rect.box')].map(r => {"
        " const a = r.getBoundingClientRect(), b = r.ownerSVGElement.getBoundingClientRect();"
        " return a.width > 5 && a.left >= b.left - 2 && a.right <= b.right + 2; })"
    )
    assert inside == [True, True]


def test_failed_step_is_marked_and_later_steps_not_run(
    browser: Any, failed_trace: Trace, tmp_path: Path
) -> None:
    page = load(browser, failed_trace, tmp_path / "failed.html")
    assert_clean(browser, page)
    states = browser.execute_script(
        "return [...document.querySelectorAll('li.step .badge')].map(b => b.textContent)"
    )
    assert states == ["ok", "ok", "failed", "not run", "not run"]
    assert "Run failed" in browser.find_element("css selector", ".result").text


def test_payloads_in_every_field_do_not_run(browser: Any, photo: Image, tmp_path: Path) -> None:
    page = load(browser, payload_trace(photo), tmp_path / "payload.html")
    for button in browser.find_elements("css selector", "button.thumb")[:3]:
        button.click()
        browser.execute_script("document.getElementById('viewer').close()")
    for details in browser.find_elements("css selector", "details"):
        browser.execute_script("arguments[0].open = true", details)
    state = browser.execute_script(
        "return [window.__pwned === undefined, document.title,"
        " document.querySelectorAll('script').length,"
        " document.querySelectorAll('iframe,base,link,meta[http-equiv=refresh],#evil,math,"
        "[onerror],[onload],[ontoggle]').length,"
        " [...document.querySelectorAll('[href]')]"
        "   .filter(e => !/^(#|data:)/.test(e.getAttribute('href'))).length]"
    )
    assert state[0] is True
    assert state[1] == f"visprog · {PAYLOAD}"  # the query as text; a payload would set 'PWNED'
    assert state[2:] == [1, 0, 0]
    assert_clean(browser, page)
    text = browser.find_element("css selector", "body").text
    assert "<script>window.__pwned" in text  # shown as text, not run
    # a broken error trace with a payload is safe too
    load(browser, error_trace(photo, PAYLOAD), tmp_path / "err.html")
    assert browser.execute_script("return window.__pwned === undefined") is True


def test_keyboard_opens_and_closes_an_enlarged_image(
    browser: Any, halves_trace: Trace, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    load(browser, halves_trace, tmp_path / "keys.html")
    body = browser.find_element("css selector", "body")
    body.send_keys(Keys.TAB)  # the skip link comes first
    assert browser.execute_script("return document.activeElement.className") == "skip"
    button = browser.find_element("css selector", "#step-0 button.thumb")
    browser.execute_script("arguments[0].focus()", button)
    button.send_keys(Keys.ENTER)
    assert browser.execute_script("return document.getElementById('viewer').open") is True
    size = browser.execute_script(
        "return document.querySelector('#viewer svg.pic').getBoundingClientRect().width"
    )
    assert size > 300
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert browser.execute_script("return document.getElementById('viewer').open") is False
    assert browser.execute_script("return document.activeElement === arguments[0]", button) is True
    link = browser.find_element("css selector", "a.ln[href='#step-3']")
    browser.execute_script("arguments[0].focus()", link)
    link.send_keys(Keys.ENTER)
    assert browser.execute_script("return location.hash") == "#step-3"


def test_phone_width_and_dark_mode(browser: Any, objects_trace: Trace, tmp_path: Path) -> None:
    # Headless windows are at least 500 px wide: emulate the phone's viewport instead.
    phone = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    try:
        load(browser, objects_trace, tmp_path / "phone.html")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert browser.execute_script("return document.documentElement.clientWidth") == 390
        assert overflow <= 0
        light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        dark = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert light != dark
        channels = [int(c) for c in dark[dark.index("(") + 1 : -1].split(",")[:3]]
        assert max(channels) < 60
        assert_not_blank(browser.get_screenshot_as_png())
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
