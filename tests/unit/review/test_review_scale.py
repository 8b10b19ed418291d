"""The conversation list with 100,000 conversations: pages come from indexes (keyset
pagination, no sort of the whole table, nothing loaded into memory)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from review import create_app, queries
from review.accounts import create
from storage import schema
from storage.conversations import Cursor, _page_query
from storage.database import engine_for
from tests.unit.review.test_review_app import PASSWORD, listed, login, total

CONVERSATIONS = 100_000
INTENTS = ["greet", "ask_funding", "ask_country_engagement", "disclose_abuse", "out_of_scope"]


# 100,000 conversations are seeded once for the module: part of `make test`, not `make unit`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'apt.db'}"
    engine = engine_for(url)
    create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})  # creates every table
    start = time.time() - CONVERSATIONS * 60
    summaries: List[dict] = []
    facets: List[dict] = []
    for n in range(CONVERSATIONS):
        sender = f"visitor-{n:06d}"
        summaries.append({
            "sender_id": sender, "started_at": start + n * 60, "last_active_at": start + n * 60 + 30,
            "channel": "socketio", "user_messages": 3, "bot_messages": 3, "fallback_count": n % 7 == 0,
            "lowest_confidence": 0.3 if n % 11 == 0 else 0.9, "disclosure": n % 97 == 0,
            "funding_enquiry": n % 53 == 0, "search_text": f"do you work in country {n % 80}",
        })  # fmt: skip
        facets.append({"sender_id": sender, "kind": "intent", "value": INTENTS[n % 5], "count": 2})
        facets.append(
            {"sender_id": sender, "kind": "intent", "value": "greet", "count": 1} if n % 5 else None
        )
    with engine.begin() as connection:
        connection.execute(schema.summaries.insert(), summaries)
        connection.execute(schema.facets.insert(), [f for f in facets if f])
    create(engine, "alice", PASSWORD)
    return url


@pytest.fixture(scope="module")
def client(big_database: str) -> Iterator[FlaskClient]:
    app: Flask = create_app({"DATABASE_URL": big_database, "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    assert login(client).status_code == 302
    yield client


def plan(url: str, filters: queries.Filters, after: Cursor | None = None) -> str:
    query = _page_query(filters, 0.6, after, 51)
    engine = engine_for(url)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        return " | ".join(row[-1] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_first_and_deep_pages(client: FlaskClient) -> None:
    first = client.get("/conversations/").get_data(as_text=True)
    assert total(first) == CONVERSATIONS and listed(first)[0] == "visitor-099999" and len(listed(first)) == 50
    cursor = Cursor(time.time() - 90_000 * 60, "")
    deep = client.get(f"/conversations/?after={cursor.token()}").get_data(as_text=True)
    assert len(listed(deep)) == 50 and int(listed(deep)[0].split("-")[1]) < 10_000
    older = re.search(r'rel="next" href="([^"]+)"', deep).group(1).replace("&amp;", "&")
    assert int(listed(client.get(older).get_data(as_text=True))[0].split("-")[1]) < int(
        listed(deep)[-1].split("-")[1]
    )


def test_filtered_pages(client: FlaskClient) -> None:
    assert total(client.get("/conversations/?flag=disclosure").get_data(as_text=True)) == len(
        range(0, CONVERSATIONS, 97)
    )
    by_intent = client.get("/conversations/?intent=disclose_abuse").get_data(as_text=True)
    assert total(by_intent) == CONVERSATIONS // 5


@pytest.mark.parametrize(
    "filters",
    [queries.Filters(), queries.Filters(flag="fallback"), queries.Filters(low_confidence=True)],
    ids=["all", "fallback", "low-confidence"],
)
def test_the_list_is_read_in_index_order_not_sorted_in_memory(
    big_database: str, filters: queries.Filters
) -> None:
    for after in (None, Cursor(time.time() - 50_000 * 60, "visitor-050000")):
        explained = plan(big_database, filters, after)
        assert "ix_conversation_summaries_recent" in explained, explained
        assert "TEMP B-TREE" not in explained, explained


def test_the_intent_filter_uses_the_facet_index(big_database: str) -> None:
    explained = plan(big_database, queries.Filters(intent="disclose_abuse"))
    assert (
        "ix_conversation_facets_kind_value" in explained
        or "sqlite_autoindex_conversation_facets" in explained
    ), explained


def test_export_streams_every_matching_conversation(client: FlaskClient, tmp_path: Path) -> None:
    response = client.get("/conversations/export.csv?flag=funding")
    lines = response.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 1 + len(range(0, CONVERSATIONS, 53))
