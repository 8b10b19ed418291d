"""`python -m benchmark.lock_race`: do holders of one conversation's lock ever overlap?

Rasa's own ``RedisLockStore`` issues its tickets with a read-modify-write of three separate
Redis commands (RasaHQ/rasa#9213); :class:`storage.redis_lock_store.AtomicRedisLockStore`
takes its lock with one atomic command. Here ``--processes`` processes (as Rasa servers on
separate machines would be) take the same conversation's lock through the store's ``lock()``
in ``--iterations`` rounds: in each round every process calls ``lock()`` at the same moment
(a visitor's messages reaching several servers at once), holds the lock for ``--hold-ms``
and lets go. Each holder increments a counter in Redis on entry and decrements it on exit:
an entry that finds the counter above zero overlapped another holder (unless that holder's
ticket had expired, counted apart). A ``lock()`` call still waiting after twice the ticket
lifetime is abandoned and counted as hung (Rasa's store can wait forever for a ticket that a
concurrent write erased). The file store (one machine) runs the same for comparison.

Then the cost of an uncontended acquire and release, measured in this process, one after
the other on one conversation.

Bounded: each store's contention run stops starting new acquisitions after
``--seconds``, and every process still running a little later is killed; the whole run
takes well under a minute. Traffic goes only to the Redis server of ``--redis-url`` (by
default 127.0.0.1), under a key prefix of its own deleted at the end.
:func:`measure` returns the figures as a dict for the benchmark report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import queue
import secrets
import sys
import tempfile
import threading
import time
from contextlib import suppress
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit

from benchmark.load import percentile

STORES = ("rasa-redis", "atomic-redis", "file")
DESCRIPTIONS = {
    "rasa-redis": "rasa.core.lock_store.RedisLockStore (Rasa Open Source)",
    "atomic-redis": "storage.redis_lock_store.AtomicRedisLockStore",
    "file": "storage.lock_store.FileLockStore (one machine)",
}
CONVERSATION = "race-visitor"
# Rasa's ticket lifetime (and the other stores' longest wait), shorter than Rasa's 60 s so
# that a stalled conversation costs seconds; overlaps after a ticket expired count apart.
LOCK_LIFETIME = 3.0
STALL_SECONDS = 1.0
# A lock() call still waiting after this long is given up (Rasa's store can wait forever for
# a ticket that a concurrent write erased) and counted as hung.
HUNG_SECONDS = 2 * LOCK_LIFETIME
POLL_SECONDS = 0.005
START_TIMEOUT = 15.0


def make_store(kind: str, options: Dict[str, str]) -> Any:
    """The store ``kind`` on the run's own keys (or lock directory)."""
    if kind == "rasa-redis":
        from rasa.core.lock_store import RedisLockStore

        url = urlsplit(options["redis_url"])
        return RedisLockStore(
            host=url.hostname or "127.0.0.1",
            port=url.port or 6379,
            db=int(url.path.strip("/") or 0),
            password=url.password,
            key_prefix=options["rasa_prefix"],  # Rasa accepts only letters and digits
        )
    if kind == "atomic-redis":
        from storage.redis_lock_store import AtomicRedisLockStore

        # Each process as if on a machine of its own: only Redis keeps them apart.
        return AtomicRedisLockStore(
            url=options["redis_url"], key_prefix=options["prefix"], local_directory=tempfile.mkdtemp()
        )
    if kind == "file":
        from storage.lock_store import FileLockStore

        return FileLockStore(directory=options["directory"])
    raise ValueError(f"unknown store {kind!r}; choose from {', '.join(STORES)}")


# -- contention: several processes, one conversation ----------------------------------------


