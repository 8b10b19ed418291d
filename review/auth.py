"""Login, logout, the rule that nothing but the login page is reachable without it, and roles.

Every account has a role (``storage.staff.STAFF_ROLES``): a ``reviewer`` (the default) reads
conversations, corrects and dismisses; a ``trainer`` may also do what changes the assistant
itself, such as starting a retrain. A view that needs more than a login says so::

    @bp.route("/retrain", methods=["POST"])
    @require_role("trainer")
    def start() -> ResponseReturnValue: ...

and answers 403 to an account without that role (a trainer has every reviewer's rights).

Failed logins are counted in the database (not in process memory), so the throttle holds
across restarts and several workers: after ``LOGIN_FAILURE_LIMIT`` failures for one
username, or ``LOGIN_FAILURE_IP_LIMIT`` from one address, within ``LOGIN_FAILURE_WINDOW``,
further attempts are refused with 429 until the window has passed.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Optional, TypeVar, cast

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response

from review import db
from review.accounts import verify
from storage import staff
from storage.staff import STAFF_ROLES

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
PUBLIC_ENDPOINTS = {"auth.login", "static"}
View = TypeVar("View", bound=Callable[..., Any])


class StaffUser(UserMixin):
    def __init__(self, user_id: int, username: str, role: str = "reviewer") -> None:
        self.id = user_id
        self.username = username
        self.role = role

    def has_role(self, role: str) -> bool:
        """Whether the account may do what ``role`` may (roles are ordered as STAFF_ROLES)."""
        ranks = STAFF_ROLES
        return self.role in ranks and role in ranks and ranks.index(self.role) >= ranks.index(role)


def require_role(role: str) -> Callable[[View], View]:
    """A view decorator: 403 unless the signed-in account has ``role`` (see the module's docstring)."""
    if role not in STAFF_ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(STAFF_ROLES)}")

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return cast(View, checked)

    return decorator


def local_path(target: str, default: str) -> str:
    """``target`` if it is a path of this site (for a form's "back" field), else ``default``:
    never another site's address (``//host``, ``/\\host`` and ``https://host`` are refused)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@login_manager.user_loader
def load_user(user_id: str) -> Optional[StaffUser]:
    with db.connect() as connection:
        row = staff.account_by_id(connection, int(user_id))
    return StaffUser(row.id, row.username, row.role) if row else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @app.before_request
    def require_login() -> Optional[Response]:
        if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()


def _is_throttled(username: str, address: str) -> bool:
    since = time.time() - current_app.config["LOGIN_FAILURE_WINDOW"].total_seconds()
    with db.connect() as connection:
        by_name, by_address = staff.failed_logins(connection, username, address, since)
    return (
        by_name >= current_app.config["LOGIN_FAILURE_LIMIT"]
        or by_address >= current_app.config["LOGIN_FAILURE_IP_LIMIT"]
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = (request.remote_addr or "unknown")[:64]
    if _is_throttled(username, address):
        return render_template(
            "auth/login.html", error="Too many failed attempts. Try again in 15 minutes."
        ), 429
    with db.connect() as connection:
        row = staff.account_by_name(connection, username)
    if not verify(row.password_hash if row else None, password):
        with db.begin() as connection:
            staff.add_failed_login(connection, username, address, time.time())
        return render_template("auth/login.html", error="Wrong username or password."), 401
    with db.begin() as connection:
        staff.clear_failed_logins(connection, username)
    login_user(StaffUser(row.id, row.username, row.role))
    flash(f"Signed in as {row.username}.")
    return redirect(url_for("conversations.list_conversations"))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))
