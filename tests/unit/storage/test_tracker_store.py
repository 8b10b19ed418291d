"""The redacting tracker store on a real database (SQLite, and PostgreSQL where it runs):
what is written, what Rasa reads back, the summaries, and retention."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, List

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from apt_settings import ROOT
from storage import migrate, retention, schema
from storage.database import engine_for
from storage.enquiries import Enquiry, EnquiryStore
from storage.tracker_store import RedactingSQLTrackerStore, load_summary
from tests.support.commands import run_module
from tests.support.databases import stored_events

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def user(
    text: str, intent: str, confidence: float = 0.95, at: float | None = None, **kwargs: Any
) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": confidence},
        parse_data={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []},
        input_channel="rest",
        timestamp=at,
        **kwargs,
    )


def save(store: RedactingSQLTrackerStore, sender: str, events: List[Event]) -> None:
    """Append ``events`` to the stored conversation, as Rasa does after each turn."""

    async def turn() -> None:
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        for event in events:
            tracker.update(event)
        await store.save(tracker)

    asyncio.run(turn())


def stored_texts(url: str, sender: str) -> List[str]:
    return [json.dumps(event) for event in stored_events(url, sender)]


@pytest.fixture
def store(database_url: str) -> RedactingSQLTrackerStore:
    return RedactingSQLTrackerStore(domain=DOMAIN, url=database_url)


def test_personal_data_never_reaches_the_database(store: RedactingSQLTrackerStore) -> None:
    save(
        store,
        "v1",
        [
            ActionExecuted("action_listen"),
            user("my email is jane@example.org, call +41 22 919 21 70", "inform"),
        ],
    )
    log = "\n".join(stored_texts(store.url, "v1"))
    assert "jane@example.org" not in log and "919 21 70" not in log
    assert "my email is [EMAIL], call [PHONE]" in log


def test_rasa_reads_back_the_redacted_conversation(store: RedactingSQLTrackerStore) -> None:
    save(store, "v2", [ActionExecuted("action_listen"), user("reach me at jane@example.org", "inform")])
    save(
        store,
        "v2",
        [
            BotUttered("Thank you."),
            ActionExecuted("action_listen"),
            user("do you work in Kenya?", "ask_country_engagement"),
        ],
    )
    tracker = asyncio.run(store.retrieve("v2"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "reach me at [EMAIL]",
        "do you work in Kenya?",
    ]
    assert len(stored_texts(store.url, "v2")) == 5, "each event is written once"


def test_enquiry_email_is_kept_only_in_the_enquiries_table(store: RedactingSQLTrackerStore) -> None:
    save(
        store,
        "v3",
        [
            ActiveLoop("enquiry_form"),
            SlotSet("requested_slot", "contact_email"),
            BotUttered("What email address should the APT use?"),
            ActionExecuted("action_listen"),
            user("maria.dupont@example.org", "inform"),
            SlotSet("contact_email", "maria.dupont@example.org"),
            ActiveLoop(None),
            SlotSet("enquiry_status", "recorded"),
        ],
    )
    EnquiryStore(store.url).record(
        Enquiry(
            "v3",
            "ngo",
            "KEN",
            "Kenya",
            "monitoring",
            "likely",
            "Friends",
            "maria.dupont@example.org",
            True,
            "2026-12-01T10:00:00+00:00",
        )
    )
    assert "maria.dupont" not in "\n".join(stored_texts(store.url, "v3"))
    assert EnquiryStore(store.url).for_conversation("v3")[0].email == "maria.dupont@example.org"
    with engine_for(store.url).connect() as connection:
        assert load_summary(connection, "v3").funding_enquiry


def test_summary_counts_messages_intents_fallbacks_and_flags(store: RedactingSQLTrackerStore) -> None:
    start = time.time() - 60
    save(
        store,
        "v4",
        [
            SessionStarted(timestamp=start),
            ActionExecuted("action_listen"),
            user("hello", "greet", 0.99, at=start + 1),
        ],
    )
    save(
        store,
        "v4",
        [BotUttered("Hi!"), ActionExecuted("action_listen"), user("asdf qwer", "nlu_fallback", 0.31)],
    )
    save(
        store,
        "v4",
        [
            BotUttered("Sorry?"),
            ActionExecuted("action_listen"),
            user("my brother was tortured in prison", "disclose_abuse", 0.97),
            SlotSet("disclosure_reported", True),
            SlotSet("country", "Viet Nam"),
        ],
    )
    with engine_for(store.url).connect() as connection:
        summary = load_summary(connection, "v4")
    assert (summary.user_messages, summary.bot_messages, summary.fallback_count) == (3, 2, 1)
    assert summary.lowest_confidence == pytest.approx(0.31)
    assert summary.disclosure and not summary.funding_enquiry
    assert summary.channel == "rest"
    assert summary.started_at == pytest.approx(start)
    assert dict(summary.intents) == {"greet": 1, "nlu_fallback": 1, "disclose_abuse": 1}
    assert dict(summary.countries) == {"Viet Nam": 1}
    assert "my brother was tortured" in summary.search_text


def test_purge_deletes_only_conversations_older_than_the_period(store: RedactingSQLTrackerStore) -> None:
    old = time.time() - 100 * 86400
    save(store, "old", [SessionStarted(timestamp=old), user("hello", "greet", at=old + 1)])
    save(store, "new", [ActionExecuted("action_listen"), user("hello", "greet")])
    assert retention.purge(store.engine, days=90) == 1
    assert stored_texts(store.url, "old") == [] and stored_texts(store.url, "new") != []
    with store.engine.connect() as connection:
        assert load_summary(connection, "old") is None and load_summary(connection, "new") is not None


def test_forget_deletes_one_conversation_with_its_enquiry(store: RedactingSQLTrackerStore) -> None:
    save(store, "gone", [ActionExecuted("action_listen"), user("hello", "greet")])
    save(store, "kept", [ActionExecuted("action_listen"), user("hello", "greet")])
    EnquiryStore(store.url).record(
        Enquiry(
            "gone",
            "ngo",
            "KEN",
            "Kenya",
            "monitoring",
            "likely",
            "Friends",
            "a@example.org",
            True,
            "2026-12-01T10:00:00+00:00",
        )
    )
    counts = retention.forget(store.engine, "gone")
    assert counts["events"] == 2 and counts["funding_enquiries"] == 1
    assert stored_texts(store.url, "gone") == [] and stored_texts(store.url, "kept") != []
    assert EnquiryStore(store.url).for_conversation("gone") == []


def test_purge_refuses_a_period_of_zero_days(store: RedactingSQLTrackerStore) -> None:
    with pytest.raises(ValueError):
        retention.purge(store.engine, days=0)


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_retention_command_line(tmp_path: Path) -> None:
    import subprocess

    url = f"sqlite:///{tmp_path / 'apt.db'}"
    migrate.upgrade(engine_for(url))
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url)
    save(store, "someone", [ActionExecuted("action_listen"), user("hello", "greet")])

    def command(*args: str) -> subprocess.CompletedProcess:
        return run_module("storage.retention", *args, database_url=url)

    assert "deleted 0 conversation(s)" in command("purge", "--days", "30").stdout
    assert command("purge", "--days", "0").returncode != 0
    assert command("forget", "nobody").returncode == 1
    done = command("forget", "someone")
    assert done.returncode == 0 and "deleted conversation someone" in done.stdout
    assert stored_texts(url, "someone") == []


def test_enquiry_answers_survive_between_turns_and_are_scrubbed_when_the_form_ends(
    store: RedactingSQLTrackerStore,
) -> None:
    save(store, "v5", [
        ActiveLoop("enquiry_form"), SlotSet("requested_slot", "organisation_name"),
        ActionExecuted("action_listen"), user("Friends of Maria Dupont", "inform"),
        SlotSet("organisation_name", "Friends of Maria Dupont"), SlotSet("requested_slot", "contact_email"),
    ])  # fmt: skip
    tracker = asyncio.run(store.retrieve("v5"))
    assert tracker.get_slot("organisation_name") == "Friends of Maria Dupont", "the form still needs it"
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["[ENQUIRY ORGANISATION]"]
    save(store, "v5", [
        ActionExecuted("action_listen"), user("maria@example.org", "inform"),
        SlotSet("contact_email", "maria@example.org"), ActiveLoop(None),
        SlotSet("enquiry_status", "recorded"),
    ])  # fmt: skip
    log = "\n".join(stored_texts(store.url, "v5"))
    assert "Maria Dupont" not in log and "maria@example.org" not in log
    assert asyncio.run(store.retrieve("v5")).get_slot("organisation_name") == "[ENQUIRY ORGANISATION]"


def test_purge_scrubs_an_enquiry_form_abandoned_over_an_hour_ago(store: RedactingSQLTrackerStore) -> None:
    then = time.time() - 2 * 3600
    save(store, "v6", [
        SessionStarted(timestamp=then), ActiveLoop("enquiry_form", timestamp=then),
        SlotSet("requested_slot", "organisation_name", timestamp=then),
        user("Acme Rights", "inform", at=then),
        SlotSet("organisation_name", "Acme Rights", timestamp=then),
    ])  # fmt: skip
    assert "Acme Rights" in "\n".join(stored_texts(store.url, "v6"))
    retention.purge(store.engine, days=90)
    assert "Acme Rights" not in "\n".join(stored_texts(store.url, "v6"))
    assert stored_texts(store.url, "v6"), "the conversation itself is kept"


def stored_types(store: RedactingSQLTrackerStore, sender: str) -> List[str]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.type_name)
            .where(schema.events.c.sender_id == sender)
            .order_by(schema.events.c.id)
        ).all()
    return [row.type_name for row in rows]


def test_each_event_is_stored_once_when_one_tracker_is_saved_several_times(
    store: RedactingSQLTrackerStore,
) -> None:
    """Rasa may save the tracker it read more than once in a turn: only what is new each time."""

    async def turn() -> None:
        tracker = DialogueStateTracker("v1", DOMAIN.slots)  # new conversation: counted in the database
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        tracker = await store.retrieve("v1")  # read back: carries the number stored
        assert tracker is not None
        tracker.update(user("hello", "greet"))
        await store.save(tracker)
        tracker.update(BotUttered("Hello!"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        await store.save(tracker)  # nothing new

    asyncio.run(turn())
    assert stored_types(store, "v1") == ["action", "user", "bot", "action"]


def test_a_copied_tracker_is_saved_as_rasa_would(store: RedactingSQLTrackerStore) -> None:
    """A tracker the store did not read (a copy) has its new events found by counting."""
    save(store, "v1", [ActionExecuted("action_listen"), user("hello", "greet")])

    async def turn() -> None:
        tracker = await store.retrieve("v1")
        assert tracker is not None
        copy = tracker.copy()
        copy.update(BotUttered("Hello!"))
        await store.save(copy)

    asyncio.run(turn())
    assert stored_types(store, "v1") == ["action", "user", "bot"]


def test_events_stored_by_another_process_meanwhile_are_not_lost(store: RedactingSQLTrackerStore) -> None:
    """The count travels with the tracker object, so trackers read separately stay apart."""
    save(store, "v1", [ActionExecuted("action_listen")])

    async def turns() -> None:
        first = await store.retrieve("v1")
        assert first is not None
        first.update(user("hello", "greet"))
        await store.save(first)
        second = await store.retrieve("v1")
        assert second is not None and len(second.events) == 2
        second.update(BotUttered("Hello!"))
        await store.save(second)

    asyncio.run(turns())
    assert stored_types(store, "v1") == ["action", "user", "bot"]


# -- erased from disk, not only from queries --------------------------------------------------

SECRET_TEXT = "my brother was beaten in cell 4417 at the central station"


def holds_on_disk(engine: sa.engine.Engine, text: str) -> bool:
    """Whether the bytes of ``text`` are anywhere in the database's files: SQLite's file and
    write-ahead log; every page of every PostgreSQL table, TOAST table and index (read with
    the pageinspect extension, so dead rows and freed space count too)."""
    needle = text.encode()
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        return any(needle in p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        relations = connection.execute(
            sa.text(
                "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 't', 'i') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            )
        ).scalars()
        for relation in list(relations):
            found = connection.execute(
                sa.text(
                    "SELECT count(*) FROM generate_series(0, pg_relation_size(:r) / 8192 - 1) AS page "
                    "WHERE position(:needle IN get_raw_page(:r, page::int)) > 0"
                ),
                {"r": relation, "needle": needle},
            ).scalar()
            if found:
                return True
    return False


def test_a_forgotten_conversation_leaves_no_trace_in_the_database_files(
    store: RedactingSQLTrackerStore,
) -> None:
    """The newest rows of a page, deleted, stay in its freed space after a plain VACUUM on
    PostgreSQL: forget rewrites the tables it deleted from."""
    save(store, "kept", [ActionExecuted("action_listen"), user("hello there", "greet")])
    save(store, "gone", [ActionExecuted("action_listen"), user(SECRET_TEXT, "disclose_abuse")])
    assert holds_on_disk(store.engine, SECRET_TEXT), "the probe must see what is stored"
    counts = retention.forget(store.engine, "gone")
    assert counts["events"] == 2
    assert not holds_on_disk(store.engine, SECRET_TEXT)
    assert stored_texts(store.url, "kept") != []


def test_a_full_purge_leaves_no_trace_of_old_conversations(store: RedactingSQLTrackerStore) -> None:
    old = time.time() - 100 * 86400
    save(store, "new", [ActionExecuted("action_listen"), user("hello there", "greet")])
    save(store, "old", [SessionStarted(timestamp=old), user(SECRET_TEXT, "disclose_abuse", at=old + 1)])
    assert retention.purge(store.engine, days=90, full=True) == 1
    assert not holds_on_disk(store.engine, SECRET_TEXT)
    assert stored_texts(store.url, "new") != []
