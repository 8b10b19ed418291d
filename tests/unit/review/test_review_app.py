"""The staff review workspace, through Flask's test client on a real database (SQLite and
PostgreSQL): login, roles and their protections, the list and its filters, transcripts, review
marks, tags, saved filters, corrections exported as Rasa training data, enquiries, insights,
exports. The inbox is tested in tests/unit/review/test_inbox.py, insights' figures in
tests/unit/review/test_insights.py."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
import yaml
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from apt_settings import ROOT
from review import create_app, db
from review.accounts import AccountError, create, set_role
from storage import schema
from storage.database import engine_for
from storage.tracker_store import RedactingSQLTrackerStore
from tests.support.commands import run_module
from tests.unit.storage.test_migrations import SHORT_TIMEOUT, cut_off, postgres_with_short_timeout
from tests.unit.storage.test_tracker_store import DOMAIN, save, user

PASSWORD = "correct horse battery staple"
DAY = 86400


def guessed(
    text: str,
    ranking: List[tuple],
    at: float,
    fell_back: bool = True,
    channel: str = "socketio",
    **kwargs: Any,
) -> UserUttered:
    """A visitor message as Rasa records it: after a fallback, ``nlu_fallback`` at exactly the
    threshold (0.6), then the model's own ranking ``[(intent, confidence), ...]``."""
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    top = {"name": "nlu_fallback", "confidence": 0.6} if fell_back else ranked[0]
    parse_data = {
        "text": text,
        "intent": top,
        "entities": [],
        "intent_ranking": ([top] if fell_back else []) + ranked,
    }
    return UserUttered(text, intent=top, parse_data=parse_data, input_channel=channel, timestamp=at, **kwargs)


def seed(url: str) -> Dict[str, str]:
    """A few realistic conversations, written by the real tracker store."""
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url)
    now = time.time()
    save(
        store,
        "c-disclosure",
        [
            SessionStarted(timestamp=now - 3 * DAY),
            ActionExecuted("action_listen"),
            user(
                "my brother is detained and was beaten, call me on +41 22 919 21 70",
                "disclose_abuse",
                0.97,
                at=now - 3 * DAY + 1,
            ),
            SlotSet("disclosure_reported", True),
            BotUttered("I'm very sorry ...", timestamp=now - 3 * DAY + 2),
        ],
    )
    save(
        store,
        "c-fallback",
        [
            SessionStarted(timestamp=now - 2 * DAY),
            ActionExecuted("action_listen"),
            guessed(
                "blorp the frobnicator",
                [("ask_country_engagement", 0.32), ("greet", 0.21), ("out_of_scope", 0.12)],
                at=now - 2 * DAY + 1,
                channel="rest",
            ),
            BotUttered("Sorry, I didn't get that.", timestamp=now - 2 * DAY + 2),
            ActionExecuted("action_listen"),
            user("do you work in Viet Nam?", "ask_country_engagement", 0.99, at=now - 2 * DAY + 5),
            SlotSet("country", "Viet Nam"),
            BotUttered("Yes, Viet Nam is among ...", timestamp=now - 2 * DAY + 6),
        ],
    )
    save(
        store,
        "c-funding",
        [
            SessionStarted(timestamp=now - DAY),
            ActionExecuted("action_listen"),
            user("can you fund our project?", "ask_funding", 0.98, at=now - DAY + 1),
            BotUttered(
                "The APT is not a donor ...",
                metadata={"source": "FAQ: Can the APT fund our project?", "answer_id": "funding-answer"},
                timestamp=now - DAY + 2,
            ),
            SlotSet("enquiry_status", "recorded"),
            ActionExecuted("action_listen"),
            user("<script>alert('x')</script>", "out_of_scope", 0.7, at=now - DAY + 9),
            BotUttered(
                "I can't help with that.", metadata={"answer_id": "script-answer"}, timestamp=now - DAY + 10
            ),
        ],
    )
    with engine_for(url).begin() as connection:  # the widget's "Was this helpful?" on both answers
        connection.execute(
            schema.feedback.insert(),
            [
                {
                    "sender_id": "c-funding",
                    "answer_id": "funding-answer",
                    "value": "up",
                    "created_at": now - DAY + 3,
                },
                {
                    "sender_id": "c-funding",
                    "answer_id": "script-answer",
                    "value": "down",
                    "created_at": now - DAY + 11,
                },
            ],
        )
    # Written to the table directly: the store refuses a name like this one today, but a row
    # stored before that check must still be shown and exported harmlessly.
    with engine_for(url).begin() as connection:
        connection.execute(
            schema.enquiries.insert().values(
                created_at="2026-12-01T10:00:00+00:00", conversation_id="c-funding", organisation_type="ngo",
                country_iso3="KEN", country="Kenya", work_area="monitoring", fit="likely",
                organisation_name="=Friends", email="ngo@example.org", consent=True, consent_at="t",
            )
        )  # fmt: skip
    return {"disclosure": "c-disclosure", "fallback": "c-fallback", "funding": "c-funding"}


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    seed(database_url)
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "test", "SESSION_COOKIE_SECURE": False, "PAGE_SIZE": 2}
    )
    with engine_for(database_url).begin() as connection:  # create() itself is tested below
        connection.execute(
            schema.staff_users.insert().values(
                username="alice", password_hash=alice_hash(), created_at=time.time()
            )
        )
    yield app


