"""The chat widget on the demo page, in a real (headless) Chromium driven by Playwright.

The widget is our own (web/src/chat.js, docs/widget.md). These tests use it as visitors do:
with the mouse, with the keyboard alone, on a phone-sized screen, in French, offline and with
slow answers; axe-core (from npm, web/node_modules) checks each state: no violation of any
impact. Each test saves screenshots under build/test-output/ for a person to look at. The
window at every size (desktop, phone, 200 % and 400 % zoom) is in test_browser_layout.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import requests
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from playwright.sync_api import Error as PlaywrightError

from apt_settings import ROOT
from tests.browser.browsing import SCREENSHOTS, axe, context, shot
from tests.support.databases import stored_events
from tests.support.stacks import Stack

REPLY_TIMEOUT = 20_000
GREETING = "assistant of the Association"
BOT = ".apt-chat-bot"
USER = ".apt-chat-user"
REPLY = ".apt-chat-reply"


def new_page(browser: Browser, stack: Stack, size: str = "desktop", **context_options: Any) -> Page:
    page = context(browser, size, **context_options).new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    return page


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    page = new_page(browser, stack)
    page.goto(stack.web_url)
    yield page
    page.context.close()


def launcher(page: Page) -> Any:
    return page.locator(".apt-chat-launcher")


def open_widget(page: Page) -> None:
    launcher(page).click()
    expect(page.locator(BOT).first).to_contain_text(GREETING, timeout=REPLY_TIMEOUT)


def send(page: Page, text: str) -> None:
    box = page.locator(".apt-chat-input")
    box.fill(text)
    box.press("Enter")


def last_bot_text(page: Page, text: str) -> Any:
    return page.locator(BOT, has_text=text)


def token(page: Page) -> str:
    return str(page.evaluate("JSON.parse(sessionStorage.getItem('apt_chat')).token"))


def in_view(page: Page, locator: Any) -> bool:
    """The element's top is inside the message pane's visible part."""
    return bool(
        locator.evaluate(
            """node => {
                const pane = node.closest('.apt-chat-log').getBoundingClientRect();
                const box = node.getBoundingClientRect();
                return box.top >= pane.top - 1 && box.top < pane.bottom - 20;
            }"""
        )
    )


# -- what a visitor sees ---------------------------------------------------------------------


def test_closed_page_and_greeting_are_accessible_and_the_greeting_is_in_view(page: Page) -> None:
    expect(launcher(page)).to_have_accessible_name("Ask the APT assistant")
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    axe(page, "closed page")
    open_widget(page)
    dialog = page.get_by_role("dialog", name="APT assistant")
    expect(dialog).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    replies = page.locator(REPLY)
    expect(replies).to_have_count(6, timeout=REPLY_TIMEOUT)
    expect(replies.last).to_have_text("Can my organisation get funding?")
    greeting = page.locator(BOT).first
    expect(greeting).to_contain_text("Please do not share personal details")
    assert in_view(page, greeting)
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="Clear conversation")).to_be_visible()
    expect(page.get_by_role("button", name="Main questions")).to_be_visible()
    expect(page.get_by_label("Language")).to_have_value("en")
    shot(page, "widget-welcome")
    axe(page, "open at the greeting")


def test_quick_reply_answer_keeps_its_buttons_and_the_menu_brings_the_questions_back(page: Page) -> None:
    open_widget(page)
    page.locator(REPLY, has_text="Can my organisation get funding?").click()
    answer = last_bot_text(page, "not a donor")
    expect(answer).to_be_visible(timeout=REPLY_TIMEOUT)
    # The greeting's buttons are answered; the new answer's stay until the visitor answers.
    expect(page.locator(BOT).first.locator(REPLY)).to_have_count(0)
    expect(page.locator(REPLY, has_text="Yes, check")).to_be_visible()
    expect(page.locator(".apt-chat-feedback").last).to_contain_text("Was this helpful?")
    shot(page, "widget-funding")
    axe(page, "after an exchange with buttons")
    page.get_by_role("button", name="Main questions").click()
    expect(page.locator(USER).last).to_have_text("You said:Main questions")
    expect(page.locator(REPLY, has_text="Can my organisation get funding?")).to_be_visible(
        timeout=REPLY_TIMEOUT
    )
    expect(page.locator(REPLY, has_text="Yes, check")).to_have_count(0)


def test_the_top_of_a_long_answer_is_in_view_when_it_arrives(page: Page) -> None:
    open_widget(page)
    send(page, "Which countries in Africa?")
    first = page.locator(BOT).nth(1)
    expect(first).to_be_visible(timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(1000)  # every part of the answer has arrived
    answer_height = page.evaluate(
        """() => Array.from(document.querySelectorAll('.apt-chat-bot')).slice(1)
                .reduce((sum, node) => sum + node.getBoundingClientRect().height, 0)"""
    )
    pane_height = page.locator(".apt-chat-log").evaluate("node => node.clientHeight")
    assert answer_height > pane_height, "the answer is not longer than the pane"
    assert in_view(page, first)
    assert first.locator("ul > li").count() >= 5  # its "- " lines, as a list
    shot(page, "widget-long-answer")
    axe(page, "after a long answer")


def test_typed_country_question_is_answered_and_announced_without_the_visitors_words(page: Page) -> None:
    open_widget(page)
    send(page, "Do you work in Viet Nam?")
    expect(last_bot_text(page, "Viet Nam is among the countries")).to_be_visible(timeout=REPLY_TIMEOUT)
    live = page.locator("[aria-live]")
    expect(live).to_have_count(1)  # one live region
    expect(live).to_contain_text("Viet Nam is among the countries")
    assert "Do you work in Viet Nam?" not in live.inner_text()
    assert "Can my organisation get funding?" not in live.inner_text()
    shot(page, "widget-country")


def test_history_survives_a_reload_and_clear_removes_it(page: Page) -> None:
    open_widget(page)
    send(page, "what is the OPCAT?")
    expect(last_bot_text(page, "first global system")).to_be_visible(timeout=REPLY_TIMEOUT)
    first_token = token(page)
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()  # it remembers it was open
    expect(page.locator(USER, has_text="what is the OPCAT?")).to_be_visible()
    expect(last_bot_text(page, "first global system")).to_be_visible()
    page.wait_for_function("() => !document.querySelector('.apt-chat-status:not([hidden])')")
    assert token(page) == first_token
    send(page, "Do you work in Kenya?")  # the same conversation goes on
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    shot(page, "widget-after-reload")
    page.get_by_role("button", name="Clear conversation").click()
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(BOT).first).to_contain_text(GREETING, timeout=REPLY_TIMEOUT)
    assert token(page) != first_token
    page.reload()
    expect(page.locator(USER)).to_have_count(0)
    assert "OPCAT" not in page.evaluate("sessionStorage.getItem('apt_chat')")


def test_markup_typed_by_a_visitor_is_shown_as_text_and_never_run(page: Page) -> None:
    open_widget(page)
    attack = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    send(page, attack)
    expect(page.locator(USER).last).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator(BOT).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT)
    assert page.locator(".apt-chat img").count() == 0
    assert page.locator(".apt-chat script").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "widget-markup-as-text")


def test_phone_sized_viewport_shows_a_usable_widget_with_its_header(browser: Browser, stack: Stack) -> None:
    page = new_page(browser, stack, "phone")
    page.goto(stack.web_url)
    open_widget(page)
    send(page, "where do you work?")
    expect(last_bot_text(page, "79 countries")).to_be_visible(timeout=REPLY_TIMEOUT)
    box = page.locator(".apt-chat-dialog").bounding_box()
    assert box is not None and box["width"] <= 375 and box["height"] <= 667
    for name in ("Clear conversation", "Close the assistant", "Send", "Main questions"):
        control = page.get_by_role("button", name=name)
        expect(control).to_be_in_viewport()
    shot(page, "widget-phone")
    axe(page, "phone 375x667")
    page.get_by_role("button", name="Close the assistant").click()
    expect(launcher(page)).to_be_focused()
    page.context.close()


# The demo page in French: its <html lang> set to "fr" as soon as the element exists, before
# any script of the page runs. (A page rewritten by page.route would come from no address, and
# Chromium's local network checks would then refuse its socket to the loopback Rasa server.)
FRENCH_PAGE = """new MutationObserver((records, observer) => {
    if (document.documentElement) { document.documentElement.lang = "fr"; observer.disconnect(); }
}).observe(document, { childList: true });"""


def test_the_widget_speaks_the_pages_language_and_sends_it_to_the_assistant(
    browser: Browser, stack: Stack
) -> None:
    page = new_page(browser, stack)
    console: List[str] = []
    page.on("console", lambda message: console.append(message.text))
    frames: List[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: frames.append(str(payload))))
    page.add_init_script(FRENCH_PAGE)
    page.goto(stack.web_url)
    expect(launcher(page)).to_have_accessible_name("Poser une question à l'assistant de l'APT")
    launcher(page).click()
    expect(page.get_by_role("dialog", name="Assistant de l'APT")).to_be_visible()
    expect(page.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)
    assert not [text for text in console if "WebSocket" in text], console
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    expect(page.get_by_label("Langue")).to_have_value("fr")
    session = [json.loads(f[2:]) for f in frames if f.startswith("42")]
    assert ["session_request", "fr"] in [[event, data["metadata"]["language"]] for event, data in session]
    assert any(e == "user_uttered" and d["metadata"] == {"language": "fr"} for e, d in session)
    shot(page, "widget-french")
    axe(page, "French")
    # The visible switch: Spanish, for the widget's texts and what it sends next.
    page.get_by_label("Langue").select_option("es")
    expect(page.get_by_role("button", name="Enviar")).to_be_visible()
    send(page, "Kenya?")
    page.wait_for_timeout(500)
    assert any('"language":"es"' in frame for frame in frames)
    page.context.close()


def test_a_french_page_is_greeted_in_french_with_french_buttons(browser: Browser, stack: Stack) -> None:
    """The greeting follows the page's language, sent with the session request and with the
    widget's /greet: on a French page, the visitor reads French from the first message."""
    page = new_page(browser, stack)
    page.add_init_script(FRENCH_PAGE)
    page.goto(stack.web_url)
    launcher(page).click()
    greeting = page.locator(BOT).first
    expect(greeting).to_be_visible(timeout=REPLY_TIMEOUT)
    shot(page, "widget-french-greeting")
    expect(greeting).to_contain_text("Bonjour", timeout=REPLY_TIMEOUT)
    expect(greeting).to_contain_text("Association pour la prévention de la torture")
    expect(page.locator(REPLY).last).to_have_text("Mon organisation peut-elle obtenir un financement ?")
    expect(page.locator(REPLY).first).to_have_text("Que fait l'APT pour les victimes de torture ?")
    axe(page, "French greeting")
    page.context.close()


