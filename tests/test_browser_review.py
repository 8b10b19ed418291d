"""The staff review workspace in a real (headless) Chromium: sign in, the list, a
transcript, the insights charts. Screenshots go to build/test-output/ for a person to check."""

from __future__ import annotations

import uuid
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, Page, expect

from review.accounts import create
from storage.database import engine_for
from tests.conftest import SCREENSHOTS, Stack

PASSWORD = "browser staff password"


@pytest.fixture(scope="module")
def conversations(stack: Stack) -> List[str]:
    """Three visitors' conversations, over the REST channel."""
    disclosure, country, odd = (f"browser-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("a", "b", "c"))
    stack.send(disclosure, "hello")
    stack.send(disclosure, "my son was tortured in detention, you can call me on +41 79 123 45 67")
    stack.send(country, "Do you work in Viet Nam?")
    stack.send(country, "and Uganda?")
    stack.send(country, "which countries do you work in in Central Asia?")
    stack.send(odd, '<img src=x onerror="alert(1)"> what is the weather?')
    return [disclosure, country, odd]


@pytest.fixture(scope="module")
def staff_page(browser: Browser, stack: Stack, conversations: List[str]) -> Iterator[Page]:
    create(engine_for(stack.database_url), "browser-staff", PASSWORD)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.errors.append(f"dialog {d.message}"), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(f"{stack.review_url}/conversations/")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("input[name=username]", "browser-staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Conversations")
    yield page
    context.close()


def test_conversation_list(staff_page: Page, conversations: List[str]) -> None:
    page = staff_page
    for sender in conversations:
        expect(page.locator(f'a[href="/conversations/{sender}/transcript"]')).to_have_count(1)
    row = page.locator("tr", has=page.locator(f'a[href="/conversations/{conversations[0]}/transcript"]'))
    expect(row.locator(".flag-disclosure")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "review-list.png"), full_page=True)


def test_transcript(staff_page: Page, conversations: List[str]) -> None:
    page = staff_page
    page.click(f'a[href="/conversations/{conversations[0]}/transcript"]')
    expect(page.locator(".notice")).to_contain_text("disclosed torture or detention")
    expect(page.locator(".transcript .user .text").nth(1)).to_have_text(
        "my son was tortured in detention, you can call me on [PHONE]"
    )
    expect(page.locator(".transcript .bot").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "review-transcript.png"), full_page=True)
    page.click("text=Mark as reviewed")
    expect(page.locator(".flash")).to_have_text("Marked as reviewed.")


def test_visitor_markup_is_shown_as_text(staff_page: Page, stack: Stack, conversations: List[str]) -> None:
    page = staff_page
    page.goto(f"{stack.review_url}/conversations/{conversations[2]}/transcript")
    expect(page.locator(".transcript .user .text").first).to_have_text(
        '<img src=x onerror="alert(1)"> what is the weather?'
    )
    expect(page.locator(".transcript img")).to_have_count(0)
    assert not [e for e in page.errors if e.startswith("dialog")]  # type: ignore[attr-defined]


def test_insights_charts(staff_page: Page, stack: Stack) -> None:
    page = staff_page
    page.goto(f"{stack.review_url}/insights/")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "true")
    for chart in ("chart-per-day", "chart-intents", "chart-countries"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, chart
    # Chart.js draws on the canvas: some of its pixels are no longer transparent.
    painted = page.evaluate(
        """() => { const c = document.getElementById('chart-intents');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 1000
    expect(page.locator("#fig-disclosures")).not_to_have_text("0")
    page.screenshot(path=str(SCREENSHOTS / "review-insights.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
