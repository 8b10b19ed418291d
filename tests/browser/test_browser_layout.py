"""The widget's window at every size a visitor uses: a desktop (1280×800), a phone (375×667,
touch), and 200 % and 400 % zoom (640×400 and 320×256 CSS px: WCAG 2.1's reflow), in
English, French and Spanish, in a real Chromium against the running stack.

What must hold through a whole funding check: only the message list scrolls (or, in a short
window, everything between the bar and the message box, which both stay); the bar with the
close button is always at the top of the window, the message box always at its bottom with
no blank band under it; a message is always readable; nothing scrolls sideways; a touch user
can close the widget; axe-core finds no violation of any impact. Screenshots go to
build/test-output/ (``layout-<size>-<language>-<step>.png``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.browsing import SIZES, axe, context, shot
from tests.support.stacks import Stack

REPLY_TIMEOUT = 20_000
BOT = ".apt-chat-bot"
REPLY = ".apt-chat-reply"
LANGUAGES = ("en", "fr", "es")
# The smallest height of the part of the window where messages show (between the bar and the
# message box), in CSS px: about six lines at 400 % zoom.
READABLE = 100
# Sets <html lang> before any script of the page runs (see test_browser.FRENCH_PAGE).
PAGE_LANGUAGE = """new MutationObserver((records, observer) => {
    if (document.documentElement) { document.documentElement.lang = "%s"; observer.disconnect(); }
}).observe(document, { childList: true });"""

GEOMETRY = """() => {
    const box = selector => {
        const node = document.querySelector(selector);
        if (!node) return null;
        const b = node.getBoundingClientRect();
        return { top: b.top, bottom: b.bottom, left: b.left, right: b.right, height: b.height };
    };
    const dialog = document.querySelector('.apt-chat-dialog');
    // The first message of the latest reply (reading order: where the visitor reads on).
    const messages = Array.from(document.querySelectorAll('.apt-chat-message'));
    let first = messages.length ? 0 : -1;
    messages.forEach((m, i) => {
        if (m.classList.contains('apt-chat-user') && i + 1 < messages.length) first = i + 1;
    });
    const b = first >= 0 ? messages[first].getBoundingClientRect() : null;
    return {
        width: innerWidth, height: innerHeight,
        dialog: box('.apt-chat-dialog'), bar: box('.apt-chat-bar'), form: box('.apt-chat-composer'),
        close: box('.apt-chat-close'),
        dialogScrollTop: dialog.scrollTop,
        dialogOverflowX: dialog.scrollWidth - dialog.clientWidth,
        pageOverflowX: document.scrollingElement.scrollWidth - innerWidth,
        replyStart: b ? { top: b.top, bottom: b.bottom } : null,
    };
}"""


def open_page(browser: Browser, stack: Stack, size: str, language: str) -> Page:
    page = context(browser, size).new_page()
    page.add_init_script(PAGE_LANGUAGE % language)
    page.goto(stack.web_url)
    page.locator(".apt-chat-launcher").click()
    expect(page.locator(REPLY)).to_have_count(6, timeout=REPLY_TIMEOUT)
    return page


def answered(page: Page, act: Callable[[], None]) -> None:
    """Do ``act`` (a click, a message) and wait for the whole reply."""
    before = page.locator(BOT).count()
    act()
    expect(page.locator(BOT)).not_to_have_count(before, timeout=REPLY_TIMEOUT)
    expect(page.locator(".apt-chat-typing")).to_be_hidden(timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(700)  # the reply's later parts


def typed(page: Page, text: str) -> Callable[[], None]:
    def act() -> None:
        page.locator(".apt-chat-input").fill(text)
        page.locator(".apt-chat-input").press("Enter")

    return act


def window_holds(page: Page, size: str, step: str, reading_order: bool = True) -> Dict[str, Any]:
    """The window's invariants (see the module's docstring) in this state; with
    ``reading_order``, the latest reply's start is in view (the visitor has not scrolled)."""
    g = page.evaluate(GEOMETRY)
    where = f"{size}, {step}: {g}"
    dialog, bar, form, close = g["dialog"], g["bar"], g["form"], g["close"]
    assert abs(bar["top"] - dialog["top"]) <= 1 and bar["top"] >= 0, f"the bar left the top: {where}"
    assert close["top"] >= 0 and close["bottom"] <= g["height"] and close["right"] <= g["width"], where
    assert abs(form["bottom"] - dialog["bottom"]) <= 1, f"a band under the message box: {where}"
    assert dialog["bottom"] <= g["height"] + 1 and dialog["top"] >= -1, where
    if size in ("desktop", "phone"):
        assert g["dialogScrollTop"] == 0, f"the window itself scrolled: {where}"
    shown = form["top"] - bar["bottom"]
    assert shown >= READABLE, f"{shown:.0f} px left for messages: {where}"
    start = g["replyStart"]
    if reading_order:
        assert (
            start and bar["bottom"] - 1 <= start["top"] < form["top"] - 20
        ), f"the reply's start is hidden: {where}"
    assert g["dialogOverflowX"] <= 1 and g["pageOverflowX"] <= 1, f"sideways scrolling: {where}"
    return g


