"""The demo page server (web/__init__.py): a few named files, strict headers, nothing else.

The WSGI app is called directly through Werkzeug's test client; one test starts the server
with the command line `make run` uses, to see the headers waitress itself adds. No browser,
no Rasa: the browser side is in test_browser.py.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from werkzeug.test import Client

import apt_settings
import web
from apt_settings import ROOT
from supervision.programs import programs
from tests.support.stacks import free_port

RASA_URL = "https://chat.example.org"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
NOT_SERVED = [
    "/node_modules/socket.io-client/package.json",
    "/node_modules/axe-core/axe.min.js",
    "/src/chat.js",
    "/vendor/socket.io.min.js",
    "/node_modules/",
    "/package.json",
    "/package-lock.json",
    "/web/",
    "/web/index.html",
    "/vendor/",
    "/../apt_settings.py",
    "/%2e%2e/apt_settings.py",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/vendor/../widget.js",
    "/index.html/",
    "/widget.js%00",
    "/favicon.ico",
]


@pytest.fixture
def client() -> Client:
    return Client(web.create_app(rasa_url=RASA_URL))


def test_the_page_and_its_files_are_served_with_their_types(client: Client) -> None:
    for path, media_type in [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/widget.js", "text/javascript"),
        ("/demo.css", "text/css"),
        ("/vendor/webchat.js", "text/javascript"),
        ("/vendor/webchat.css", "text/css"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert client.get("/?socketUrl=http://127.0.0.1:1/").status_code == 200


def test_the_page_names_the_rasa_server_from_the_settings(client: Client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert page.count("data-socket-url=") == 1
    assert f'<script src="widget.js" data-socket-url="{RASA_URL}"></script>' in page


def test_the_rasa_server_defaults_to_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APT_RASA_PUBLIC_URL", raising=False)
    monkeypatch.setenv("APT_RASA_PORT", "5123")
    assert apt_settings.load().rasa_url() == "http://127.0.0.1:5123"
    monkeypatch.setenv("APT_HOST", "0.0.0.0")
    assert apt_settings.load().rasa_url() == "http://127.0.0.1:5123"
    monkeypatch.setenv("APT_RASA_PUBLIC_URL", "https://chat.example.org/")
    assert apt_settings.load().rasa_url() == "https://chat.example.org"


@pytest.mark.parametrize(
    "value",
    [
        "chat.example.org",
        "javascript:alert(1)",
        "https://chat.example.org/path",
        "https://a b",
        "https://a;b",
    ],
)
def test_a_public_url_that_is_not_an_origin_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("APT_RASA_PUBLIC_URL", value)
    with pytest.raises(apt_settings.SettingsError, match="APT_RASA_PUBLIC_URL"):
        apt_settings.load()


@pytest.mark.parametrize("path", NOT_SERVED)
def test_anything_else_is_a_plain_404_that_does_not_repeat_the_path(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_data() == b"Not found\n"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "path_info", ["/../apt_settings.py", "/../web/index.html", "", "/web", "/WIDGET.JS", "//widget.js"]
)
def test_raw_paths_as_a_server_may_pass_them_are_not_resolved(path_info: str) -> None:
    """PATH_INFO exactly as given (decoded, dot segments kept), without a client in between."""
    statuses = []
    body = web.create_app(rasa_url=RASA_URL)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": path_info}, lambda status, headers: statuses.append(status)
    )
    expected = "200 OK" if path_info == "" else "404 Not Found"  # "" is the root, as "/"
    assert statuses == [expected]
    assert expected != "404 Not Found" or list(body) == [b"Not found\n"]


def test_every_answer_carries_the_security_headers(client: Client) -> None:
    for response in (client.get("/"), client.get("/vendor/"), client.post("/"), client.head("/widget.js")):
        for name in SECURITY_HEADERS:
            assert name in response.headers, (response.status, name)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Server" not in response.headers


def test_the_content_security_policy_allows_no_inline_script_and_only_the_rasa_server(client: Client) -> None:
    header = client.get("/").headers["Content-Security-Policy"]
    policy = dict(directive.strip().split(" ", 1) for directive in header.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == f"'self' {RASA_URL} wss://chat.example.org"
    assert policy["style-src"] == "'self'"  # the widget's stylesheet is a file: no inline style
    assert policy["img-src"] == "'self' data:"
    assert policy["font-src"] == "'self'"
    for directive in ("frame-ancestors", "base-uri", "form-action", "object-src"):
        assert policy[directive] == "'none'"
    assert "unsafe-eval" not in str(policy) and "unsafe-inline" not in str(policy)
    insecure = Client(web.create_app(rasa_url="http://127.0.0.1:5005"))
    assert (
        "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;"
        in insecure.get("/").headers["Content-Security-Policy"]
    )


def test_other_methods_are_refused_and_head_has_no_body(client: Client) -> None:
    response = client.post("/", data={"a": "b"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    head = client.head("/demo.css")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == str((ROOT / "web" / "demo.css").stat().st_size)


def test_a_missing_bundle_is_a_404_and_a_page_without_the_attribute_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text('<script src="widget.js" data-socket-url=""></script>')
    client = Client(web.create_app(rasa_url=RASA_URL, web_dir=tmp_path))
    assert client.get("/vendor/webchat.js").status_code == 404
    assert client.get("/vendor/webchat.css").status_code == 404
    (tmp_path / "index.html").write_text('<script src="widget.js"></script>')
    with pytest.raises(web.PageChanged):
        web.create_app(rasa_url=RASA_URL, web_dir=tmp_path)
    with pytest.raises(ValueError):
        web.create_app(rasa_url='http://x" onload="alert(1)', web_dir=tmp_path)


def test_the_widget_never_reads_the_page_address() -> None:
    code = (ROOT / "web" / "widget.js").read_text() + (ROOT / "web" / "src" / "chat.js").read_text()
    assert "location.search" not in code and "URLSearchParams" not in code and "location.hash" not in code


# -- the server as `make run` starts it ---------------------------------------------------------


@pytest.fixture
def running_server() -> Iterator[Callable[[str], requests.Response]]:
    port = free_port()
    env = {**os.environ, "APT_WEB_PORT": str(port), "APT_HOST": "127.0.0.1", "APT_RASA_PORT": "5999"}
    env.pop("APT_RASA_PUBLIC_URL", None)
    listed = programs(apt_settings.Settings(web_port=port, host="127.0.0.1"), ROOT)
    [command] = [program.command for program in listed if program.name == "demo_page"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the demo page server did not answer"
                time.sleep(0.2)
        yield lambda path: requests.get(url + path, timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow  # starts the server as make run does
def test_the_server_make_run_starts_names_no_software_and_lists_nothing(
    running_server: Callable[[str], requests.Response],
) -> None:
    page = running_server("/")
    assert page.status_code == 200
    assert 'data-socket-url="http://127.0.0.1:5999"' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999;" in policy
    for response in (page, running_server("/node_modules/"), running_server("/%2e%2e/apt_settings.py")):
        assert "Server" not in response.headers and "Via" not in response.headers
        assert "waitress" not in response.text.lower()
    assert running_server("/node_modules/").status_code == 404
    assert running_server("/node_modules/").text == "Not found\n"
