"""The inbox of missed messages, and the decisions on them (also made from a transcript).

Every visitor message the assistant missed (:mod:`review.misses`), across conversations,
newest first, near duplicates grouped, until staff decide: the right intent, out of scope, or
dismiss. A decision is asked, confirmed on a page of its own, then recorded
(:mod:`review.decisions`) with an Undo button on the page that follows; the staff member's
recent decisions stay listed, each with Undo, after they leave the page.
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
from storage import conversations

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
        channels = conversations.channels(connection)
        recent = queries.recent_decisions(connection, current_user.username)
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
        recent=recent,
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
    what = {
        "assign": f"Corrected to {intent}",
        "out_of_scope": "Marked as out of scope",
        "dismiss": "Dismissed",
    }
    summary = f"{what[action]}: {plural(len(messages), 'message', 'messages')}"
    with db.begin() as connection:
        record = decisions.apply(connection, action, intent, messages, current_user.username)
        session[UNDO] = decisions.keep(connection, current_user.username, summary, record)
    flash(f"{summary}.", "decision")
    return redirect(back, code=303)


@bp.route("/undo/<int:decision_id>", methods=["POST"])
def undo(decision_id: int) -> Response:
    """Undo one of the staff member's own decisions (from the message after it, or from
    "Recent decisions"), then go back where the button was."""
    with db.begin() as connection:
        summary = decisions.undo_decision(connection, decision_id, current_user.username)
    if session.get(UNDO) == decision_id:
        session.pop(UNDO)
    flash(f"Undone: {summary}." if summary else "Nothing to undo: it was undone already.")
    return redirect(_back(), code=303)
