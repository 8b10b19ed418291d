"""The inbox of missed messages, and the decisions on them (also made from a transcript).

Every visitor message the assistant missed (:mod:`review.misses`), across conversations,
newest first, near duplicates grouped, until staff decide: the right intent, out of scope, or
dismiss. A decision is asked, confirmed on a page of its own, then recorded
(:mod:`review.decisions`) with an Undo button on the page that follows.
"""

from __future__ import annotations

from typing import List

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from review import db, decisions, queries
from review.auth import local_path
from review.conversations import correctable_intents
from review.formatting import plural
from review.misses import REASONS

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
UNDO = "undo"


@bp.route("/")
def list_misses() -> str:
    filters = queries.InboxFilters.from_args(request.args, current_app.config["LOW_CONFIDENCE"])
    for error in filters.errors:
        flash(error)
    try:
        limit = min(max(int(request.args.get("limit", "")), 1), 2000)
    except ValueError:
        limit = current_app.config["INBOX_SIZE"]
    with db.connect() as connection:
        groups, more = queries.inbox(connection, filters, limit)
        channels = queries.channels(connection)
    return render_template(
        "inbox/list.html",
        groups=groups,
        more=more,
        limit=limit,
        filters=filters,
        reasons=REASONS,
        languages=queries.LANGUAGES,
        traffic=queries.TRAFFIC,
        channels=channels,
        intents=correctable_intents(),
        misses=sum(len(g.misses) for g in groups),
    )


def _back() -> str:
    """Where to return after a decision: a page of the workspace, else the inbox."""
    return local_path(request.form.get("back", ""), url_for("inbox.list_misses"))


@bp.route("/decide", methods=["POST"])
def decide() -> ResponseReturnValue:
    """Show the decision for confirmation, or, once confirmed, record it."""
    action, intent, back = request.form.get("action", ""), request.form.get("intent", ""), _back()
    try:
        event_ids: List[int] = sorted({int(i) for i in request.form.getlist("event_id")})
    except ValueError:
        abort(400)
    if action not in decisions.ACTIONS or not 0 < len(event_ids) <= decisions.MAX_MESSAGES:
        abort(400)
    if action == "assign" and not intent:
        flash("Choose the right intent first: nothing was saved.")
        return redirect(back, code=303)
    if action == "assign" and intent not in correctable_intents():
        abort(400)
    with db.connect() as connection:
        messages = queries.conversation_messages(connection, event_ids)
    if [m.event_id for m in messages] != event_ids:
        abort(400)
    if request.form.get("confirmed") != "1":
        return render_template(
            "inbox/confirm.html",
            action=action,
            intent=intent,
            messages=messages,
            back=back,
            actions=decisions.ACTIONS,
        )
    with db.begin() as connection:
        record = decisions.apply(connection, action, intent, messages, current_user.username)
    session[UNDO] = {**record, "back": back}
    what = {
        "assign": f"Corrected to {intent}",
        "out_of_scope": "Marked as out of scope",
        "dismiss": "Dismissed",
    }
    flash(f"{what[action]}: {plural(len(messages), 'message', 'messages')}.", "decision")
    return redirect(back, code=303)


@bp.route("/undo", methods=["POST"])
def undo() -> Response:
    record = session.pop(UNDO, None)
    if not record:
        flash("Nothing to undo.")
        return redirect(url_for("inbox.list_misses"), code=303)
    with db.begin() as connection:
        decisions.undo(connection, record)
    flash("Undone.")
    return redirect(record.get("back") or url_for("inbox.list_misses"), code=303)
