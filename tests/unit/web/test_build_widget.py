"""The widget as served (scripts/build_widget.py): our code on socket.io-client 4, with the
APT's postal address from the knowledge base, and nothing of it that a browser would refuse
under the demo page's policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from apt_settings import ROOT
from tests.support.commands import import_script

build_widget = import_script("build_widget")

WEB = ROOT / "web"
SERVED_BUNDLE = WEB / "vendor" / "webchat.js"
SERVED_STYLES = WEB / "vendor" / "webchat.css"


def test_served_bundle_is_socket_io_client_then_the_address_then_the_widget() -> None:
    served = SERVED_BUNDLE.read_text()
    client = (WEB / build_widget.CLIENT).read_text()
    assert build_widget.client_code(client).strip() in served
    assert "sourceMappingURL" not in served
    address = build_widget.postal_address()
    assert f"var POSTAL_ADDRESS = {json.dumps(address, ensure_ascii=False)};" in served
    assert (WEB / "src" / "chat.js").read_text().strip() in served
    assert SERVED_STYLES.read_text() == (WEB / "src" / "chat.css").read_text()
    assert served == build_widget.bundle(client, (WEB / "src" / "chat.js").read_text(), address)


def test_the_address_comes_from_the_knowledge_base() -> None:
    assert build_widget.postal_address()[0] == "Route de Ferney 10"


def test_versions_are_pinned_and_socket_io_client_is_4() -> None:
    package = json.loads((WEB / "package.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    for name, version in {**package["dependencies"], **package["devDependencies"]}.items():
        assert version[0].isdigit(), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert package["dependencies"]["socket.io-client"].startswith("4.")
    assert "rasa-webchat" not in json.dumps(lock)


def test_no_widget_text_goes_through_inner_html_nor_fetches_a_font() -> None:
    code = (WEB / "src" / "chat.js").read_text()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", ".style."):
        assert risky not in code, risky
    styles = (WEB / "src" / "chat.css").read_text()
    assert "@import" not in styles and "url(" not in styles and "@font-face" not in styles


def test_another_major_version_of_the_client_stops_the_build() -> None:
    with pytest.raises(build_widget.BuildError, match="4.x"):
        build_widget.client_code("/*!\n * Socket.IO v5.0.0\n */\nvar a;")
    code = "/*!\n * Socket.IO v4.8.1\n */\nvar a;\n"
    assert build_widget.client_code(code + "//# sourceMappingURL=x.map\n") == code


def test_a_knowledge_base_without_an_address_stops_the_build(tmp_path: Path) -> None:
    (tmp_path / "apt.yml").write_text("organisation:\n  name: APT\n")
    with pytest.raises(build_widget.BuildError, match="address"):
        build_widget.postal_address(tmp_path / "apt.yml")


def test_build_command_reports_a_missing_client(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_widget.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "error:" in result.stderr and "make install" in result.stderr
    assert not (tmp_path / "vendor").exists()
