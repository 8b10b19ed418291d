"""``GET /health`` on the Rasa server: which parts of the assistant are up, and nothing else.

Rasa's ``/`` says only that the Rasa server answers. Operators and proxies need to know
whether the parts it depends on answer too: the action server (its ``/health``) and the
project's database (``SELECT 1`` on a new connection, :func:`storage.database.probe`). Each
check has a short timeout, so a hung part shows as down instead of holding the answer.

The database is ``up`` when it answers and no turn waits for it; ``degraded`` when turns wait
in the local spool (it does not answer, or it does and they are being written to it:
:mod:`storage.tracker_store`); ``down`` when it does not answer and the spool cannot be
written either (turns are then kept in memory only). Whenever it is not up, the body says
how many events wait (``spooled_events``: this machine's spool, the widget's feedback
included, plus this process's memory).

In the scale profile the conversation locks live in Redis (:mod:`storage.redis_lock_store`):
``"redis": "up" | "down"`` says whether this process takes them there, or, Redis being away,
on this machine only (visitors are still answered).

The body names parts, states and counts only, no visitor data: ``{"status": "ok" |
"degraded", "parts": {"rasa": "up", "action_server": "up" | "down", "database": "up" |
"degraded" | "down"[, "redis": "up" | "down"]}}`` (and ``"spooled_events": n`` when the
database is not up), with 200 when every part is up and 503 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Dict, Optional, Tuple

import aiohttp
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from apt_settings import settings

CHECK_TIMEOUT_SECONDS = 2.0


async def _action_server_up() -> bool:
    url = f"http://127.0.0.1:{settings().actions_port}/health"
    try:
        timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as answer:
            return answer.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


def _database_answers() -> bool:
    from storage.database import answers

    return answers(timeout=CHECK_TIMEOUT_SECONDS)


def _spooled_events() -> int:
    """Turns and the widget's feedback waiting in this machine's spool."""
    from storage import feedback
    from storage.spool import counts

    conf = settings()
    return counts(conf.spool_directory, conf.database_url).pending + feedback.waiting(conf.database_url)


async def _in_thread(function: Any, default: Any) -> Any:
    """``function()`` in a thread, or ``default`` if it fails or takes longer than the check."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(None, function), CHECK_TIMEOUT_SECONDS + 0.5)
    except Exception:
        return default


async def _database_state() -> Tuple[str, int]:
    """The database's state (up, degraded, down) and how many events wait for it."""
    answers, spooled = await asyncio.gather(
        _in_thread(_database_answers, False), _in_thread(_spooled_events, None)
    )
    in_memory, spool_failing = 0, False
    store_module = sys.modules.get("storage.tracker_store")  # loaded where Rasa runs the store
    if store_module is not None:
        in_memory, spool_failing = store_module.unspooled_events()
    waiting: Optional[int] = None if spooled is None else spooled + in_memory
    if answers and waiting == 0:
        return "up", 0
    if not answers and (spool_failing or spooled is None):
        return "down", waiting or in_memory
    return "degraded", waiting or in_memory


async def health(_request: Request) -> HTTPResponse:
    actions, (database, waiting) = await asyncio.gather(_action_server_up(), _database_state())
    parts: Dict[str, str] = {
        "rasa": "up",
        "action_server": "up" if actions else "down",
        "database": database,
    }
    locks = sys.modules.get("storage.redis_lock_store")  # loaded where Rasa runs that store
    redis = await locks.redis_state() if locks is not None else None
    if redis is not None:
        parts["redis"] = redis
    healthy = all(state == "up" for state in parts.values())
    body: Dict[str, Any] = {"status": "ok" if healthy else "degraded", "parts": parts}
    if database != "up":
        body["spooled_events"] = waiting
    return response.json(body, status=200 if healthy else 503)


def add_health_route(app: Any) -> None:
    app.add_route(health, "/health", methods=["GET"], name="apt_health")
