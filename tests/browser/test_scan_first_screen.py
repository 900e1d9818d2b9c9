"""The scan page's first phone screen answers (issue 15): for a released, a held and a
recalled batch of the demo, at 390×844 in Chromium, the status panel, the production date
and the test verdict lie inside the first 844 px, and nothing is wider than the phone (at
390 px and at 320 px), in Chinese and in English.

Served as tests/browser/test_portal_browser.py serves the demo (its fixtures are reused);
screenshots of the first screen and of the whole page are saved under $YIPIN_SCREENSHOTS.
"""

from __future__ import annotations

import pytest

from tests.browser.test_portal_browser import (  # noqa: F401  (fixtures)
    PHONE,
    SCREENSHOTS,
    Watch,
    browser_database,
    chromium,
    go,
    pytestmark,
    site,
)

NARROW = {"width": 320, "height": 640}
STATES = {
    "released": ("已放行", "Released", "tone-ok"),
    "held": ("已暂控", "On hold", "tone-caution"),
    "recalled": ("已召回", "Recalled", "tone-danger"),
}


def box_within_first_screen(page, selector: str) -> dict:
    """The element's bounding box (page coordinates); it must end above 844 px."""
    element = page.locator(selector)
    assert element.count() == 1, selector
    assert element.is_visible(), selector
    box = page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return {top: r.top + scrollY, bottom: r.bottom + scrollY,
                          left: r.left, right: r.right}; }""",
        selector,
    )
    assert box["top"] >= 0 and box["bottom"] <= PHONE["height"], (selector, box)
    assert box["left"] >= 0 and box["right"] <= PHONE["width"], (selector, box)
    return box


def no_horizontal_overflow(page, width: int) -> None:
    """Nothing wider than the viewport: the page does not scroll sideways."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"page is {scroll}px wide at {width}px"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_the_first_screen_answers(site, chromium, state, lang):  # noqa: F811 (fixtures)
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    watch = Watch(site)
    context.on("page", watch.attach)
    page = context.new_page()
    try:
        go(page, watch, f"{site.scan_url(state)}?lang={lang}", f"scan of a {state} batch")
        zh, en, tone = STATES[state]
        panel = box_within_first_screen(page, ".status-panel")
        produced = box_within_first_screen(page, ".status-panel .produced-on")
        verdict = box_within_first_screen(page, ".status-panel .test-verdict")
        assert panel["top"] <= produced["top"] < verdict["top"] <= panel["bottom"]
        assert tone in page.locator(".status-panel").get_attribute("class")
        word = page.locator(".status-word").inner_text()
        assert (en if lang == "en" else zh) in word
        # the product's name is larger than any section heading
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('h1, h2')].map(
                 h => [h.tagName, parseFloat(getComputedStyle(h).fontSize)])"""
        )
        h1 = [size for tag, size in sizes if tag == "H1"]
        assert len(h1) == 1 and all(h1[0] > size for tag, size in sizes if tag == "H2")
        assert page.locator(".status-panel h1").is_visible()
        no_horizontal_overflow(page, PHONE["width"])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = f"scan-first-screen-{state}-{lang}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"))
        page.screenshot(path=str(SCREENSHOTS / f"{name}-390-full.png"), full_page=True)

        page.set_viewport_size(NARROW)
        no_horizontal_overflow(page, NARROW["width"])
        page.screenshot(path=str(SCREENSHOTS / f"{name}-320.png"))
        watch.check(f"{state} in {lang}")
    finally:
        context.close()
