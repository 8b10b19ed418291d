"""What the browser tests share: the window sizes people use, axe-core, screenshots.

Sizes: a desktop (1280×800), a phone (375×667, touch), and a desktop browser zoomed to 200 %
and 400 %. Zooming divides the window's CSS pixels by the zoom and multiplies the device
pixels per CSS pixel: 200 % of 1280×800 is 640×400 CSS px; 400 % of 1280×1024 is 320×256,
the size WCAG 2.1's reflow criterion (1.4.10) names. Screenshots keep the device pixels, so
they look as the person sees them.

axe-core (from npm, ``web/node_modules``) runs in each state the tests reach: any violation,
of any impact, fails the test, and the figures per state go to ``axe-figures.json`` beside
the screenshots in ``build/test-output/``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from playwright.sync_api import Browser, BrowserContext, Page

from apt_settings import ROOT

SCREENSHOTS = ROOT / "build" / "test-output"

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
IMPACTS = ("critical", "serious", "moderate", "minor")

SIZES: Dict[str, Dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1},
    "phone": {
        "viewport": {"width": 375, "height": 667},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "zoom200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
    "zoom400": {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
}


def context(browser: Browser, size: str = "desktop", **options: Any) -> BrowserContext:
    """A new browser context at ``size``, with axe-core loaded in every page. (As an init
    script: the pages' policy, script-src 'self', rightly refuses it as an inline script, and
    the pages are tested with their real policy.)"""
    made = browser.new_context(**{**SIZES[size], **options})
    made.add_init_script(path=str(AXE))
    return made


def shot(page: Page, name: str, full_page: bool = False) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def axe(page: Page, state: str) -> List[Dict[str, Any]]:
    """Run axe-core on the page; fails on any violation, of any impact."""
    violations: List[Dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
            }));
        }"""
    )
    figures = {impact: 0 for impact in IMPACTS}
    for violation in violations:
        figures[violation["impact"]] = figures.get(violation["impact"], 0) + 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report = SCREENSHOTS / "axe-figures.json"
    written = json.loads(report.read_text()) if report.exists() else {}
    report.write_text(json.dumps({**written, state: figures}, indent=1, sort_keys=True))
    assert violations == [], f"{state}: {json.dumps(violations, indent=1)}"
    return violations
