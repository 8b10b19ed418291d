"""The workspace's Retrain page in a real (headless) Chromium: a trainer starts a round with
the button, the page follows its progress through its live region (static/retrain.js, under
the workspace's real Content-Security-Policy) and shows the result; axe-core finds no serious
accessibility problem. The round runs for real, as its own process, on a small project copy
whose only correction cannot be used, so it ends without training. Screenshots go to
build/test-output/."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from apt_settings import ROOT
from review import create_app
from storage.database import engine_for
from storage.migrate import upgrade
from tests.browser.browsing import SCREENSHOTS
from tests.browser.test_browser import axe
from tests.e2e.test_retrain import PASSWORD, TINY_FILES, add_correction, add_staff
from tests.support.stacks import free_port

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def workspace_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workspace on a free port, on its own database and a small project."""
    base = tmp_path_factory.mktemp("browser-retrain")
    project = base / "project"
    for name, text in TINY_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{base / 'apt.db'}"
    upgrade(engine_for(url))
    add_staff(url, "tina", "trainer")
    add_correction(url, 1, "what is the weather like", "ask_weather")  # not an intent of the domain
    settings = {"DATABASE_URL": url, "SECRET_KEY": "browser", "SESSION_COOKIE_SECURE": False}
    app = create_app({**settings, "RETRAIN_PROJECT": project})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, workspace_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))  # an init script: the page's policy refuses inline ones
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    page.goto(f"{workspace_url}/retrain/")
    page.fill("input[name=username]", "tina")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{workspace_url}/retrain/")
    yield page
    context.close()


def test_a_trainer_follows_a_retrain_from_the_button_to_its_result(page: Page) -> None:
    expect(page.locator("h1")).to_have_text("Retrain")
    expect(page.locator("#retrain-waiting")).to_contain_text("1 correction not yet learnt")
    progress = page.locator("#retrain-progress")
    expect(progress).to_have_attribute("role", "status")
    expect(progress).to_have_attribute("aria-live", "polite")
    axe(page, "retrain page")
    page.screenshot(path=str(SCREENSHOTS / "review-retrain.png"), full_page=True)

    started = time.monotonic()
    page.get_by_role("button", name="Retrain now").click()
    expect(page.locator(".flash")).to_contain_text("Retrain started")
    # The script polls the status and reads the result out in the live region.
    expect(progress).to_have_text("Nothing to learn: the correction waiting cannot be used", timeout=60_000)
    expect(progress).to_have_attribute("data-state", "nothing")
    assert time.monotonic() - started < 60
    axe(page, "retrain finished")
    page.get_by_role("link", name="Show the results").click()
    row = page.locator("#retrain-history tbody tr").first
    expect(row).to_contain_text("Nothing to learn")
    expect(row).to_contain_text("tina")
    row.locator("summary").click()
    expect(row.locator("details li")).to_contain_text("'ask_weather' is not in domain.yml")
    page.screenshot(path=str(SCREENSHOTS / "review-retrain-done.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
