"""The insights and the enquiries pages on a real database (SQLite and PostgreSQL): the funding
funnel counted exactly from scripted conversations, messages understood per day and language,
feedback per answer, the questions most often missed, plural forms, the funding form's labels
instead of codes, and one time format everywhere."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet

from review import create_app, formatting
from storage import schema
from storage.database import engine_for
from storage.summary import funding_step_of, summarise
from storage.tracker_store import RedactingSQLTrackerStore
from tests.unit.review.test_review_app import ROOT, alice_hash, guessed, login, page
from tests.unit.storage.test_tracker_store import DOMAIN, save

FUNDING = "can you fund our project"


def funding_turns(reached: int, at: float, answer_id: str = "") -> List[List[Any]]:
    """A funding conversation that reaches step ``reached`` (1 offered ... 5 stored), turn by turn
    as Rasa saves it; the visitor refuses or stops at the next step."""
    ask = [
        ActionExecuted("action_listen", timestamp=at),
        guessed(FUNDING, [("ask_funding", 0.97)], at=at, fell_back=False),
        ActionExecuted("utter_faq_funding", timestamp=at + 1),
        BotUttered(
            "The APT is not a donor ...",
            metadata={"utter_action": "utter_faq_funding", **({"answer_id": answer_id} if answer_id else {})},
            timestamp=at + 1,
        ),
        ActionExecuted("utter_offer_partnership_check", timestamp=at + 1),
        BotUttered(
            "Shall I check ...?", metadata={"utter_action": "utter_offer_partnership_check"}, timestamp=at + 1
        ),
    ]
    accept = [
        guessed("yes", [("affirm", 0.99)], at=at + 2, fell_back=False),
        ActionExecuted("funding_form", timestamp=at + 2),
        ActiveLoop("funding_form", timestamp=at + 2),
    ]
    assess = [
        guessed("an NGO in Kenya doing detention monitoring", [("inform", 0.9)], at=at + 3, fell_back=False),
        ActiveLoop(None, timestamp=at + 3),
        ActionExecuted("action_assess_partnership_fit", timestamp=at + 3),
        SlotSet("partnership_fit", "likely", timestamp=at + 3),
        ActionExecuted("utter_ask_enquiry_consent", timestamp=at + 3),
    ]
    consent = [
        guessed("yes please", [("affirm", 0.99)], at=at + 4, fell_back=False),
        ActionExecuted("enquiry_form", timestamp=at + 4),
        ActiveLoop("enquiry_form", timestamp=at + 4),
    ]
    store = [
        guessed("Friends of Kenya, ngo@example.org", [("inform", 0.8)], at=at + 5, fell_back=False),
        ActiveLoop(None, timestamp=at + 5),
        ActionExecuted("action_record_enquiry", timestamp=at + 5),
        SlotSet("enquiry_status", "recorded", timestamp=at + 5),
    ]
    refuse = [guessed("no", [("deny", 0.99)], at=at + 9, fell_back=False)]
    steps = [ask, accept, assess, consent, store]
    return [[SessionStarted(timestamp=at)] + steps[0], *steps[1:reached], *([refuse] if reached < 5 else [])]


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=database_url)
    now = time.time()
    # Conversations reaching each step: 2 offered only, 1 accepted, 1 assessed, 1 consented, 2 stored.
    for n, reached in enumerate([1, 1, 2, 3, 4, 5, 5]):
        for turn in funding_turns(reached, now - 3600 + n * 60, answer_id=f"funding-{n}"):
            save(store, f"f-{n}", turn)
    save(
        store,
        "f-other",
        [
            SessionStarted(timestamp=now - 600),
            ActionExecuted("action_listen"),
            guessed("bonjour, qui êtes-vous", [("ask_about_apt", 0.9)], at=now - 600, fell_back=False),
            SlotSet("language", "fr"),
            BotUttered(
                "L'APT ...",
                metadata={"source": "Profile: Objectives", "answer_id": "objectives"},
                timestamp=now - 599,
            ),
            ActionExecuted("action_listen"),
            guessed("blorp", [("greet", 0.3)], at=now - 590),
            BotUttered("Pardon ?", timestamp=now - 589),
        ],
    )
    with engine_for(database_url).begin() as connection:
        connection.execute(
            schema.feedback.insert(),
            [
                {"sender_id": "f-0", "answer_id": "funding-0", "value": "up", "created_at": now},
                {"sender_id": "f-1", "answer_id": "funding-1", "value": "down", "created_at": now},
                {"sender_id": "f-2", "answer_id": "funding-2", "value": "up", "created_at": now},
                {"sender_id": "f-other", "answer_id": "objectives", "value": "up", "created_at": now},
            ],
        )
        connection.execute(
            schema.staff_users.insert().values(username="alice", password_hash=alice_hash(), created_at=now)
        )
    yield create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "SESSION_COOKIE_SECURE": False})


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def figures(client: FlaskClient, query: str = "") -> Dict[str, Any]:
    html = page(client, f"/insights/{query}")
    return json.loads(re.search(r'id="insights-data">(.*?)</script>', html, re.S).group(1))


def test_the_funding_funnel_counts_conversations_exactly(staff: FlaskClient) -> None:
    assert figures(staff)["funnel"] == [
        ["offered", 7],
        ["accepted", 5],
        ["fit assessed", 4],
        ["consented", 3],
        ["stored", 2],
    ]


def test_each_funding_step_is_marked_by_one_event() -> None:
    steps = [funding_step_of(event.as_dict()) for turn in funding_turns(5, 0.0) for event in turn]
    assert sorted(set(steps)) == [0, 1, 2, 3, 4, 5]
    assert [s for s in steps if s] == [1, 2, 3, 4, 5], "in order, once each"


def test_a_summary_merged_turn_by_turn_equals_one_made_at_once() -> None:
    turns = [[e.as_dict() for e in turn] for turn in funding_turns(4, 1000.0)]
    merged = None
    for turn in turns:
        merged = summarise("s", turn, merged)
    assert merged == summarise("s", [e for turn in turns for e in turn])
    assert merged is not None and merged.funding_step == 4


def test_messages_understood_per_day_and_per_language(staff: FlaskClient) -> None:
    understood = figures(staff)["understood"]
    typed = sum(reached + 1 for reached in [1, 1, 2, 3, 4, 5, 5]) - 2  # + "no", but none after "stored"
    assert understood["per_language"] == [["en", typed, typed], ["fr", 2, 1]]
    assert sum(day[1] for day in understood["per_day"]) == typed + 2
    html = page(staff, "/insights/")
    assert '<th scope="row">French</th><td>2</td><td>1</td><td>50%</td>' in html


def test_feedback_per_answer_and_the_questions_most_missed(staff: FlaskClient) -> None:
    found = figures(staff)
    assert found["feedback"] == [["utter_faq_funding", 2, 1], ["Profile: Objectives", 1, 0]]
    assert found["missed"] == [["blorp", 1], [FUNDING, 1]], "a fallback, and a question whose answer got 👎"


def test_every_chart_has_a_table_of_its_figures(staff: FlaskClient) -> None:
    html = page(staff, "/insights/")
    canvases = re.findall(r'<canvas id="([\w-]+)" aria-hidden="true">', html)
    assert len(canvases) == 8
    # Each in a clipped box: a table ignores the 1 px width of a hidden element.
    assert html.count('<div class="visually-hidden">\n<table>') == len(canvases)
    assert '<th scope="row">stored</th><td>2</td>' in html


def test_counts_are_written_with_the_right_plural(staff: FlaskClient, app: Flask) -> None:
    html = page(staff, "/insights/")
    assert "2 funding enquiries recorded" in html
    with engine_for(app.config["DATABASE_URL"]).begin() as connection:
        connection.execute(
            schema.summaries.update()
            .where(schema.summaries.c.sender_id != "f-5")
            .values(funding_enquiry=False)
        )
    assert "1 funding enquiry recorded" in page(staff, "/insights/")
    assert formatting.plural(0, "group", "groups") == "0 groups"
    assert formatting.plural(1, "missed message", "missed messages") == "1 missed message"
    assert formatting.plural(1200, "conversation", "conversations") == "1,200 conversations"


def test_one_time_format_everywhere() -> None:
    moment = 1_796_000_000.0
    assert formatting.when(moment) == "2026-11-30 00:53"
    assert formatting.when("2026-11-30T00:53:20+00:00") == formatting.when(moment)
    assert formatting.when("2026-11-30T01:53:20+01:00") == formatting.when(moment)
    assert formatting.when(None) == "" and formatting.when("not a time") == "not a time"


def test_enquiries_show_the_funding_form_s_labels_not_codes(staff: FlaskClient, app: Flask) -> None:
    with engine_for(app.config["DATABASE_URL"]).begin() as connection:
        connection.execute(
            schema.enquiries.insert().values(
                created_at="2026-12-01T10:00:00+00:00", conversation_id="f-5", organisation_type="ngo",
                country_iso3="KEN", country="Kenya", work_area="detention_monitoring", fit="partial",
                organisation_name="Friends", email="ngo@example.org", consent=True,
                consent_at="2026-12-01T09:59:30+00:00",
            )
        )  # fmt: skip
    html = page(staff, "/enquiries/")
    row = re.search(r"<tr><td>2026-12-01 10:00</td>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[:8] == [
        "2026-12-01 10:00", "Friends", "NGO", "Kenya", "Detention monitoring", "Partial fit",
        "ngo@example.org", "2026-12-01 09:59",
    ]  # fmt: skip
    assert "1 partnership enquiry visitors agreed" in html


def test_every_code_of_the_funding_form_has_a_label() -> None:
    from content.knowledge import load_knowledge_base

    partnership = load_knowledge_base().partnership
    domain = ROOT / "domain.yml"
    for slot, options in (
        ("organisation_type", partnership.organisation_types),
        ("work_area", partnership.work_areas),
    ):
        for option in options:
            assert formatting.code_label(domain, slot, option.id) != option.id, (slot, option.id)
    assert formatting.code_label(Path(domain), "organisation_type", "ngo") == "NGO"
