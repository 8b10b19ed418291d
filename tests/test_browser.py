"""The chat widget on the demo page, in a real (headless) Chromium driven by Playwright.

Each test saves a screenshot under build/test-output/ for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import requests
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from playwright.sync_api import Error as PlaywrightError

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


def test_a_socket_url_in_the_page_address_is_ignored(browser: Browser, stack: Stack) -> None:
    """A crafted link must not connect the widget to another "APT assistant": the page names
    its Rasa server itself, and the widget reads nothing from the page's address."""
    context = browser.new_context()
    page = context.new_page()
    sockets: List[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{stack.web_url}?socketUrl=http://127.0.0.1:1/")
    open_widget(page)
    send(page, "Do you work in Kenya?")
    expect(page.locator(".rw-response", has_text="Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    context.close()
    assert [url.split("?")[0] for url in sockets] == [stack.url.replace("http", "ws") + "/socket.io/"]


def test_the_page_policy_stops_inline_script(page: Page) -> None:
    page.evaluate(
        """() => {
            window.violations = [];
            document.addEventListener(
                "securitypolicyviolation", event => window.violations.push(event.violatedDirective)
            );
        }"""
    )
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        page.add_script_tag(content="window.inlineScriptRan = true;")
    injected = '<img src="x" onerror="window.handlerRan = true">'
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", injected)
    page.wait_for_function("() => window.violations.filter(d => d.startsWith('script-src')).length >= 2")
    assert page.evaluate("window.inlineScriptRan") is None
    assert page.evaluate("window.handlerRan") is None
    assert page.dialogs == []  # type: ignore[attr-defined]


# A message the assistant never sends (its replies are fixed texts and never repeat what a visitor
# typed), with the links a hostile bot could send.
HOSTILE_MESSAGE = (
    "Read [our page](https://www.apt.ch/en) or [write to us](mailto:info@apt.ch), "
    "but not [link one](javascript:alert(document.domain)), [link two](JaVaScRiPt:alert(2)) "
    "or [link three](data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==)."
)


def fake_bot(socket: WebSocketRoute) -> None:
    """The Rasa server's side of the widget's socket.io connection, just enough of it: the
    Engine.IO open packet, the namespace connection, the session and, for every message the
    widget sends, HOSTILE_MESSAGE as a `bot_uttered` event."""

    def on_message(packet: Any) -> None:
        if packet == "40":  # connect to the default namespace
            socket.send('40{"sid": "test"}')
        elif isinstance(packet, str) and packet.startswith("42"):
            event, data = json.loads(packet[2:])
            if event == "session_request":
                session_id = data.get("session_id") or "test-session"
                socket.send("42" + json.dumps(["session_confirm", session_id]))
            elif event == "user_uttered":
                socket.send("42" + json.dumps(["bot_uttered", {"text": HOSTILE_MESSAGE}]))

    socket.on_message(on_message)
    opening = {
        "sid": "test",
        "upgrades": [],
        "pingInterval": 600000,
        "pingTimeout": 600000,
        "maxPayload": 1000000,
    }
    socket.send("0" + json.dumps(opening))


def test_links_in_bot_messages_other_than_web_and_email_are_not_clickable(
    browser: Browser, stack: Stack
) -> None:
    """The real page, its policy, rasa-webchat and widget.js, served by the stack; only the
    bot is a stand-in. The assistant cannot be made to send such a link (it never echoes what
    a visitor types), so Playwright answers the widget's WebSocket in the browser itself
    (`fake_bot`) and sends a Markdown message with `javascript:` and `data:` links, which
    rasa-webchat renders as links with those addresses."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    dialogs: List[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route_web_socket("**/socket.io/**", fake_bot)
    page.goto(stack.web_url)
    page.locator(".rw-launcher").click()
    message = page.locator(".rw-response", has_text="Read our page")
    expect(message).to_be_visible(timeout=REPLY_TIMEOUT)

    web, mail = message.locator("a", has_text="our page"), message.locator("a", has_text="write to us")
    expect(web).to_have_attribute("href", "https://www.apt.ch/en")
    expect(web).to_have_attribute("rel", "noopener noreferrer")
    expect(web).to_have_attribute("target", "_blank")
    expect(mail).to_have_attribute("href", "mailto:info@apt.ch")
    expect(mail).to_have_attribute("rel", "noopener noreferrer")
    for name in ("link one", "link two", "link three"):
        link = message.locator("a", has_text=name)
        expect(link).to_have_count(1)
        assert link.get_attribute("href") is None, name
        link.click()
    schemes = message.evaluate("node => Array.from(node.querySelectorAll('a[href]'), a => a.protocol)")
    assert sorted(schemes) == ["https:", "mailto:"]

    # An address set again later is checked again.
    relinked = message.locator("a", has_text="link one").element_handle()
    relinked.evaluate("a => a.setAttribute('href', 'javascript:alert(4)')")
    page.wait_for_function("a => !a.hasAttribute('href')", arg=relinked)
    page.wait_for_timeout(500)
    assert dialogs == [] and page.url == stack.web_url and len(context.pages) == 1
    shot(page, "widget-hostile-links")
    context.close()


def test_socket_refuses_origins_that_are_not_allowed(stack: Stack) -> None:
    handshake = f"{stack.url}/socket.io/?EIO=4&transport=polling"
    allowed_origin = stack.web_url.rstrip("/")
    assert requests.get(handshake, headers={"Origin": allowed_origin}, timeout=10).status_code == 200
    assert requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10).status_code == 400


def test_screenshots_folder_is_outside_version_control() -> None:
    assert "build/" in (ROOT / ".gitignore").read_text().split()
    assert Path(SCREENSHOTS).is_relative_to(ROOT / "build")
