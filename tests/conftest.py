"""Shared fixtures: the knowledge base for unit tests, one trained model and one running
stack (action server + Rasa server) per test session.

Tests that need the trained model, the running stack or the browser (or that run Rasa's
own commands) are marked ``slow`` here, by the fixtures they use: ``make unit`` runs the
others, in well under a minute.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import sqlalchemy
from playwright.sync_api import Browser, sync_playwright
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.countries import PlaceResolver, resolver_for
from actions.knowledge import KnowledgeBase, load_knowledge_base
from apt_settings import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "apt.tar.gz"
RESULTS = ROOT / "results"
STACK_START_TIMEOUT = 300

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What endpoints.yml and credentials.yml expand, for the Rasa commands the tests run.
for _name, _value in settings().rasa_environment().items():
    os.environ.setdefault(_name, _value)

SLOW_FIXTURES = {"trained_model", "stack", "postgres_stack", "browser"}


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# -- unit-test fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def places(knowledge: KnowledgeBase) -> PlaceResolver:
    return resolver_for(knowledge)


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """A tracker whose latest message is `text`, classified as `intent` with `entities`."""
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
    }
    return Tracker("test-sender", slots or {}, message, [], False, None, {}, "action_listen")


def entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": len(value)}


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


# -- the trained model and the running stack -------------------------------------------------


def run(args: List[str], timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run a Rasa command from the project root; output is kept for failure messages."""
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


def import_script(name: str) -> ModuleType:
    """A module of scripts/ (not a package), imported from its file."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(module: str, *args: str, database_url: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``python -m module args`` on the given project database, as a staff member would run it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={"APT_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        input=stdin,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model, trained once per session (kept as it is when nothing it is made from changed)."""
    result = run([str(BIN / "python"), "scripts/train.py", "--fixed-model-name", "apt", "--out", "models"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert MODEL.is_file()
    return MODEL


def stored_events(database_url: str, sender: str) -> List[Dict[str, Any]]:
    """A conversation's stored events, in the order the staff workspace shows them (by id)."""
    from storage import schema
    from storage.database import engine_for

    with engine_for(database_url).connect() as connection:
        rows = connection.execute(
            sqlalchemy.select(schema.events.c.data)
            .where(schema.events.c.sender_id == sender)
            .order_by(schema.events.c.id)
        ).scalars()
        return [json.loads(row) for row in rows]


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


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on a fresh SQLite database, for the whole session."""
    database_file = tmp_path_factory.mktemp("stack") / "apt.db"
    log_path = tmp_path_factory.getbasetemp() / "stack.log"
    with running_stack(trained_model, f"sqlite:///{database_file}", log_path) as running:
        yield running


@pytest.fixture(scope="module")
def postgres_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on a fresh PostgreSQL database, for the tests of one module."""
    name = f"apt_stack_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        with running_stack(
            trained_model, url, tmp_path_factory.getbasetemp() / "postgres-stack.log"
        ) as running:
            yield running
    finally:
        _drop_postgres_database(name)


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
        _drop_postgres_database(name)


# -- databases: SQLite always, PostgreSQL where the local server answers ---------------------

# The machine's PostgreSQL server, where each test creates and drops a database of its own.
POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_database(name: str) -> Optional[str]:
    """Create an empty database on the local PostgreSQL; None if no server answers."""
    import sqlalchemy as sa

    server = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        return None
    finally:
        server.dispose()
    return str(sa.engine.make_url(POSTGRES_SERVER).set(database=name))


def postgres_database_or_skip(name: str) -> str:
    """A new empty PostgreSQL database; without a server, a skip (a failure in CI)."""
    url = _postgres_database(name)
    if url is None:
        if required_in_ci():
            pytest.fail(f"no PostgreSQL server at {POSTGRES_SERVER}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_SERVER}")
    return url


def _drop_postgres_database(name: str) -> None:
    import sqlalchemy as sa

    from storage import database

    for url in [u for u in database._engines if u.endswith(f"/{name}")]:
        database._engines.pop(url).dispose()
    server = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def required_in_ci() -> bool:
    """In CI (CI=true) a missing PostgreSQL server or source folder is a failure, not a skip."""
    return os.environ.get("CI") == "true"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all: a SQLite file, and a fresh PostgreSQL database.

    PostgreSQL tests run wherever the server at 127.0.0.1:5432 answers; its absence is a
    skip with the reason, and a failure under CI=true.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'apt.db'}"
        return
    name = f"apt_test_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def project_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database made the project's database (APT_DATABASE_URL) for the test."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'project.db'}"
    monkeypatch.setenv("APT_DATABASE_URL", url)
    settings.cache_clear()
    upgrade(engine_for(url))
    yield url
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session, copied for each test that needs one."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "apt.db"
    engine = engine_for(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(blank_database_url: str, migrated_sqlite_file: Path) -> str:
    """An empty project database at the newest schema revision (SQLite and PostgreSQL)."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    url = sqlalchemy.engine.make_url(blank_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copyfile(migrated_sqlite_file, url.database)
    else:
        upgrade(engine_for(blank_database_url))
    return blank_database_url


# -- the browser (Debian's chromium, driven by Playwright) ------------------------------------

SCREENSHOTS = ROOT / "build" / "test-output"
CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium tries to reach Google's services, which this sandbox refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


# Module scope: Playwright's synchronous API keeps an event loop running while it is open,
# which would stop later tests from using asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
