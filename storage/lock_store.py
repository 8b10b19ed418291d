"""Conversation locks shared by the Rasa worker processes of one machine, with no server.

Rasa handles one message of a conversation at a time: it holds a lock on the conversation
from reading its tracker to saving it. Its default lock store lives in the memory of one
process, so Rasa refuses to start more than one worker with it. This store keeps the locks
in the operating system instead: each conversation maps (by a stable hash of its id) to one
of ``STRIPES`` lock files, held with ``flock`` while the message is handled. That makes a
second worker process possible (``APT_RASA_WORKERS``, see scripts/serve.py), so the Rasa
server uses more than one core, with nothing to install. Kernel locks are released when a
process ends, so a crashed worker never leaves a conversation locked.

Decisions:

- Several conversations share a file (a few ms of waiting when two of them collide), so the
  number of files stays fixed and nothing needs cleaning up.
- A waiting message polls every ``POLL_SECONDS``; messages of one conversation that arrive
  at the same moment are handled one after the other, not necessarily in arrival order
  (a visitor waits for each answer before typing the next message).
- After waiting ``lock_lifetime`` seconds (Rasa's ``TICKET_LOCK_LIFETIME``, 60 s by
  default) the message fails with Rasa's ``LockError`` rather than run alongside the
  message still being handled.
- The locks hold only on one machine. Servers on several machines need a lock store they
  all reach: Rasa's ``RedisLockStore`` (``lock_store: {type: redis, url: ...}``).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

import apt_settings

logger = logging.getLogger(__name__)

STRIPES = 256
POLL_SECONDS = 0.005


def stripe_of(conversation_id: str, stripes: int = STRIPES) -> int:
    """The lock file of a conversation: the same in every process (Python's own ``hash`` of
    a string differs between processes)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % stripes


class FileLockStore(LockStore):
    """``lock_store: {type: storage.lock_store.FileLockStore}`` in endpoints.yml; optional
    ``directory`` (default: the setting ``APT_LOCK_DIRECTORY``, ``var/locks``)."""

    def __init__(self, endpoint_config: Any = None, directory: Optional[str] = None) -> None:
        settings = getattr(endpoint_config, "kwargs", None) or {}
        chosen = directory or settings.get("directory")
        self.directory = Path(chosen) if chosen else apt_settings.settings().lock_directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, conversation_id: str) -> Path:
        return self.directory / f"conversation-{stripe_of(conversation_id):03d}.lock"

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock while the block runs (Rasa's interface)."""
        descriptor = os.open(self.path_for(conversation_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await self._acquire(descriptor, conversation_id, lock_lifetime, wait_time_in_seconds)
            try:
                yield TicketLock(conversation_id)
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    @staticmethod
    async def _acquire(descriptor: int, conversation_id: str, lock_lifetime: float, poll: float) -> None:
        deadline = time.monotonic() + lock_lifetime
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"Could not acquire lock for conversation_id '{conversation_id}' "
                        f"within {lock_lifetime:.0f} s."
                    ) from None
                await asyncio.sleep(poll)

    # Rasa's ticket interface, used only by its own ``lock()``, which this store replaces.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return None

    def save_lock(self, lock: TicketLock) -> None:
        return None

    def delete_lock(self, conversation_id: str) -> None:
        return None
