"""The supervisor configuration, and a real supervisord keeping small servers alive: a killed
one comes back, a hung one is restarted by its liveness check, one that keeps crashing is
given up and reported, and the others keep serving meanwhile. nginx's configuration is
checked by nginx itself."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import psutil
import pytest
import requests

from apt_settings import load
from supervision import control, nginx_conf, supervisor_conf
from supervision.programs import NGINX, LivenessCheck, Program, programs, replica_ports
from tests.support.commands import import_script
from tests.support.databases import required_in_ci
from tests.support.stacks import free_port


def parsed(text: str) -> configparser.RawConfigParser:
    config = configparser.RawConfigParser()
    config.read_string(text)
    return config


def settings_with(monkeypatch: pytest.MonkeyPatch, **values: str):  # type: ignore[no-untyped-def]
    for name, value in values.items():
        monkeypatch.setenv(f"APT_{name.upper()}", value)
    return load()


def test_every_server_is_restarted_and_the_hung_ones_are_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = settings_with(monkeypatch, rasa_workers="2")
    listed = programs(conf, tmp_path)
    config = parsed(supervisor_conf.render(listed, tmp_path))
    names = [section.split(":", 1)[1] for section in config.sections() if section.startswith("program:")]
    assert names == ["action_server", "staff_workspace", "demo_page"]
    for section in [f"program:{name}" for name in names] + ["fcgi-program:rasa"]:
        assert config[section]["autorestart"] == "unexpected"
        assert int(config[section]["startretries"]) >= 3
        assert config[section]["stopasgroup"] == config[section]["killasgroup"] == "true"
    # The Rasa processes share one socket the supervisor holds: two serve, two slots are for
    # their successors when a new model goes live; the launcher starts the first two.
    rasa = config["fcgi-program:rasa"]
    assert rasa["socket"] == f"tcp://127.0.0.1:{conf.rasa_port}"
    assert (rasa["numprocs"], rasa["process_name"], rasa["autostart"]) == (
        "4",
        "rasa_%(process_num)d",
        "false",
    )
    assert f"--shared-socket {tmp_path / 'ready'}" in rasa["command"]
    assert f"--port {conf.rasa_port}" in rasa["command"]
    assert 'SANIC_WORKERS="1"' in rasa["environment"]
    assert [p.name for p in listed if p.group == "rasa" and not p.spare] == ["rasa_0", "rasa_1"]
    listener = config["eventlistener:action_server_liveness"]
    assert listener["events"] == "TICK_5"
    assert "httpok -p action_server" in listener["command"]
    assert f"http://127.0.0.1:{conf.actions_port}/health" in listener["command"]


def test_the_configuration_holds_no_secret_and_escapes_percent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = settings_with(monkeypatch, actions_secret="s" * 40, session_secret="t" * 40)
    text = supervisor_conf.render(programs(conf, tmp_path), tmp_path)
    assert "s" * 40 not in text and "t" * 40 not in text
    odd = Program("odd", "odd", ["echo", "100%"], "http://127.0.0.1:1/")
    assert "command=echo 100%%" in supervisor_conf.render([odd], tmp_path)


def test_the_scale_profile_puts_replicas_behind_nginx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = settings_with(
        monkeypatch, profile="scale", rasa_workers="3", replica_port="6100", rasa_port="6000"
    )
    listed = {program.name: program for program in programs(conf, tmp_path)}
    assert replica_ports(conf) == [6100, 6101, 6102]
    for i, port in enumerate(replica_ports(conf)):
        replica = listed[f"rasa_{i}"]
        assert replica.command[-2:] == ["--port", str(port)] and "endpoints-scale.yml" in " ".join(
            replica.command
        )
        assert replica.liveness is not None and replica.liveness.url == f"http://127.0.0.1:{port}/"
        assert replica.environment["SANIC_REAL_IP_HEADER"] == "x-real-ip"
    assert listed["nginx"].ready_url == "http://127.0.0.1:6000/nginx-health"
    text = nginx_conf.render(conf, replica_ports(conf), tmp_path)
    for port in (6100, 6101, 6102):
        assert f"server 127.0.0.1:{port} " in text
    assert "listen 127.0.0.1:6000" in text


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("30/minute", "30r/m"),
        ("5/second", "5r/s"),
        ("100/hour", "2r/m"),
        ("1/day", "1r/m"),
        ("90/minute", "90r/m"),
    ],
)
def test_the_rate_limit_in_nginx_units_is_never_stricter(rate: str, expected: str) -> None:
    assert nginx_conf.nginx_rate(rate) == expected


def test_nginx_accepts_its_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not os.access(NGINX, os.X_OK):
        message = "nginx is not installed (make test installs Debian's nginx-light)"
        if required_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    conf = settings_with(monkeypatch, profile="scale", rasa_port=str(free_port()))
    (tmp_path / "nginx.conf").write_text(nginx_conf.render(conf, replica_ports(conf), tmp_path))
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


# -- a real supervisord with small programs ---------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.25)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture()
def supervised(tmp_path: Path) -> Iterator[Dict[str, object]]:
    """supervisord (through the launcher's own functions) with two small web servers and a
    program that crashes at once."""
    serve = import_script("serve")
    steady, hangs = free_port(), free_port()
    http = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
    listed: List[Program] = [
        Program("steady", "steady server", [*http, str(steady)], f"http://127.0.0.1:{steady}/",
                start_seconds=1),
        Program(
            "hangs",
            "hanging server",
            [*http, str(hangs)],
            f"http://127.0.0.1:{hangs}/",
            liveness=LivenessCheck(f"http://127.0.0.1:{hangs}/", timeout=2, every=5),
            start_seconds=1,
        ),
        Program("crashes", "crashing program", [sys.executable, "-c", "raise SystemExit(3)"], "",
                start_seconds=1, start_retries=1),
    ]  # fmt: skip
    directory = tmp_path / "run"
    directory.mkdir()
    (directory / "supervisord.conf").write_text(supervisor_conf.render(listed, directory))
    supervisord = serve.start_supervisor(directory, dict(os.environ))
    try:
        wait_for(lambda: answers(listed[0].ready_url) and answers(listed[1].ready_url), 30, "servers up")
        yield {"serve": serve, "directory": directory, "programs": listed, "supervisord": supervisord}
    finally:
        serve.stop(supervisord)


def pid(directory: Path, name: str) -> int:
    return int({info["name"]: info for info in control.processes(directory)}[name]["pid"])


def test_a_killed_server_comes_back_while_the_others_serve(supervised: Dict[str, object]) -> None:
    directory = supervised["directory"]
    assert isinstance(directory, Path)
    steady, hangs = supervised["programs"][:2]  # type: ignore[index]
    before = pid(directory, "steady")
    os.kill(before, signal.SIGKILL)
    assert answers(hangs.ready_url), "the other server stopped serving"
    wait_for(
        lambda: pid(directory, "steady") not in (0, before) and answers(steady.ready_url), 15, "restarted"
    )


def test_a_hung_server_is_restarted_by_its_liveness_check(supervised: Dict[str, object]) -> None:
    directory = supervised["directory"]
    assert isinstance(directory, Path)
    hangs = supervised["programs"][1]  # type: ignore[index]
    before = pid(directory, "hangs")
    os.kill(before, signal.SIGSTOP)
    try:
        wait_for(lambda: pid(directory, "hangs") not in (0, before), 45, "the hung server replaced")
    finally:
        if psutil.pid_exists(before):
            os.kill(before, signal.SIGCONT)
    wait_for(lambda: answers(hangs.ready_url), 15, "the new server answers")


def test_a_program_that_keeps_crashing_is_given_up_and_reported(supervised: Dict[str, object]) -> None:
    directory = supervised["directory"]
    serve = supervised["serve"]
    labels = {program.name: program.label for program in supervised["programs"]}  # type: ignore[attr-defined]
    wait_for(lambda: control.states(directory)["crashes"] == "FATAL", 20, "given up")  # type: ignore[arg-type]
    assert serve._given_up(directory, labels) == ["crashing program"]  # type: ignore[attr-defined]


def test_a_rasa_process_takes_the_listening_socket_it_is_given(tmp_path: Path) -> None:
    """What the embedded profile's Rasa processes rely on (server/patches/shared_port.py)."""
    import socket

    from server.patches.shared_port import inherited_socket, is_ready, ready_file

    listening = socket.create_server(("127.0.0.1", 0))
    taken = inherited_socket(os.dup(listening.fileno()))
    try:
        assert taken.getsockname() == listening.getsockname()
    finally:
        taken.close()
        listening.close()
    plain = socket.socket()
    try:
        with pytest.raises(ValueError, match="not a listening TCP socket"):
            inherited_socket(plain.fileno())
    finally:
        plain.close()
    assert not is_ready(tmp_path, 123)
    ready_file(tmp_path, 123).touch()
    assert is_ready(tmp_path, 123)


def test_an_ipv6_host_is_refused_in_the_embedded_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = settings_with(monkeypatch, host="::1")
    with pytest.raises(ValueError, match="APT_HOST=::1"):
        programs(conf, tmp_path)
