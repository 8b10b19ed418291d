"""Corrections made by staff, and their export as Rasa NLU training data.

Removing one is a decision like the inbox's (:mod:`review.decisions`): confirmed on a page of
its own, then undoable, from the message after it and from "Your recent decisions"."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review import db, decisions, queries
from review.inbox import UNDO
from review.queries import LANGUAGES
from storage import corrections as stored_corrections

bp = Blueprint("improve", __name__, url_prefix="/improve")


def corrections_yaml(rows: List[Dict[str, str]]) -> str:
    """Rasa 3 NLU training data (``version: "3.1"``) with one block per intent.

    Written by hand rather than with a YAML dumper so it has the layout of the files in ``data/nlu/``
    (``examples: |`` blocks) and can be pasted into it. A message is one line; duplicates
    within an intent are dropped.
    """
    by_intent: Dict[str, List[str]] = {}
    for row in rows:
        text = " ".join(str(row["text"]).split())
        if text and text not in by_intent.setdefault(row["intent"], []):
            by_intent[row["intent"]].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"


def _all_corrections(language: Optional[str] = None) -> List[Dict[str, Any]]:
    with db.connect() as connection:
        return stored_corrections.all_corrections(connection, language)


@bp.route("/")
def corrections() -> str:
    with db.connect() as connection:
        recent = queries.recent_decisions(connection, current_user.username)
    return render_template(
        "improve/corrections.html", corrections=_all_corrections(), languages=LANGUAGES, recent=recent
    )


@bp.route("/corrections.yml")
def export_corrections() -> Response:
    """The corrections as training data: of one language (``?language=fr``), else of all."""
    language = request.args.get("language", "")
    if language and language not in LANGUAGES:
        language = ""
    name = f"nlu_corrections_{language}.yml" if language else "nlu_corrections.yml"
    return Response(
        corrections_yaml(_all_corrections(language or None)),
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/corrections/<int:correction_id>/delete", methods=["POST"])
def delete_correction(correction_id: int) -> ResponseReturnValue:
    """Show the removal for confirmation, or, once confirmed, remove (undoably)."""
    if request.form.get("confirmed") != "1":
        with db.connect() as connection:
            row = stored_corrections.get(connection, correction_id)
        if row is None:
            abort(404)
        return render_template("improve/confirm_remove.html", correction=row)
    with db.begin() as connection:
        record = decisions.remove_correction(connection, correction_id, current_user.username)
        if record is None:
            abort(404)
        summary = f"Removed a correction to {next(iter(record['previous'].values()))['intent']}"
        session[UNDO] = decisions.keep(connection, current_user.username, summary, record)
    flash(f"{summary}.", "decision")
    return redirect(url_for("improve.corrections"), code=303)
