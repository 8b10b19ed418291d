"""The staff review workspace in a real (headless) Chromium, served on its own over a seeded
database (no model, no Rasa server: the conversations are written by the real tracker store):
sign in, the list, a transcript with the buttons visitors chose, the inbox walked from a
missed message to its correction and back with Undo, recent decisions undone after leaving
the page, a correction removed and put back, the insights charts (every bar labelled, never
wider than the window), keyboard use; every page at desktop, phone, 200 % and 400 % zoom
with axe-core (from npm, web/node_modules): no violation of any impact. Screenshots go to
build/test-output/ (and the inbox walk's to the test's temporary folder) for a person to
check."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, Page, expect
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet
from werkzeug.serving import make_server

from review import create_app
from review.accounts import create
from storage.database import engine_for
from storage.migrate import upgrade
from storage.tracker_store import RedactingSQLTrackerStore
from tests.browser.browsing import AXE, SCREENSHOTS, SIZES, context, shot
from tests.browser.browsing import axe as axe_checked
from tests.support.stacks import free_port
from tests.unit.review.test_inbox import (
    BENIN,
    SAME_TEXT,
    VOLUNTEER,
    VOLUNTEER_AGAIN,
    seed_misses,
    seed_same_text,
)
from tests.unit.review.test_review_app import guessed, seed
from tests.unit.storage.test_tracker_store import DOMAIN, save

PASSWORD = "browser staff password"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workspace on a free port, over a database with the conversations of the app tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('workspace') / 'apt.db'}"
    upgrade(engine_for(url))
    seed(url)
    seed_misses(url)
    seed_same_text(url)
    seed_busy(url)
    create(engine_for(url), "browser-staff", PASSWORD)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser test", "SESSION_COOKIE_SECURE": False})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


# More than a chart's worth of intents, countries and missed questions (15 bars each), one of
# them a long message: what made the insights page 2,048 px wide in a 1,366 px window.
INTENTS = [
    "ask_about_apt", "ask_vision", "ask_objectives", "ask_activities", "ask_budget", "ask_address",
    "ask_contacts", "ask_opcat", "ask_cinat", "ask_partners", "ask_funding", "ask_victims_help",
    "ask_why_not_denounce", "ask_individual_cases", "ask_country_selection", "ask_partner_selection",
]  # fmt: skip
COUNTRIES = ["Kenya", "Peru", "Nepal", "Chile", "Ghana", "Tunisia", "Mexico", "Brazil", "India", "Togo",
             "Mali", "Chad", "Niger", "Benin", "Senegal", "Morocco"]  # fmt: skip
LONG_QUESTION = (
    "I would like to know, in detail and with every reference you have, whether the association "
    "has ever worked with prison administrations on the question of solitary confinement and how "
    "the recommendations of national preventive mechanisms were followed up in each case over the years"
)


MISSED = [
    "blue whales", "is it raining in geneva", "my printer is broken", "recipe for fondue",
    "who won the match yesterday", "train times to bern", "cheapest flights", "how tall is mont blanc",
    "translate hello into german", "best pizza nearby", "what is 2 plus 2", "tell me a joke",
    "lottery numbers please", "weather tomorrow", "song lyrics",
]  # fmt: skip


def seed_busy(url: str) -> None:
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url)
    now = time.time()
    for n, (intent, country) in enumerate(zip(INTENTS, COUNTRIES, strict=True)):
        at = now - 3600 - n * 60
        missed = LONG_QUESTION if n == 0 else MISSED[n - 1]
        save(
            store,
            f"busy-{n}",
            [
                SessionStarted(timestamp=at),
                ActionExecuted("action_listen"),
                guessed(f"a question about {intent}", [(intent, 0.95)], at=at, fell_back=False),
                SlotSet("country", country, timestamp=at),
                BotUttered("An answer.", metadata={"answer_id": f"busy-{n}"}, timestamp=at + 1),
                ActionExecuted("action_listen"),
                guessed(missed, [(intent, 0.3)], at=at + 2),
                BotUttered("Sorry ...", timestamp=at + 3),
            ],
        )
    store.close()


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
    """axe-core on the page: no violation of any impact (tests/browser/browsing.py)."""
    return axe_checked(page, state)


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
    expect(page.locator(".flash")).to_have_text("Undone: Corrected to ask_partners: 2 messages.")
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
    expect(page.locator(".visually-hidden > table")).to_have_count(len(charts))
    expect(page.locator("#fig-disclosures")).not_to_have_text("0")
    page.screenshot(path=str(SCREENSHOTS / "review-insights.png"), full_page=True)
    no_errors(page)


PAGES = [
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
]
WIDE = {"viewport": {"width": 1366, "height": 768}}


def signed_in(browser: Browser, workspace: str, size: str, **options: Any) -> Page:
    """A new page at ``size`` (tests/browser/browsing.py), signed in, with script errors collected."""
    page = context(browser, size, **options).new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(f"{workspace}/login")
    page.fill("input[name=username]", "browser-staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Conversations")
    return page


def sideways(page: Page) -> int:
    """How far the page scrolls sideways (CSS px): 0 when it reflows."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - innerWidth"))


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_at_every_size_reflows_and_has_no_axe_violation(
    workspace: str, browser: Browser, size: str
) -> None:
    """WCAG 2.1's reflow: the page never scrolls sideways (a wide table scrolls in a box of
    its own, which the keyboard can reach)."""
    page = signed_in(browser, workspace, size)
    for path in PAGES:
        page.goto(f"{workspace}{path}")
        if path.startswith("/insights/"):
            expect(page.locator("body")).to_have_attribute("data-charts-drawn", "true")
        name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0]).strip("-") + (
            "-filtered" if "?" in path else ""
        )
        shot(page, f"review-{size}-{name}", full_page=size != "zoom400")  # 4 device px per CSS px
        assert sideways(page) <= 1, f"{size} {path}: {sideways(page)} px sideways"
        axe(page, f"workspace {size}: {path}")
    no_errors(page)
    page.context.close()


