"""The inbox of missed messages, on a real database (SQLite and PostgreSQL) through Flask's test
client: what counts as a miss (a fallback, "None of these", a 👎, a confidence below the one
chosen), near duplicates grouped, languages, and decisions (assign, out of scope, dismiss)
that need a choice, are confirmed first and can be undone."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from review import create_app, misses
from storage import migrate, schema
from storage.database import engine_for
from storage.tracker_store import RedactingSQLTrackerStore
from tests.unit.review.test_review_app import (
    alice_hash,
    csrf_token,
    decide,
    guessed,
    listed,
    login,
    page,
    undo_latest,
)
from tests.unit.storage.test_tracker_store import DOMAIN, save

MINUTE = 60
VOLUNTEER = "How do I volunteer with you?"
VOLUNTEER_AGAIN = "how do i volunteer with you"
BENIN = "Travaillez-vous au Bénin ?"
HOURS = "what are your opening hours"


def offer(at: float, choice: str) -> List[Any]:
    """The second-chance offer after a fallback, and the visitor's button."""
    buttons = [
        {"title": "About the APT", "payload": "/ask_about_apt"},
        {"title": "Help", "payload": "/help"},
        {"title": "None of these", "payload": "/none_of_these"},
    ]
    return [
        ActionExecuted("action_default_ask_affirmation", timestamp=at),
        BotUttered("Did you mean one of these?", data={"buttons": buttons}, timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(
            f"/{choice}",
            intent={"name": choice, "confidence": 1.0},
            parse_data={"text": f"/{choice}", "intent": {"name": choice, "confidence": 1.0}, "entities": []},
            input_channel="socketio",
            timestamp=at + 5,
        ),
    ]


VOLUNTEER_GUESSES = [("ask_about_apt", 0.41), ("help", 0.30), ("ask_partners", 0.12)]


def seed_misses(url: str) -> Dict[str, str]:
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url)
    now = time.time()
    save(
        store,
        "m-none",
        [
            SessionStarted(timestamp=now - 50 * MINUTE),
            ActionExecuted("action_listen"),
            guessed(VOLUNTEER, VOLUNTEER_GUESSES, at=now - 50 * MINUTE),
            *offer(now - 50 * MINUTE + 1, "none_of_these"),
            BotUttered("I'm sorry I could not help.", timestamp=now - 49 * MINUTE),
        ],
    )
    save(
        store,
        "m-chose",
        [
            SessionStarted(timestamp=now - 40 * MINUTE),
            ActionExecuted("action_listen"),
            guessed(VOLUNTEER_AGAIN, [("help", 0.38), ("ask_about_apt", 0.35)], at=now - 40 * MINUTE),
            *offer(now - 40 * MINUTE + 1, "ask_about_apt"),
            BotUttered("The APT is ...", timestamp=now - 39 * MINUTE),
        ],
    )
    save(
        store,
        "m-french",
        [
            SessionStarted(timestamp=now - 30 * MINUTE),
            ActionExecuted("action_listen"),
            guessed(
                BENIN,
                [("ask_country_engagement", 0.45), ("list_countries_in_region", 0.3)],
                at=now - 30 * MINUTE,
                fell_back=False,
            ),
            SlotSet("language", "fr"),
            BotUttered("Non, le Bénin ...", timestamp=now - 30 * MINUTE + 1),
        ],
    )
    save(
        store,
        "m-down",
        [
            SessionStarted(timestamp=now - 20 * MINUTE),
            ActionExecuted("action_listen"),
            guessed("/greet", [("greet", 1.0)], at=now - 20 * MINUTE, fell_back=False),
            BotUttered(
                "Hello! How can I help?", metadata={"answer_id": "greeting"}, timestamp=now - 20 * MINUTE + 1
            ),
            ActionExecuted("action_listen"),
            guessed(HOURS, [("ask_address", 0.93)], at=now - 19 * MINUTE, fell_back=False),
            BotUttered(
                "The APT is at Route de Ferney 10, Geneva.",
                metadata={"answer_id": "address"},
                timestamp=now - 19 * MINUTE + 1,
            ),
        ],
    )
    save(
        store,
        "m-fine",
        [
            SessionStarted(timestamp=now - 10 * MINUTE),
            ActionExecuted("action_listen"),
            guessed("can you fund us", [("ask_funding", 0.97)], at=now - 10 * MINUTE, fell_back=False),
        ],
    )
    save(
        store,
        "m-test",
        [
            SessionStarted(timestamp=now - 5 * MINUTE),
            ActionExecuted("action_listen"),
            guessed("zzkq wxv", [("greet", 0.2)], at=now - 5 * MINUTE, channel="rest"),
        ],
    )
    with engine_for(url).begin() as connection:
        # 👍 on the greeting, 👎 on the answer to the question about opening hours.
        connection.execute(
            schema.feedback.insert(),
            [
                {"sender_id": "m-down", "answer_id": "greeting", "value": "up", "created_at": now},
                {"sender_id": "m-down", "answer_id": "address", "value": "down", "created_at": now},
            ],
        )
    return {}


