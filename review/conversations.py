"""Conversation list, transcript, review marks, notes and tags, saved filters, exports.

Corrections of a transcript's messages are decisions of :mod:`review.inbox` (confirmed, undoable).
"""

from __future__ import annotations

import csv
import io
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from content import domain
from review import db, queries
from review.auth import local_path
from review.formatting import plural, when
from storage import conversations as conversation_log
from storage import reviews, staff
from storage.conversations import Cursor
from storage.database import Connection
from storage.enquiries import csv_safe
from storage.summary import NONE_OF_THESE_INTENT

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

EXPORT_COLUMNS = [
    "sender_id", "started_at", "last_active_at", "channel", "language", "first_message", "user_messages",
    "bot_messages", "fallback_count", "nlu_fallback_count", "none_of_these_count", "lowest_confidence",
    "best_guess_confidence", "feedback_up", "feedback_down", "disclosure", "funding_enquiry", "intents",
    "tags", "reviewed", "note",
]  # fmt: skip
MAX_SAVED_FILTERS = 30


@lru_cache(maxsize=4)
def _intents(domain_file: Path) -> List[str]:
    return domain.intents(domain_file)


def domain_intents() -> List[str]:
    """The intents of the assistant's domain."""
    return _intents(Path(current_app.config["DOMAIN_FILE"]))


def correctable_intents() -> List[str]:
    """The intents a message can be corrected to: the domain's, but the second-chance offer's
    "None of these" (a button's answer, never a typed message's meaning)."""
    return [i for i in domain_intents() if i != NONE_OF_THESE_INTENT]


def index() -> WerkzeugResponse:
    return redirect(url_for("conversations.list_conversations"))


@bp.route("/")
def list_conversations() -> str:
    filters = queries.Filters.from_args(request.args)
    for error in filters.errors:
        flash(error)
    with db.connect() as connection:
        page = conversation_log.list_conversations(
            connection,
            filters,
            current_app.config["LOW_CONFIDENCE"],
            current_app.config["PAGE_SIZE"],
            Cursor.parse(request.args.get("after")),
        )
        options = _filter_options(connection)
    return render_template(
        "conversations/list.html",
        page=page,
        filters=filters,
        low_confidence=current_app.config["LOW_CONFIDENCE"],
        test_channels=queries.TEST_CHANNELS,
        **options,
    )


def _filter_options(connection: Connection) -> Dict[str, Any]:
    return {
        "flags": queries.FLAGS,
        "feedback_options": queries.FEEDBACK,
        "traffic": queries.TRAFFIC,
        "languages": queries.LANGUAGES,
        "intents": domain_intents(),
        "channels": conversation_log.channels(connection),
        "tags": reviews.all_tags(connection),
        "saved": staff.saved_filters_of(connection, current_user.username),
    }


def _conversation_or_404(connection: Connection, sender_id: str) -> Dict[str, Any]:
    conversation = conversation_log.summary(connection, sender_id)
    if conversation is None:
        abort(404)
    return conversation


@bp.route("/<path:sender_id>/transcript")
def transcript(sender_id: str) -> str:
    filters = queries.Filters.from_args(request.args)
    with db.connect() as connection:
        conversation = _conversation_or_404(connection, sender_id)
        entries = queries.transcript(connection, sender_id)
        conversation_tags = reviews.tags_of(connection, [sender_id]).get(sender_id, [])
        known_tags = reviews.all_tags(connection)
    return render_template(
        "conversations/transcript.html",
        conversation=conversation,
        entries=entries,
        filters=filters,
        intents=correctable_intents(),
        conversation_tags=conversation_tags,
        known_tags=known_tags,
        low_confidence=current_app.config["LOW_CONFIDENCE"],
    )


def _next_unreviewed(sender_id: str, filters: queries.Filters) -> Optional[str]:
    with db.connect() as connection:
        conversation = conversation_log.summary(connection, sender_id)
        current = Cursor(conversation["last_active_at"], sender_id) if conversation else None
        return conversation_log.next_unreviewed(
            connection, filters, current_app.config["LOW_CONFIDENCE"], current
        )