@functools.cache
def alice_hash() -> str:
    """Argon2 takes 0.2 s by design: hashed once for the module."""
    return PasswordHasher().hash(PASSWORD)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client: FlaskClient, password: str = PASSWORD, username: str = "alice") -> Any:
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}
    )


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def undo_latest(client: FlaskClient, back: str = "/inbox/") -> str:
    """Undo the staff member's latest decision from "Your recent decisions"; the page after."""
    html = page(client, "/inbox/")
    decision = re.search(r'action="/inbox/undo/(\d+)"', html)
    assert decision, "no decision to undo"
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/inbox/undo/{decision.group(1)}", data={"csrf_token": token, "back": back}, follow_redirects=True
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def routes(app: Flask) -> List[tuple]:
    args = {
        "sender_id": "c-funding",
        "correction_id": 1,
        "filter_id": 1,
        "decision_id": 1,
        "filename": "review.css",
    }
    with app.test_request_context():
        from flask import url_for

        return [
            (
                rule.endpoint,
                url_for(rule.endpoint, **{a: args[a] for a in rule.arguments}),
                sorted(rule.methods - {"HEAD", "OPTIONS"}),
            )
            for rule in app.url_map.iter_rules()
            if rule.endpoint not in ("auth.login", "static")
        ]


# -- nothing without login ------------------------------------------------------------------