SAME_TEXT = "Do you have an office in Lyon?"


def seed_same_text(url: str) -> None:
    """The same words in two conversations, detected as English in one and French in the other."""
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url)
    now = time.time()
    for sender, language, minutes in (("s-en", "en", 8), ("s-fr", "fr", 7)):
        save(
            store,
            sender,
            [
                SessionStarted(timestamp=now - minutes * MINUTE),
                ActionExecuted("action_listen"),
                guessed(SAME_TEXT, [("ask_address", 0.4)], at=now - minutes * MINUTE),
                SlotSet("language", language),
                BotUttered("Sorry ...", timestamp=now - minutes * MINUTE + 1),
            ],
        )
    store.close()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    seed_misses(database_url)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "SESSION_COOKIE_SECURE": False})
    with engine_for(database_url).begin() as connection:
        connection.execute(
            schema.staff_users.insert().values(
                username="alice", password_hash=alice_hash(), created_at=time.time()
            )
        )
    yield app


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def event_id(app: Flask, text: str) -> int:
    with engine_for(app.config["DATABASE_URL"]).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.id, schema.events.c.data).where(schema.events.c.type_name == "user")
        )
        [found] = [i for i, data in rows if json.loads(data)["text"] == text]
    return found


def stored(app: Flask, table: sa.Table) -> List[Dict[str, Any]]:
    with engine_for(app.config["DATABASE_URL"]).connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.event_id))]


def groups(html: str) -> List[List[str]]:
    """Each group of the inbox: its title's text, then the texts of its other messages."""
    found = []
    for item in re.findall(r'<li class="miss".*?</li>\s*(?=<li class="miss"|</ol>)', html, re.S):
        title = re.search(r'<h2 class="miss-text"[^>]*>“(.*?)”', item, re.S).group(1)
        variants = re.findall(r"<li>“(.*?)”</li>", item)
        found.append([title, *variants])
    return found


def unescape(text: str) -> str:
    return text.replace("&#39;", "'").replace("&amp;", "&")


def inbox_list(client: FlaskClient) -> str:
    """The inbox's list of missed messages (not the staff member's recent decisions above it)."""
    html = unescape(page(client, "/inbox/"))
    return html[html.index('<ol class="inbox">') :]


# -- what the inbox lists ---------------------------------------------------------------------------


def test_the_inbox_lists_a_fallback_a_none_of_these_a_thumbs_down_and_a_low_confidence_message(
    staff: FlaskClient,
) -> None:
    html = unescape(page(staff, "/inbox/"))
    assert groups(html) == [
        ["zzkq wxv"],
        [HOURS],
        [BENIN],
        [VOLUNTEER_AGAIN, VOLUNTEER],
    ], "newest first, the two near duplicates in one group"
    assert "can you fund us" not in html and "/greet" not in html
    assert "5 missed messages</strong> in 4 groups" in html
    hours = html[html.index(HOURS) :]
    assert "answer marked not helpful (👎)" in hours[: hours.index("</li>")]