@pytest.mark.parametrize(
    "size, language", [("desktop", "en"), ("phone", "fr"), ("zoom200", "es"), ("zoom400", "en")]
)
def test_the_window_holds_through_a_whole_funding_check(
    browser: Browser, stack: Stack, size: str, language: str
) -> None:
    """Buttons are chosen by place, not by title, so that the walk is the same in every language."""
    page = open_page(browser, stack, size, language)
    name = f"layout-{size}-{language}"
    window_holds(page, size, "greeting")
    shot(page, f"{name}-1-greeting")
    steps: list = [
        ("funding", lambda: page.locator(REPLY).last.click()),  # "Can my organisation get funding?"
        ("check", lambda: page.locator(REPLY).first.click()),  # "Yes, check"
        ("organisation", lambda: page.locator(REPLY).first.click()),  # "NGO"
        ("country", typed(page, "Kenya")),
        ("work", lambda: page.locator(REPLY).first.click()),  # "Detention monitoring"
        ("consent", lambda: page.locator(REPLY).first.click()),  # "Yes, pass it on"
        ("name", typed(page, "Justice Watch Kenya")),
        ("email", typed(page, "jane@example.org")),
    ]
    for number, (step, act) in enumerate(steps, start=2):
        answered(page, act)
        window_holds(page, size, step)
        if step in ("funding", "work", "email"):
            shot(page, f"{name}-{number}-{step}")
    assert page.locator(".apt-chat-message").count() >= 18
    axe(page, f"layout {size} {language}: after a funding check")
    # The wheel over the bar, and a script asking to show the first message: the window stays.
    bar = page.locator(".apt-chat-bar").bounding_box()
    assert bar is not None
    page.mouse.move(bar["x"] + 20, bar["y"] + 10)
    page.mouse.wheel(0, 600)
    page.evaluate("() => document.querySelector('.apt-chat-message').scrollIntoView()")
    page.evaluate("() => document.querySelector('.apt-chat-message:last-child').scrollIntoView()")
    window_holds(page, size, "after the wheel and scrollIntoView", reading_order=False)
    # Closed by touch (or click), then opened again: as it was.
    close = page.get_by_role("button", name={"en": "Close the assistant", "fr": "Fermer l'assistant",
                                               "es": "Cerrar el asistente"}[language])  # fmt: skip
    if SIZES[size].get("has_touch"):
        close.tap()
    else:
        close.click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator(".apt-chat-launcher")).to_be_visible()
    expect(page.locator(".apt-chat-launcher")).to_be_in_viewport()
    page.locator(".apt-chat-launcher").click()
    window_holds(page, size, "opened again")
    shot(page, f"{name}-10-opened-again")
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", list(SIZES))
def test_every_size_and_language_shows_a_readable_accessible_window(
    browser: Browser, stack: Stack, size: str, language: str
) -> None:
    page = open_page(browser, stack, size, language)
    name = f"layout-{size}-{language}"
    window_holds(page, size, "greeting")
    axe(page, f"layout {size} {language}: greeting")
    answered(page, lambda: page.locator(REPLY).nth(2).click())  # "... individual cases?"
    window_holds(page, size, "an answer")
    shot(page, f"{name}-answer")
    axe(page, f"layout {size} {language}: an answer")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    axe(page, f"layout {size} {language}: closed")
    shot(page, f"{name}-closed")
    page.context.close()
