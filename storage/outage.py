"""Database calls that never hold a turn: timeouts, a circuit breaker and a recovery loop.

The tracker store (:mod:`storage.tracker_store`) makes every database call through an
:class:`OutageGuard`; what waits for the database meanwhile is :mod:`storage.waiting_turns`.

- **Never on the event loop.** Every call (read, save, list) runs on one of the guard's
  ``DATABASE_THREADS`` threads and is awaited for at most the database timeout
  (``APT_DATABASE_TIMEOUT``, 3 s). The driver's own timeouts (:mod:`storage.database`) do not
  cover a network or server that accepted the connection and went silent: this wait does. A
  thread still stuck is left to end on its own, and a write it had not committed is rolled
  back (:class:`Attempt`). The threads are daemon threads (:class:`DaemonThreads`), so that
  a stuck one never keeps a worker from stopping.
- **Circuit breaker.** The first call that fails or times out marks the database down for
  this process: from then on no turn waits on it (:meth:`OutageGuard.call` raises
  :class:`DatabaseUnavailable` at once), and calls already waiting give up within
  ``BREAKER_POLL_SECONDS``.
- **Recovery.** A task on the server's loop (:meth:`OutageGuard.recover`: started with the
  first failure, or by the store when turns wait) opens a new connection every
  ``PROBE_SECONDS``; once one answers, it has what waited written (the ``write_waiting``
  the store gives it), then marks the database up.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, List, Optional, Tuple

import sqlalchemy as sa

from storage.database import probe

logger = logging.getLogger(__name__)

DATABASE_THREADS = 8  # threads of one store's database calls (fewer than the pool's 15 connections)
PROBE_SECONDS = 2.0  # while the database is down: how often it is tried again
BREAKER_POLL_SECONDS = 0.25  # a waiting call gives up this soon after another found it down

# What became of a write (Attempt): in the database; to be kept for later (never committed,
# or rolled back); failed; committing when given up (kept, held until its outcome is known).
WRITTEN, KEEP, FAILED, HELD = "written", "keep", "failed", "held"


class DatabaseUnavailable(Exception):
    """The database did not answer in time, or this process already knows it is down."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached or did not answer in time
    (rather than refusing one statement, e.g. a constraint)."""
    if isinstance(error, DatabaseUnavailable | asyncio.TimeoutError | TimeoutError | OSError):
        return True
    if isinstance(
        error,
        sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.DisconnectionError | sa.exc.TimeoutError,
    ):
        return True
    return isinstance(error, sa.exc.DBAPIError) and bool(error.connection_invalidated)


def describe(error: BaseException) -> str:
    """An error's kind, for the log: never its message, which may quote a visitor's text."""
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    original = getattr(error, "orig", None)
    return type(original).__name__ if original is not None else type(error).__name__


class DaemonThreads:
    """``count`` daemon threads running submitted calls, each with its ``Future``. Not a
    ThreadPoolExecutor: the interpreter joins those threads at exit, so a thread stuck on a
    database that stopped answering would keep a Rasa worker from ever stopping."""

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._count = count
        self._name = name
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._queue.put((future, function, args))
        if len(self._threads) < self._count:
            with self._lock:
                while len(self._threads) < self._count:
                    thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                    thread.start()
                    self._threads.append(thread)
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, function, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = function(*args)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)

    def shutdown(self) -> None:
        """The threads end once the calls submitted so far are done."""
        for _ in self._threads:
            self._queue.put(None)


class Attempt:
    """One database write, shared by its thread and the coroutine waiting for it.

    The coroutine may give up (timeout) while the thread goes on. Before ``COMMIT`` the
    thread asks :meth:`may_commit`: once given up, it rolls back, and the turn's events are
    spooled. A write given up *during* its ``COMMIT`` may or may not have committed: its
    events are spooled held, and :meth:`finish` resolves them when the thread returns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.committing = False
        self.abandoned = False
        self.outcome: Optional[str] = None
        self.on_finish: Optional[Callable[[bool], object]] = None

    def may_commit(self) -> bool:
        with self.lock:
            if self.abandoned:
                return False
            self.committing = True
            return True

    def finish(self, outcome: str) -> None:
        with self.lock:
            self.outcome = outcome
            callback = self.on_finish
        if callback is not None:
            callback(outcome == WRITTEN)

    def give_up(
        self, spool_held: Callable[[], Future], resolve: Callable[[bool], object]
    ) -> Tuple[str, Optional[Future]]:
        """Stop waiting for the write: WRITTEN if it committed meanwhile; KEEP if its events
        are to be kept (it will not commit); HELD if it is committing, with the future of
        ``spool_held()``, and ``resolve(committed)`` called once its outcome is known."""
        with self.lock:
            if self.outcome is not None:
                return (WRITTEN if self.outcome == WRITTEN else KEEP), None
            self.abandoned = True
            if not self.committing:
                return KEEP, None
            # Called under the lock: the held events are spooled before they are resolved.
            held = spool_held()
            self.on_finish = resolve
            return HELD, held


