"""What staff record about conversations and the messages in them: the repository of the
staff's review work.

It owns ``conversation_reviews`` (a conversation marked reviewed, its note),
``conversation_tags`` (staff's own labels), ``inbox_dismissals`` (a missed message that
needs nothing) and ``staff_decisions`` (each decision with the record its Undo needs, written
by :mod:`review.decisions`). Corrections, the other kind of decision, are
:mod:`storage.corrections`.

Every function takes the caller's connection (:func:`storage.database.begin_unbounded`), so
that a decision and what it changes are one transaction.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.schema import dismissals, reviews, staff_decisions, tags

# -- review marks and notes ------------------------------------------------------------------------


def save_review(connection: Connection, sender_id: str, values: Dict[str, Any]) -> None:
    """Set these columns of the conversation's review row (written if there is none yet)."""
    updated = connection.execute(
        reviews.update().where(reviews.c.sender_id == sender_id).values(**values)
    ).rowcount
    if not updated:
        connection.execute(reviews.insert().values(sender_id=sender_id, **{"note": "", **values}))


def mark_reviewed(connection: Connection, sender_ids: Set[str], values: Dict[str, Any]) -> None:
    """Set these columns of the review rows of several conversations (of the log: see
    :func:`storage.conversations.known`), writing the rows missing."""
    stored = set(
        connection.execute(
            sa.select(reviews.c.sender_id).where(reviews.c.sender_id.in_(sender_ids))
        ).scalars()
    )
    if stored:
        connection.execute(reviews.update().where(reviews.c.sender_id.in_(stored)).values(**values))
    if sender_ids - stored:
        connection.execute(
            reviews.insert(),
            [{"sender_id": s, "note": "", **values} for s in sorted(sender_ids - stored)],
        )


# -- tags ----------------------------------------------------------------------------------------


def tags_of(connection: Connection, sender_ids: List[str]) -> Dict[str, List[str]]:
    """Each conversation's tags, in alphabetical order."""
    if not sender_ids:
        return {}
    query = (
        sa.select(tags.c.sender_id, tags.c.tag).where(tags.c.sender_id.in_(sender_ids)).order_by(tags.c.tag)
    )
    result: Dict[str, List[str]] = {}
    for sender_id, tag in connection.execute(query):
        result.setdefault(sender_id, []).append(tag)
    return result


def all_tags(connection: Connection) -> List[str]:
    return list(connection.execute(sa.select(tags.c.tag).distinct().order_by(tags.c.tag)).scalars())


def add_tag(connection: Connection, sender_id: str, tag: str, tagged_by: str, tagged_at: float) -> None:
    """Tag the conversation (nothing if it has the tag already)."""
    exists = connection.execute(
        sa.select(tags.c.tag).where(tags.c.sender_id == sender_id, tags.c.tag == tag)
    ).first()
    if exists is None:
        connection.execute(
            tags.insert().values(sender_id=sender_id, tag=tag, tagged_by=tagged_by, tagged_at=tagged_at)
        )


def remove_tag(connection: Connection, sender_id: str, tag: str) -> None:
    connection.execute(tags.delete().where(tags.c.sender_id == sender_id, tags.c.tag == tag))


# -- dismissals ----------------------------------------------------------------------------------


def dismissed(connection: Connection, event_ids: List[int]) -> Set[int]:
    """Those of these messages that are dismissed."""
    return set(
        connection.execute(
            sa.select(dismissals.c.event_id).where(dismissals.c.event_id.in_(event_ids))
        ).scalars()
    )


def dismissed_in(connection: Connection, sender_ids: List[str]) -> Set[int]:
    """The dismissed messages of these conversations."""
    return set(
        connection.execute(
            sa.select(dismissals.c.event_id).where(dismissals.c.sender_id.in_(sender_ids))
        ).scalars()
    )


def add_dismissals(connection: Connection, rows: List[Dict[str, Any]]) -> None:
    """Dismiss messages: rows of event_id, sender_id, dismissed_by, dismissed_at."""
    connection.execute(dismissals.insert(), rows)


def delete_dismissals(connection: Connection, event_ids: List[int], by: str, at: float) -> int:
    """Remove the dismissals of these messages that ``by`` made at ``at``; how many."""
    return int(
        connection.execute(
            dismissals.delete().where(
                dismissals.c.event_id.in_(event_ids),
                dismissals.c.dismissed_by == by,
                dismissals.c.dismissed_at == at,
            )
        ).rowcount
    )


# -- staff decisions -----------------------------------------------------------------------------


def forget_decisions(connection: Connection, made_before: float) -> None:
    connection.execute(staff_decisions.delete().where(staff_decisions.c.made_at < made_before))


def add_decision(connection: Connection, username: str, made_at: float, summary: str, record: str) -> int:
    """Store a decision (``record``: JSON); its id."""
    result = connection.execute(
        staff_decisions.insert().values(username=username, made_at=made_at, summary=summary, record=record)
    )
    return int(result.inserted_primary_key[0])


def open_decision(connection: Connection, decision_id: int, username: str) -> Optional[Any]:
    """The row of ``username``'s decision ``decision_id`` if it is not undone, else None."""
    return connection.execute(
        sa.select(staff_decisions).where(
            staff_decisions.c.id == decision_id,
            staff_decisions.c.username == username,
            staff_decisions.c.undone_at.is_(None),
        )
    ).first()


def mark_undone(connection: Connection, decision_id: int, at: float) -> None:
    connection.execute(
        staff_decisions.update().where(staff_decisions.c.id == decision_id).values(undone_at=at)
    )


def recent_decisions(connection: Connection, username: str, since: float, limit: int) -> List[Any]:
    """``username``'s latest decisions made since ``since`` and not undone, newest first (rows
    of id, username, made_at, summary, record, undone_at)."""
    return list(
        connection.execute(
            sa.select(staff_decisions)
            .where(
                staff_decisions.c.username == username,
                staff_decisions.c.undone_at.is_(None),
                staff_decisions.c.made_at >= since,
            )
            .order_by(staff_decisions.c.made_at.desc(), staff_decisions.c.id.desc())
            .limit(limit)
        ).all()
    )
