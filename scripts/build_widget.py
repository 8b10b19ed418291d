"""Copy the chat widget from npm into web/vendor/, set to connect over WebSocket only.

rasa-webchat opens its Socket.IO connection with long-polling and upgrades it to a
WebSocket afterwards; each polling request is a new HTTP request that must reach the Rasa
process holding the session. With several Rasa worker processes on one port
(APT_RASA_WORKERS) there is no such guarantee without a sticky proxy in front, so the
widget's default transport list is set to WebSocket only: one connection, one process, from
the first packet. The widget offers no option for it, hence this one-string change to its
bundle at install time; the build fails if the string is not found exactly once (a new
widget version must be looked at before it is used).

Usage: python scripts/build_widget.py <source bundle> <target file>
"""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_TRANSPORTS = 'transports=t.transports||["polling","websocket"]'
WEBSOCKET_ONLY = 'transports=t.transports||["websocket"]'


class BundleChanged(RuntimeError):
    pass


def websocket_only(bundle: str) -> str:
    found = bundle.count(DEFAULT_TRANSPORTS)
    if found != 1:
        raise BundleChanged(
            f"expected the widget's default transport list once, found it {found} times: "
            "check the new rasa-webchat version before using it"
        )
    return bundle.replace(DEFAULT_TRANSPORTS, WEBSOCKET_ONLY)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    try:
        built = websocket_only(source.read_text(encoding="utf-8"))
    except (OSError, BundleChanged) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(built, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