def test_each_reason_filters_the_inbox(staff: FlaskClient) -> None:
    def texts(query: str) -> List[str]:
        return [g[0] for g in groups(unescape(page(staff, f"/inbox/?{query}")))]

    assert texts("reason=none_of_these") == [VOLUNTEER]
    assert texts("reason=down") == [HOURS]
    assert texts("reason=fallback") == ["zzkq wxv", VOLUNTEER_AGAIN]
    assert texts("reason=low&below=0.5") == ["zzkq wxv", BENIN, VOLUNTEER_AGAIN]
    assert texts("reason=low&below=0.4") == ["zzkq wxv", VOLUNTEER_AGAIN]
    assert texts("reason=low&below=0.2") == []
    assert texts("traffic=visitors") == [HOURS, BENIN, VOLUNTEER_AGAIN]
    assert texts("traffic=test") == ["zzkq wxv"]
    assert texts("language=fr") == [BENIN]
    assert "Unknown reason." in page(staff, "/inbox/?reason=bogus")


def test_a_miss_shows_its_language_the_model_s_guesses_and_what_the_visitor_chose(staff: FlaskClient) -> None:
    html = unescape(page(staff, "/inbox/"))
    benin = html[html.index(BENIN) :]
    benin = benin[: benin.index("</li>")]
    assert 'class="lang" title="language">fr<' in benin
    assert re.findall(r'<span class="guess">(\w+) ([\d.]+)</span>', benin) == [
        ("ask_country_engagement", "0.45"),
        ("list_countries_in_region", "0.30"),
    ]
    volunteer = html[html.index(VOLUNTEER_AGAIN) :]
    assert "Visitors then chose ask_about_apt from the guesses offered." in volunteer
    assert "“None of these”" in volunteer[: volunteer.index("</form>")]


def test_the_model_s_guesses_come_first_in_the_choice_of_intent(staff: FlaskClient) -> None:
    html = page(staff, "/inbox/?language=fr")
    form = html[html.index('<select name="intent"') :]
    form = form[: form.index("</select>")]
    assert "selected" not in form and " required" in form.split(">")[0]
    options = re.findall(r'<option value="(\w*)"', form)
    assert options[:3] == ["", "ask_country_engagement", "list_countries_in_region"]


def grouped_miss(event_id: int, text: str, language: str, at: float) -> misses.Miss:
    message = misses.Message(event_id, "s", at, text, "nlu_fallback", 0.6, (), language)
    return misses.Miss(message, ("fallback",))


def test_the_same_text_is_grouped_in_any_language_near_duplicates_in_one() -> None:
    miss = grouped_miss
    found = misses.group(
        [
            miss(1, "Can you fund our project?", "en", 1),
            miss(2, "can u fund our project", "en", 2),
            miss(3, "Can you fund our project?", "fr", 3),  # the same words, tagged French
            miss(4, "Where is your office?", "en", 4),
            miss(5, "Où est votre bureau ?", "fr", 5),
            miss(6, "ou est votre bureau", "es", 6),  # the same text once normalised
            miss(7, "Where is your offices", "fr", 7),  # near, but in no language of the other
        ]
    )
    assert [g.event_ids for g in found] == [[7], [6, 5], [4], [3, 2, 1]]
    assert [g.language for g in found] == ["fr", "fr, es", "en", "en, fr"]


# -- decisions -------------------------------------------------------------------------------------


def test_the_same_text_in_two_languages_is_one_group_and_every_form_is_named_apart(
    app: Flask, staff: FlaskClient
) -> None:
    seed_same_text(app.config["DATABASE_URL"])
    html = unescape(page(staff, "/inbox/"))
    assert [g for g in groups(html) if g[0] == SAME_TEXT] == [[SAME_TEXT]]
    item = html[html.index(f"“{SAME_TEXT}”") :]
    item = item[: item.index("</li>")]
    assert '<span class="lang" title="language">en</span>' in item
    assert '<span class="lang" title="language">fr</span>' in item
    assert "×2" in item
    # Each form is named by its group's title: no two alike (axe's landmark-unique).
    titles = dict(re.findall(r'<h2 class="miss-text" id="(miss-title-\d+)">(.*?)</h2>', html, re.S))
    named = re.findall(r'<form [^>]*class="decide" aria-labelledby="(miss-title-\d+)"', html)
    assert len(named) == len(groups(html)) and len({titles[n] for n in named}) == len(named)
    # A decision on the group corrects both messages, each in its own language.
    ids = sorted(i for i in (event_id_in(app, "s-en", SAME_TEXT), event_id_in(app, "s-fr", SAME_TEXT)))
    decide(staff, ids, "assign", "ask_address")
    assert sorted((r["sender_id"], r["language"]) for r in stored(app, schema.corrections)) == [
        ("s-en", "en"),
        ("s-fr", "fr"),
    ]


