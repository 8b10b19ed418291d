"""Insights: charts of what visitors ask, how well the assistant understands them, how far the
funding conversation goes, and what visitors think of the answers.

Each chart comes with its figures as a table (for screen readers); the page's numbers come
from :func:`review.queries.insights`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from flask import Blueprint, abort, current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from review import db, queries
from review.formatting import percent

bp = Blueprint("insights", __name__, url_prefix="/insights")


def _understood_rows(rows: Sequence[Tuple[str, int, int]], names: Dict[str, str]) -> List[Tuple[Any, ...]]:
    return [
        (names.get(key, key), messages, ok, percent(ok / messages if messages else None))
        for key, messages, ok in rows
    ]


def tables(figures: Dict[str, Any]) -> Dict[str, List[Tuple[Any, ...]]]:
    """The rows of the tables that carry the charts' figures."""
    return {
        "per_day": list(
            zip(figures["days"], figures["conversations_per_day"], figures["messages_per_day"], strict=True)
        ),
        "understood_per_day": _understood_rows(figures["understood"]["per_day"], {}),
        "understood_per_language": _understood_rows(figures["understood"]["per_language"], queries.LANGUAGES),
    }


@bp.route("/")
def overview() -> str:
    filters = queries.Filters.from_args(request.args)
    with db.connect() as connection:
        figures = queries.insights(connection, filters, current_app.config["LOW_CONFIDENCE"])
    return render_template(
        "insights/index.html",
        figures=figures,
        tables=tables(figures),
        filters=filters,
        traffic=queries.TRAFFIC,
    )


@bp.route("/chart.js")
def chart_library() -> Response:
    """Chart.js, from npm (review/package-lock.json), installed by ``make install``."""
    path = Path(current_app.config["CHART_JS"])
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=3600)
