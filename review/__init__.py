"""The staff review workspace: conversation logs, the inbox of missed messages, corrections,
enquiries and insights.

A Flask app (application factory, one blueprint per concern, as in Flask's tutorial). It
holds no SQL: every query is a function of the repository modules of ``storage/``, one per
aggregate, which the views call with the connection :mod:`review.db` opens and which return
plain values. The conversation log is read through :mod:`storage.conversations` (put
together into transcripts, the inbox and the insights by :mod:`review.queries`); the
workspace's own tables in the project's database are :mod:`storage.staff` (staff accounts,
login failures, saved filters), :mod:`storage.reviews` (review marks and notes, tags,
dismissals, staff decisions) and :mod:`storage.corrections`. Every page needs a staff login;
accounts are created on the command line (``python -m review.accounts create NAME``), there
is no default password.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping, Optional

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect

from apt_settings import ROOT, settings
from content.domain import DOMAIN_FILE

csrf = CSRFProtect()

SECURITY_HEADERS = {
    # Everything is served from here; no inline script, so an injected <script> cannot run.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Conversations are sensitive: no copies in shared caches or the browser's history cache.
    "Cache-Control": "no-store",
}


def secret_key() -> str:
    """The setting ``APT_REVIEW_SECRET_KEY``, else a random key kept in ``var/`` (readable by
    its owner only) so that staff sessions survive a restart."""
    return settings().secret("review_secret_key")


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=settings().database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Off only where the workspace is served over plain HTTP on this machine (make run
        # sets APT_REVIEW_SECURE_COOKIE=0 when it serves it on 127.0.0.1); on otherwise.
        SESSION_COOKIE_SECURE=settings().secure_cookie(),
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        PAGE_SIZE=50,
        # Same threshold as the FallbackClassifier in config.yml.
        LOW_CONFIDENCE=0.6,
        # Misses the inbox shows at first (near duplicates grouped); "Show more" adds as many.
        INBOX_SIZE=100,
        # Failed-login throttling: this many failures within the window lock the account
        # name (or, at IP_LIMIT, the address) until the window has passed.
        LOGIN_FAILURE_LIMIT=5,
        LOGIN_FAILURE_IP_LIMIT=20,
        LOGIN_FAILURE_WINDOW=timedelta(minutes=15),
        CHART_JS=ROOT / "review" / "node_modules" / "chart.js" / "dist" / "chart.umd.js",
        DOMAIN_FILE=DOMAIN_FILE,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key()

    from review import auth, conversations, db, enquiries, formatting, improve, inbox, insights, retrain

    db.init_app(app)
    auth.init_app(app)  # before CSRF: an anonymous request is sent to the login page first
    csrf.init_app(app)
    for blueprint in (auth.bp, conversations.bp, inbox.bp, improve.bp, enquiries.bp, insights.bp, retrain.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", endpoint="index", view_func=conversations.index)
    app.add_template_filter(formatting.when, "when")
    app.add_template_filter(formatting.plural, "plural")
    app.add_template_filter(formatting.percent, "percent")

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