def event_id_in(app: Flask, sender: str, text: str) -> int:
    with engine_for(app.config["DATABASE_URL"]).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.id, schema.events.c.data).where(
                schema.events.c.type_name == "user", schema.events.c.sender_id == sender
            )
        )
        [found] = [i for i, data in rows if json.loads(data)["text"] == text]
    return found


def test_recent_decisions_keep_their_undo_after_leaving_the_page_for_their_author_only(
    app: Flask, staff: FlaskClient
) -> None:
    decide(staff, [event_id(app, HOURS)], "dismiss", back="/inbox/")
    decide(staff, [event_id(app, BENIN)], "assign", "ask_country_engagement", back="/inbox/")
    page(staff, "/conversations/")  # the page is left: the message with Undo is gone
    page(staff, "/insights/")
    html = unescape(page(staff, "/inbox/"))
    recent = html[html.index("Your recent decisions") : html.index('<p class="summary">')]
    assert recent.index("Corrected to ask_country_engagement: 1 message") < recent.index(
        "Dismissed: 1 message"
    )
    assert f"“{BENIN}”" in recent and f"“{HOURS}”" in recent, "with the message each was about"
    assert len(re.findall(r'action="/inbox/undo/\d+"', recent)) == 2
    assert "Your recent decisions" in page(staff, "/improve/")
    dismissal = re.findall(r'action="/inbox/undo/(\d+)"', recent)[1]
    # Another staff member sees none of them and cannot undo them.
    create_staff(app, "bob")
    bob = app.test_client()
    assert login(bob, username="bob").status_code == 302
    assert "/inbox/undo/" not in page(bob, "/inbox/")
    refused = bob.post(
        f"/inbox/undo/{dismissal}", data={"csrf_token": csrf_token(bob, "/inbox/")}, follow_redirects=True
    )
    assert "Nothing to undo" in refused.get_data(as_text=True) and len(stored(app, schema.dismissals)) == 1
    # Its author undoes the older one, from the list, days of pages later.
    undone = staff.post(
        f"/inbox/undo/{dismissal}",
        data={"csrf_token": csrf_token(staff, "/inbox/"), "back": "/inbox/"},
        follow_redirects=True,
    )
    assert "Undone: Dismissed: 1 message." in unescape(undone.get_data(as_text=True))
    assert stored(app, schema.dismissals) == []
    assert [r["intent"] for r in stored(app, schema.corrections)] == ["ask_country_engagement"]
    after = unescape(page(staff, "/inbox/"))
    assert "Dismissed: 1 message" not in after[after.index("Your recent decisions") :]


def create_staff(app: Flask, name: str) -> None:
    with engine_for(app.config["DATABASE_URL"]).begin() as connection:
        connection.execute(
            schema.staff_users.insert().values(
                username=name, password_hash=alice_hash(), created_at=time.time()
            )
        )


def test_removing_a_correction_is_confirmed_first_and_can_be_undone(app: Flask, staff: FlaskClient) -> None:
    decide(staff, [event_id(app, BENIN)], "assign", "ask_country_engagement")
    [row] = stored(app, schema.corrections)
    path = f"/improve/corrections/{row['id']}/delete"
    assert "Remove…" in page(staff, "/improve/")
    asked = staff.post(path, data={"csrf_token": csrf_token(staff, "/improve/")})
    confirmation = unescape(asked.get_data(as_text=True))
    assert asked.status_code == 200 and "Confirm: remove a correction" in confirmation
    assert BENIN in confirmation and "ask_country_engagement" in confirmation
    assert len(stored(app, schema.corrections)) == 1, "nothing removed before the confirmation"
    done = staff.post(
        path, data={"csrf_token": csrf_token(staff, "/improve/"), "confirmed": "1"}, follow_redirects=True
    )
    html = unescape(done.get_data(as_text=True))
    assert "Removed a correction to ask_country_engagement." in html and 'action="/inbox/undo/' in html
    assert stored(app, schema.corrections) == []
    undo_latest(staff, back="/improve/")
    [back] = stored(app, schema.corrections)
    assert (back["text"], back["intent"], back["language"], back["created_by"]) == (
        BENIN,
        "ask_country_engagement",
        "fr",
        "alice",
    )
    assert (
        staff.post(
            "/improve/corrections/999999/delete", data={"csrf_token": csrf_token(staff, "/improve/")}
        ).status_code
        == 404
    )