async def wait_for(future: Future, timeout: float, stop: Optional[Callable[[], bool]] = None) -> Any:
    """The result of a thread's ``future``, without blocking the loop: DatabaseUnavailable
    after ``timeout`` or, checked every BREAKER_POLL_SECONDS, as soon as ``stop()`` is true."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future = loop.create_future()

    def settle(done: Future) -> None:
        if not waiter.done():
            waiter.set_result(done)

    def on_done(done: Future) -> None:
        try:
            loop.call_soon_threadsafe(settle, done)
        except RuntimeError:
            pass  # the loop has closed: no one waits any more

    future.add_done_callback(on_done)
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DatabaseUnavailable(f"no answer within {timeout:g} s")
        step = min(remaining, BREAKER_POLL_SECONDS) if stop else remaining
        done, _ = await asyncio.wait({waiter}, timeout=step)
        if done:
            return waiter.result().result()
        if stop is not None and stop():
            raise DatabaseUnavailable("the database went down meanwhile")


class OutageGuard:
    """One store's database calls, with their timeout, the circuit breaker and recovery.

    ``write_waiting`` writes what waited for the database (run by the recovery task once the
    database answers): True when nothing waits any more; it raises if the database fails."""

    def __init__(
        self, url: str, timeout: float, write_waiting: Callable[[], Awaitable[bool]], stats: Counter
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._write_waiting = write_waiting
        self._stats = stats
        self._threads = DaemonThreads(DATABASE_THREADS, "apt-database")
        self._prober = DaemonThreads(1, "apt-database-probe")
        self._up = True
        self._recovery: Optional[asyncio.Task] = None

    @property
    def database_up(self) -> bool:
        """False from the first failed call until the database answers and what waited for
        it has been written."""
        return self._up

    async def call(
        self,
        function: Callable[..., Any],
        *args: Any,
        timeout: Optional[float] = None,
        follow_breaker: bool = True,
    ) -> Any:
        """``function(*args)`` on a database thread, waited for at most ``timeout`` (default
        the database timeout); a call still running then is left to end on its own. With
        ``follow_breaker``, DatabaseUnavailable as soon as the database is known down."""
        if follow_breaker and not self._up:
            raise DatabaseUnavailable("the database is down")
        future = self._threads.submit(function, *args)
        try:
            return await wait_for(future, timeout or self.timeout, self._is_down if follow_breaker else None)
        except DatabaseUnavailable:
            future.cancel()  # not started yet: never will
            raise

    def _is_down(self) -> bool:
        return not self._up

    def failed(self, error: BaseException, doing: str) -> None:
        """A call failed: an outage opens the breaker; either way recovery starts, to write
        the turn kept meanwhile."""
        if is_outage(error):
            if self._up:
                self._up = False
                self._stats["outages"] += 1
                logger.warning(
                    "The database did not answer while %s (%s): turns are kept in the spool "
                    "until it does.",
                    doing,
                    describe(error),
                )
        else:
            logger.error(
                "The database failed while %s (%s): the turn is kept in the spool.", doing, describe(error)
            )
        self.recover()

    def recover(self) -> None:
        """Start the recovery task on the running loop, unless it runs already."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._recovery
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._recovery = loop.create_task(self._recover())

    async def _recover(self) -> None:
        """While anything waits: try the database every PROBE_SECONDS while it is down; when
        it answers, write what waits and mark it up."""
        try:
            while True:
                if not self._up and not await self._answers():
                    await asyncio.sleep(PROBE_SECONDS)
                    continue
                try:
                    done = await self._write_waiting()
                except Exception as error:
                    self.failed(error, "writing spooled turns")
                    await asyncio.sleep(PROBE_SECONDS)
                    continue
                if not self._up:
                    self._up = True
                    logger.warning(
                        "The database answers again: %d spooled event(s) written so far.",
                        self._stats["flushed"],
                    )
                if done:
                    return
                await asyncio.sleep(PROBE_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never let the task die silently; the next turn restarts it
            logger.error(
                "Writing spooled turns stopped (%s); it starts again with the next turn.", describe(error)
            )

    async def _answers(self) -> bool:
        future = self._prober.submit(probe, self.url, self.timeout)
        try:
            await wait_for(future, self.timeout + 1)
            return True
        except Exception:
            return False

    def close(self) -> None:
        """Stop the recovery task and the threads (a stuck one is left to end)."""
        if self._recovery is not None and not self._recovery.done():
            try:
                self._recovery.cancel()
            except RuntimeError:
                pass  # its loop has closed
        self._threads.shutdown()
        self._prober.shutdown()
