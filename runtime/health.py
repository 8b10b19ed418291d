"""``GET /health`` on the Rasa server: which parts of the assistant are up, and nothing else.

Rasa's ``/`` says only that the Rasa server answers. Operators and proxies need to know
whether the parts it depends on answer too: the action server (its ``/health``) and the
project's database (``SELECT 1``). Each check has a short timeout, so a hung part shows as
down instead of holding the answer. The body names parts and states only, no visitor data:
``{"status": "ok" | "degraded", "parts": {"rasa": "up", "action_server": "up" | "down",
"database": "up" | "down"}}``, with 200 when every part is up and 503 otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import aiohttp
import sqlalchemy as sa
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
    from storage.database import engine_for

    try:
        with engine_for().connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False


async def _database_up() -> bool:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(None, _database_answers), CHECK_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        return False


async def health(_request: Request) -> HTTPResponse:
    actions, database = await asyncio.gather(_action_server_up(), _database_up())
    parts: Dict[str, str] = {
        "rasa": "up",
        "action_server": "up" if actions else "down",
        "database": "up" if database else "down",
    }
    healthy = all(state == "up" for state in parts.values())
    return response.json(
        {"status": "ok" if healthy else "degraded", "parts": parts}, status=200 if healthy else 503
    )


def add_health_route(app: Any) -> None:
    app.add_route(health, "/health", methods=["GET"], name="apt_health")