def test_assigning_requires_a_choice(app: Flask, staff: FlaskClient) -> None:
    ids = [event_id(app, VOLUNTEER), event_id(app, VOLUNTEER_AGAIN)]
    response = decide(staff, ids, "assign", "", back="/inbox/")
    assert response.status_code == 303 and stored(app, schema.corrections) == []
    assert "Choose the right intent first" in page(staff, "/inbox/")


def test_assigning_a_group_is_confirmed_first_stored_per_language_and_undone(
    app: Flask, staff: FlaskClient
) -> None:
    ids = [event_id(app, VOLUNTEER), event_id(app, VOLUNTEER_AGAIN)]
    asked = decide(staff, ids, "assign", "ask_partners", confirmed=False, back="/inbox/")
    confirmation = unescape(asked.get_data(as_text=True))
    assert (
        asked.status_code == 200
        and "Correct 2 messages to the intent <strong>ask_partners</strong>" in confirmation
    )
    assert VOLUNTEER in confirmation and VOLUNTEER_AGAIN in confirmation
    assert stored(app, schema.corrections) == [], "nothing before the confirmation"

    assert decide(staff, ids, "assign", "ask_partners", back="/inbox/").status_code == 303
    rows = stored(app, schema.corrections)
    assert [
        (r["text"], r["intent"], r["language"], r["predicted_intent"], r["created_by"]) for r in rows
    ] == [
        (VOLUNTEER, "ask_partners", "en", "nlu_fallback", "alice"),
        (VOLUNTEER_AGAIN, "ask_partners", "en", "nlu_fallback", "alice"),
    ]
    assert all(r["trained_at"] is None for r in rows)
    html = unescape(page(staff, "/inbox/"))
    assert "Corrected to ask_partners: 2 messages." in html and 'action="/inbox/undo/' in html
    assert VOLUNTEER_AGAIN not in html[html.index('<ol class="inbox">') :]

    decision = re.search(r'action="/inbox/undo/(\d+)"', html).group(1)
    undone = unescape(undo_latest(staff))
    assert "Undone: Corrected to ask_partners: 2 messages." in undone
    assert stored(app, schema.corrections) == []
    assert VOLUNTEER_AGAIN in unescape(page(staff, "/inbox/"))
    again = staff.post(
        f"/inbox/undo/{decision}", data={"csrf_token": csrf_token(staff, "/inbox/")}, follow_redirects=True
    )
    assert "Nothing to undo: it was undone already." in again.get_data(as_text=True)


def test_a_french_correction_is_stored_as_french(app: Flask, staff: FlaskClient) -> None:
    decide(staff, [event_id(app, BENIN)], "assign", "ask_country_engagement")
    [row] = stored(app, schema.corrections)
    assert row["language"] == "fr" and row["text"] == BENIN
    exported = staff.get("/improve/corrections.yml?language=fr").get_data(as_text=True)
    assert BENIN in exported and BENIN not in staff.get("/improve/corrections.yml?language=en").get_data(
        as_text=True
    )


def test_dismiss_and_undo(app: Flask, staff: FlaskClient) -> None:
    hours = event_id(app, HOURS)
    asked = decide(staff, [hours], "dismiss", confirmed=False)
    assert "Dismiss 1 message" in asked.get_data(as_text=True)
    decide(staff, [hours], "dismiss", back="/inbox/")
    [row] = stored(app, schema.dismissals)
    assert row["sender_id"] == "m-down" and row["dismissed_by"] == "alice"
    assert HOURS not in inbox_list(staff) and stored(app, schema.corrections) == []
    undo_latest(staff)
    assert stored(app, schema.dismissals) == [] and HOURS in inbox_list(staff)


