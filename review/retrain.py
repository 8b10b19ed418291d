"""The Retrain page: corrections waiting to be learnt, the round under way, the results of past
rounds (before/after figures); a trainer starts a round with its button.

A round runs as its own process (``python -m training.retrain``, docs/retraining.md), never in
the workspace's threads: it takes minutes and gigabytes, and it goes on if the workspace is
restarted. The page reads what the round writes under ``var/retrain/``
(:mod:`training.status`); ``static/retrain.js`` polls :func:`progress` while one runs and
reads the stage out through a live region.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from review import db
from review.auth import require_role
from storage import corrections
from training import ROOT, status

bp = Blueprint("retrain", __name__, url_prefix="/retrain")

STAGE_LABELS = {
    "starting": "Starting",
    "writing": "Writing the corrections into the training data",
    "validating": "Checking the training data (rasa data validate)",
    "training": "Training",
    "evaluating": "Testing the new model",
    "deciding": "Comparing with the live model",
    "live": "Putting the new model live",
    "reloading": "Restarting the assistant's Rasa servers",
}
OUTCOME_LABELS = {
    "live": "New model live",
    "kept": "Not better: the live model stays",
    "nothing": "Nothing to learn",
    "failed": "Failed",
}
LANGUAGE_LABELS = {"en": "English", "fr": "French", "es": "Spanish"}


def project() -> Path:
    """The project whose training data and model a round changes (tests point it at a copy)."""
    return Path(current_app.config.get("RETRAIN_PROJECT") or ROOT)


def waiting_by_language() -> Dict[str, int]:
    with db.connect() as connection:
        return corrections.waiting_by_language(connection)


def shown_status() -> Dict[str, Any]:
    """What the page and its script show of the current (or last) round."""
    found = status.current(project()) or {}
    state = found.get("state")
    stage = found.get("stage", "")
    if state == "running":
        text = STAGE_LABELS.get(stage, stage)
        if found.get("detail"):
            text += f" ({found['detail']})"
    elif state:
        text = f"{OUTCOME_LABELS.get(state, state)}: {found.get('detail', '')}"
    else:
        text = "No retrain has run yet."
    started = found.get("started_at")
    return {
        "run_id": found.get("run_id"),
        "state": state or "none",
        "stage": stage,
        "text": text,
        "elapsed_s": round(time.time() - float(started)) if started and state == "running" else None,
        "running": state == "running",
    }


def run_rows(records: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each finished round as the history table shows it."""
    from training.evaluate import understood

    rows = []
    for record in records:
        written = (record.get("corrections") or {}).get("written") or []
        present = (record.get("corrections") or {}).get("present") or []
        skipped = (record.get("corrections") or {}).get("skipped") or []
        learnt = written + present
        before = (record.get("before") or {}).get("corrections") or {}
        after = (record.get("after") or {}).get("corrections") or {}
        figures = []
        for language, label in LANGUAGE_LABELS.items():
            old = ((record.get("before") or {}).get("held_out") or {}).get(language)
            new = ((record.get("after") or {}).get("held_out") or {}).get(language)
            if old or new:
                figures.append(
                    {"language": label, "before": (old or {}).get("f1"), "after": (new or {}).get("f1")}
                )
        rows.append(
            {
                "run_id": record.get("run_id"),
                "started_at": record.get("started_at"),
                "started_by": record.get("started_by", ""),
                "outcome": record.get("outcome", ""),
                "outcome_label": OUTCOME_LABELS.get(record.get("outcome", ""), record.get("outcome", "")),
                "detail": record.get("detail", ""),
                "mode": {"finetune": "fine-tuned", "full": "full training"}.get(record.get("mode", ""), "–"),
                "full_reason": record.get("full_reason"),
                "retrain_s": record.get("retrain_s") or (record.get("seconds") or {}).get("total"),
                "training_s": (record.get("seconds") or {}).get("training"),
                "written": len(written),
                "present": len(present),
                "skipped": skipped,
                "figures": figures,
                "understood_before": sum(
                    1 for c in learnt if understood(c["intent"], before.get(str(c["id"])))
                ),
                "understood_after": sum(1 for c in learnt if understood(c["intent"], after.get(str(c["id"]))))
                if after
                else None,
                "learnt": len(learnt),
            }
        )
    return rows


@bp.route("/")
def overview() -> str:
    current = shown_status()
    counted = waiting_by_language()
    order = [*LANGUAGE_LABELS, *sorted(set(counted) - set(LANGUAGE_LABELS))]
    waiting = {language: counted[language] for language in order if language in counted}
    return render_template(
        "retrain/index.html",
        current=current,
        waiting=waiting,
        waiting_total=sum(waiting.values()),
        runs=run_rows(status.runs(project())),
        can_start=current_user.has_role("trainer"),
        languages=LANGUAGE_LABELS,
        outcomes=OUTCOME_LABELS,
    )


@bp.route("/status.json")
def progress() -> Response:
    return jsonify(shown_status())


@bp.route("/start", methods=["POST"])
@require_role("trainer")
def start() -> WerkzeugResponse:
    where = project()
    if status.is_running(where):
        flash("A retrain is already running: wait for it to finish.")
        return redirect(url_for("retrain.overview"))
    run_id = status.new_run_id()
    log = status.log_path(where, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    status.Status(where, run_id, current_user.username).stage("starting")
    command: List[str] = [
        sys.executable, "-m", "training.retrain", "--project", str(where),
        "--by", current_user.username, "--run-id", run_id,
    ]  # fmt: skip
    # The database the workspace uses, through the environment (a URL may hold a password).
    environment = {**os.environ, "APT_DATABASE_URL": current_app.config["DATABASE_URL"]}
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # goes on if the workspace is restarted
        )
    # Only waits for the exit status, so the finished process does not linger as a zombie.
    threading.Thread(target=process.wait, name=f"retrain-{run_id}", daemon=True).start()
    flash("Retrain started. This page shows its progress; it takes a few minutes.")
    return redirect(url_for("retrain.overview"))
