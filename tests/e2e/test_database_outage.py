"""The database unreachable or hanging: answers go on, no conversation waits on the database
once it is known down, no other coroutine waits at all, and after recovery every turn is in
the log once, in order (storage/tracker_store.py, storage/resilient_log.py, storage/outage.py,
storage/waiting_turns.py, storage/spool.py).

Outages are made with a TCP proxy between the store and the machine's PostgreSQL
(tests/e2e/tcp_proxy.py): ``refuse`` (connections refused and reset) and ``hang`` (accepted,
never answered). SQLite runs what needs no network: a write lock held by another process,
a write given up during its commit, a flush interrupted between commit and delete, the spool
of a process that died.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest
import requests
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from apt_settings import ROOT, settings
from storage import spool
from storage.database import engine_for
from storage.migrate import upgrade
from storage.outage import Attempt
from storage.tracker_store import RedactingSQLTrackerStore, load_summary, redacted_batch
from tests.e2e.tcp_proxy import TcpProxy
from tests.support.databases import (
    POSTGRES_SERVER,
    drop_postgres_database,
    postgres_database_or_skip,
    stored_events,
)
from tests.support.stacks import running_stack
from tests.unit.storage.test_tracker_store import DOMAIN, user

TIMEOUT = 1.0  # the database timeout of these tests (APT_DATABASE_TIMEOUT)
MARGIN = 1.5  # what a turn may take beyond it (thread hand-over, the spool's fsync)
QUICK = 0.5  # a turn while the database is known down: never waits on it
RECOVERY = 30.0  # the database answers again -> every spooled event written
STORE_LOGGERS = ("storage.tracker_store", "storage.outage", "storage.waiting_turns")
T = TypeVar("T")


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def short_database_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A 1 s database timeout: the engines created in the test (on the proxy's new port)
    connect and run statements with it."""
    monkeypatch.setenv("APT_DATABASE_TIMEOUT", str(TIMEOUT))
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


def postgres_database() -> Iterator[str]:
    name = f"apt_outage_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        upgrade(engine_for(url))
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'apt.db'}"
        upgrade(engine_for(url))
        yield url
        return
    yield from postgres_database()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = sa.engine.make_url(POSTGRES_SERVER)
    with TcpProxy((server.host or "127.0.0.1", server.port or 5432)) as running:
        yield running


def through(url: str, proxy: TcpProxy) -> str:
    return (
        sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


@pytest.fixture
def spool_directory(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def stores(spool_directory: Path) -> Iterator[List[RedactingSQLTrackerStore]]:
    """Stores made with :func:`new_store`, closed after the test."""
    made: List[RedactingSQLTrackerStore] = []
    yield made
    for store in made:
        store.close()


def new_store(made: List[RedactingSQLTrackerStore], url: str, directory: Path) -> RedactingSQLTrackerStore:
    store = RedactingSQLTrackerStore(
        domain=DOMAIN, url=url, spool_directory=str(directory), database_timeout=TIMEOUT
    )
    made.append(store)
    return store


def run(coroutine: Awaitable[T], limit: float = 90) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, limit)

    return asyncio.run(bounded())


async def turn(store: RedactingSQLTrackerStore, sender: str, events: List[Event]) -> float:
    """One turn as Rasa runs it (read, update, save); how long it took."""
    started = time.monotonic()
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return time.monotonic() - started


def exchange(text: str, intent: str = "greet", answer: str = "Noted.") -> List[Event]:
    """The events of one exchange after the first: the answer, listening, the next message."""
    return [BotUttered(answer), ActionExecuted("action_listen"), user(text, intent)]


def opening(text: str, intent: str = "greet") -> List[Event]:
    return [ActionExecuted("action_listen"), user(text, intent)]


async def recovered(store: RedactingSQLTrackerStore, limit: float = RECOVERY) -> float:
    """Wait until the store uses the database again, nothing waits in the spool and the
    spool files are removed."""
    started = time.monotonic()
    while not (store.database_up and not store.spool.has_files() and not store.unspooled_count()):
        if time.monotonic() - started > limit:
            raise AssertionError(
                f"not recovered after {limit} s: {store.spool.counts()}, {dict(store.stats)}"
            )
        await asyncio.sleep(0.1)
    return time.monotonic() - started


log_of = stored_events  # the conversation's events as the staff workspace orders them


def said(log: List[Dict[str, Any]]) -> List[str]:
    return [event["text"] for event in log if event["event"] == "user"]


def kinds(log: List[Dict[str, Any]]) -> List[str]:
    return [event["event"] for event in log]


def summary_counts(url: str, sender: str) -> Tuple[int, int]:
    with engine_for(url).connect() as connection:
        summary = load_summary(connection, sender)
    assert summary is not None
    return summary.user_messages, summary.bot_messages


def spool_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())


