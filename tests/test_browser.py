"""The chat widget on the demo page, in a real (headless) Chromium driven by Playwright.

Each test saves a screenshot under build/test-output/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT, SCREENSHOTS, Stack

REPLY_TIMEOUT = 15_000


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    page.goto(stack.web_url)
    yield page
    context.close()


def open_widget(page: Page) -> None:
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-response").first).to_contain_text(
        "assistant of the Association", timeout=REPLY_TIMEOUT
    )


def send(page: Page, text: str) -> None:
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(800)  # let the widget's opening animation finish
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_launcher_opens_the_widget_with_the_welcome_and_faq_buttons(page: Page) -> None:
    expect(page.locator(".rw-launcher")).to_have_attribute("aria-label", "Open the APT assistant")
    open_widget(page)
    replies = page.locator(".rw-reply")
    expect(replies).to_have_count(6, timeout=REPLY_TIMEOUT)
    expect(replies.last).to_have_text("Can my organisation get funding?")
    expect(page.locator(".rw-response").first).to_contain_text("Please do not share personal details")
    shot(page, "widget-welcome")


def test_funding_quick_reply_shows_the_not_a_donor_answer(page: Page) -> None:
    open_widget(page)
    page.locator(".rw-reply", has_text="Can my organisation get funding?").click()
    expect(page.locator(".rw-response", has_text="not a donor")).to_be_visible(timeout=REPLY_TIMEOUT)
    shot(page, "widget-funding")


def test_typed_country_question_is_answered(page: Page) -> None:
    open_widget(page)
    send(page, "Do you work in Viet Nam?")
    expect(page.locator(".rw-response", has_text="Viet Nam is among the countries")).to_be_visible(
        timeout=REPLY_TIMEOUT
    )
    shot(page, "widget-country")


def test_history_survives_a_reload(page: Page) -> None:
    open_widget(page)
    send(page, "what is the OPCAT?")
    expect(page.locator(".rw-response", has_text="first global system")).to_be_visible(timeout=REPLY_TIMEOUT)
    page.reload()
    page.wait_for_selector(".rw-widget-container")
    if not page.locator(".rw-conversation-container").is_visible():  # the widget remembers it was open
        page.locator(".rw-launcher").click()
    expect(page.locator(".rw-client", has_text="what is the OPCAT?")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(page.locator(".rw-response", has_text="first global system")).to_be_visible()
    shot(page, "widget-after-reload")


def test_markup_typed_by_a_visitor_is_shown_as_text_and_never_run(page: Page) -> None:
    open_widget(page)
    attack = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    send(page, attack)
    expect(page.locator(".rw-client").last).to_contain_text(
        "<img src=x onerror=alert(1)>", timeout=REPLY_TIMEOUT
    )
    expect(page.locator(".rw-response").nth(1)).to_be_visible(timeout=REPLY_TIMEOUT)
    assert page.locator(".rw-messages-container img[src='x']").count() == 0
    assert page.locator(".rw-messages-container script").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "widget-markup-as-text")


def test_phone_sized_viewport_shows_a_usable_widget(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(stack.web_url)
    open_widget(page)
    send(page, "where do you work?")
    expect(page.locator(".rw-response", has_text="79 countries")).to_be_visible(timeout=REPLY_TIMEOUT)
    box = page.locator(".rw-widget-container").bounding_box()
    assert box is not None and box["width"] <= 375
    shot(page, "widget-phone")
    context.close()


def test_widget_can_be_used_with_the_keyboard_alone(page: Page) -> None:
    launcher = page.locator(".rw-launcher")
    for _ in range(10):  # Tab until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("element => element === document.activeElement"):
            break
    assert launcher.evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")
    expect(page.locator(".rw-response").first).to_be_visible(timeout=REPLY_TIMEOUT)
    page.locator(".rw-new-message").focus()
    page.keyboard.type("how many countries in Africa?")
    page.keyboard.press("Enter")
    expect(page.locator(".rw-response", has_text="30 countries in Africa")).to_be_visible(
        timeout=REPLY_TIMEOUT
    )
    shot(page, "widget-keyboard")


def test_widget_talks_over_one_websocket_without_long_polling(browser: Browser, stack: Stack) -> None:
    """Several Rasa processes share the port: polling requests could reach the wrong one."""
    context = browser.new_context()
    page = context.new_page()
    sockets: List[str] = []
    requests_sent: List[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("request", lambda request: requests_sent.append(request.url))
    page.goto(stack.web_url)
    open_widget(page)
    send(page, "Do you work in Kenya?")
    expect(page.locator(".rw-response", has_text="Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    context.close()
    assert [url for url in requests_sent if "transport=polling" in url] == []
    assert [url.split("?")[0] for url in sockets] == [stack.url.replace("http", "ws") + "/socket.io/"]


def test_socket_refuses_origins_that_are_not_allowed(stack: Stack) -> None:
    handshake = f"{stack.url}/socket.io/?EIO=4&transport=polling"
    allowed_origin = stack.web_url.split("/?")[0]
    assert requests.get(handshake, headers={"Origin": allowed_origin}, timeout=10).status_code == 200
    assert requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10).status_code == 400


def test_screenshots_folder_is_outside_version_control() -> None:
    assert "build/" in (ROOT / ".gitignore").read_text().split()
    assert Path(SCREENSHOTS).is_relative_to(ROOT / "build")
