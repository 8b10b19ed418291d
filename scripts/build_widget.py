"""Build the chat widget as served: web/vendor/webchat.js and web/vendor/webchat.css.

The widget is our own (web/src/chat.js, web/src/chat.css; docs/widget.md) on socket.io-client,
installed from npm at the version pinned in web/package-lock.json. The bundle is:

- socket.io-client's own browser build (``dist/socket.io.min.js``), run with a local
  ``module`` so that its UMD wrapper hands ``io`` to the widget and defines no global (and
  does not register with an AMD loader the embedding page may have);
- ``POSTAL_ADDRESS``: the APT's postal address from content/knowledge/apt.yml, which the widget shows
  when the assistant cannot be reached (one fact, one home: it is not written in the widget);
- the widget, web/src/chat.js.

The source map comment is dropped (the map is not served). The build fails if socket.io-client
is not a 4.x version: its protocol (Engine.IO 4) must match the server's python-socketio 5.

Usage: python scripts/build_widget.py [<web folder>]   (default: the project's web/)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import List

import yaml

from apt_settings import ROOT

WEB = ROOT / "web"
KNOWLEDGE = ROOT / "content" / "knowledge" / "apt.yml"
CLIENT = Path("node_modules") / "socket.io-client" / "dist" / "socket.io.min.js"
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
VERSION = re.compile(r"Socket\.IO v(\d+)\.(\d+)\.(\d+)")


class BuildError(RuntimeError):
    pass


def postal_address(knowledge_file: Path = KNOWLEDGE) -> List[str]:
    data = yaml.safe_load(knowledge_file.read_text(encoding="utf-8")) or {}
    address = (data.get("organisation") or {}).get("address")
    if not isinstance(address, list) or not address or not all(isinstance(line, str) for line in address):
        raise BuildError(f"{knowledge_file.name} has no organisation address (a list of lines)")
    return address


def client_code(text: str) -> str:
    found = VERSION.search(text[:500])
    if not found or found.group(1) != "4":
        raise BuildError("socket.io-client must be version 4.x (Engine.IO 4, as python-socketio 5)")
    return SOURCE_MAP.sub("", text).rstrip() + "\n"


def bundle(client: str, widget: str, address: List[str]) -> str:
    return (
        "/* APT chat widget: socket.io-client (MIT) and the APT's widget; built by"
        " scripts/build_widget.py. */\n"
        "(function () {\n"
        "var module = { exports: {} }, exports = module.exports, define;\n"
        f"{client_code(client)}"
        "var io = module.exports;\n"
        f"var POSTAL_ADDRESS = {json.dumps(address, ensure_ascii=False)};\n"
        f"{widget.rstrip()}\n"
        "})();\n"
    )


def build(web: Path = WEB, knowledge_file: Path = KNOWLEDGE) -> None:
    try:
        client = (web / CLIENT).read_text(encoding="utf-8")
        widget = (web / "src" / "chat.js").read_text(encoding="utf-8")
        styles = (web / "src" / "chat.css").read_text(encoding="utf-8")
    except OSError as error:
        raise BuildError(f"{error} (run `make install`)") from error
    built = bundle(client, widget, postal_address(knowledge_file))
    (web / "vendor").mkdir(exist_ok=True)
    (web / "vendor" / "webchat.js").write_text(built, encoding="utf-8")
    (web / "vendor" / "webchat.css").write_text(styles, encoding="utf-8")


def main(argv: List[str]) -> int:
    if len(argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        build(Path(argv[0]) if argv else WEB)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
