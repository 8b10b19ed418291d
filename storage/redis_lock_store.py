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
- Redis unreachable: every command has a socket timeout (``socket_timeout``, 2 s), and a
  message that cannot take its lock fails at once with ``LockError`` naming the server,
  rather than hang or run unlocked. If Redis goes away while a message holds its lock, the
  message finishes (its renewals and release fail and are logged); the key expires by itself
  (so does a key whose ``SET`` was applied but whose answer was lost). A restarted Redis has
  forgotten the locks held (they live in its memory only): a message arriving then may run
  beside one still being handled, whose renewal logs the loss.
- One Redis client (with its connection pool) per store, that is per Rasa worker process.
  redis-py's asyncio connections belong to the event loop that opened them, so a store used
  from another loop (only tests do that) opens a new client there.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager, suppress
from typing import Any, AsyncIterator, Optional, Tuple, Type
from urllib.parse import urlsplit, urlunsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

import apt_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "apt:lock:"
LEASE_SECONDS = 10.0
RENEWALS_PER_LEASE = 3
POLL_SECONDS = 0.01
SOCKET_TIMEOUT_SECONDS = 2.0
# What a failing Redis command raises: redis-py wraps socket errors, but not every one.
REDIS_FAILURES: Tuple[Type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


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


class AtomicRedisLockStore(LockStore):
    """``lock_store: {type: storage.redis_lock_store.AtomicRedisLockStore}`` in endpoints.yml;
    optional ``url`` (default: the setting ``APT_REDIS_URL``), ``key_prefix``,
    ``lease_seconds`` and ``socket_timeout``."""

    def __init__(
        self,
        endpoint_config: Any = None,
        url: Optional[str] = None,
        key_prefix: Optional[str] = None,
        lease_seconds: Optional[float] = None,
        socket_timeout: Optional[float] = None,
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
        """Hold the conversation's lock while the block runs (Rasa's interface)."""
        held = Lock(
            self.client(),
            self.key_for(conversation_id),
            timeout=self.lease_seconds,
            sleep=wait_time_in_seconds,
            thread_local=False,
        )
        await self._acquire(held, conversation_id, lock_lifetime)
        renewal = asyncio.create_task(self._keep_alive(held, conversation_id))
        try:
            yield TicketLock(conversation_id)
        finally:
            renewal.cancel()
            with suppress(asyncio.CancelledError):
                await renewal
            await self._release(held, conversation_id)

    async def _acquire(self, held: Lock, conversation_id: str, lock_lifetime: float) -> None:
        token = uuid.uuid4().hex
        try:
            acquired = await held.acquire(blocking_timeout=lock_lifetime, token=token)
        except REDIS_FAILURES as error:
            raise LockError(
                f"Could not acquire lock for conversation_id '{conversation_id}': the Redis "
                f"server at {shown(self.url)} did not answer ({error or type(error).__name__})."
            ) from error
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