async def _contend_async(
    kind: str, options: Dict[str, str], iterations: int, hold: float, seconds: float, rounds: Any
) -> Dict[str, Any]:
    """Each iteration a burst: every process calls ``lock()`` at the same moment, as when
    a visitor's messages reach several servers at once."""
    from rasa.core.lock_store import LockError
    from redis.asyncio import Redis

    store = make_store(kind, options)
    tracker = Redis.from_url(options["redis_url"], socket_timeout=5)
    figures: Dict[str, Any] = {
        "acquisitions": 0,
        "overlapping": 0,
        "overlapping_after_expiry": 0,
        "errors": 0,
        "stalls": 0,
        "hung": 0,
        "longest_wait_s": 0.0,
    }
    stop_at = time.monotonic() + seconds
    try:
        for _ in range(iterations):
            if not next_round(rounds, stop_at):
                break
            called = time.time()
            try:
                await asyncio.wait_for(hold_once(store, tracker, options, hold, figures), HUNG_SECONDS)
            except LockError:
                note_wait(figures, time.time() - called)
                figures["errors"] += 1
            except asyncio.TimeoutError:
                note_wait(figures, time.time() - called)
                figures["hung"] += 1
    finally:
        await tracker.close(close_connection_pool=True)
        if hasattr(store, "close"):
            await store.close()
    return figures


async def hold_once(
    store: Any, tracker: Any, options: Dict[str, str], hold: float, figures: Dict[str, Any]
) -> None:
    """Take the lock, note whether another holder is inside, hold it, let go."""
    active, holders = options["prefix"] + "active", options["prefix"] + "holders"
    me, called = secrets.token_hex(8), time.time()
    async with store.lock(CONVERSATION, LOCK_LIFETIME, POLL_SECONDS):
        note_wait(figures, time.time() - called)
        figures["acquisitions"] += 1
        await tracker.hset(holders, me, called)
        try:
            if await tracker.incr(active) > 1:
                figures[await overlap_kind(tracker, holders, me)] += 1
            await asyncio.sleep(hold)
        finally:
            await tracker.decr(active)
            await tracker.hdel(holders, me)


def next_round(rounds: Any, stop_at: float) -> bool:
    """Wait for the other processes; False when the time is up (for every process)."""
    if time.monotonic() >= stop_at:
        rounds.abort()
        return False
    try:
        rounds.wait(timeout=HUNG_SECONDS + 5)
    except threading.BrokenBarrierError:
        return False
    return True


def note_wait(figures: Dict[str, Any], waited: float) -> None:
    figures["longest_wait_s"] = max(figures["longest_wait_s"], waited)
    if waited >= STALL_SECONDS:
        figures["stalls"] += 1


async def overlap_kind(tracker: Any, holders: str, me: str) -> str:
    """An overlap caused by the race, or one where the other holder's ticket had expired
    (it called ``lock()`` more than the ticket lifetime ago): Rasa's store then lets the next
    one in by design."""
    now = time.time()
    others = await tracker.hgetall(holders)
    expired = [
        key for key, called in others.items() if key.decode() != me and now - float(called) >= LOCK_LIFETIME
    ]
    return "overlapping_after_expiry" if expired else "overlapping"


def _contend(
    kind: str,
    options: Dict[str, str],
    iterations: int,
    hold: float,
    seconds: float,
    start: Any,
    results: Any,
) -> None:
    """One process: wait for the others, then take the lock ``iterations`` times."""
    try:
        start.wait(timeout=START_TIMEOUT)
        results.put(asyncio.run(_contend_async(kind, options, iterations, hold, seconds, start)))
    except Exception as error:  # noqa: BLE001 - reported by the parent, not lost in a child
        results.put({"failure": f"{type(error).__name__}: {error}"})


