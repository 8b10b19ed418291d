"""Conversation locks shared by Rasa servers on several machines, held in Redis.

Rasa handles one message of a conversation at a time: it holds a lock on the conversation
from reading its tracker to saving it. :mod:`storage.lock_store` keeps those locks in the
kernel of one machine; replicas on several machines (the ``scale`` profile) need a lock they
all reach. This store keeps each conversation's lock as one Redis key,
``<prefix><conversation id>`` (``apt:lock:`` by default), in the Redis server of the setting
``APT_REDIS_URL``::

    lock_store:
      type: storage.redis_lock_store.AtomicRedisLockStore
      # url: redis://10.0.0.5:6379/0      (optional; overrides APT_REDIS_URL)

Decisions:

- Not Rasa's own ``RedisLockStore``: it issues tickets by reading the conversation's ticket
  list, adding one and writing it back, in separate commands (RasaHQ/rasa#9213). Two
  servers that do so at the same moment draw the same ticket, or one overwrites the other's,
  and both handle a message of the same conversation at once (``python -m
  benchmark.lock_race`` shows it). Here the lock is taken with one atomic command,
  ``SET key token NX PX lease``, and released and renewed by redis-py's ``Lock`` (Lua
  scripts that compare the token first), so a server only ever releases its own lock.
- A lease, renewed: the key expires ``lease_seconds`` (10 s) after it was last renewed, and
  the holder renews it every third of that while the message is handled. A slow message
  keeps its lock however long it takes; a server that dies (kill -9, power cut) frees its
  conversations within one lease. Renewal runs on the server's event loop: a message that
  blocked the loop for longer than a lease would lose its lock (a prediction takes well
  under a second).
- A waiting message polls every ``POLL_SECONDS``; messages of one conversation that arrive at
  the same moment are handled one after the other, not necessarily in arrival order (as with
  the file store: a visitor waits for each answer before typing the next message). After
  waiting ``lock_lifetime`` seconds (Rasa's ``TICKET_LOCK_LIFETIME``, 60 s by default) the
  message fails with Rasa's ``LockError`` rather than run alongside the one being handled.
- This machine's lock first: every message also holds the conversation's lock of
  :class:`storage.lock_store.FileLockStore` (a kernel lock in ``local_directory``, by default
  the setting ``APT_LOCK_DIRECTORY``; about 0.02 ms), then the Redis lock. Replicas on one
  machine are thus kept apart even when Redis is not there, and the two locks are always
  taken in the same order.
- Redis unreachable (refused, or hanging: every command has a socket timeout,
  ``socket_timeout``, 2 s): the visitor is answered all the same, under this machine's lock
  only, and the turn is stored as usual. The first failure opens a breaker: later messages do
  not try Redis (nobody waits for its timeout) while a background task pings it every
  ``PROBE_SECONDS``; when it answers, messages take their Redis locks again. Meanwhile two
  replicas on *different* machines could handle one conversation at once (a visitor's widget
  socket stays on one replica; a REST client waits for each answer), which is the price of
  answering at all; ``/health`` reports ``"redis": "down"`` and the log says when the breaker
  opens and closes. If Redis goes away while a message holds its Redis lock, the message
  finishes (its renewals and release fail and are logged); the key expires by itself (so does
  a key whose ``SET`` was applied but whose answer was lost). A restarted Redis has forgotten
  the locks held (they live in its memory only): a message arriving then may run beside one
  on another machine still being handled, whose renewal logs the loss.
- One Redis client (with its connection pool) per store, that is per Rasa worker process.
  redis-py's asyncio connections belong to the event loop that opened them, so a store used
  from another loop (only tests do that) opens a new client there.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from contextlib import asynccontextmanager, suppress
from typing import Any, AsyncIterator, Optional, Tuple, Type
from urllib.parse import urlsplit, urlunsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

import apt_settings
from storage.lock_store import FileLockStore

logger = logging.getLogger(__name__)

KEY_PREFIX = "apt:lock:"
LEASE_SECONDS = 10.0
RENEWALS_PER_LEASE = 3
POLL_SECONDS = 0.01
SOCKET_TIMEOUT_SECONDS = 2.0
# While Redis is away, how often a background task asks whether it is back.
PROBE_SECONDS = 1.0
# What a failing Redis command raises: redis-py wraps socket errors, but not every one, and on
# uvloop (the Rasa server's event loop) a write to a connection the server reset raises a
# RuntimeError ("unable to perform operation on <TCPTransport closed=True ...>").
REDIS_FAILURES: Tuple[Type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError, RuntimeError)


def shown(url: str) -> str:
    """The URL for messages and logs, without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit(parts._replace(netloc=user + host))


