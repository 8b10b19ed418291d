"""The Redis lock store: one message per conversation at a time across processes (servers on
several machines: each process here has a lock directory of its own), a lease that outlives
slow messages but not dead servers, and, when Redis is refused or hangs, messages still
handled under this machine's lock until Redis answers again.

These tests run against the Redis server of the setting ``APT_REDIS_URL`` (by default
127.0.0.1:6379), each under a key prefix of its own, deleted afterwards. Without a server
they are skipped with the reason (a failure under CI=true).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from apt_settings import settings
from storage.redis_lock_store import KEY_PREFIX, AtomicRedisLockStore, redis_state, shown
from tests.e2e.tcp_proxy import TcpProxy
from tests.support.databases import required_in_ci

# Every printable ASCII character, as a conversation id may hold, 128 of them.
ODD_ID = "".join(chr(code) for code in range(32, 127)).ljust(128, "~")

HOLDERS_IN_ANOTHER_PROCESS = """
import asyncio, json, sys, tempfile
options = json.loads(sys.argv[1])
from redis.asyncio import Redis
from storage.redis_lock_store import AtomicRedisLockStore

async def hold(store, log, name):
    async with store.lock(options["conversation"], lock_lifetime=20):
        await log.rpush(options["trace"], "enter " + name)
        await asyncio.sleep(0.005)
        await log.rpush(options["trace"], "exit " + name)

async def main():
    log = Redis.from_url(options["url"])
    store = AtomicRedisLockStore(url=options["url"], key_prefix=options["prefix"],
                                 local_directory=tempfile.mkdtemp())  # a machine of its own
    print("ready", flush=True)
    while not await log.exists(options["go"]):
        await asyncio.sleep(0.005)
    names = [f"{options['name']}-{n}" for n in range(options["holders"])]
    await asyncio.gather(*(hold(store, log, name) for name in names))

asyncio.run(main())
"""

HOLD_IN_ANOTHER_PROCESS = """
import asyncio, json, sys, tempfile, time
options = json.loads(sys.argv[1])
from storage.redis_lock_store import AtomicRedisLockStore