def contention(
    kind: str, options: Dict[str, str], processes: int, iterations: int, hold: float, seconds: float
) -> Dict[str, Any]:
    """``processes`` spawned processes racing for one conversation; their summed figures."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_contend, args=(kind, options, iterations, hold, seconds, start, results), daemon=True
        )
        for _ in range(processes)
    ]
    collected: List[Dict[str, Any]] = []
    try:
        for worker in workers:
            worker.start()
        give_up = time.monotonic() + START_TIMEOUT + seconds + HUNG_SECONDS + 5
        while len(collected) < processes and time.monotonic() < give_up:
            with suppress(queue.Empty):
                collected.append(results.get(timeout=0.2))
    finally:
        end_processes(workers)
    return summed(collected, processes)


def end_processes(workers: Sequence[Any]) -> None:
    """Join each worker briefly; kill whatever is still running."""
    for worker in workers:
        if worker.pid is None:
            continue
        worker.join(timeout=2)
        if worker.is_alive():
            worker.kill()
            worker.join(timeout=5)


def summed(collected: List[Dict[str, Any]], processes: int) -> Dict[str, Any]:
    failures = [part["failure"] for part in collected if "failure" in part]
    parts = [part for part in collected if "failure" not in part]
    return {
        "processes": processes,
        "processes_reported": len(parts),
        "acquisitions": sum(part["acquisitions"] for part in parts),
        "overlapping": sum(part["overlapping"] for part in parts),
        "overlapping_after_expiry": sum(part["overlapping_after_expiry"] for part in parts),
        "errors": sum(part["errors"] for part in parts),
        "stalls": sum(part["stalls"] for part in parts),
        "hung": sum(part["hung"] for part in parts),
        "longest_wait_s": round(max((part["longest_wait_s"] for part in parts), default=0.0), 3),
        "failures": failures,
    }


# -- overhead: one process, no contention ---------------------------------------------------


async def _overhead_async(kind: str, options: Dict[str, str], samples: int) -> List[float]:
    store = make_store(kind, options)
    timings: List[float] = []
    try:
        for index in range(samples + 5):  # the first few open the connection
            started = time.perf_counter()
            async with store.lock(CONVERSATION, LOCK_LIFETIME, POLL_SECONDS):
                pass
            if index >= 5:
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        if hasattr(store, "close"):
            await store.close()
    return timings


def overhead(kind: str, options: Dict[str, str], samples: int) -> Dict[str, float]:
    timings = asyncio.run(_overhead_async(kind, options, samples))
    return {
        "samples": len(timings),
        "mean_ms": round(sum(timings) / len(timings), 3),
        "p95_ms": round(percentile(timings, 95), 3),
    }


# -- the run --------------------------------------------------------------------------------


def delete_keys(redis_url: str, patterns: Sequence[str]) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        for pattern in patterns:
            for key in client.scan_iter(match=pattern):
                client.delete(key)
    finally:
        client.close()


def measure(
    processes: int = 4,
    iterations: int = 100,
    samples: int = 200,
    hold_ms: float = 2.0,
    seconds: float = 8.0,
    stores: Sequence[str] = STORES,
    redis_url: Optional[str] = None,
) -> Dict[str, Any]:
    """Contention and overhead figures of each store, as a dict (see the module docstring)."""
    from apt_settings import settings

    url = redis_url or settings().redis_url
    run = secrets.token_hex(4)
    prefix = f"apt:lockrace:{run}:"
    started = time.monotonic()
    figures: Dict[str, Any] = {
        "settings": {
            "processes": processes,
            "iterations_per_process": iterations,
            "hold_ms": hold_ms,
            "seconds": seconds,
            "poll_ms": POLL_SECONDS * 1000,
            "lock_lifetime_s": LOCK_LIFETIME,
            "overhead_samples": samples,
        },
        "stores": {},
    }
    with tempfile.TemporaryDirectory(prefix="lock-race-") as directory:
        options = {
            "redis_url": url,
            "prefix": prefix,
            "rasa_prefix": f"aptlockrace{run}",
            "directory": directory,
        }
        try:
            for kind in stores:
                make_store(kind, options)  # an unknown store fails before any process starts
                figures["stores"][kind] = {
                    "store": DESCRIPTIONS[kind],
                    **contention(kind, options, processes, iterations, hold_ms / 1000, seconds),
                    "overhead": overhead(kind, options, samples),
                }
        finally:
            delete_keys(url, [f"{prefix}*", f"{options['rasa_prefix']}:*"])
    figures["duration_s"] = round(time.monotonic() - started, 1)
    return figures


COLUMNS = (
    ("store", lambda kind, store: kind),
    ("acquisitions", lambda kind, store: str(store["acquisitions"])),
    ("overlapping", lambda kind, store: str(store["overlapping"])),
    ("LockError", lambda kind, store: str(store["errors"])),
    (f"hung (> {HUNG_SECONDS:g} s)", lambda kind, store: str(store["hung"])),
    ("overhead mean ms", lambda kind, store: f"{store['overhead']['mean_ms']:.2f}"),
    ("overhead p95 ms", lambda kind, store: f"{store['overhead']['p95_ms']:.2f}"),
)


def table(figures: Dict[str, Any]) -> str:
    rows = [[title for title, _ in COLUMNS]]
    rows += [[cell(kind, store) for _, cell in COLUMNS] for kind, store in figures["stores"].items()]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def notes(figures: Dict[str, Any]) -> List[str]:
    settings = figures["settings"]
    found = [
        f"{settings['processes']} processes x {settings['iterations_per_process']} rounds, each process "
        "calling lock() on one conversation at the same moment in every round (fewer rounds if a store "
        f"ran out of its {settings['seconds']:g} s), each holder keeping "
        f"the lock {settings['hold_ms']:g} ms, waiters polling every {settings['poll_ms']:g} ms, "
        f"ticket lifetime / longest wait {settings['lock_lifetime_s']:g} s.",
        "overlapping: acquisitions that began while another holder still held the lock (counted only "
        "when that holder's ticket had not expired). LockError: lock() gave up. hung: lock() calls "
        f"still waiting after {HUNG_SECONDS:g} s, abandoned.",
        f"Overhead: {settings['overhead_samples']} uncontended acquire+release in one process.",
    ]
    for kind, store in figures["stores"].items():
        found.append(
            f"{kind}: {store['stalls']} lock() calls waited {STALL_SECONDS:g} s or more; longest wait "
            f"{store['longest_wait_s']:.2f} s."
        )
        if store["overlapping_after_expiry"]:
            found.append(f"{kind}: {store['overlapping_after_expiry']} more overlaps after a ticket expired.")
        if store["processes_reported"] < store["processes"]:
            reported = f"{store['processes_reported']} of {store['processes']}"
            found.append(f"{kind}: only {reported} processes reported.")
        for failure in store["failures"]:
            found.append(f"{kind}: a process failed: {failure}")
    return found


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.lock_race",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--processes", type=int, default=4, help="competing processes (default 4)")
    add("--iterations", type=int, default=100, help="acquisitions per process (default 100)")
    add("--samples", type=int, default=200, help="uncontended acquisitions timed (default 200)")
    add("--hold-ms", type=float, default=2.0, help="time each holder keeps the lock (default 2)")
    add("--seconds", type=float, default=8.0, help="contention time limit per store (default 8)")
    parser.add_argument("--store", action="append", choices=STORES, help="only this store (repeatable)")
    parser.add_argument("--redis-url", help="default: the setting APT_REDIS_URL")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON, not a table")
    args = parser.parse_args(argv)
    if args.processes < 2 or args.iterations < 1 or args.samples < 1:
        parser.error("at least 2 processes, 1 iteration and 1 sample")
    if not 0 < args.seconds <= 30:
        parser.error("--seconds must be in (0, 30]")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    figures = measure(
        processes=args.processes,
        iterations=args.iterations,
        samples=args.samples,
        hold_ms=args.hold_ms,
        seconds=args.seconds,
        stores=args.store or STORES,
        redis_url=args.redis_url,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(table(figures))
        print()
        for note in notes(figures):
            print(f"- {note}")
        print(f"- Took {figures['duration_s']:g} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
