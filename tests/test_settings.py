"""Settings: read once from APT_* variables, a bad value named at start-up, and the
configuration files Rasa reads expanded from the same values."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

import apt_settings
from apt_settings import ROOT, Settings, SettingsError
from supervision import programs as supervision_programs
from supervision.programs import base_environment, programs


def settings_with(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(f"APT_{name.upper()}", value)
    return apt_settings.load()


def test_defaults_are_embedded_and_inside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.__fields__):
        monkeypatch.delenv(f"APT_{name.upper()}", raising=False)
    conf = apt_settings.load()
    assert conf.database_url == f"sqlite:///{ROOT / 'var' / 'apt.db'}"
    assert conf.rasa_workers == 2 and conf.actions_port == 5055
    assert conf.origins() == ["http://127.0.0.1:8080", "http://localhost:8080"]
    assert conf.jwt_secret() == "" and conf.secure_cookie() is True


def test_relative_paths_are_read_from_the_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_with(monkeypatch, model="models/other.tar.gz").model == ROOT / "models" / "other.tar.gz"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("rasa_workers", "0", "APT_RASA_WORKERS"),
        ("rasa_workers", "17", "APT_RASA_WORKERS"),
        ("rasa_workers", "two", "APT_RASA_WORKERS"),
        ("rasa_workers", "-1", "APT_RASA_WORKERS"),
        ("rasa_workers", "", "APT_RASA_WORKERS"),
        ("rasa_port", "70000", "APT_RASA_PORT"),
        ("rasa_jwt_secret", "short", "at least 32 characters"),
        ("database_url", "not a url", "APT_DATABASE_URL"),
        ("allowed_origins", "www.apt.ch", "is not an origin"),
        ("review_secure_cookie", "maybe", "APT_REVIEW_SECURE_COOKIE"),
        ("profile", "cluster", "APT_PROFILE: 'cluster' is not one of embedded, scale"),
        ("redis_url", "127.0.0.1:6379", "is not a Redis URL"),
        ("database_timeout", "0", "APT_DATABASE_TIMEOUT"),
        ("replica_port", "0", "APT_REPLICA_PORT"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(monkeypatch, **{name: value})
    assert expected in str(error.value)


@pytest.mark.slow  # runs the launcher, which imports spaCy
@pytest.mark.parametrize("value", ["0", "two"])
def test_launcher_refuses_a_bad_worker_count(value: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "serve.py")],
        env={"APT_RASA_WORKERS": value, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "invalid setting: APT_RASA_WORKERS" in result.stderr


def test_settings_command_masks_secrets() -> None:
    secret = "s" * 40
    result = subprocess.run(
        [sys.executable, "-m", "apt_settings"],
        cwd=ROOT,
        env={"APT_RASA_JWT_SECRET": secret, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout and "APT_RASA_JWT_SECRET" in result.stdout


def rasa_environment(conf: apt_settings.Settings) -> Dict[str, str]:
    [first, *_] = [program for program in programs(conf, ROOT) if program.name.startswith("rasa_")]
    return first.environment


def test_several_workers_get_one_tensorflow_thread_each(monkeypatch: pytest.MonkeyPatch) -> None:
    one = settings_with(monkeypatch, rasa_workers="1", allocator="system")
    assert rasa_environment(one) == {"SANIC_WORKERS": "1"}
    several = rasa_environment(settings_with(monkeypatch, rasa_workers="2"))
    assert several["SANIC_WORKERS"] == "1"  # one Sanic worker in each of the processes
    assert several["TF_INTRA_OP_PARALLELISM_THREADS"] == several["TF_INTER_OP_PARALLELISM_THREADS"] == "1"


def test_the_launcher_serves_the_workspace_without_secure_cookies_only_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert base_environment(settings_with(monkeypatch))["APT_REVIEW_SECURE_COOKIE"] == "0"
    exposed = base_environment(settings_with(monkeypatch, review_host="0.0.0.0"))
    assert exposed.get("APT_REVIEW_SECURE_COOKIE") != "0"


def test_rasa_reads_the_repository_files_with_the_settings_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.utils.io import read_config_file

    conf = settings_with(monkeypatch, actions_port="6123", allowed_origins="https://www.apt.ch")
    for name, value in conf.rasa_environment().items():
        monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert endpoints.action is not None and endpoints.action.url == "http://127.0.0.1:6123/webhook"
    credentials = read_config_file(str(ROOT / "credentials.yml"))
    socket = credentials["server.channels.socketio_origins.OriginCheckedSocketIOInput"]
    assert socket["cors_allowed_origins"] == "https://www.apt.ch"


def test_no_module_but_the_settings_reads_apt_variables() -> None:
    reading = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*f?["']APT_""")
    readers = []
    for path in ROOT.glob("*/**/*.py"):
        if {".venv", "node_modules", "build"} & set(path.parts):
            continue
        if reading.search(path.read_text(encoding="utf-8")):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_settings_module_path_is_the_project_root() -> None:
    assert Path(apt_settings.__file__).parent == ROOT


def test_the_rasa_processes_get_jemalloc_where_the_machine_has_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    library = tmp_path / "libjemalloc.so.2"
    library.write_bytes(b"")
    monkeypatch.setattr(supervision_programs, "JEMALLOC_PATHS", (tmp_path / "absent.so", library))
    assert rasa_environment(settings_with(monkeypatch))["LD_PRELOAD"] == str(library)
    assert "LD_PRELOAD" not in rasa_environment(settings_with(monkeypatch, allocator="system"))
    monkeypatch.setattr(supervision_programs, "JEMALLOC_PATHS", (tmp_path / "absent.so",))
    assert "LD_PRELOAD" not in rasa_environment(settings_with(monkeypatch))  # the system's, silently
    with pytest.raises(SettingsError, match="APT_ALLOCATOR: 'tcmalloc' is not one of jemalloc, system"):
        settings_with(monkeypatch, allocator="tcmalloc")
