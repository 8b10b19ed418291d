"""Insights: charts of what visitors ask and how well the assistant understands them."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from review import db, queries

bp = Blueprint("insights", __name__, url_prefix="/insights")


@bp.route("/")
def overview() -> str:
    filters = queries.Filters.from_args(request.args)
    with db.connect() as connection:
        figures = queries.insights(connection, filters, current_app.config["LOW_CONFIDENCE"])
    return render_template("insights/index.html", figures=figures, filters=filters)


@bp.route("/chart.js")
def chart_library() -> Response:
    """Chart.js, from npm (review/package-lock.json), installed by ``make install``."""
    path = Path(current_app.config["CHART_JS"])
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=3600)
