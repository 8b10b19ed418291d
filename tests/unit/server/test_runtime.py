"""The Rasa server's speed-ups (server/patches/, endpoints.yml, the SQLite settings) change how fast
it works, never what it accepts or answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered, deserialise_events
from rasa.shared.utils.common import all_subclasses

from apt_settings import ROOT
from server.patches import action_response_validation, event_types
from storage.database import engine_for

VALID: Dict[str, Any] = {
    "events": [
        {"event": "slot", "name": "country", "value": "Kenya"},
        {"event": "followup", "name": "action_listen"},
    ],
    "responses": [{"text": "Yes, the APT works in Kenya.", "buttons": []}],
}
INVALID = {
    "event without type": {"events": [{"name": "country", "value": "Kenya"}]},
    "unknown event type": {"events": [{"event": "no_such_event"}]},
    "events not a list": {"events": {"event": "slot"}},
    "response not an object": {"responses": ["plain text"]},
    "slot without name": {"events": [{"event": "slot", "value": 1}]},
    "not an object": ["events"],
}


def rasa_error(result: Any) -> jsonschema.ValidationError:
    action = RemoteAction("action_list_countries", None)
    with pytest.raises(jsonschema.ValidationError) as caught:
        action_response_validation._RASA_VALIDATE(action, result)
    return caught.value


@pytest.fixture
def installed():
    action_response_validation.install()
    yield
    action_response_validation.uninstall()


def test_valid_response_accepted_as_by_rasa(installed: None) -> None:
    action = RemoteAction("action_list_countries", None)
    assert action._validate_action_result(VALID) is True
    assert action_response_validation._RASA_VALIDATE(action, VALID) is True


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_response_rejected_with_rasas_error(installed: None, case: str) -> None:
    action = RemoteAction("action_list_countries", None)
    expected = rasa_error(INVALID[case])
    with pytest.raises(jsonschema.ValidationError) as caught:
        action._validate_action_result(INVALID[case])
    assert caught.value.message == expected.message
    assert list(caught.value.path) == list(expected.path)
    assert "Failed to validate Action server response" in caught.value.message


def test_schema_compiled_once() -> None:
    assert action_response_validation.response_validator() is action_response_validation.response_validator()
    assert (
        action_response_validation.response_validator().schema == RemoteAction.action_response_format_spec()
    )


def test_install_and_uninstall_switch_the_method() -> None:
    action_response_validation.install()
    try:
        assert RemoteAction._validate_action_result is action_response_validation.validate_action_result
    finally:
        action_response_validation.uninstall()
    assert RemoteAction._validate_action_result is action_response_validation._RASA_VALIDATE


@pytest.mark.slow  # starts Rasa's command line
def test_server_launcher_imports_and_reaches_rasa() -> None:
    """The launcher finds the runtime package from any working directory."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "rasa_server.py"), "--help"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--enable-api" in result.stdout


def test_action_calls_carry_the_domain_only_for_form_validators() -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
    domain = Domain.load(str(ROOT / "domain.yml"))
    needing = {name for name in domain.user_actions if domain.does_custom_action_explicitly_need_domain(name)}
    assert needing == {"validate_funding_form", "validate_enquiry_form"}


