"""Staff corrections of visitor messages: the repository of ``nlu_corrections``.

A correction is a visitor's message (redacted text, its conversation and event id) with the
intent staff chose for it, the visitor's language and who made it when. The staff workspace
writes them (:mod:`review.decisions`: assign, out of scope, Undo, removal) and lists and
exports them; a round of retraining (:mod:`training.corrections`) reads the ones no live
model has learnt yet and marks them learnt (``trained_at``) once its model is put live.

Functions with a ``connection`` run in the caller's transaction (a decision and what it
changes are one); those with an ``engine`` open their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.schema import corrections


@dataclass(frozen=True)
class Correction:
    """One row of ``nlu_corrections``, as a round of retraining uses it."""

    id: int
    text: str
    intent: str
    language: str
    predicted_intent: Optional[str] = None


# -- retraining ----------------------------------------------------------------------------------


def pending(engine: Engine) -> List[Correction]:
    """Corrections not yet in the training data of a live model, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                corrections.c.id,
                corrections.c.text,
                corrections.c.intent,
                corrections.c.language,
                corrections.c.predicted_intent,
            )
            .where(corrections.c.trained_at.is_(None))
            .order_by(corrections.c.id)
        )
        return [Correction(r.id, r.text, r.intent, r.language or "en", r.predicted_intent) for r in rows]


def mark_trained(engine: Engine, ids: Iterable[int], at: float) -> int:
    """Record that these corrections are in the training data of the model put live at ``at``."""
    chosen = sorted(set(ids))
    if not chosen:
        return 0
    with engine.begin() as connection:
        result = connection.execute(
            corrections.update()
            .where(corrections.c.id.in_(chosen), corrections.c.trained_at.is_(None))
            .values(trained_at=at)
        )
        return int(result.rowcount or 0)


def waiting_by_language(connection: Connection) -> Dict[str, int]:
    """How many corrections no live model has learnt yet, per language."""
    rows = connection.execute(
        sa.select(corrections.c.language, sa.func.count())
        .where(corrections.c.trained_at.is_(None))
        .group_by(corrections.c.language)
    )
    return {str(language or "en"): int(count) for language, count in rows}


# -- the workspace -------------------------------------------------------------------------------


def all_corrections(connection: Connection, language: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every correction (of ``language``, if given), newest first, as dicts of its columns."""
    query = sa.select(corrections).order_by(corrections.c.created_at.desc(), corrections.c.id.desc())
    if language:
        query = query.where(corrections.c.language == language)
    return [dict(r._mapping) for r in connection.execute(query)]


def get(connection: Connection, correction_id: int) -> Optional[Dict[str, Any]]:
    """One correction's columns; None if there is none."""
    row = connection.execute(sa.select(corrections).where(corrections.c.id == correction_id)).first()
    return dict(row._mapping) if row is not None else None


def delete(connection: Connection, correction_id: int) -> None:
    connection.execute(corrections.delete().where(corrections.c.id == correction_id))


def corrected_intents(connection: Connection, sender_id: str) -> Dict[int, str]:
    """The conversation's corrected messages: event id -> the intent staff chose."""
    return dict(
        connection.execute(
            sa.select(corrections.c.event_id, corrections.c.intent).where(
                corrections.c.sender_id == sender_id
            )
        ).all()
    )


def corrected_in(connection: Connection, sender_ids: List[str]) -> Set[int]:
    """The corrected messages (event ids) of these conversations."""
    return set(
        connection.execute(
            sa.select(corrections.c.event_id).where(corrections.c.sender_id.in_(sender_ids))
        ).scalars()
    )


def of_messages(connection: Connection, event_ids: List[int]) -> List[Dict[str, Any]]:
    """The corrections of these messages, as dicts of their columns."""
    rows = connection.execute(sa.select(corrections).where(corrections.c.event_id.in_(event_ids))).all()
    return [dict(row._mapping) for row in rows]


def is_corrected(connection: Connection, event_id: int) -> bool:
    return (
        connection.execute(sa.select(corrections.c.id).where(corrections.c.event_id == event_id)).first()
        is not None
    )


def delete_of_messages(connection: Connection, event_ids: List[int]) -> None:
    connection.execute(corrections.delete().where(corrections.c.event_id.in_(event_ids)))


def delete_made(connection: Connection, event_ids: List[int], by: str, at: float) -> int:
    """Remove the corrections of these messages that ``by`` made at ``at``; how many."""
    return int(
        connection.execute(
            corrections.delete().where(
                corrections.c.event_id.in_(event_ids),
                corrections.c.created_by == by,
                corrections.c.created_at == at,
            )
        ).rowcount
    )


def add(connection: Connection, values: Dict[str, Any]) -> None:
    """Write one correction (its columns: event_id, sender_id, text, intent, created_by,
    created_at, and any of predicted_intent, language, trained_at)."""
    connection.execute(corrections.insert().values(**values))


def add_many(connection: Connection, rows: List[Dict[str, Any]]) -> None:
    """Write several corrections at once (rows with the same columns)."""
    connection.execute(corrections.insert(), rows)


def add_all(engine: Engine, rows: Iterable[Dict[str, Any]]) -> None:
    """Write corrections one by one in one transaction (the benchmark's)."""
    with engine.begin() as connection:
        for values in rows:
            add(connection, values)