async def main():
    store = AtomicRedisLockStore(url=options["url"], key_prefix=options["prefix"], lease_seconds=1.0,
                                 local_directory=tempfile.mkdtemp())  # a machine of its own
    async with store.lock(options["conversation"]):
        print("held", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


def python(code: str, **options: object) -> subprocess.Popen:
    """Another process running ``code`` with ``options`` (and the project root)."""
    argument = json.dumps(options)
    return subprocess.Popen([sys.executable, "-c", code, argument], stdout=subprocess.PIPE, text=True)


def end(process: subprocess.Popen) -> None:
    """Kill ``process`` if it still runs (SIGKILL: it releases nothing), reap it, close its pipe."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = settings().redis_url
    if not redis_answers(url):
        message = f"no Redis server answers at {shown(url)} (the setting APT_REDIS_URL)"
        if required_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    chosen = f"apt:test-lock:{secrets.token_hex(6)}:"
    yield chosen
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{chosen}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def store_for(redis_url: str, prefix: str, lease_seconds: Optional[float] = None) -> AtomicRedisLockStore:
    """A store as on a machine of its own (its own lock directory): only Redis is shared."""
    return AtomicRedisLockStore(
        url=redis_url, key_prefix=prefix, lease_seconds=lease_seconds, local_directory=tempfile.mkdtemp()
    )


def test_holders_in_several_processes_never_overlap(redis_url: str, prefix: str, raw: redis.Redis) -> None:
    trace, go = f"{prefix}trace", f"{prefix}go"
    processes = [
        python(
            HOLDERS_IN_ANOTHER_PROCESS,
            url=redis_url,
            prefix=prefix,
            conversation=ODD_ID,
            trace=trace,
            go=go,
            name=f"p{number}",
            holders=8,
        )
        for number in range(3)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        raw.set(go, "1")  # all at once
        for process in processes:
            assert process.wait(timeout=20) == 0
    finally:
        for process in processes:
            end(process)
    events = [event.decode() for event in raw.lrange(trace, 0, -1)]
    pairs = [events[i : i + 2] for i in range(0, len(events), 2)]
    assert all(enter == f"enter {exit_[5:]}" for enter, exit_ in pairs), events  # no interleaving
    assert sorted(exit_[5:] for _, exit_ in pairs) == sorted(f"p{p}-{n}" for p in range(3) for n in range(8))
    assert not raw.exists(prefix + ODD_ID)  # released, nothing left behind


def test_other_conversations_are_not_held_up(redis_url: str, prefix: str, raw: redis.Redis) -> None:
    store = store_for(redis_url, prefix)

    async def main() -> float:
        try:
            async with store.lock(ODD_ID):
                assert raw.exists(prefix + ODD_ID)  # the key is the conversation id itself
                started = time.monotonic()
                async with store.lock(ODD_ID[:-1] + "!", lock_lifetime=2):
                    return time.monotonic() - started
        finally:
            await store.close()

    assert asyncio.run(main()) < 0.5


def test_a_slow_holder_keeps_its_lock_past_the_lease(redis_url: str, prefix: str) -> None:
    holder, other = store_for(redis_url, prefix, lease_seconds=0.3), store_for(redis_url, prefix)

    async def hold() -> None:
        async with holder.lock("visitor-1"):
            await asyncio.sleep(1.2)  # four leases

    async def main() -> None:
        held = asyncio.create_task(hold())
        await asyncio.sleep(0.1)
        with pytest.raises(LockError, match="visitor-1"):
            async with other.lock("visitor-1", lock_lifetime=0.9):
                pass
        await held
        async with other.lock("visitor-1", lock_lifetime=0.5):  # free once the holder is done
            pass
        await holder.close()
        await other.close()

    asyncio.run(main())


def test_a_killed_holder_frees_the_conversation_within_one_lease(
    redis_url: str, prefix: str, raw: redis.Redis
) -> None:
    process = python(HOLD_IN_ANOTHER_PROCESS, url=redis_url, prefix=prefix, conversation="visitor-1")
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
    finally:
        end(process)  # SIGKILL while it holds the lock
    assert raw.exists(f"{prefix}visitor-1")
    store = store_for(redis_url, prefix)

    async def main() -> float:
        started = time.monotonic()
        try:
            async with store.lock("visitor-1", lock_lifetime=5):
                return time.monotonic() - started
        finally:
            await store.close()

    assert 0.2 < asyncio.run(main()) < 2.0  # lease 1 s


def test_waiting_longer_than_the_lock_lifetime_fails(redis_url: str, prefix: str) -> None:
    holder, waiter = store_for(redis_url, prefix), store_for(redis_url, prefix)

    async def main() -> float:
        async with holder.lock("visitor-1"):
            started = time.monotonic()
            with pytest.raises(LockError, match="'visitor-1' within 0.3 s"):
                async with waiter.lock("visitor-1", lock_lifetime=0.3):
                    pass
            waited = time.monotonic() - started
        await holder.close()
        await waiter.close()
        return waited

    assert 0.2 < asyncio.run(main()) < 1.5


def test_a_release_never_deletes_another_holders_lock(
    redis_url: str, prefix: str, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = store_for(redis_url, prefix, lease_seconds=0.3), store_for(redis_url, prefix)
    key = f"{prefix}visitor-1"
    events: List[str] = []

    async def take_over(inside: asyncio.Event, done: asyncio.Event) -> None:
        async with second.lock("visitor-1", lock_lifetime=2):
            inside.set()
            await done.wait()
            events.append(f"second inside after the first left: {bool(raw.exists(key))}")
            with pytest.raises(LockError):
                async with first.lock("visitor-1", lock_lifetime=0.2):
                    pass

    async def main() -> None:
        inside, done = asyncio.Event(), asyncio.Event()
        async with first.lock("visitor-1"):
            raw.pexpire(key, 1)  # the first holder's lease runs out (as if its server hung)
            taker = asyncio.create_task(take_over(inside, done))
            await asyncio.wait_for(inside.wait(), 2)
            await asyncio.sleep(0.25)  # a renewal of the first holder comes and fails
        done.set()
        await taker
        await first.close()
        await second.close()

    with caplog.at_level(logging.WARNING, logger="storage.redis_lock_store"):
        asyncio.run(main())
    assert events == ["second inside after the first left: True"]
    assert not raw.exists(key)
    assert "expired while its message was handled" in caplog.text


def test_rasa_builds_it_from_endpoints_and_allows_several_workers(
    redis_url: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: storage.redis_lock_store.AtomicRedisLockStore\n"
        f"  url: {redis_url}\n"
        f"  key_prefix: '{prefix}'\n"
        "  lease_seconds: 4\n"
    )
    config = read_endpoint_config(str(endpoints), "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert (store.url, store.key_prefix, store.lease_seconds) == (redis_url, prefix, 4.0)
    default = LockStore.create(EndpointConfig(type="storage.redis_lock_store.AtomicRedisLockStore"))
    assert isinstance(default, AtomicRedisLockStore)
    assert (default.url, default.key_prefix) == (settings().redis_url, KEY_PREFIX)

    async def use() -> None:
        async with store.lock("visitor-1"):
            pass
        await store.close()

    asyncio.run(use())
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(config) == 2
    assert number_of_sanic_workers(None) == 1  # Rasa's default store: one worker only


@pytest.mark.parametrize("outage", ["refuse", "hang"])
def test_without_redis_messages_are_locked_on_this_machine_until_it_returns(
    redis_url: str,
    prefix: str,
    raw: redis.Redis,
    outage: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis refused or hanging: the first message waits at most the socket timeout, later
    ones not at all; two stores of this machine still take turns; the state says down; and
    once Redis answers again, messages hold their Redis locks again."""
    target = urlsplit(redis_url)
    with TcpProxy((target.hostname or "127.0.0.1", target.port or 6379)) as proxy:
        url = urlunsplit(target._replace(netloc=f"127.0.0.1:{proxy.port}"))
        first, second = (
            AtomicRedisLockStore(
                url=url, key_prefix=prefix, socket_timeout=0.3, local_directory=str(tmp_path)
            )
            for _ in range(2)
        )
        trace: List[str] = []

        async def hold(store: AtomicRedisLockStore, name: str) -> None:
            async with store.lock("visitor-1", lock_lifetime=10):
                trace.append(f"enter {name}")
                await asyncio.sleep(0.05)
                trace.append(f"exit {name}")

        async def main() -> Tuple[float, float, bool]:
            proxy.set_mode(outage)
            started = time.monotonic()
            await hold(first, "a")
            first_wait = time.monotonic() - started
            started = time.monotonic()
            await asyncio.gather(hold(first, "b"), hold(second, "c"), hold(first, "d"))
            later = time.monotonic() - started
            down = await redis_state() == "down"
            proxy.set_mode("forward", reset_held=True)
            deadline = time.monotonic() + 10
            while (first.redis_down or second.redis_down) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            async with first.lock("visitor-2"):
                assert raw.exists(f"{prefix}visitor-2")  # in Redis again
            assert await redis_state() == "up"
            await first.close()
            await second.close()
            return first_wait, later, down

        with caplog.at_level(logging.WARNING, logger="storage.redis_lock_store"):
            first_wait, later, down = asyncio.run(main())
    assert first_wait < 1.5 and later < 1.0 + 3 * 0.05 + 0.3, (first_wait, later)
    assert down and not first.redis_down
    pairs = [trace[i : i + 2] for i in range(0, len(trace), 2)]
    assert all(enter == f"enter {exit_[5:]}" for enter, exit_ in pairs), trace  # never interleaved
    assert "locked on this machine only" in caplog.text and "answers again" in caplog.text


def test_a_store_left_from_an_ended_loop_does_not_make_redis_look_down(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    """A store whose Redis went away in an event loop that has ended (a stopped server, an
    earlier test) can never recover: the state is that of the stores serving now."""
    with socket.socket() as unused:  # a port nothing listens on: refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    stale = AtomicRedisLockStore(
        url=f"redis://127.0.0.1:{port}/0", key_prefix=prefix, socket_timeout=0.3,
        local_directory=str(tmp_path / "stale"),
    )  # fmt: skip

    async def use_stale() -> None:
        async with stale.lock("visitor-1"):
            pass

    asyncio.run(use_stale())
    assert stale.redis_down

    async def now() -> Optional[str]:
        current = AtomicRedisLockStore(
            url=redis_url, key_prefix=prefix, local_directory=str(tmp_path / "current")
        )
        async with current.lock("visitor-1"):
            pass
        state = await redis_state()
        await current.close()
        return state

    assert asyncio.run(now()) == "up"


def test_the_benchmark_finds_no_overlap_for_the_atomic_store(redis_url: str, raw: redis.Redis) -> None:
    from benchmark.lock_race import measure

    figures = measure(processes=2, iterations=15, samples=5, stores=("atomic-redis",), redis_url=redis_url)
    atomic = figures["stores"]["atomic-redis"]
    assert (atomic["acquisitions"], atomic["overlapping"], atomic["errors"]) == (30, 0, 0), atomic
    assert atomic["overhead"]["samples"] == 5
    assert not list(raw.scan_iter(match="apt:lockrace:*"))  # its keys are deleted