class LoopWatch:
    """Ticks every 10 ms on the running loop and records the longest gap between ticks: a
    blocked event loop shows as a gap as long as the block."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest_gap = 0.0
        self._task: Optional[asyncio.Task] = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest_gap = max(self.longest_gap, now - last)
            self.ticks += 1
            last = now

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._task is not None
        self._task.cancel()


# -- PostgreSQL through the proxy --------------------------------------------------------------


@pytest.mark.postgres
def test_an_unreachable_database_keeps_turns_in_the_spool_and_writes_them_in_order(
    postgres_url: str, proxy: TcpProxy, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    store = new_store(stores, through(postgres_url, proxy), spool_directory)
    expected: List[Event] = []

    async def scenario() -> None:
        for events in (opening("hello"),):
            expected.extend(events)
            await turn(store, "v1", events)
        proxy.set_mode("refuse")
        second = exchange("my email is jane@example.org", "inform")
        expected.extend(second)
        assert await turn(store, "v1", second) <= TIMEOUT + MARGIN
        assert not store.database_up
        third = exchange("and a third message")
        expected.extend(third)
        assert await turn(store, "v1", third) <= QUICK, "the database is known down: no wait"
        tracker = await store.retrieve("v1")
        assert tracker is not None
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
            "hello",
            "my email is [EMAIL]",
            "and a third message",
        ]
        assert said(log_of(postgres_url, "v1")) == ["hello"], "nothing written during the outage"
        assert store.spool.counts().pending == 6
        assert b"jane@example.org" not in spool_bytes(spool_directory), "redacted before spooling"
        assert b"[EMAIL]" in spool_bytes(spool_directory)
        proxy.set_mode("forward")
        await recovered(store)
        fourth = exchange("after the outage")
        expected.extend(fourth)
        await turn(store, "v1", fourth)

    run(scenario())
    log = log_of(postgres_url, "v1")
    assert kinds(log) == [event.as_dict()["event"] for event in expected], "every event once, in order"
    assert said(log) == ["hello", "my email is [EMAIL]", "and a third message", "after the outage"]
    assert summary_counts(postgres_url, "v1") == (4, 3)
    assert store.stats["flushed"] == 6 and store.stats["skipped"] == 0
    assert not [p for p in spool_directory.iterdir() if p.suffix == ".sqlite"], "spool files removed"


@pytest.mark.postgres
def test_a_hanging_database_holds_no_conversation_and_never_the_event_loop(
    postgres_url: str, proxy: TcpProxy, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    store = new_store(stores, through(postgres_url, proxy), spool_directory)
    took: Dict[str, List[float]] = {"a": [], "b": []}

    async def scenario() -> LoopWatch:
        await turn(store, "a", opening("hello from a"))
        await turn(store, "b", opening("hello from b"))
        proxy.set_mode("hang")
        async with LoopWatch() as watch:
            first = await asyncio.gather(
                turn(store, "a", exchange("a during the hang")),
                turn(store, "b", exchange("b during the hang")),
            )
            took["a"].append(first[0])
            took["b"].append(first[1])
            for n in range(3):
                took["b"].append(await turn(store, "b", exchange(f"b goes on {n}")))
            took["a"].append(await turn(store, "a", exchange("a goes on")))
            await asyncio.sleep(0.5)
        assert not store.database_up
        proxy.set_mode("forward")  # the held connections go on: a server that resumes
        await recovered(store)
        await turn(store, "a", exchange("a after the hang"))
        return watch

    watch = run(scenario())
    assert max(took["a"][0], took["b"][0]) <= TIMEOUT + MARGIN, took
    assert max(took["a"][1:] + took["b"][1:]) <= QUICK, f"no one waits once it is known down: {took}"
    assert watch.longest_gap < 0.3, f"the event loop was blocked for {watch.longest_gap:.2f} s"
    assert watch.ticks > 50
    assert said(log_of(postgres_url, "a")) == [
        "hello from a",
        "a during the hang",
        "a goes on",
        "a after the hang",
    ]
    assert said(log_of(postgres_url, "b")) == ["hello from b", "b during the hang"] + [
        f"b goes on {n}" for n in range(3)
    ]
    assert summary_counts(postgres_url, "b") == (5, 4)
    assert store.stats["skipped"] == 0


@pytest.mark.postgres
def test_a_conversation_moving_between_processes_during_an_outage_is_written_in_order(
    postgres_url: str, proxy: TcpProxy, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    """Two workers (two stores, one spool directory): each spools into its own file, each
    reads the other's, and the flush writes the conversation across both files in order."""
    url = through(postgres_url, proxy)
    first, second = new_store(stores, url, spool_directory), new_store(stores, url, spool_directory)

    async def scenario() -> None:
        await turn(first, "v", opening("one"))
        proxy.set_mode("refuse")
        await turn(first, "v", exchange("two"))
        await turn(second, "v", exchange("three"))
        tracker = await first.retrieve("v")
        assert tracker is not None
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["one", "two", "three"]
        await turn(first, "v", exchange("four"))
        assert second.spool.counts().files == 2
        proxy.set_mode("forward")
        await asyncio.gather(recovered(first), recovered(second))
        await turn(second, "v", exchange("five"))

    run(scenario())
    assert said(log_of(postgres_url, "v")) == ["one", "two", "three", "four", "five"]
    assert summary_counts(postgres_url, "v") == (5, 4)


