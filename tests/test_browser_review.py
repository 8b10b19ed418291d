"""The staff review workspace in a real (headless) Chromium, served on its own over a seeded
database (no model, no Rasa server: the conversations are written by the real tracker store):
sign in, the list, a transcript, the inbox walked from a missed message to its correction and
back with Undo, the insights charts, keyboard use, and axe-core (from npm, web/node_modules)
on every page: no critical or serious violation. Screenshots go to build/test-output/ (and
the inbox walk's to the test's temporary folder) for a person to check."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from review import create_app
from review.accounts import create
from storage.database import engine_for
from storage.migrate import upgrade
from tests.conftest import SCREENSHOTS, free_port
from tests.test_browser import AXE
from tests.test_inbox import VOLUNTEER, VOLUNTEER_AGAIN, seed_misses
from tests.test_review_app import seed

PASSWORD = "browser staff password"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workspace on a free port, over a database with the conversations of the app tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('workspace') / 'apt.db'}"
    upgrade(engine_for(url))
    seed(url)
    seed_misses(url)
    create(engine_for(url), "browser-staff", PASSWORD)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser test", "SESSION_COOKIE_SECURE": False})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def staff_page(workspace: str, browser: Browser) -> Iterator[Page]:
    """Signed in. The workspace first: its seeding runs asyncio, which Playwright's loop forbids."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    # axe-core as an init script: the workspace's policy (script-src 'self') rightly refuses it
    # as an inline script, and the pages are tested with their real policy.
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.errors.append(f"dialog {d.message}"), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(f"{workspace}/conversations/")
    expect(page.locator("h1")).to_have_text("Sign in")
    axe(page, "workspace: sign in")
    page.fill("input[name=username]", "browser-staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Conversations")
    yield page
    context.close()