@bp.route("/<path:sender_id>/next-unreviewed")
def next_unreviewed(sender_id: str) -> WerkzeugResponse:
    """The next conversation of the list (with the list's filters) that nobody reviewed."""
    filters = queries.Filters.from_args(request.args)
    found = _next_unreviewed(sender_id, filters)
    if found is None:
        flash("No conversation left to review with these filters.")
        return redirect(url_for("conversations.list_conversations", **filters.query_args()))
    return redirect(url_for("conversations.transcript", sender_id=found, **filters.query_args()))


def _save_review(sender_id: str, values: Dict[str, Any]) -> None:
    with db.begin() as connection:
        _conversation_or_404(connection, sender_id)
        reviews.save_review(connection, sender_id, values)


@bp.route("/<path:sender_id>/reviewed", methods=["POST"])
def mark_reviewed(sender_id: str) -> WerkzeugResponse:
    reviewed = request.form.get("reviewed") == "1"
    _save_review(
        sender_id, {"reviewed": reviewed, "reviewed_by": current_user.username, "reviewed_at": time.time()}
    )
    flash("Marked as reviewed." if reviewed else "Marked as not reviewed.")
    filters = queries.Filters.from_args(request.args)
    if request.form.get("then") == "next":
        return redirect(url_for("conversations.next_unreviewed", sender_id=sender_id, **filters.query_args()))
    return redirect(url_for("conversations.transcript", sender_id=sender_id, **filters.query_args()))


@bp.route("/reviewed", methods=["POST"])
def mark_many_reviewed() -> WerkzeugResponse:
    """Mark the conversations ticked in the list as reviewed."""
    sender_ids = list(dict.fromkeys(request.form.getlist("sender_id")))[:500]
    if not sender_ids:
        flash("Tick the conversations to mark first.")
    else:
        values = {"reviewed": True, "reviewed_by": current_user.username, "reviewed_at": time.time()}
        with db.begin() as connection:
            known = conversation_log.known(connection, sender_ids)
            reviews.mark_reviewed(connection, known, values)
        count = len(known)
        flash(f"Marked {plural(count, 'conversation', 'conversations')} as reviewed.")
    return redirect(local_path(request.form.get("back", ""), url_for(".list_conversations")))


