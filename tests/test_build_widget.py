"""The widget as served connects over WebSocket only (scripts/build_widget.py), and the
launcher's worker setting is checked before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, import_script

build_widget = import_script("build_widget")
serve = import_script("serve")

NPM_BUNDLE = ROOT / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js"
SERVED_BUNDLE = ROOT / "web" / "vendor" / "webchat.js"


def test_served_bundle_is_the_npm_bundle_with_websocket_only() -> None:
    npm, served = NPM_BUNDLE.read_text(), SERVED_BUNDLE.read_text()
    assert build_widget.DEFAULT_TRANSPORTS in npm and build_widget.DEFAULT_TRANSPORTS not in served
    assert served == npm.replace(build_widget.DEFAULT_TRANSPORTS, build_widget.WEBSOCKET_ONLY)
    assert '<script src="vendor/webchat.js"></script>' in (ROOT / "web" / "index.html").read_text()


@pytest.mark.parametrize("times", [0, 2])
def test_a_changed_bundle_stops_the_build(times: int) -> None:
    with pytest.raises(build_widget.BundleChanged, match=f"found it {times} times"):
        build_widget.websocket_only("var a;" + build_widget.DEFAULT_TRANSPORTS * times)


def test_build_command_reports_a_missing_bundle(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_widget.py"),
            str(tmp_path / "none.js"),
            str(tmp_path / "out.js"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "error:" in result.stderr
    assert not (tmp_path / "out.js").exists()