def test_every_route_refuses_anonymous_visitors(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for endpoint, path, methods in routes(app):
        for method in methods:
            response = client.open(path, method=method)
            assert response.status_code in (302, 401), (endpoint, method, response.status_code)
            assert response.status_code == 401 or "/login" in response.headers["Location"]
            assert b"ngo@example.org" not in response.data and b"Viet Nam" not in response.data
            checked += 1
    assert checked >= 25


def test_login_with_the_right_password_opens_the_workspace(app: Flask) -> None:
    client = app.test_client()
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/conversations/")
    assert "alice" in page(client, "/conversations/")


def test_session_cookie_is_http_only_and_strict(app: Flask) -> None:
    client = app.test_client()
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_session_cookie_is_secure_by_default(database_url: str) -> None:
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test"})
    create(engine_for(database_url), "bob", PASSWORD)
    assert "Secure" in login(app.test_client(), username="bob").headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_are_refused_alike(app: Flask) -> None:
    client = app.test_client()
    wrong = login(client, password="not the password at all")
    unknown = login(client, username="mallory")
    assert wrong.status_code == unknown.status_code == 401
    assert b"Wrong username or password." in wrong.data and b"Wrong username or password." in unknown.data
    assert client.get("/conversations/").status_code == 302


def test_repeated_failed_logins_are_throttled_even_with_the_right_password(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        assert login(client, password="guess guess guess").status_code == 401
    response = login(client)
    assert response.status_code == 429 and b"Too many failed attempts" in response.data


def test_logout_ends_the_session(staff: FlaskClient) -> None:
    assert staff.post("/logout", data={"csrf_token": csrf_token(staff, "/conversations/")}).status_code == 302
    assert staff.get("/conversations/").status_code == 302


def test_forms_without_a_csrf_token_are_rejected(app: Flask, staff: FlaskClient) -> None:
    assert (
        app.test_client().post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 400
    )
    for path, data in [
        ("/conversations/c-funding/note", {"note": "forged"}),
        ("/conversations/c-funding/reviewed", {"reviewed": "1"}),
        ("/conversations/c-funding/delete", {}),
        ("/logout", {}),
    ]:
        assert staff.post(path, data=data).status_code == 400, path
    assert "forged" not in page(staff, "/conversations/c-funding/transcript")


def test_pages_carry_security_headers(staff: FlaskClient) -> None:
    headers = staff.get("/conversations/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"


# -- list, filters, pagination --------------------------------------------------------------


def total(html: str) -> int:
    return int(re.search(r'<strong id="total">(\d+)</strong>', html).group(1))


def listed(html: str) -> List[str]:
    return re.findall(r'href="/conversations/([^/"?]+)/transcript[?"]', html)


def test_list_shows_newest_first_with_flags_and_intents(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/")
    assert total(html) == 3
    assert listed(html) == ["c-funding", "c-fallback"], "page size 2, newest first"
    assert "funding enquiry" in html and "ask_funding" in html and "fallback ×1" in html


def test_pagination_walks_every_conversation_once(staff: FlaskClient) -> None:
    seen: List[str] = []
    path = "/conversations/"
    while path:
        html = page(staff, path)
        seen += listed(html)
        found = re.search(r'rel="next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == ["c-funding", "c-fallback", "c-disclosure"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("flag=disclosure", ["c-disclosure"]),
        ("flag=funding", ["c-funding"]),
        ("flag=fallback", ["c-fallback", "c-funding"]),
        ("intent=ask_country_engagement", ["c-fallback"]),
        ("low=1", ["c-fallback"]),
        ("conf_min=0.3&conf_max=0.4", ["c-fallback"]),
        ("conf_min=0.65", ["c-funding", "c-disclosure"]),
        ("flag=nlu_fallback", ["c-fallback"]),
        ("flag=none_of_these", []),
        ("feedback=down", ["c-funding"]),
        ("feedback=any", ["c-funding"]),
        ("feedback=up", ["c-funding"]),
        ("traffic=test&flag=fallback", ["c-fallback", "c-funding"]),
        ("traffic=visitors", []),
        ("channel=rest&language=en&flag=disclosure", ["c-disclosure"]),
        ("language=fr", []),
        ("q=VIET+nam", ["c-fallback"]),
        ("q=100%25", []),
        ("flag=unreviewed&intent=greet", []),
    ],
)
def test_filters(staff: FlaskClient, query: str, expected: List[str]) -> None:
    html = page(staff, f"/conversations/?{query}")
    assert sorted(listed(html)) == sorted(expected) and total(html) == len(expected)


def test_date_filters_use_the_start_day(staff: FlaskClient) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    two_days_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * DAY))
    assert total(page(staff, f"/conversations/?from={two_days_ago}")) == 2
    assert total(page(staff, f"/conversations/?to={two_days_ago}")) == 2
    assert total(page(staff, f"/conversations/?from={today}")) == 0


def test_an_invalid_filter_is_reported_not_a_crash(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/?from=yesterday&flag=bogus&conf_max=2&feedback=meh")
    assert "From must be a date" in html and "Unknown flag." in html and total(html) == 3
    assert "must be a number from 0 to 1" in html and "Unknown feedback." in html


def test_the_list_shows_the_first_message_as_the_title_and_the_feedback(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/")
    assert ">can you fund our project?</a>" in html
    assert "not helpful:</span> 1" in html and ">helpful:</span> 1" in html


def test_a_conversation_s_lowest_confidence_is_the_model_s_best_guess_not_the_fallback(
    staff: FlaskClient,
) -> None:
    html = page(staff, "/conversations/?flag=nlu_fallback")
    assert "<td>0.32</td>" in html and "<td>0.60</td>" not in html


def test_mark_many_conversations_reviewed_at_once(staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/")
    response = staff.post(
        "/conversations/reviewed",
        data={
            "sender_id": ["c-fallback", "c-disclosure", "nobody"],
            "csrf_token": token,
            "back": "/conversations/",
        },
    )
    assert response.status_code == 302
    html = page(staff, "/conversations/?flag=reviewed")
    assert (
        sorted(listed(html)) == ["c-disclosure", "c-fallback"]
        and "Marked 2 conversations as reviewed." in html
    )
    assert listed(page(staff, "/conversations/?flag=unreviewed")) == ["c-funding"]


def test_next_unreviewed_walks_the_list_with_its_filters(staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/")
    staff.post("/conversations/c-fallback/reviewed", data={"reviewed": "1", "csrf_token": token})
    response = staff.get("/conversations/c-funding/next-unreviewed")
    assert response.headers["Location"].endswith("/conversations/c-disclosure/transcript")
    assert (
        staff.get("/conversations/c-disclosure/next-unreviewed")
        .headers["Location"]
        .endswith("/conversations/c-funding/transcript")
    )
    filtered = staff.get("/conversations/c-funding/next-unreviewed?flag=fallback")
    assert filtered.headers["Location"].startswith("/conversations/?"), "none left with that filter"
    reviewed_then_next = staff.post(
        "/conversations/c-funding/reviewed", data={"reviewed": "1", "then": "next", "csrf_token": token}
    )
    assert "/conversations/c-funding/next-unreviewed" in reviewed_then_next.headers["Location"]


def test_tags_are_added_listed_filtered_and_removed(staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/c-fallback/transcript")
    for tag in ("new country", "  new   country ", "to discuss"):
        staff.post("/conversations/c-fallback/tags", data={"tag": tag, "csrf_token": token})
    assert (
        staff.post("/conversations/c-fallback/tags", data={"tag": "x" * 65, "csrf_token": token}).status_code
        == 302
    )
    html = page(staff, "/conversations/c-fallback/transcript")
    assert html.count('<span class="tag">new country</span>') == 1 and "to discuss" in html
    assert listed(page(staff, "/conversations/?tag=new+country")) == ["c-fallback"]
    staff.post("/conversations/c-fallback/tags/remove", data={"tag": "new country", "csrf_token": token})
    assert listed(page(staff, "/conversations/?tag=new+country")) == []


def test_saved_filters_belong_to_their_staff_member(app: Flask, staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/")
    response = staff.post(
        "/conversations/filters",
        data={"name": "Fallbacks", "flag": "fallback", "low": "1", "csrf_token": token},
    )
    assert response.status_code == 302 and "flag=fallback" in response.headers["Location"]
    html = page(staff, "/conversations/")
    link = re.search(r'<a href="([^"]+)">Fallbacks</a>', html).group(1).replace("&amp;", "&")
    assert listed(page(staff, link)) == ["c-fallback"]
    create(engine_for(app.config["DATABASE_URL"]), "bob", PASSWORD)
    bob = app.test_client()
    login(bob, username="bob")
    assert ">Fallbacks</a>" not in page(bob, "/conversations/")
    filter_id = re.search(r"/conversations/filters/(\d+)/delete", html).group(1)
    bob.post(
        f"/conversations/filters/{filter_id}/delete", data={"csrf_token": csrf_token(bob, "/conversations/")}
    )
    assert ">Fallbacks</a>" in page(staff, "/conversations/"), "bob cannot delete alice's filter"
    staff.post(f"/conversations/filters/{filter_id}/delete", data={"csrf_token": token})
    assert ">Fallbacks</a>" not in page(staff, "/conversations/")


# -- transcript, review, corrections ----------------------------------------------------------


def test_transcript_shows_messages_with_intent_confidence_and_slots(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-fallback/transcript")
    assert "blorp the frobnicator" in html and "nlu_fallback" in html and "0.32" in html
    assert "slot country = &#34;Viet Nam&#34;" in html and "Yes, Viet Nam is among" in html
    assert html.index("blorp") < html.index("Viet Nam?")


def test_transcript_shows_the_model_s_guesses_behind_a_fallback(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-fallback/transcript")
    guesses = html[html.index("the model's guesses:") :][:600]
    assert re.findall(r'<span class="guess">(\w+) <span class="low">([\d.]+)</span>', guesses) == [
        ("ask_country_engagement", "0.32"),
        ("greet", "0.21"),
        ("out_of_scope", "0.12"),
    ]


def test_transcript_shows_the_source_and_feedback_of_answers(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-funding/transcript")
    assert "Source: FAQ: Can the APT fund our project?" in html
    assert html.index("👍 helpful") < html.index("Source: FAQ") < html.index("👎 not helpful")


def test_a_button_click_shows_the_title_the_visitor_saw_with_the_payload_on_hover(
    app: Flask, staff: FlaskClient
) -> None:
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=app.config["DATABASE_URL"])
    now = time.time()
    offered = {
        "buttons": [
            {"title": "Oui, vérifier", "payload": "/affirm"},
            {"title": "ONG", "payload": '/inform{"organisation_type": "ngo"}'},
        ]
    }
    save(
        store,
        "c-buttons",
        [
            SessionStarted(timestamp=now - 60),
            ActionExecuted("action_listen"),
            user("/greet", "greet", 1.0, at=now - 60),
            BotUttered("Bonjour ...", data=offered, timestamp=now - 59),
            ActionExecuted("action_listen"),
            user('/inform{"organisation_type": "ngo"}', "inform", 1.0, at=now - 50),
            BotUttered("Dans quel pays ?", timestamp=now - 49),
            ActionExecuted("action_listen"),
            user("/help", "help", 1.0, at=now - 40),
        ],
    )
    store.close()
    html = page(staff, "/conversations/c-buttons/transcript")
    payload = "/inform{&#34;organisation_type&#34;: &#34;ngo&#34;}"
    assert f'Chose <span class="button-title" title="Payload: {payload}">“ONG”</span>' in html
    assert "Opened the assistant" in html and "Main questions (the widget&#39;s menu button)" in html
    exported = json.loads(staff.get("/conversations/export.json?q=").get_data(as_text=True))
    [conversation] = [c for c in exported if c["sender_id"] == "c-buttons"]
    assert [m.get("button") for m in conversation["messages"] if m["from"] == "visitor"][1] == "ONG"


def test_the_correction_form_has_no_preset_and_lists_the_guesses_first(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-fallback/transcript")
    form = html[html.index('<select name="intent"') :]
    form = form[: form.index("</select>")]
    assert "required" in form.split(">")[0] and "selected" not in form
    assert re.search(r'<option value="">choose…</option>\s*<optgroup label="The model.s guesses">', form)
    assert re.findall(r'<option value="(\w+)"', form)[:3] == [
        "ask_country_engagement",
        "greet",
        "out_of_scope",
    ]


def test_transcript_shows_the_redacted_text_and_warns_of_a_disclosure(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-disclosure/transcript")
    assert "call me on [PHONE]" in html and "919 21 70" not in html
    assert "disclosed torture or detention" in html


def test_visitor_text_is_never_rendered_as_html(staff: FlaskClient) -> None:
    html = page(staff, "/conversations/c-funding/transcript")
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_unknown_conversation_is_404(staff: FlaskClient) -> None:
    assert staff.get("/conversations/nobody/transcript").status_code == 404


def test_mark_reviewed_and_note(staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/c-fallback/transcript")
    staff.post("/conversations/c-fallback/reviewed", data={"reviewed": "1", "csrf_token": token})
    staff.post(
        "/conversations/c-fallback/note",
        data={"note": "Add <b>Vietnamese</b> spellings", "csrf_token": token},
    )
    html = page(staff, "/conversations/c-fallback/transcript")
    assert "Reviewed by alice" in html and "Add &lt;b&gt;Vietnamese&lt;/b&gt; spellings" in html
    assert listed(page(staff, "/conversations/?flag=reviewed")) == ["c-fallback"]
    assert "c-fallback" not in listed(page(staff, "/conversations/?flag=unreviewed"))


def user_event_id(url: str, sender: str, text: str) -> int:
    with engine_for(url).connect() as connection:
        for event_id, data in connection.execute(
            sa.select(schema.events.c.id, schema.events.c.data).where(schema.events.c.sender_id == sender)
        ):
            if json.loads(data).get("text") == text:
                return event_id
    raise AssertionError(text)


def decide(
    client: FlaskClient,
    event_ids: List[int],
    action: str,
    intent: str = "",
    confirmed: bool = True,
    back: str = "",
) -> Any:
    """A decision as the inbox's and the transcript's forms post it, confirmed or not yet."""
    token = csrf_token(client, "/inbox/")
    data: Dict[str, Any] = {"event_id": event_ids, "action": action, "intent": intent, "csrf_token": token}
    if confirmed:
        data["confirmed"] = "1"
    if back:
        data["back"] = back
    return client.post("/inbox/decide", data=data)


def correct(client: FlaskClient, app: Flask, sender: str, text: str, intent: str) -> Any:
    event_id = user_event_id(app.config["DATABASE_URL"], sender, text)
    return decide(client, [event_id], "assign", intent, back=f"/conversations/{sender}/transcript")


def test_a_correction_from_the_transcript_is_confirmed_first_then_undoable(
    app: Flask, staff: FlaskClient
) -> None:
    event_id = user_event_id(app.config["DATABASE_URL"], "c-fallback", "blorp the frobnicator")
    back = f"/conversations/c-fallback/transcript#event-{event_id}"
    asked = decide(staff, [event_id], "assign", "out_of_scope", confirmed=False, back=back)
    assert asked.status_code == 200 and "Confirm" in asked.get_data(as_text=True)
    assert "corrected to" not in page(staff, "/conversations/c-fallback/transcript"), "nothing saved yet"
    done = decide(staff, [event_id], "assign", "out_of_scope", back=back)
    assert done.status_code == 303 and done.headers["Location"] == back
    html = page(staff, "/conversations/c-fallback/transcript")
    assert "corrected to <strong>out_of_scope</strong>" in html and 'action="/inbox/undo/' in html
    undo_latest(staff)
    assert "corrected to" not in page(staff, "/conversations/c-fallback/transcript")


def test_corrections_are_exported_as_nlu_training_data(app: Flask, staff: FlaskClient) -> None:
    assert correct(staff, app, "c-fallback", "blorp the frobnicator", "out_of_scope").status_code == 303
    assert correct(staff, app, "c-funding", "<script>alert('x')</script>", "out_of_scope").status_code == 303
    assert correct(staff, app, "c-funding", "can you fund our project?", "ask_funding").status_code == 303
    assert "corrected to <strong>out_of_scope</strong>" in page(staff, "/conversations/c-fallback/transcript")
    exported = staff.get("/improve/corrections.yml").get_data(as_text=True)
    data = yaml.safe_load(exported)
    assert data["version"] == "3.1"
    examples = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert (
        examples["out_of_scope"] == "- blorp the frobnicator\n- <script>alert('x')</script>\n"
        or examples["out_of_scope"] == "- <script>alert('x')</script>\n- blorp the frobnicator\n"
    )
    assert examples["ask_funding"] == "- can you fund our project?\n"


@pytest.mark.slow  # runs `rasa data validate`
@pytest.mark.parametrize("blank_database_url", ["sqlite"], indirect=True)  # the database plays no part
def test_exported_corrections_pass_rasa_data_validation(
    app: Flask, staff: FlaskClient, tmp_path: Path
) -> None:
    correct(staff, app, "c-fallback", "blorp the frobnicator", "out_of_scope")
    correct(
        staff,
        app,
        "c-disclosure",
        "my brother is detained and was beaten, call me on [PHONE]",
        "disclose_abuse",
    )
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "corrections.yml").write_text(staff.get("/improve/corrections.yml").get_data(as_text=True))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "data", "validate", "--domain", str(ROOT / "domain.yml"),
         "--config", str(ROOT / "config.yml"), "--data", str(data)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from rasa.shared.nlu.training_data.loading import load_data

    examples = {
        (m.get("text"), m.get("intent")) for m in load_data(str(data / "corrections.yml")).intent_examples
    }
    assert ("my brother is detained and was beaten, call me on [PHONE]", "disclose_abuse") in examples


def test_a_correction_to_an_unknown_intent_or_message_is_refused(app: Flask, staff: FlaskClient) -> None:
    assert correct(staff, app, "c-fallback", "blorp the frobnicator", "not_an_intent").status_code == 400
    assert decide(staff, [999999], "assign", "greet").status_code == 400
    assert decide(staff, [1], "delete_everything").status_code == 400
    bot_event = user_event_id(app.config["DATABASE_URL"], "c-fallback", "blorp the frobnicator") + 1
    assert decide(staff, [bot_event], "assign", "greet").status_code == 400, "not a visitor message"


def test_a_decision_returns_only_to_a_page_of_the_workspace(app: Flask, staff: FlaskClient) -> None:
    event_id = user_event_id(app.config["DATABASE_URL"], "c-fallback", "blorp the frobnicator")
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"):
        response = decide(staff, [event_id], "dismiss", back=elsewhere)
        assert response.headers["Location"] == "/inbox/", elsewhere


# -- enquiries, insights, exports -------------------------------------------------------------


def test_enquiries_list_and_csv(staff: FlaskClient) -> None:
    assert "ngo@example.org" in page(staff, "/enquiries/") and "Kenya" in page(staff, "/enquiries/")
    assert "<td>2026-12-01 10:00</td>" in page(staff, "/enquiries/")
    rows = list(csv.DictReader(io.StringIO(page(staff, "/enquiries/export.csv"))))
    assert rows[0]["email"] == "ngo@example.org" and rows[0]["organisation_name"] == "'=Friends"


def test_insights_figures(staff: FlaskClient) -> None:
    html = page(staff, "/insights/")
    figures = json.loads(re.search(r'id="insights-data">(.*?)</script>', html, re.S).group(1))
    assert figures["conversations"] == 3 and figures["messages"] == 5 and figures["disclosures"] == 1
    assert figures["fallback_rate"] == pytest.approx(0.4)
    assert sum(figures["conversations_per_day"]) == 3 and len(figures["days"]) == 3
    assert ["Viet Nam", 1] in figures["countries"]
    assert dict(figures["top_intents"])["ask_funding"] == 1


def test_csv_export_follows_the_filters(staff: FlaskClient) -> None:
    response = staff.get("/conversations/export.csv?flag=disclosure")
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["sender_id"] for r in rows] == ["c-disclosure"] and rows[0]["disclosure"] == "True"
    assert len(list(csv.DictReader(io.StringIO(page(staff, "/conversations/export.csv"))))) == 3


def test_json_export_has_the_messages(staff: FlaskClient) -> None:
    exported = json.loads(page(staff, "/conversations/export.json?intent=ask_country_engagement"))
    assert [c["sender_id"] for c in exported] == ["c-fallback"]
    assert [m["text"] for m in exported[0]["messages"]][:2] == [
        "blorp the frobnicator",
        "Sorry, I didn't get that.",
    ]


def test_staff_can_delete_a_conversation(staff: FlaskClient) -> None:
    token = csrf_token(staff, "/conversations/c-disclosure/transcript")
    assert staff.post("/conversations/c-disclosure/delete", data={"csrf_token": token}).status_code == 302
    assert staff.get("/conversations/c-disclosure/transcript").status_code == 404


# -- accounts -----------------------------------------------------------------------------------


def test_accounts_need_a_long_password_and_a_unique_name(database_url: str) -> None:
    engine = engine_for(database_url)
    create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})
    with pytest.raises(AccountError):
        create(engine, "carol", "short")
    create(engine, "carol", PASSWORD)
    with pytest.raises(AccountError):
        create(engine, "carol", PASSWORD)
    with pytest.raises(AccountError):
        create(engine, "<script>", PASSWORD)


def test_accounts_have_a_role_reviewer_by_default(database_url: str) -> None:
    engine = engine_for(database_url)
    create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})
    create(engine, "carol", PASSWORD)
    create(engine, "trent", PASSWORD, role="trainer")
    with pytest.raises(AccountError):
        create(engine, "mallory", PASSWORD, role="admin")
    with pytest.raises(AccountError):
        set_role(engine, "nobody", "trainer")
    with engine.connect() as connection:
        roles = dict(
            connection.execute(sa.select(schema.staff_users.c.username, schema.staff_users.c.role)).all()
        )
    assert roles == {"carol": "reviewer", "trent": "trainer"}


def test_require_role_lets_a_trainer_in_and_refuses_a_reviewer(app: Flask) -> None:
    from review.auth import require_role

    @app.route("/trainers-only", methods=["POST"])
    @require_role("trainer")
    def trainers_only() -> str:
        return "started"

    with pytest.raises(ValueError):
        require_role("admin")
    anonymous = app.test_client().post("/trainers-only")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    alice = app.test_client()
    login(alice)
    assert alice.post("/trainers-only", data={"csrf_token": csrf_token(alice, "/inbox/")}).status_code == 403
    set_role(engine_for(app.config["DATABASE_URL"]), "alice", "trainer")
    response = alice.post("/trainers-only", data={"csrf_token": csrf_token(alice, "/inbox/")})
    assert response.status_code == 200 and response.get_data(as_text=True) == "started"
    assert "(trainer)" in page(alice, "/inbox/")


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_account_command_reads_the_password_from_stdin_only_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'apt.db'}"

    def command(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return run_module("review.accounts", *args, database_url=url, stdin=stdin)

    assert "use --password-stdin" in command("create", "dave").stderr
    assert command("create", "dave", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    assert command("list").stdout.split() == ["dave", "reviewer"]
    assert (
        command("create", "erin", "--role", "trainer", "--password-stdin", stdin=PASSWORD + "\n").returncode
        == 0
    )
    assert (
        command("create", "fay", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n").returncode == 2
    )
    assert command("role", "dave", "trainer").returncode == 0
    assert command("list").stdout.split() == ["dave", "trainer", "erin", "trainer"]
    with engine_for(url).connect() as connection:
        query = sa.text("SELECT password_hash FROM staff_users WHERE username = 'dave'")
        stored = connection.execute(query).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# -- the statement timeout -------------------------------------------------------------------------


@pytest.fixture
def short_timeout_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from postgres_with_short_timeout(monkeypatch)


@pytest.mark.postgres
def test_the_workspace_reads_longer_than_the_statement_timeout_of_a_turn(short_timeout_postgres: str) -> None:
    """The timeout protects visitors' turns (the Rasa server's tracker store); the workspace's
    lists and insights over a large log may take longer."""
    url = short_timeout_postgres
    longer = f"SELECT pg_sleep({SHORT_TIMEOUT + 0.5})"
    cut_off(url, longer)
    with create_app({"DATABASE_URL": url, "SECRET_KEY": "test"}).app_context():
        with db.connect() as connection:
            connection.execute(sa.text(longer))
            connection.execute(sa.text(longer))  # the whole transaction, not one statement
        with db.begin() as connection:
            connection.execute(sa.text(longer))