def axe(page: Page, state: str) -> List[Dict[str, Any]]:
    """axe-core's violations on the page; fails on any critical or serious one."""
    violations: List[Dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
            }));
        }"""
    )
    serious = [v for v in violations if v["impact"] in ("critical", "serious")]
    assert serious == [], f"{state}: {serious}"
    return violations


def no_errors(page: Page) -> None:
    """No script error and no refused inline script (the policy is script-src 'self')."""
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_conversation_list(staff_page: Page, workspace: str) -> None:
    page = staff_page
    page.goto(f"{workspace}/conversations/")
    for sender in ("c-disclosure", "c-fallback", "m-none"):
        expect(page.locator(f'a[href="/conversations/{sender}/transcript"]')).to_have_count(1)
    row = page.locator("tr", has=page.locator('a[href="/conversations/c-disclosure/transcript"]'))
    expect(row.locator(".flag-disclosure")).to_be_visible()
    expect(page.locator('a[href="/conversations/m-none/transcript"]')).to_have_text(VOLUNTEER)
    page.screenshot(path=str(SCREENSHOTS / "review-list.png"), full_page=True)
    no_errors(page)


def test_transcript(staff_page: Page, workspace: str) -> None:
    page = staff_page
    page.goto(f"{workspace}/conversations/")
    page.click('a[href="/conversations/c-disclosure/transcript"]')
    expect(page.locator(".notice")).to_contain_text("disclosed torture or detention")
    expect(page.locator(".transcript .user .text").first).to_have_text(
        "my brother is detained and was beaten, call me on [PHONE]"
    )
    page.screenshot(path=str(SCREENSHOTS / "review-transcript.png"), full_page=True)
    page.click("text=Mark as reviewed")
    expect(page.locator(".flash")).to_have_text("Marked as reviewed.")
    page.click("#next-unreviewed")
    expect(page.locator("h1")).to_have_text("Transcript")
    assert "/c-disclosure/" not in page.url


def test_visitor_markup_is_shown_as_text(staff_page: Page, workspace: str) -> None:
    page = staff_page
    page.goto(f"{workspace}/conversations/c-funding/transcript")
    expect(page.locator(".transcript .user .text").nth(1)).to_have_text("<script>alert('x')</script>")
    expect(page.locator(".transcript script")).to_have_count(0)
    expect(page.locator(".transcript .source")).to_have_text("Source: FAQ: Can the APT fund our project?")
    no_errors(page)


def test_the_inbox_walk_from_a_miss_to_its_correction_and_back(
    staff_page: Page, workspace: str, tmp_path: Path
) -> None:
    page = staff_page
    page.goto(f"{workspace}/inbox/")
    group = page.locator("li.miss", has=page.locator("h2", has_text=VOLUNTEER_AGAIN))
    expect(group.locator("h2 .count")).to_have_text("×2")
    expect(group.locator(".variants")).to_contain_text(VOLUNTEER)
    page.screenshot(path=str(tmp_path / "1-inbox.png"), full_page=True)

    # No preset: "Assign…" without a choice is stopped by the browser (the field is required).
    assign = group.get_by_role("button", name="Assign…")
    assign.click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    assert group.locator("select").evaluate("s => !s.checkValidity()")

    # By keyboard: the choice, then the button; the guesses come first.
    select = group.locator("select")
    select.focus()
    assert select.locator("optgroup").first.get_attribute("label") == "The model's guesses"
    select.select_option("ask_partners")
    assign.focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Confirm: assign the intent")
    expect(page.locator("#what")).to_contain_text("Correct 2 messages to the intent ask_partners")
    axe(page, "workspace: confirmation")
    page.screenshot(path=str(tmp_path / "2-confirm.png"), full_page=True)
    expect(page.get_by_role("button", name="Confirm")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(".flash")).to_contain_text("Corrected to ask_partners: 2 messages.")
    expect(page.locator("li.miss h2", has_text=VOLUNTEER_AGAIN)).to_have_count(0)
    page.screenshot(path=str(tmp_path / "3-corrected.png"), full_page=True)
    page.locator(".flash").get_by_role("button", name="Undo").click()
    expect(page.locator(".flash")).to_have_text("Undone.")
    expect(page.locator("li.miss h2", has_text=VOLUNTEER_AGAIN)).to_have_count(1)
    page.screenshot(path=str(tmp_path / "4-undone.png"), full_page=True)
    for name in ("1-inbox", "2-confirm", "3-corrected", "4-undone"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
    no_errors(page)


def test_the_keyboard_reaches_the_content_first(staff_page: Page, workspace: str) -> None:
    page = staff_page
    page.goto(f"{workspace}/inbox/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_insights_charts_start_at_zero_and_carry_their_figures(staff_page: Page, workspace: str) -> None:
    page = staff_page
    page.goto(f"{workspace}/insights/")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "true")
    charts = page.locator("canvas").evaluate_all("cs => cs.map(c => c.id)")
    assert len(charts) == 8
    for chart in charts:
        box = page.locator(f"#{chart}").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, chart
        axis = page.evaluate(
            """id => { const c = Chart.getChart(id);
                       return (c.options.indexAxis === "y" ? c.scales.x : c.scales.y).min; }""",
            chart,
        )
        assert axis == 0, f"{chart}: the value axis starts at {axis}"
    painted = page.evaluate(
        """() => { const c = document.getElementById('chart-per-day');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 1000
    expect(page.locator("table.visually-hidden")).to_have_count(len(charts))
    expect(page.locator("#fig-disclosures")).not_to_have_text("0")
    page.screenshot(path=str(SCREENSHOTS / "review-insights.png"), full_page=True)
    no_errors(page)


@pytest.mark.parametrize(
    "path",
    [
        "/inbox/",
        "/inbox/?language=fr&reason=low&below=0.5",
        "/conversations/",
        "/conversations/?flag=fallback&conf_max=0.5&traffic=visitors",
        "/conversations/c-fallback/transcript",
        "/conversations/m-chose/transcript",
        "/insights/",
        "/improve/",
        "/enquiries/",
        "/retrain/",
    ],
)
def test_axe_finds_no_serious_violation(staff_page: Page, workspace: str, path: str) -> None:
    page = staff_page
    page.goto(f"{workspace}{path}")
    if path.startswith("/insights/"):
        expect(page.locator("body")).to_have_attribute("data-charts-drawn", "true")
    axe(page, f"workspace: {path}")
    no_errors(page)


def test_pages_show_one_time_format(staff_page: Page, workspace: str) -> None:
    page = staff_page
    shown: List[str] = []
    for path in ("/inbox/", "/conversations/", "/conversations/m-french/transcript", "/enquiries/"):
        page.goto(f"{workspace}{path}")
        shown += re.findall(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?\S*", page.locator("main").inner_text())
    assert shown and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", s) for s in shown), shown
    assert time.strftime("%Y-%m-%d", time.gmtime()) in " ".join(shown)