@pytest.mark.postgres
def test_a_worker_stops_at_once_while_a_thread_waits_on_a_hanging_database(
    postgres_url: str, proxy: TcpProxy, spool_directory: Path
) -> None:
    """A thread stuck on a silent connection must not keep the process from exiting (the
    interpreter waits for a ThreadPoolExecutor's threads at exit)."""
    program = (
        "import asyncio, sys\n"
        "from tests.e2e.test_database_outage import opening, turn\n"
        "from storage.tracker_store import RedactingSQLTrackerStore\n"
        "from tests.unit.storage.test_tracker_store import DOMAIN\n"
        "store = RedactingSQLTrackerStore(domain=DOMAIN, url=sys.argv[1], spool_directory=sys.argv[2],\n"
        "                                 database_timeout=1)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "print(round(asyncio.run(turn(store, 'v', opening('hello'))), 2), flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program, through(postgres_url, proxy), str(spool_directory)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "APT_DATABASE_TIMEOUT": str(TIMEOUT), "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        proxy.set_mode("hang")
        child.stdin.write("go\n")
        child.stdin.flush()
        took = float(child.stdout.readline())
        finished = time.monotonic()
        child.wait(timeout=15)
        exited_after = time.monotonic() - finished
    finally:
        child.kill()
        child.wait()
    assert took <= TIMEOUT + MARGIN
    assert exited_after < 5, f"the process took {exited_after:.1f} s to exit"


@pytest.mark.postgres
def test_health_says_which_parts_are_up_and_how_many_events_wait(
    postgres_url: str,
    proxy: TcpProxy,
    stores: List[RedactingSQLTrackerStore],
    spool_directory: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.health import health

    url = through(postgres_url, proxy)
    monkeypatch.setenv("APT_DATABASE_URL", url)
    monkeypatch.setenv("APT_SPOOL_DIRECTORY", str(spool_directory))
    settings.cache_clear()
    store = new_store(stores, url, spool_directory)

    async def scenario() -> List[Tuple[int, Dict[str, Any]]]:
        answers = []
        await turn(store, "secret-sender", opening("hello"))
        for mode in ("refuse", "forward"):
            proxy.set_mode(mode)
            if mode == "refuse":
                await turn(store, "secret-sender", exchange("my name is Maria Dupont"))
            else:
                await recovered(store)
            answer = await health(None)  # type: ignore[arg-type]
            answers.append((answer.status, json.loads(answer.body)))
            assert b"secret-sender" not in answer.body and b"Maria" not in answer.body
        return answers

    (down_status, down), (up_status, up) = run(scenario())
    assert down_status == 503 and down["parts"]["database"] == "degraded" and down["spooled_events"] == 3
    assert up["parts"]["database"] == "up" and "spooled_events" not in up
    settings.cache_clear()


# -- SQLite and PostgreSQL, no network needed --------------------------------------------------


def test_the_spool_of_a_process_that_died_is_written_by_the_next_one(
    any_database_url: str, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    tracker = DialogueStateTracker("ghost", DOMAIN.slots)
    for event in opening("written by a worker that died") + exchange(
        "its second message, to ann@example.org"
    ):
        tracker.update(event)
    batch = redacted_batch(tracker, list(tracker.events), 0)
    events = [[event.type_name, event.timestamp, event.data] for event in batch.events]
    program = (
        "import json, os, sys\n"
        "from storage.spool import Batch, Spool, SpooledEvent\n"
        "directory, url = sys.argv[1:]\n"
        "events = tuple(SpooledEvent(*e) for e in json.load(sys.stdin))\n"
        "Spool(directory, url).append(Batch('ghost', events))\n"
        "os._exit(0)  # killed: no clean-up\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", program, str(spool_directory), any_database_url],
        input=json.dumps(events),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == 0, died.stderr
    assert len(list(spool_directory.glob("spool-*.sqlite"))) == 1
    assert b"ann@example.org" not in spool_bytes(spool_directory)
    store = new_store(stores, any_database_url, spool_directory)

    async def scenario() -> None:
        await turn(store, "someone else", opening("hello"))  # the next process starts
        await recovered(store)

    run(scenario())
    assert said(log_of(any_database_url, "ghost")) == [
        "written by a worker that died",
        "its second message, to [EMAIL]",
    ]
    assert summary_counts(any_database_url, "ghost") == (2, 1)
    assert not list(spool_directory.glob("spool-*")), "the dead process's file and lock are removed"


def test_a_flush_interrupted_between_commit_and_delete_writes_nothing_twice(
    any_database_url: str,
    stores: List[RedactingSQLTrackerStore],
    spool_directory: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The spooled rows are deleted after the database commits; a process killed between
    the two leaves rows that are already stored: the next flush skips them."""
    store = new_store(stores, any_database_url, spool_directory)
    tracker = DialogueStateTracker("v", DOMAIN.slots)
    for event in opening("spooled before"):
        tracker.update(event)
    store.spool.append(redacted_batch(tracker, list(tracker.events), 0))
    remove = store.spool.remove
    interrupted: List[int] = []

    def killed_once(rows: Any) -> None:
        if not interrupted:
            interrupted.append(len(rows))
            raise RuntimeError("killed between commit and delete")
        remove(rows)

    monkeypatch.setattr(store.spool, "remove", killed_once)

    async def scenario() -> None:
        await turn(store, "v", exchange("written after"))  # writes the spooled turn first
        await recovered(store)

    run(scenario())
    assert interrupted == [2]
    assert said(log_of(any_database_url, "v")) == ["spooled before", "written after"]
    assert kinds(log_of(any_database_url, "v")) == ["action", "user", "bot", "action", "user"]
    assert summary_counts(any_database_url, "v") == (2, 1)
    assert store.stats["skipped"] == 2


def test_a_write_given_up_during_its_commit_is_stored_once(
    any_database_url: str,
    stores: List[RedactingSQLTrackerStore],
    spool_directory: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write is slow to commit (the turn goes on without it): its events wait in the
    spool, held, until the commit's outcome is known; they are then not written again."""
    store = new_store(stores, any_database_url, spool_directory)
    may_commit = Attempt.may_commit
    slow: List[bool] = []

    def slow_commit(attempt: Attempt) -> bool:
        granted = may_commit(attempt)
        if granted and not slow:
            slow.append(True)
            time.sleep(TIMEOUT + 0.5)  # the turn's wait ends during the commit
        return granted

    run(turn(store, "v", opening("first")))
    monkeypatch.setattr(Attempt, "may_commit", slow_commit)

    async def scenario() -> None:
        took = await turn(store, "v", exchange("slow to commit"))
        assert took <= TIMEOUT + MARGIN
        assert not store.database_up
        await turn(store, "v", exchange("while it commits"))
        await recovered(store)
        await turn(store, "v", exchange("afterwards"))

    run(scenario())
    assert said(log_of(any_database_url, "v")) == [
        "first",
        "slow to commit",
        "while it commits",
        "afterwards",
    ]
    assert summary_counts(any_database_url, "v") == (4, 3)


def test_sqlite_locked_by_another_process_holds_no_turn(
    tmp_path: Path, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    """SQLite has no network, but another process (a purge, the workspace) can hold its
    write lock: the turn goes on after the database timeout, and is written once the lock
    is released, in order."""
    path = tmp_path / "apt.db"
    url = f"sqlite:///{path}"
    upgrade(engine_for(url))
    store = new_store(stores, url, spool_directory)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    took: List[float] = []

    async def scenario() -> LoopWatch:
        await turn(store, "v", opening("before the lock"))
        blocker.execute("BEGIN IMMEDIATE")
        async with LoopWatch() as watch:
            took.append(await turn(store, "v", exchange("while it is locked")))
            took.append(await turn(store, "w", opening("another conversation")))
        threading.Timer(1.0, lambda: blocker.execute("ROLLBACK")).start()
        await recovered(store)
        await turn(store, "v", exchange("after the lock"))
        return watch

    try:
        watch = run(scenario())
    finally:
        blocker.close()
    assert took[0] <= TIMEOUT + MARGIN and took[1] <= QUICK, took
    assert watch.longest_gap < 0.3
    assert said(log_of(url, "v")) == ["before the lock", "while it is locked", "after the lock"]
    assert said(log_of(url, "w")) == ["another conversation"]


def test_the_spool_file_is_private_and_named_after_its_database(
    any_database_url: str, stores: List[RedactingSQLTrackerStore], spool_directory: Path
) -> None:
    store = new_store(stores, any_database_url, spool_directory)
    tracker = DialogueStateTracker("v", DOMAIN.slots)
    for event in opening("hello"):
        tracker.update(event)
    store.spool.append(redacted_batch(tracker, list(tracker.events), 0))
    [path] = spool_directory.glob("spool-*.sqlite")
    assert path.stat().st_mode & 0o777 == 0o600
    assert spool_directory.stat().st_mode & 0o777 == 0o700
    assert spool.database_key(any_database_url) in path.name
    other = spool.Spool(spool_directory, "sqlite:////elsewhere/other.db")
    assert (
        other.counts().pending == 0 and store.spool.counts().pending == 2
    ), "another database's spool is apart"


# -- the running assistant ---------------------------------------------------------------------

COUNTRIES = [
    "Kenya", "Peru", "Nepal", "Chile", "Ghana", "Tunisia", "Mexico", "Brazil", "India", "Togo",
    "Mali", "Chad", "Niger", "Benin", "Senegal", "Morocco", "Jordan", "Lebanon", "Panama", "Bolivia",
    "Ecuador", "Uganda", "Zambia", "Malawi", "Rwanda", "Burundi", "Georgia", "Armenia", "Mongolia",
    "Cambodia", "Ukraine", "Moldova", "Albania", "Serbia", "Honduras", "Paraguay", "Uruguay",
    "Guatemala", "Nicaragua", "Colombia", "Argentina", "Madagascar", "Mauritania", "Liberia",
    "Cameroon", "Gabon", "Angola", "Namibia", "Botswana", "Lesotho", "Eswatini", "Mozambique",
    "Tanzania", "Ethiopia", "Somalia", "Sudan", "Egypt", "Libya", "Algeria", "Yemen", "Oman",
    "Qatar", "Bahrain", "Kuwait", "Iraq", "Iran", "Pakistan", "Bangladesh", "Bhutan", "Myanmar",
    "Laos", "Vietnam", "Thailand", "Malaysia", "Indonesia", "Philippines", "Fiji", "Samoa", "Tonga",
]  # fmt: skip


@pytest.mark.postgres
def test_the_assistant_answers_through_an_outage_and_a_hang_and_logs_every_turn(
    trained_model: Path, proxy: TcpProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two conversations on the running stack (two Rasa workers): the database refuses for
    10 s, answers for 5 s (the workers write what waited and use it again), then hangs for
    8 s. Every message is answered within 10 s; afterwards every user message of both
    conversations is in the log, in order, once."""
    name = f"apt_outage_stack_{secrets.token_hex(6)}"
    direct = postgres_database_or_skip(name)
    directory = tmp_path / "spool"
    monkeypatch.setenv("APT_SPOOL_DIRECTORY", str(directory))
    monkeypatch.delenv("APT_DATABASE_TIMEOUT")  # the stack runs with the default (3 s)
    settings.cache_clear()
    url = through(direct, proxy)
    senders = {"alice": f"outage-a-{secrets.token_hex(4)}", "bob": f"outage-b-{secrets.token_hex(4)}"}
    sent: Dict[str, List[str]] = {who: [] for who in senders}
    timings: Dict[str, List[float]] = {"forward": [], "refuse": [], "between": [], "hang": [], "after": []}
    questions = iter(
        question.format(country)
        for question in ("Do you work in {}?", "What about {}?", "Is {} one of your countries?")
        for country in COUNTRIES
    )
    health: Dict[str, Any] = {}

    def exchange_one(stack: Any, phase: str, who: str) -> None:
        text = next(questions)
        started = time.monotonic()
        replies = stack.send(senders[who], text, timeout=30)
        took = time.monotonic() - started
        timings[phase].append(took)
        sent[who].append(text)
        assert replies and any(reply.get("text") for reply in replies), (phase, replies)
        assert took <= 10, f"{phase}: {took:.1f} s"

    def phase(stack: Any, name: str, seconds: float) -> None:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            for who in senders:
                exchange_one(stack, name, who)
                time.sleep(0.2)  # a visitor reads the answer

    try:
        with running_stack(trained_model, url, tmp_path / "stack.log") as stack:
            for _ in range(2):
                for who in senders:
                    exchange_one(stack, "forward", who)
            proxy.set_mode("refuse")
            phase(stack, "refuse", 10)
            answer = requests.get(f"{stack.url}/health", timeout=10)
            health["refuse"] = (answer.status_code, answer.json())
            proxy.set_mode("forward")
            phase(stack, "between", 5)
            proxy.set_mode("hang")
            phase(stack, "hang", 8)
            health["spooled"] = spool.counts(directory, url).pending
            proxy.set_mode("forward")
            for _ in range(2):
                for who in senders:
                    exchange_one(stack, "after", who)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(said(log_of(direct, senders[who])) == sent[who] for who in senders):
                    break
                time.sleep(1)
            health["after"] = requests.get(f"{stack.url}/health", timeout=10).json()
            logged = {who: said(log_of(direct, sender)) for who, sender in senders.items()}
            log = stack.log_path.read_text()
    finally:
        drop_postgres_database(name)
        settings.cache_clear()
    print(
        "\nturn seconds (max / mean):",
        {k: (round(max(v), 2), round(sum(v) / len(v), 2)) for k, v in timings.items() if v},
        f"\nevents spooled at the end of the hang: {health['spooled']}",
        f"\nhealth during the outage: {health['refuse']}",
        *[f"\n{line}" for line in log.splitlines() if any(name in line for name in STORE_LOGGERS)],
    )
    assert health["refuse"][0] == 503 and health["refuse"][1]["parts"]["database"] == "degraded"
    assert health["refuse"][1]["spooled_events"] > 0
    assert health["after"]["parts"]["database"] == "up"
    assert "InMemoryTrackerStore" not in log, "Rasa's fail-safe store never took over"
    for who in senders:
        assert logged[who] == sent[who], who  # in order, none twice, none missing
