"""The browser: Debian's chromium, driven by Playwright, one per test module."""

from __future__ import annotations

from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.browsing import SCREENSHOTS

CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium tries to reach Google's services, which this sandbox refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


# Module scope: Playwright's synchronous API keeps an event loop running while it is open,
# which would stop later tests from using asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
