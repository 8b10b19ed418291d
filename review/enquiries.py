"""The funding enquiries visitors agreed to pass on (from the funding conversation)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, current_app, render_template

from storage.enquiries import EnquiryStore, export_csv

bp = Blueprint("enquiries", __name__, url_prefix="/enquiries")


def _store() -> EnquiryStore:
    return EnquiryStore(current_app.config["DATABASE_URL"])


@bp.route("/")
def list_enquiries() -> str:
    return render_template("enquiries/list.html", enquiries=_store().all())


@bp.route("/export.csv")
def export() -> Response:
    out = io.StringIO()
    export_csv(_store().all(), out)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="enquiries.csv"'},
    )
