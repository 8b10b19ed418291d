"""The running assistant for end-to-end tests: started with the same launcher as ``make run``,
on free ports, reached over HTTP like any client, and stopped (by process group) after."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import sqlalchemy

from apt_settings import ROOT
from tests.support.databases import drop_postgres_database, postgres_database_or_skip, required_in_ci

STACK_START_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The running assistant, reached over HTTP like any client."""

    def __init__(
        self,
        url: str,
        database_url: str,
        web_url: str,
        review_url: str,
        jwt_secret: str,
        actions_url: str,
        launcher: subprocess.Popen,
        log_path: Path,
    ) -> None:
        self.url = url
        self.web_url = web_url
        self.review_url = review_url
        self.actions_url = actions_url
        self.database_url = database_url  # conversation log, enquiries, staff
        database = sqlalchemy.engine.make_url(database_url).database
        self.database_file = Path(database) if database_url.startswith("sqlite") and database else None
        self.jwt_secret = jwt_secret
        self.launcher = launcher
        self.log_path = log_path
        self.origin = web_url.split("/?")[0].rstrip("/")  # the demo page's, allowed to open sockets

    def send(self, sender: str, message: Any, timeout: float = 60) -> List[Dict[str, Any]]:
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=timeout,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def texts(self, sender: str, message: str) -> List[str]:
        return [reply.get("text", "") for reply in self.send(sender, message)]

    @property
    def run_directory(self) -> Path:
        """Where the launcher keeps the supervisor's files (supervision/control.py)."""
        return ROOT / "var" / "run" / self.url.rsplit(":", 1)[1]

    def process_info(self) -> Dict[str, Dict[str, Any]]:
        """The supervisor's view of each program: ``statename``, ``pid``, ..."""
        from supervision import control

        return {info["name"]: info for info in control.processes(self.run_directory)}

    def pid_of(self, program: str) -> int:
        return int(self.process_info()[program]["pid"])

    def rasa_pids(self) -> List[int]:
        """The Rasa server's processes: its main process and its workers."""
        import psutil

        found = []
        for child in psutil.Process(self.launcher.pid).children(recursive=True):
            try:
                if any("rasa_server.py" in part for part in child.cmdline()):
                    found.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return sorted(found)


@contextmanager
def running_stack(
    model: Path, database_url: str, log_path: Path, extra_env: Optional[Dict[str, str]] = None
) -> Iterator[Stack]:
    """The stack started with the same launcher as `make run`, on free ports; stopped after.
    ``extra_env``: more settings (e.g. the scale profile's)."""
    rasa_port, actions_port, web_port, review_port = free_port(), free_port(), free_port(), free_port()
    jwt_secret = secrets.token_hex(32)
    env = {
        **os.environ,
        "APT_RASA_PORT": str(rasa_port),
        "APT_ACTIONS_PORT": str(actions_port),
        "APT_MODEL": str(model),
        "APT_DATABASE_URL": database_url,
        "APT_WEB_PORT": str(web_port),
        "APT_REVIEW_PORT": str(review_port),
        "APT_RASA_JWT_SECRET": jwt_secret,
        "APT_READY_TIMEOUT": str(STACK_START_TIMEOUT),
        # The tests send many messages from one address; the limit itself has its own test.
        "APT_RATE_LIMIT": "100000/minute",
        # The page's own origin (the test process's environment has the default port's).
        "APT_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port},http://localhost:{web_port}",
        **(extra_env or {}),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "serve.py")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STACK_START_TIMEOUT + 30
            while "assistant ready" not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the stack did not start:\n{log_path.read_text()[-5000:]}")
                time.sleep(1)
            rasa_url = f"http://127.0.0.1:{rasa_port}"
            web_url = f"http://127.0.0.1:{web_port}/"  # the page names its Rasa server itself
            review_url = f"http://127.0.0.1:{review_port}"
            actions_url = f"http://127.0.0.1:{actions_port}"
            yield Stack(
                rasa_url, database_url, web_url, review_url, jwt_secret, actions_url, process, log_path
            )
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:  # the launcher had already stopped (it failed to start)
                process.wait(timeout=30)


def missing_service(message: str) -> None:
    """A service a test needs is not on this machine: a skip, or a failure in CI."""
    if required_in_ci():
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def running_scale_stack(
    model: Path, log_path: Path, replicas: int, extra_env: Optional[Dict[str, str]] = None
) -> Iterator[Stack]:
    """The scale profile (replicas behind nginx, Redis locks) on a fresh PostgreSQL database;
    ``stack.replica_urls`` names each replica's own address."""
    from benchmark.scale import consecutive_free_ports
    from supervision.programs import NGINX

    if not os.access(NGINX, os.X_OK):
        missing_service("nginx is not installed (make test installs Debian's nginx-light)")
    name = f"apt_scale_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    first = consecutive_free_ports(replicas)
    extra = {"APT_PROFILE": "scale", "APT_REPLICA_PORT": str(first), "APT_RASA_WORKERS": str(replicas)}
    try:
        with running_stack(model, url, log_path, {**extra, **(extra_env or {})}) as stack:
            stack.replica_urls = [f"http://127.0.0.1:{first + i}" for i in range(replicas)]  # type: ignore[attr-defined]
            yield stack
    finally:
        drop_postgres_database(name)
