"""The funding enquiries visitors agreed to pass on (from the funding conversation)."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

from review.formatting import code_label
from storage.enquiries import EnquiryStore, export_csv

bp = Blueprint("enquiries", __name__, url_prefix="/enquiries")


def _store() -> EnquiryStore:
    return EnquiryStore(current_app.config["DATABASE_URL"])


@bp.route("/")
def list_enquiries() -> str:
    domain = Path(current_app.config["DOMAIN_FILE"])
    return render_template(
        "enquiries/list.html",
        enquiries=_store().all(),
        label=lambda slot, code: code_label(domain, slot, code),
    )


@bp.route("/export.csv")
def export() -> Response:
    out = io.StringIO()
    export_csv(_store().all(), out)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="enquiries.csv"'},
    )