@bp.route("/<path:sender_id>/tags", methods=["POST"])
def add_tag(sender_id: str) -> WerkzeugResponse:
    tag = " ".join(request.form.get("tag", "").split())
    if not tag or len(tag) > queries.MAX_TAG_LENGTH:
        flash(f"A tag is 1 to {queries.MAX_TAG_LENGTH} characters; nothing was saved.")
    else:
        with db.begin() as connection:
            _conversation_or_404(connection, sender_id)
            reviews.add_tag(connection, sender_id, tag, current_user.username, time.time())
        flash(f"Tagged “{tag}”.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id, _anchor="tags"))


@bp.route("/<path:sender_id>/tags/remove", methods=["POST"])
def remove_tag(sender_id: str) -> WerkzeugResponse:
    tag = request.form.get("tag", "")
    with db.begin() as connection:
        reviews.remove_tag(connection, sender_id, tag)
    flash(f"Tag “{tag}” removed.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id, _anchor="tags"))


@bp.route("/filters", methods=["POST"])
def save_filter() -> WerkzeugResponse:
    """Save the list's current filters under a name, for the signed-in staff member only."""
    name = " ".join(request.form.get("name", "").split())
    filters = queries.Filters.from_args(request.form)
    query = filters.query_args()
    if not name or len(name) > 64 or not query:
        flash("Name the filter (up to 64 characters) and choose at least one filter; nothing was saved.")
        return redirect(url_for(".list_conversations", **query))
    with db.begin() as connection:
        if staff.other_filters(connection, current_user.username, name) >= MAX_SAVED_FILTERS:
            flash(f"You have {MAX_SAVED_FILTERS} saved filters already: delete one first.")
            return redirect(url_for(".list_conversations", **query))
        staff.save_filter(
            connection, current_user.username, name, json.dumps(query, sort_keys=True), time.time()
        )
    flash(f"Filter “{name}” saved.")
    return redirect(url_for(".list_conversations", **query))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
def delete_filter(filter_id: int) -> WerkzeugResponse:
    with db.begin() as connection:
        staff.delete_filter(connection, filter_id, current_user.username)
    flash("Saved filter deleted.")
    return redirect(url_for(".list_conversations"))


@bp.app_template_filter("saved_query")
def saved_query(query: str) -> Dict[str, str]:
    """A saved filter's query-string arguments (stored as JSON)."""
    try:
        loaded = json.loads(query)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


@bp.route("/<path:sender_id>/note", methods=["POST"])
def save_note(sender_id: str) -> WerkzeugResponse:
    note = request.form.get("note", "").strip()
    if len(note) > 5000:
        flash("A note is at most 5,000 characters; nothing was saved.")
    else:
        _save_review(sender_id, {"note": note, "note_by": current_user.username, "note_at": time.time()})
        flash("Note saved.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id))


def _export_rows() -> Iterator[Dict[str, Any]]:
    filters = queries.Filters.from_args(request.args)
    with db.connect() as connection:
        for row in conversation_log.iter_conversations(
            connection, filters, current_app.config["LOW_CONFIDENCE"]
        ):
            row["started_at"], row["last_active_at"] = when(row["started_at"]), when(row["last_active_at"])
            row["reviewed"] = bool(row["reviewed"])
            row["note"] = row["note"] or ""
            row["language"] = row["language"] or "en"
            yield {column: row[column] for column in EXPORT_COLUMNS}


def _download(name: str) -> Dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@bp.route("/export.csv")
def export_csv() -> Response:
    def generate() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in _export_rows():
            row["intents"] = " ".join(row["intents"])
            row["tags"] = "; ".join(row["tags"])
            writer.writerow({k: csv_safe(v) for k, v in row.items()})
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return Response(
        stream_with_context(generate()), mimetype="text/csv", headers=_download("conversations.csv")
    )


@bp.route("/export.json")
def export_json() -> Response:
    """A JSON array of conversations, each with its summary and its messages."""

    def generate() -> Iterator[str]:
        yield "[\n"
        first = True
        with db.connect() as connection:
            for row in _export_rows():
                row["messages"] = [
                    {"at": when(e.at), "from": "visitor" if e.kind == "user" else "assistant", "text": e.text,
                     **({"button": e.clicked} if e.clicked else {}),
                     **({"intent": e.intent, "confidence": e.confidence, "best_guess": e.best_guess,
                         "guesses": e.guesses, "language": e.language} if e.kind == "user" else {}),
                     **({"source": e.source} if e.source else {})}
                    for e in queries.transcript(connection, row["sender_id"])
                    if e.kind in ("user", "bot")
                ]  # fmt: skip
                yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
                first = False
        yield "\n]\n"

    return Response(
        stream_with_context(generate()), mimetype="application/json", headers=_download("conversations.json")
    )


@bp.route("/<path:sender_id>/delete", methods=["POST"])
def delete(sender_id: str) -> WerkzeugResponse:
    """Erase one conversation on request (same as ``python -m storage.retention forget``)."""
    from storage.retention import VacuumNotDone, forget

    with db.connect() as connection:
        _conversation_or_404(connection, sender_id)
    try:
        forget(db.engine(), sender_id)
    except VacuumNotDone:
        flash(
            "The conversation was deleted, but the database was too busy to remove it from its "
            "files: run `make purge FULL=1` later to do so."
        )
        return redirect(url_for("conversations.list_conversations"))
    flash("The conversation was deleted.")
    return redirect(url_for("conversations.list_conversations"))