def test_out_of_scope_is_a_correction_to_out_of_scope(app: Flask, staff: FlaskClient) -> None:
    decide(staff, [event_id(app, "zzkq wxv")], "out_of_scope", "greet")
    [row] = stored(app, schema.corrections)
    assert row["intent"] == "out_of_scope"


def test_undo_restores_the_correction_it_replaced(app: Flask, staff: FlaskClient) -> None:
    benin = event_id(app, BENIN)
    decide(staff, [benin], "assign", "ask_country_engagement")
    decide(staff, [benin], "assign", "list_countries_in_region")
    assert [r["intent"] for r in stored(app, schema.corrections)] == ["list_countries_in_region"]
    undo_latest(staff)
    [row] = stored(app, schema.corrections)
    assert (row["intent"], row["language"], row["text"]) == ("ask_country_engagement", "fr", BENIN)


def test_a_dismissed_or_corrected_message_leaves_the_inbox_for_every_staff_member(
    app: Flask, staff: FlaskClient
) -> None:
    decide(staff, [event_id(app, HOURS)], "dismiss")
    decide(staff, [event_id(app, BENIN)], "assign", "ask_country_engagement")
    html = inbox_list(staff)
    assert HOURS not in html and BENIN not in html and VOLUNTEER in html


# -- the confidence of a fallback is the model's best guess ------------------------------------------


def test_the_confidence_filter_finds_a_fallback_conversation(staff: FlaskClient) -> None:
    assert sorted(listed(page(staff, "/conversations/?low=1&traffic=visitors"))) == [
        "m-chose",
        "m-french",
        "m-none",
    ]
    assert sorted(listed(page(staff, "/conversations/?conf_min=0.4&conf_max=0.42"))) == ["m-none"]


def test_the_summary_holds_the_best_guess_the_first_message_and_the_languages(app: Flask) -> None:
    with engine_for(app.config["DATABASE_URL"]).connect() as connection:
        rows = {
            r.sender_id: r
            for r in connection.execute(
                sa.select(schema.summaries).where(schema.summaries.c.sender_id.like("m-%"))
            )
        }
    assert rows["m-none"].lowest_confidence == pytest.approx(0.6), "what Rasa recorded"
    assert rows["m-none"].best_guess_confidence == pytest.approx(0.41)
    assert (rows["m-none"].nlu_fallback_count, rows["m-none"].none_of_these_count) == (1, 1)
    assert rows["m-chose"].none_of_these_count == 0
    assert rows["m-none"].first_message == VOLUNTEER and rows["m-down"].first_message == HOURS
    assert rows["m-french"].language == "fr" and rows["m-french"].language_counts == '{"fr": [1, 1]}'
    assert rows["m-none"].language_counts == '{"en": [1, 0]}', "the button is not counted"


def test_upgrading_fills_the_new_columns_for_conversations_stored_before(app: Flask) -> None:
    engine = engine_for(app.config["DATABASE_URL"])
    decide_row = {
        "event_id": event_id(app, BENIN), "sender_id": "m-french", "text": BENIN, "predicted_intent": None,
        "intent": "ask_country_engagement", "created_by": "alice", "created_at": time.time(),
    }  # fmt: skip
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0002")
    with engine.begin() as connection:
        connection.execute(
            sa.table("nlu_corrections", *(sa.column(c) for c in decide_row)).insert(), [decide_row]
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        summary = connection.execute(
            sa.select(schema.summaries).where(schema.summaries.c.sender_id == "m-none")
        ).one()
        correction = connection.execute(sa.select(schema.corrections)).one()
        role = connection.execute(sa.select(schema.staff_users.c.role)).scalar_one()
    assert summary.best_guess_confidence == pytest.approx(0.41) and summary.first_message == VOLUNTEER
    assert summary.none_of_these_count == 1 and summary.language == "en"
    assert correction.language == "fr" and correction.trained_at is None
    assert role == "reviewer", "accounts from before are reviewers"