def positive(value: Any, name: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return number


class RedisUnavailable(Exception):
    """Redis did not answer a command in time, or refused the connection."""


# The stores of this process, for /health (server/health.py): weakly, so tests' stores go.
_stores: weakref.WeakSet[AtomicRedisLockStore] = weakref.WeakSet()


async def redis_state() -> Optional[str]:
    """``"up"`` or ``"down"`` for the Redis servers of this process's lock stores: down if a
    store's breaker is open or its Redis does not answer a ping now; None where no Redis lock
    store runs. Only stores of the running event loop (or not used yet) count: a store left
    from a loop that has ended can neither recover nor serve a message."""
    loop = asyncio.get_running_loop()
    stores = [store for store in list(_stores) if store.serves(loop)]
    if not stores:
        return None
    if any(store.redis_down for store in stores):
        return "down"
    for store in {store.url: store for store in stores}.values():
        try:
            answers = await asyncio.wait_for(store.client().ping(), store.socket_timeout)
        except REDIS_FAILURES:
            return "down"
        if not answers:
            return "down"
    return "up"


class AtomicRedisLockStore(LockStore):
    """``lock_store: {type: storage.redis_lock_store.AtomicRedisLockStore}`` in endpoints.yml;
    optional ``url`` (default: the setting ``APT_REDIS_URL``), ``key_prefix``,
    ``lease_seconds``, ``socket_timeout`` and ``local_directory`` (this machine's locks)."""

    def __init__(
        self,
        endpoint_config: Any = None,
        url: Optional[str] = None,
        key_prefix: Optional[str] = None,
        lease_seconds: Optional[float] = None,
        socket_timeout: Optional[float] = None,
        local_directory: Optional[str] = None,
    ) -> None:
        options = getattr(endpoint_config, "kwargs", None) or {}
        self.url = url or getattr(endpoint_config, "url", None) or apt_settings.settings().redis_url
        self.key_prefix = key_prefix or options.get("key_prefix") or KEY_PREFIX
        self.lease_seconds = positive(
            lease_seconds or options.get("lease_seconds", LEASE_SECONDS), "lease_seconds"
        )
        self.socket_timeout = positive(
            socket_timeout or options.get("socket_timeout", SOCKET_TIMEOUT_SECONDS), "socket_timeout"
        )
        self._client: Optional[Redis] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.local = FileLockStore(directory=local_directory or options.get("local_directory"))
        # Since when Redis is considered away (None: it answers), and the task asking for it.
        self._down_since: Optional[float] = None
        self._probe: Optional[asyncio.Task[None]] = None
        _stores.add(self)

    @property
    def redis_down(self) -> bool:
        return self._down_since is not None

    def serves(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether this store is used in ``loop``, or not used yet."""
        return self._loop is None or self._loop is loop

    def key_for(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def client(self) -> Redis:
        """This store's client, opened on first use in the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = Redis.from_url(
                self.url, socket_timeout=self.socket_timeout, socket_connect_timeout=self.socket_timeout
            )
            self._loop = loop
        return self._client

    async def close(self) -> None:
        """Close the client's connections (a store is otherwise used until its process ends)."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close(close_connection_pool=True)
        self._client = None

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock while the block runs (Rasa's interface): this
        machine's, and Redis's unless Redis is away (see the module's docstring)."""
        started = time.monotonic()
        async with self.local.lock(conversation_id, lock_lifetime):
            held = await self._shared_lock(conversation_id, lock_lifetime, started, wait_time_in_seconds)
            renewal = asyncio.create_task(self._keep_alive(held, conversation_id)) if held else None
            try:
                yield TicketLock(conversation_id)
            finally:
                if renewal is not None and held is not None:
                    renewal.cancel()
                    with suppress(asyncio.CancelledError):
                        await renewal
                    await self._release(held, conversation_id)

    async def _shared_lock(
        self, conversation_id: str, lock_lifetime: float, started: float, poll: float
    ) -> Optional[Lock]:
        """The conversation's Redis lock, held within ``lock_lifetime`` of ``started``; None
        while Redis is away."""
        if self.redis_down:
            return None
        held = Lock(
            self.client(), self.key_for(conversation_id), timeout=self.lease_seconds, sleep=poll,
            thread_local=False,
        )  # fmt: skip
        try:
            await self._acquire(held, conversation_id, lock_lifetime, started)
        except RedisUnavailable as error:
            self._went_away(error)
            return None
        return held

    def _went_away(self, error: BaseException) -> None:
        """Open the breaker and start asking for Redis in the background."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error(
                f"The Redis server at {shown(self.url)} did not answer ({error}): conversations are "
                f"locked on this machine only until it does."
            )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._wait_for_redis())

    async def _wait_for_redis(self) -> None:
        while self._down_since is not None:
            await asyncio.sleep(PROBE_SECONDS)
            with suppress(*REDIS_FAILURES):
                if await self.client().ping():
                    logger.warning(
                        f"The Redis server at {shown(self.url)} answers again after "
                        f"{time.monotonic() - self._down_since:.0f} s: conversations are locked in it again."
                    )
                    self._down_since = None

    async def _acquire(self, held: Lock, conversation_id: str, lock_lifetime: float, started: float) -> None:
        token = uuid.uuid4().hex
        wait = max(lock_lifetime - (time.monotonic() - started), POLL_SECONDS)
        try:
            acquired = await held.acquire(blocking_timeout=wait, token=token)
        except REDIS_FAILURES as error:
            raise RedisUnavailable(error or type(error).__name__) from error
        except BaseException:  # cancelled while the SET may have been applied
            await self._abandon(held, token)
            raise
        if not acquired:
            raise LockError(
                f"Could not acquire lock for conversation_id '{conversation_id}' "
                f"within {lock_lifetime:g} s."
            )

    @staticmethod
    async def _abandon(held: Lock, token: str) -> None:
        """Delete the key if it holds ``token``: an acquisition cut short may have set it."""
        with suppress(*REDIS_FAILURES, asyncio.CancelledError):
            await held.do_release(token.encode())

    async def _keep_alive(self, held: Lock, conversation_id: str) -> None:
        """Reset the lease every third of it until cancelled (when the block ends)."""
        while True:
            await asyncio.sleep(self.lease_seconds / RENEWALS_PER_LEASE)
            try:
                await held.reacquire()
            except LockNotOwnedError:
                logger.error(
                    f"The lock of conversation '{conversation_id}' expired while its message was "
                    f"handled: another message of it may be handled at the same time."
                )
                return
            except REDIS_FAILURES as error:
                logger.warning(f"Could not renew the lock of conversation '{conversation_id}': {error}")

    async def _release(self, held: Lock, conversation_id: str) -> None:
        try:
            await held.release()
        except LockNotOwnedError:
            logger.warning(f"The lock of conversation '{conversation_id}' had expired before its release.")
        except REDIS_FAILURES as error:
            logger.warning(
                f"Could not release the lock of conversation '{conversation_id}' ({error}); "
                f"it expires within {self.lease_seconds:g} s."
            )

    # Rasa's ticket interface, used only by its own ``lock()``, which this store replaces;
    # a ticket kept through it would not be shared with the other servers.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        raise NotImplementedError("AtomicRedisLockStore keeps no tickets: use lock()")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore keeps no tickets: use lock()")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore keeps no tickets: use lock()")
