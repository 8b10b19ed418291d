"""The file lock store: one message per conversation at a time, across Rasa's worker
processes, with the locks released when a process dies."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from apt_settings import ROOT
from storage.lock_store import FileLockStore, stripe_of

HOLD_IN_ANOTHER_PROCESS = """
import asyncio, sys, time
from storage.lock_store import FileLockStore

async def main():
    async with FileLockStore(directory={directory!r}).lock({conversation!r}):
        print("held", flush=True)
        time.sleep({seconds})

asyncio.run(main())
"""


def hold_elsewhere(directory: Path, conversation: str, seconds: float) -> subprocess.Popen:
    """Another process holding the conversation's lock for ``seconds``."""
    code = HOLD_IN_ANOTHER_PROCESS.format(
        directory=str(directory), conversation=conversation, seconds=seconds
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_stripe_is_the_same_in_every_process() -> None:
    conversations = ["visitor-1", "5f0c8a2e-widget-session", "été 2026", ""]
    here = [stripe_of(c) for c in conversations]
    code = "from storage.lock_store import stripe_of; " + (
        f"print([stripe_of(c) for c in {conversations!r}])"
    )
    # A different hash seed, as another worker process would have.
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "123"},
        check=True,
    )
    assert other.stdout.strip() == str(here)
    assert len({stripe_of(f"visitor-{n}") for n in range(2000)}) > 200  # spread over the files


def test_messages_of_one_conversation_run_one_after_the_other(tmp_path: Path) -> None:
    store = FileLockStore(directory=str(tmp_path))
    trace: List[str] = []

    async def handle(name: str) -> None:
        async with store.lock("visitor-1"):
            trace.append(f"{name} start")
            await asyncio.sleep(0.05)
            trace.append(f"{name} end")

    async def main() -> None:
        await asyncio.gather(handle("a"), handle("b"), handle("c"))

    asyncio.run(main())
    pairs = [trace[i : i + 2] for i in range(0, len(trace), 2)]
    assert all(first.split()[0] == second.split()[0] for first, second in pairs), trace
    assert all(pair[0].endswith("start") and pair[1].endswith("end") for pair in pairs), trace


def test_other_conversations_are_not_held_up(tmp_path: Path) -> None:
    store = FileLockStore(directory=str(tmp_path))
    other = next(f"visitor-{n}" for n in range(1000) if stripe_of(f"visitor-{n}") != stripe_of("visitor-0"))

    async def main() -> float:
        async with store.lock("visitor-0"):
            started = time.monotonic()
            async with store.lock(other):
                return time.monotonic() - started

    assert asyncio.run(main()) < 0.5


def test_lock_held_by_another_process_makes_this_one_wait(tmp_path: Path) -> None:
    holder = hold_elsewhere(tmp_path, "visitor-1", seconds=1.0)
    store = FileLockStore(directory=str(tmp_path))

    async def main() -> float:
        started = time.monotonic()
        async with store.lock("visitor-1"):
            return time.monotonic() - started

    waited = asyncio.run(main())
    holder.wait(timeout=10)
    assert waited >= 0.5


def test_waiting_longer_than_the_lock_lifetime_fails(tmp_path: Path) -> None:
    holder = hold_elsewhere(tmp_path, "visitor-1", seconds=5)
    store = FileLockStore(directory=str(tmp_path))

    async def main() -> None:
        async with store.lock("visitor-1", lock_lifetime=0.3):
            pass

    try:
        with pytest.raises(LockError, match="visitor-1"):
            asyncio.run(main())
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_process_leaves_no_lock_behind(tmp_path: Path) -> None:
    holder = hold_elsewhere(tmp_path, "visitor-1", seconds=60)
    holder.kill()
    holder.wait()
    store = FileLockStore(directory=str(tmp_path))

    async def main() -> None:
        async with store.lock("visitor-1", lock_lifetime=2):
            pass

    asyncio.run(main())


def test_rasa_builds_it_from_endpoints_and_allows_several_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "lock_store")
    assert config is not None and config.type == "storage.lock_store.FileLockStore"
    store = LockStore.create(EndpointConfig(type=config.type, directory=str(tmp_path / "locks")))
    assert isinstance(store, FileLockStore) and store.directory == tmp_path / "locks"
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(config) == 2
    assert number_of_sanic_workers(None) == 1  # Rasa's default store: one worker only