def test_insights_at_1366_px_never_scroll_sideways_and_every_bar_is_labelled(
    workspace: str, browser: Browser
) -> None:
    page = context(browser, "desktop", **WIDE).new_page()
    page.goto(f"{workspace}/login")
    page.fill("input[name=username]", "browser-staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{workspace}/insights/")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "true")
    assert sideways(page) == 0, f"{sideways(page)} px sideways"
    for chart in ("chart-missed", "chart-intents", "chart-countries", "chart-feedback", "chart-funnel"):
        bars, labels = page.evaluate(
            """id => { const c = Chart.getChart(id);
                       return [c.data.labels.length, c.scales.y.ticks.length]; }""",
            chart,
        )
        assert bars >= 4 and labels == bars, f"{chart}: {labels} labels for {bars} bars"
    assert page.evaluate("() => Chart.getChart('chart-missed').data.labels.length") == 15
    assert page.evaluate("() => Chart.getChart('chart-countries').data.labels.length") == 15
    shot(page, "review-insights-1366", full_page=True)
    axe(page, "workspace 1366: /insights/")
    page.context.close()


def test_a_transcript_shows_the_buttons_visitors_chose_by_their_titles(
    workspace: str, browser: Browser
) -> None:
    page = signed_in(browser, workspace, "desktop")
    page.goto(f"{workspace}/conversations/m-chose/transcript")
    chose = page.locator(".transcript .user .clicked")
    expect(chose).to_have_text("Chose “About the APT” (payload /ask_about_apt)")
    expect(chose.locator(".button-title")).to_have_attribute("title", "Payload: /ask_about_apt")
    chose.locator(".button-title").hover()
    shot(page, "review-transcript-chosen-button")
    axe(page, "workspace: a transcript with a chosen button")
    page.context.close()


def test_recent_decisions_keep_their_undo_after_leaving_the_page(workspace: str, browser: Browser) -> None:
    page = signed_in(browser, workspace, "desktop")
    page.goto(f"{workspace}/inbox/")
    group = page.locator("li.miss", has=page.locator("h2", has_text=BENIN))
    group.locator("select").select_option("ask_country_engagement")
    group.get_by_role("button", name="Assign…").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".flash")).to_contain_text("Corrected to ask_country_engagement: 1 message.")
    page.goto(f"{workspace}/conversations/")  # away: the message with Undo is gone
    page.goto(f"{workspace}/insights/")
    page.goto(f"{workspace}/inbox/")
    expect(page.locator(".flash")).to_have_count(0)
    recent = page.get_by_role("region", name="Your recent decisions")
    entry = recent.locator("li", has_text="Corrected to ask_country_engagement: 1 message")
    expect(entry).to_contain_text(BENIN)
    expect(page.locator("li.miss h2", has_text=BENIN)).to_have_count(0)
    shot(page, "review-recent-decisions", full_page=True)
    axe(page, "workspace: recent decisions")
    entry.get_by_role("button", name=re.compile("^Undo: Corrected to ask_country_engagement")).click()
    expect(page.locator(".flash")).to_have_text("Undone: Corrected to ask_country_engagement: 1 message.")
    expect(page.locator("li.miss h2", has_text=BENIN)).to_have_count(1)
    expect(recent.locator("li", has_text="Corrected to ask_country_engagement")).to_have_count(0)
    no_errors(page)
    page.context.close()


def test_removing_a_correction_is_confirmed_and_undone(workspace: str, browser: Browser) -> None:
    page = signed_in(browser, workspace, "phone")
    page.goto(f"{workspace}/inbox/")
    group = page.locator("li.miss", has=page.locator("h2", has_text=SAME_TEXT))
    expect(group.locator(".lang")).to_have_text(["en", "fr"])  # one group for both languages
    group.locator("select").select_option("ask_address")
    group.get_by_role("button", name="Assign…").click()
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{workspace}/improve/")
    rows = page.locator("tbody tr", has_text=SAME_TEXT)
    expect(rows).to_have_count(2)
    rows.first.get_by_role("button", name=re.compile("^Remove the correction")).click()
    expect(page.locator("h1")).to_have_text("Confirm: remove a correction")
    shot(page, "review-phone-remove-confirm", full_page=True)
    axe(page, "workspace phone: confirm a removal")
    page.get_by_role("button", name="Remove").click()
    expect(page.locator(".flash")).to_contain_text("Removed a correction to ask_address.")
    expect(rows).to_have_count(1)
    shot(page, "review-phone-removed", full_page=True)
    page.locator(".flash").get_by_role("button", name="Undo").click()
    expect(page.locator(".flash")).to_have_text("Undone: Removed a correction to ask_address.")
    expect(page).to_have_url(re.compile(r"/improve/"))
    expect(rows).to_have_count(2)
    assert sideways(page) <= 1
    no_errors(page)
    page.context.close()


def test_pages_show_one_time_format(staff_page: Page, workspace: str) -> None:
    page = staff_page
    shown: List[str] = []
    for path in ("/inbox/", "/conversations/", "/conversations/m-french/transcript", "/enquiries/"):
        page.goto(f"{workspace}{path}")
        shown += re.findall(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?\S*", page.locator("main").inner_text())
    assert shown and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", s) for s in shown), shown
    assert time.strftime("%Y-%m-%d", time.gmtime()) in " ".join(shown)