def test_sqlite_in_wal_mode_without_fsync_per_commit(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'apt.db'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_sqlite_connections_are_reused(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'apt.db'}")
    with engine.connect() as connection:
        first = connection.connection.dbapi_connection
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is first


@pytest.fixture
def event_table():
    event_types.install()
    yield
    event_types.uninstall()


def test_every_event_type_resolves_to_rasas_class(event_table: None) -> None:
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "active_loop", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is event_types._RASA_RESOLVE(name), name


def test_unknown_event_types_behave_as_in_rasa(event_table: None) -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_stored_events_read_back_the_same(event_table: None) -> None:
    stored = [
        {"event": "action", "name": "action_session_start", "timestamp": 1.0},
        {"event": "session_started", "timestamp": 2.0},
        {"event": "user", "text": "do you work in Kenya?", "parse_data": {"intent": {"name": "ask_country"}}},
        {"event": "slot", "name": "country", "value": "Kenya"},
        {"event": "bot", "text": "Yes."},
        {"event": "active_loop", "name": None},
    ]
    patched = deserialise_events(stored)
    event_types.uninstall()
    assert patched == deserialise_events(stored)
    assert [type(event).__name__ for event in patched] == [
        "ActionExecuted",
        "SessionStarted",
        "UserUttered",
        "SlotSet",
        "BotUttered",
        "ActiveLoop",
    ]


# -- the version guard ---------------------------------------------------------------------------


def test_patches_refuse_another_rasa_release_naming_both_versions() -> None:
    from rasa_versions import UnsupportedVersion, installed, require_supported_versions

    require_supported_versions()  # the pinned release passes
    with pytest.raises(UnsupportedVersion) as error:
        require_supported_versions({"rasa": "9.9.9", "rasa-sdk": installed("rasa-sdk")})
    message = str(error.value)
    assert "rasa 9.9.9" in message and f"rasa {installed('rasa')}" in message
    assert "rasa_versions.py" in message


def test_the_written_for_versions_are_the_pinned_ones() -> None:
    from rasa_versions import WRITTEN_FOR

    pinned = (ROOT / "requirements.txt").read_text()
    for package, version in WRITTEN_FOR.items():
        assert f"{package}=={version}" in pinned.replace("rasa[spacy]", "rasa")


PATCHES_STATE = (
    "from rasa.core.actions.action import RemoteAction\n"
    "from server import patches\n"
    "from server.patches import action_response_validation as patch, fast_model_load\n"
    "print(patches.installed(), RemoteAction._validate_action_result is patch.validate_action_result,\n"
    "      fast_model_load.installed())\n"
)


def _last_line(script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    return (result.stdout.strip().splitlines() or [result.stderr[-2000:]])[-1]


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_loading_the_projects_channels_installs_nothing() -> None:
    """The patches come from the server's entry point only, never as a side effect of an import."""
    script = (
        "from rasa.core.run import create_http_input_channels\n"
        "create_http_input_channels(None, 'credentials.yml')\n" + PATCHES_STATE
    )
    assert _last_line(script) == "False False False"


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_the_entry_point_installs_the_patches_for_any_rasa_command() -> None:
    """``scripts/rasa_server.py test ...`` (the test stories, ``make shell``) runs patched."""
    script = (
        "import runpy, sys\n"
        "sys.argv = ['rasa_server.py', 'test', '--help']\n"
        "try:\n"
        "    runpy.run_path('scripts/rasa_server.py', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n" + PATCHES_STATE
    )
    assert _last_line(script) == "True True True"


def test_the_tracker_store_refuses_another_rasa_release(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import rasa_versions as compat
    import storage.tracker_store

    monkeypatch.setitem(compat.WRITTEN_FOR, "rasa", "9.9.9")
    with pytest.raises(compat.UnsupportedVersion):
        importlib.reload(storage.tracker_store)
    monkeypatch.undo()
    importlib.reload(storage.tracker_store)


LOADING_PROBE = """
import json, os, threading
from server.patches.loading_priority import LoadingPriority, _threads

def nices():
    return sorted({os.getpriority(os.PRIO_PROCESS, t) for t in _threads()})

started = os.getpriority(os.PRIO_PROCESS, 0)
priority = LoadingPriority(niceness=5)
stop = threading.Event()
worker = threading.Thread(target=stop.wait)  # as TensorFlow's threads start while loading
worker.start()
loading = nices()
restored = priority.restore()
print(json.dumps({"started": started, "loading": loading, "restored": restored, "serving": nices()}))
stop.set()
"""


def test_a_process_loads_at_low_priority_and_serves_at_its_own() -> None:
    """Every thread, including those started while loading, niced while loading and back
    after (server/patches/loading_priority.py); in its own process, since nice cannot be undone
    without the right to raise a priority."""
    probe = subprocess.run(
        [sys.executable, "-c", LOADING_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    assert seen["loading"] == [seen["started"] + 5]
    may_raise = os.geteuid() == 0
    assert seen["restored"] is may_raise
    assert seen["serving"] == ([seen["started"]] if may_raise else [seen["started"] + 5])