# -- the keyboard alone -------------------------------------------------------------------------

FOCUS_VISIBLE = """() => {
    const node = document.activeElement;
    if (!node || node === document.body) return false;
    const style = getComputedStyle(node);
    return node.matches(':focus-visible') && style.outlineStyle !== 'none'
        && parseFloat(style.outlineWidth) >= 2;
}"""


def tab_to(page: Page, condition: str, name: str, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (Shift+Tab) until the focused element meets ``condition`` (a JS function of
    the element); checks that the focus is visible there and saves a screenshot."""
    for _ in range(limit):
        if page.evaluate(f"({condition})(document.activeElement)"):
            break
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    else:
        raise AssertionError(f"Tab never reached {name}")
    assert page.evaluate(FOCUS_VISIBLE), f"the focus on {name} is not visible"
    shot(page, f"keyboard-{name}")


def text_is(text: str) -> str:
    return f"node => node && node.textContent.trim() === {json.dumps(text)}"


def press_reply(page: Page, title: str, wait_for: str) -> None:
    """Tab to the quick reply ``title``, press Enter, wait for an answer with ``wait_for``."""
    expect(page.locator(REPLY, has_text=title)).to_be_visible(timeout=REPLY_TIMEOUT)
    tab_to(page, text_is(title), re.sub(r"[^a-z0-9]+", "-", title.split(",")[0].lower()).strip("-"))
    page.keyboard.press("Enter")
    expect(last_bot_text(page, wait_for).last).to_be_visible(timeout=REPLY_TIMEOUT)


def type_answer(page: Page, text: str, wait_for: str) -> None:
    tab_to(page, "node => node && node.classList.contains('apt-chat-input')", "text-box")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(last_bot_text(page, wait_for).last).to_be_visible(timeout=REPLY_TIMEOUT)


def test_widget_can_be_used_with_the_keyboard_alone(page: Page, stack: Stack) -> None:
    tab_to(page, "node => node && node.classList.contains('apt-chat-launcher')", "launcher")
    page.keyboard.press("Enter")
    expect(page.locator(REPLY)).to_have_count(6, timeout=REPLY_TIMEOUT)
    expect(page.locator(".apt-chat-input")).to_be_focused()
    # The transcript, message by message.
    tab_to(page, "node => node && node.classList.contains('apt-chat-log')", "transcript", backwards=True)
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.classList.contains('apt-chat-bot')")
    assert page.evaluate(FOCUS_VISIBLE)
    # Each quick reply is a button reached with Tab.
    titles = page.locator(REPLY).all_inner_texts()
    for title in titles:
        tab_to(page, text_is(title), "reply-" + str(titles.index(title)))
    # The funding questions, to the end.
    press_reply(page, "Can my organisation get funding?", "not a donor")
    press_reply(page, "Yes, check", "organisation")
    expect(page.locator(REPLY, has_text="NGO")).to_be_visible(timeout=REPLY_TIMEOUT)
    press_reply(page, "NGO", "country")
    type_answer(page, "Kenya", "kind of work")
    press_reply(page, "Detention monitoring", "pass this enquiry on")
    press_reply(page, "Yes, pass it on", "name of your organisation")
    type_answer(page, "Justice Watch Kenya", "email address")
    type_answer(page, "jane@example.org", "has been recorded")
    # Feedback on the answer.
    tab_to(page, "node => node && node.getAttribute('aria-label') === 'Yes, this was helpful'", "feedback")
    page.keyboard.press("Enter")
    expect(page.locator(".apt-chat-feedback-note").last).to_have_text("Thank you for your feedback.")
    conversation = token(page).split(".")[0]
    assert ("up",) in feedback_rows(stack, conversation)
    [(answer_id, _)] = feedback_answers(stack, conversation)
    marked = page.locator(BOT, has=page.locator('[aria-pressed="true"]')).locator(".apt-chat-bubble")
    assert answer_id == stored_answer_id(stack, conversation, marked.inner_text().strip()[:40])
    # Escape closes the widget and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    assert page.evaluate(FOCUS_VISIBLE)
    shot(page, "keyboard-closed")
    # Clear the conversation.
    page.keyboard.press("Enter")
    tab_to(page, text_is("Clear conversation"), "clear", backwards=True)
    page.keyboard.press("Enter")
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(BOT).first).to_contain_text(GREETING, timeout=REPLY_TIMEOUT)
    page.keyboard.press("Escape")
    expect(launcher(page)).to_be_focused()


def feedback_rows(stack: Stack, conversation: str) -> List[tuple]:
    assert stack.database_file is not None
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(stack.database_file) as db:
            rows = db.execute("SELECT value FROM feedback WHERE sender_id = ?", (conversation,)).fetchall()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def stored_answer_id(stack: Stack, conversation: str, text: str) -> str:
    """The answer id the stored bot message containing ``text`` carries."""
    for event in stored_events(stack.database_url, conversation):
        if event["event"] == "bot" and text in (event.get("text") or ""):
            return str((event.get("metadata") or {}).get("answer_id"))
    raise AssertionError(f"no stored answer with {text!r}")


def feedback_answers(stack: Stack, conversation: str) -> List[tuple]:
    assert stack.database_file is not None
    with sqlite3.connect(stack.database_file) as db:
        return db.execute(
            "SELECT answer_id, value FROM feedback WHERE sender_id = ? ORDER BY id", (conversation,)
        ).fetchall()


TOO_LONG = "(a message over 2,000 characters)"


def with_long_messages(browser: Browser, stack: Stack) -> Page:
    """A page whose socket carries ``TOO_LONG`` as a message of 2,001 characters: the widget
    itself never sends more than 2,000, so only a modified client gets the edge's "too long"
    reply, which the server never stores (its replies to a rate-limited visitor neither)."""
    page = new_page(browser, stack)

    def socket_route(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def to_server(message: Any) -> None:
            if isinstance(message, str) and TOO_LONG in message:
                message = message.replace(TOO_LONG, "x" * 2001)
            server.send(message)

        socket.on_message(to_server)

    page.route_web_socket("**/socket.io/**", socket_route)
    page.goto(stack.web_url)
    return page


def test_feedback_names_the_stored_answer_even_after_replies_that_are_not_stored(
    browser: Browser, stack: Stack
) -> None:
    """The edge's replies are never stored and a long answer comes in several parts: the
    feedback still names the answer the visitor marked, by the id it is stored with."""
    page = with_long_messages(browser, stack)
    open_widget(page)
    send(page, TOO_LONG)  # answered at the edge ("too long"), never stored
    expect(last_bot_text(page, "too long")).to_be_visible(timeout=REPLY_TIMEOUT)
    send(page, "Which countries in Africa?")  # a long answer, in several parts
    expect(last_bot_text(page, "Africa").first).to_be_visible(timeout=REPLY_TIMEOUT)
    send(page, "what is the OPCAT?")
    answer = last_bot_text(page, "first global system")
    expect(answer).to_be_visible(timeout=REPLY_TIMEOUT)
    answer.get_by_role("button", name="No, this was not helpful").click()
    expect(answer.locator(".apt-chat-feedback-note")).to_have_text("Thank you for your feedback.")
    expect(answer.get_by_role("button", name="No, this was not helpful")).to_have_attribute(
        "aria-pressed", "true"
    )
    conversation = token(page).split(".")[0]
    deadline = time.monotonic() + 10
    while not feedback_answers(stack, conversation) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert feedback_answers(stack, conversation) == [
        (stored_answer_id(stack, conversation, "first global system"), "down")
    ]
    shot(page, "widget-feedback-on-the-stored-answer")
    page.context.close()


def test_was_this_helpful_is_asked_under_answers_only(browser: Browser, stack: Stack) -> None:
    """Not under the greeting, an offer, a form's question, the second chance's "Did you mean
    one of these?" nor an edge reply; under an answer, once per reply."""
    from tests.e2e.test_e2e_second_chance import UNCLEAR

    page = with_long_messages(browser, stack)
    open_widget(page)
    feedback = page.locator(".apt-chat-feedback")
    expect(feedback).to_have_count(0)  # the greeting
    page.locator(REPLY, has_text="Can my organisation get funding?").click()
    expect(page.locator(REPLY, has_text="Yes, check")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(feedback).to_have_count(1)
    expect(last_bot_text(page, "not a donor").locator(".apt-chat-feedback")).to_have_count(1)
    expect(last_bot_text(page, "Shall we?").locator(".apt-chat-feedback")).to_have_count(0)
    page.locator(REPLY, has_text="Yes, check").click()
    expect(page.locator(REPLY, has_text="NGO")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(last_bot_text(page, "What kind of organisation")).to_be_visible()
    expect(feedback).to_have_count(1)  # not under the form's question
    send(page, "stop")
    expect(page.locator(BOT).last).to_be_visible(timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(500)
    for message in UNCLEAR:
        before = page.locator(BOT).count()
        send(page, message)
        expect(page.locator(BOT)).not_to_have_count(before, timeout=REPLY_TIMEOUT)
        page.wait_for_timeout(500)
        if last_bot_text(page, "Did you mean one of these?").count():
            break
    offer = last_bot_text(page, "Did you mean one of these?").last
    expect(offer).to_be_visible()
    expect(offer.locator(".apt-chat-feedback")).to_have_count(0)
    send(page, TOO_LONG)
    expect(last_bot_text(page, "too long")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(last_bot_text(page, "too long").locator(".apt-chat-feedback")).to_have_count(0)
    shot(page, "widget-feedback-only-under-answers")
    axe(page, "feedback under answers only")
    page.context.close()


# -- honest states: offline, slow ---------------------------------------------------------------


def test_offline_shows_the_postal_address_then_recovers(browser: Browser, stack: Stack) -> None:
    page = new_page(browser, stack)
    blocked = {"on": True}

    def socket_route(socket: WebSocketRoute) -> None:
        if blocked["on"]:
            socket.close()
        else:
            socket.connect_to_server()

    page.route_web_socket("**/socket.io/**", socket_route)
    page.goto(stack.web_url)
    launcher(page).click()
    status = page.locator(".apt-chat-status")
    expect(status).to_contain_text("can't reach the assistant", timeout=REPLY_TIMEOUT)
    expect(status).to_contain_text("Route de Ferney 10")
    expect(status).to_contain_text("CH-1211 Geneva 2")
    expect(page.locator("[aria-live]")).to_contain_text("Route de Ferney 10")
    shot(page, "widget-offline")
    axe(page, "offline")
    blocked["on"] = False
    expect(page.locator(BOT).first).to_contain_text(GREETING, timeout=REPLY_TIMEOUT)
    expect(status).to_be_hidden()
    page.context.close()


def test_a_message_not_sent_says_so_beside_the_text_it_keeps(browser: Browser, stack: Stack) -> None:
    """The connection drops: the visitor's text stays in the box, with "Not sent" shown beside
    it (not only announced); once connected again it goes with the next Enter."""
    page = new_page(browser, stack)
    blocked = {"on": False}
    routes: List[WebSocketRoute] = []

    def socket_route(socket: WebSocketRoute) -> None:
        if blocked["on"]:
            socket.close()
            return
        socket.connect_to_server()
        routes.append(socket)

    page.route_web_socket("**/socket.io/**", socket_route)
    page.goto(stack.web_url)
    open_widget(page)
    blocked["on"] = True
    routes[-1].close()
    expect(page.locator(".apt-chat-status")).to_contain_text(
        "can't reach the assistant", timeout=REPLY_TIMEOUT
    )
    box = page.locator(".apt-chat-input")
    send(page, "Do you work in Kenya?")
    note = page.locator(".apt-chat-note")
    expect(note).to_be_visible()
    expect(note).to_have_text("Not sent: the assistant cannot be reached right now.")
    expect(box).to_have_value("Do you work in Kenya?")
    expect(box).to_have_attribute("aria-describedby", "apt-chat-note")
    expect(page.locator("[aria-live]")).to_contain_text("Not sent")
    note_box, input_box = note.bounding_box(), box.bounding_box()
    assert (
        note_box and input_box and 0 <= input_box["y"] - (note_box["y"] + note_box["height"]) < 20
    ), "beside it"
    expect(page.locator(USER)).to_have_count(0)
    shot(page, "widget-not-sent")
    axe(page, "not sent")
    page.get_by_label("Language").select_option("fr")
    expect(note).to_have_text("Non envoyé : l'assistant est injoignable pour le moment.")
    page.get_by_label("Langue").select_option("en")
    blocked["on"] = False
    expect(page.locator(".apt-chat-status")).to_be_hidden(timeout=REPLY_TIMEOUT)
    expect(note).to_be_hidden()
    box.press("Enter")
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(box).to_have_value("")
    page.context.close()


def test_a_reload_opens_at_the_newest_message(page: Page) -> None:
    open_widget(page)
    for question in ("what is the OPCAT?", "Which countries in Africa?", "Do you work in Kenya?"):
        send(page, question)
        expect(page.locator(BOT).last).to_be_visible(timeout=REPLY_TIMEOUT)
        page.wait_for_timeout(800)
    expect(last_bot_text(page, "Kenya").last).to_be_visible(timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(500)
    page.reload()
    newest = page.locator(".apt-chat-message").last
    expect(newest).to_contain_text("Kenya")
    page.wait_for_function("() => document.querySelector('.apt-chat-log').scrollTop > 0")
    assert in_view(page, newest), "the newest message is in view"
    assert in_view(page, page.locator(USER).last), "with the question it answers"
    assert not in_view(page, page.locator(BOT).first), "not the greeting, at the top"
    shot(page, "widget-reloaded-at-the-newest-message")
    # Closed and opened again: the same.
    page.get_by_role("button", name="Close the assistant").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    launcher(page).click()
    assert in_view(page, newest)


def test_a_slow_answer_shows_typing_then_a_message_then_the_answer(browser: Browser, stack: Stack) -> None:
    page = new_page(browser, stack)
    held: List[str] = []
    hold = {"on": False}
    routes: List[WebSocketRoute] = []

    def socket_route(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        routes.append(socket)

        def from_server(message: Any) -> None:
            if hold["on"] and isinstance(message, str) and message.startswith('42["bot_uttered"'):
                held.append(message)
            else:
                socket.send(message)

        server.on_message(from_server)

    page.route_web_socket("**/socket.io/**", socket_route)
    page.goto(stack.web_url)
    open_widget(page)
    hold["on"] = True
    send(page, "Do you work in Kenya?")
    expect(page.locator(".apt-chat-typing")).to_be_visible()
    expect(page.locator(".apt-chat-typing")).to_contain_text("The assistant is writing")
    status = page.locator(".apt-chat-status")
    expect(status).to_contain_text("taking longer than usual", timeout=15_000)
    shot(page, "widget-slow")
    hold["on"] = False
    for message in held:
        routes[-1].send(message)
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(status).to_be_hidden()
    expect(page.locator(".apt-chat-typing")).to_be_hidden()
    page.context.close()


# -- transport and page policy ------------------------------------------------------------------


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
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    context.close()
    assert [url for url in requests_sent if "transport=polling" in url] == []
    assert [url.split("?")[0] for url in sockets] == [stack.url.replace("http", "ws") + "/socket.io/"]
    # No third-party request: the page's own server and the Rasa server only (no fonts).
    origins = {"/".join(url.split("/")[:3]) for url in requests_sent}
    assert origins <= {stack.web_url.rstrip("/"), stack.url}, origins


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
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    context.close()
    assert [url.split("?")[0] for url in sockets] == [stack.url.replace("http", "ws") + "/socket.io/"]


def test_the_page_policy_stops_inline_script_and_the_widget_breaks_none_of_it(page: Page) -> None:
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
    # The widget itself needs no exception to the policy: no inline style, no font, no eval.
    page.evaluate("() => { window.violations = []; }")
    open_widget(page)
    send(page, "Do you work in Kenya?")
    expect(last_bot_text(page, "Kenya")).to_be_visible(timeout=REPLY_TIMEOUT)
    assert page.evaluate("window.violations") == []


# A message the assistant never sends (its replies are fixed texts and never repeat what a visitor
# typed), with the links a hostile bot could send.
HOSTILE_MESSAGE = (
    "Read [our page](https://www.apt.ch/en) or [write to us](mailto:info@apt.ch), "
    "but not [link one](javascript:alert(document.domain)), [link two](JaVaScRiPt:alert(2)) "
    "or [link three](data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==). "
    '<img src=x onerror="alert(4)"> **bold**'
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
                socket.send("42" + json.dumps(["session_confirm", data.get("session_id") or "web-test.x"]))
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


def test_links_in_bot_messages_other_than_web_and_email_are_not_links(browser: Browser, stack: Stack) -> None:
    """The real page, its policy and the widget, served by the stack; only the bot is a
    stand-in (Playwright answers the widget's WebSocket): a Markdown message with
    `javascript:` and `data:` links, and markup."""
    page = new_page(browser, stack)
    page.route_web_socket("**/socket.io/**", fake_bot)
    page.goto(stack.web_url)
    launcher(page).click()
    message = page.locator(BOT, has_text="Read our page")
    expect(message).to_be_visible(timeout=REPLY_TIMEOUT)
    web, mail = message.locator("a", has_text="our page"), message.locator("a", has_text="write to us")
    expect(web).to_have_attribute("href", "https://www.apt.ch/en")
    expect(web).to_have_attribute("rel", "noopener noreferrer")
    expect(web).to_have_attribute("target", "_blank")
    expect(mail).to_have_attribute("href", "mailto:info@apt.ch")
    for name in ("link one", "link two", "link three"):
        expect(message.locator("a", has_text=name)).to_have_count(0)
        expect(message).to_contain_text(name)
        message.get_by_text(name).click()
    expect(message.locator("strong")).to_have_text("bold")
    assert message.locator("img").count() == 0
    schemes = message.evaluate("node => Array.from(node.querySelectorAll('a[href]'), a => a.protocol)")
    assert sorted(schemes) == ["https:", "mailto:"]
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.url == stack.web_url  # type: ignore[attr-defined]
    shot(page, "widget-hostile-links")
    page.context.close()


def test_socket_refuses_origins_that_are_not_allowed(stack: Stack) -> None:
    handshake = f"{stack.url}/socket.io/?EIO=4&transport=polling"
    allowed_origin = stack.web_url.rstrip("/")
    assert requests.get(handshake, headers={"Origin": allowed_origin}, timeout=10).status_code == 200
    assert requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10).status_code == 400


def test_screenshots_folder_is_outside_version_control() -> None:
    assert "build/" in (ROOT / ".gitignore").read_text().split()
    assert Path(SCREENSHOTS).is_relative_to(ROOT / "build")
