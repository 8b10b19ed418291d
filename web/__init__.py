"""The demo page's web server: a few named files of ``web/``, and nothing else.

A WSGI app served by waitress (``python -m waitress --ident= --call web:create_app``;
``--ident=`` stops waitress from naming itself in a ``Server`` header). It answers only the
paths in :data:`FILES`; every other path (``/node_modules/...``, ``/package.json``, a folder,
``/../``) is the same plain 404, which does not repeat the path. No request path ever
becomes a file path: it is looked up in the list, nothing more.

Every answer carries a Content-Security-Policy that allows scripts from this server only (no
inline script) and connections to this server and the Rasa server only. The page names the
Rasa server to the widget in its ``data-socket-url`` attribute, which this server fills from
the settings (``APT_RASA_PUBLIC_URL``, else ``APT_HOST`` and ``APT_RASA_PORT``): the widget
never takes the address from the page's URL.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from apt_settings import PUBLIC_URL, settings

WEB = Path(__file__).resolve().parent

# Request path -> (file under web/, media type). Nothing else is served.
FILES: Dict[str, Tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "/demo.css": ("demo.css", "text/css; charset=utf-8"),
    "/vendor/webchat.js": ("vendor/webchat.js", "text/javascript; charset=utf-8"),
    "/vendor/webchat.css": ("vendor/webchat.css", "text/css; charset=utf-8"),
}

# The widget's script tag in index.html; its value is replaced with the Rasa server's address.
SOCKET_URL_ATTRIBUTE = re.compile(r'data-socket-url="[^"]*"')

TEXT = ("Content-Type", "text/plain; charset=utf-8")

Headers = List[Tuple[str, str]]
StartResponse = Callable[[str, Headers], object]


class PageChanged(RuntimeError):
    """index.html no longer has exactly one ``data-socket-url`` attribute to fill."""


def content_security_policy(rasa_url: str) -> str:
    """Scripts and everything else from this server only; connections also to the Rasa server
    (its WebSocket address too). Styles too come from this server only: the widget's
    stylesheet is a file (web/vendor/webchat.css), and it sets no inline style."""
    socket_url = "ws" + rasa_url[len("http") :]  # http -> ws, https -> wss
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"connect-src 'self' {rasa_url} {socket_url}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(rasa_url: str) -> Headers:
    return [
        ("Content-Security-Policy", content_security_policy(rasa_url)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        # The demo is edited and rebuilt in place: browsers ask again each time.
        ("Cache-Control", "no-cache"),
    ]


def fill_socket_url(page: str, rasa_url: str) -> str:
    if len(SOCKET_URL_ATTRIBUTE.findall(page)) != 1:
        raise PageChanged("web/index.html must have exactly one data-socket-url attribute")
    return SOCKET_URL_ATTRIBUTE.sub(f'data-socket-url="{html.escape(rasa_url)}"', page)


def create_app(rasa_url: Optional[str] = None, web_dir: Path = WEB) -> Callable:
    """The WSGI app. ``rasa_url``: where the widget connects, by default from the settings."""
    rasa_url = rasa_url or settings().rasa_url()
    if not PUBLIC_URL.match(rasa_url):
        raise ValueError(f"{rasa_url!r} is not an address such as https://chat.example.org")
    headers = security_headers(rasa_url)
    fill_socket_url((web_dir / "index.html").read_text(encoding="utf-8"), rasa_url)  # fail now

    def answer(method: str, path: str) -> Tuple[str, bytes, Headers]:
        """Status, body and the headers that depend on the request."""
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", b"Method not allowed\n", [TEXT, ("Allow", "GET, HEAD")]
        name, media_type = FILES.get(path or "/", ("", ""))
        try:
            body = (web_dir / name).read_bytes() if name else None
        except OSError:  # vendor/webchat.* before `make install`
            body = None
        if body is None:
            return "404 Not Found", b"Not found\n", [TEXT]
        if name == "index.html":
            body = fill_socket_url(body.decode("utf-8"), rasa_url).encode("utf-8")
        return "200 OK", body, [("Content-Type", media_type)]

    def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status, body, own_headers = answer(method, environ.get("PATH_INFO", "/"))
        start_response(status, [*own_headers, ("Content-Length", str(len(body))), *headers])
        return [] if method == "HEAD" else [body]

    return app
