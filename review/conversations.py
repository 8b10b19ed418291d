"""Conversation list, transcript, review marks and notes, corrections, exports."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List

import yaml
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

from review import db, queries
from storage import schema
from storage.enquiries import csv_safe

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

EXPORT_COLUMNS = [
    "sender_id", "started_at", "last_active_at", "channel", "user_messages", "bot_messages",
    "fallback_count", "lowest_confidence", "disclosure", "funding_enquiry", "intents", "reviewed", "note",
]  # fmt: skip


@lru_cache(maxsize=4)
def _intents(domain_file: Path) -> List[str]:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    return sorted(i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", []))


def domain_intents() -> List[str]:
    """The intents a message can be corrected to: those of the assistant's domain."""
    return _intents(Path(current_app.config["DOMAIN_FILE"]))


def utc(moment: Any) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(float(moment), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("utc")
def utc_filter(moment: Any) -> str:
    return utc(moment)


def index() -> WerkzeugResponse:
    return redirect(url_for("conversations.list_conversations"))


@bp.route("/")
def list_conversations() -> str:
    filters = queries.Filters.from_args(request.args)
    for error in filters.errors:
        flash(error)
    with db.connect() as connection:
        page = queries.list_conversations(
            connection,
            filters,
            current_app.config["LOW_CONFIDENCE"],
            current_app.config["PAGE_SIZE"],
            queries.Cursor.parse(request.args.get("after")),
        )
    return render_template(
        "conversations/list.html",
        page=page,
        filters=filters,
        flags=queries.FLAGS,
        intents=domain_intents(),
        low_confidence=current_app.config["LOW_CONFIDENCE"],
    )


def _conversation_or_404(connection: Any, sender_id: str) -> Dict[str, Any]:
    conversation = queries.summary(connection, sender_id)
    if conversation is None:
        abort(404)
    return conversation


@bp.route("/<path:sender_id>/transcript")
def transcript(sender_id: str) -> str:
    with db.connect() as connection:
        conversation = _conversation_or_404(connection, sender_id)
        entries = queries.transcript(connection, sender_id)
    return render_template(
        "conversations/transcript.html",
        conversation=conversation,
        entries=entries,
        intents=domain_intents(),
        low_confidence=current_app.config["LOW_CONFIDENCE"],
    )


def _save_review(sender_id: str, values: Dict[str, Any]) -> None:
    with db.begin() as connection:
        _conversation_or_404(connection, sender_id)
        updated = connection.execute(
            schema.reviews.update().where(schema.reviews.c.sender_id == sender_id).values(**values)
        ).rowcount
        if not updated:
            connection.execute(schema.reviews.insert().values(sender_id=sender_id, **{"note": "", **values}))


@bp.route("/<path:sender_id>/reviewed", methods=["POST"])
def mark_reviewed(sender_id: str) -> WerkzeugResponse:
    reviewed = request.form.get("reviewed") == "1"
    _save_review(
        sender_id, {"reviewed": reviewed, "reviewed_by": current_user.username, "reviewed_at": time.time()}
    )
    flash("Marked as reviewed." if reviewed else "Marked as not reviewed.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id))


@bp.route("/<path:sender_id>/note", methods=["POST"])
def save_note(sender_id: str) -> WerkzeugResponse:
    note = request.form.get("note", "").strip()
    if len(note) > 5000:
        flash("A note is at most 5,000 characters; nothing was saved.")
    else:
        _save_review(sender_id, {"note": note, "note_by": current_user.username, "note_at": time.time()})
        flash("Note saved.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id))


@bp.route("/<path:sender_id>/corrections", methods=["POST"])
def correct(sender_id: str) -> WerkzeugResponse:
    """Record the intent a misunderstood message should have had."""
    intent = request.form.get("intent", "")
    try:
        event_id = int(request.form.get("event_id", ""))
    except ValueError:
        abort(400)
    if intent not in domain_intents():
        abort(400)
    with db.begin() as connection:
        message = queries.user_message(connection, sender_id, event_id)
        if message is None or message.text.startswith("/"):
            abort(400)
        connection.execute(schema.corrections.delete().where(schema.corrections.c.event_id == event_id))
        connection.execute(
            schema.corrections.insert().values(
                event_id=event_id,
                sender_id=sender_id,
                text=message.text,
                predicted_intent=message.intent,
                intent=intent,
                created_by=current_user.username,
                created_at=time.time(),
            )
        )
    flash(f"Correction saved: {intent}.")
    return redirect(url_for("conversations.transcript", sender_id=sender_id, _anchor=f"event-{event_id}"))


def _export_rows() -> Iterator[Dict[str, Any]]:
    filters = queries.Filters.from_args(request.args)
    with db.connect() as connection:
        for row in queries.iter_conversations(connection, filters, current_app.config["LOW_CONFIDENCE"]):
            row["started_at"], row["last_active_at"] = utc(row["started_at"]), utc(row["last_active_at"])
            row["reviewed"] = bool(row["reviewed"])
            row["note"] = row["note"] or ""
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
                    {"at": utc(e.at), "from": "visitor" if e.kind == "user" else "assistant", "text": e.text,
                     **({"intent": e.intent, "confidence": e.confidence} if e.kind == "user" else {})}
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
    from storage.retention import forget

    with db.connect() as connection:
        _conversation_or_404(connection, sender_id)
    forget(db.engine(), sender_id)
    flash("The conversation was deleted.")
    return redirect(url_for("conversations.list_conversations"))
