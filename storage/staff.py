"""Staff members of the workspace: the repository of their accounts and what is theirs alone.

It owns ``staff_users`` (name, Argon2 hash, role: :data:`STAFF_ROLES`), ``staff_login_failures``
(the failed logins the login throttle counts) and ``saved_filters`` (a staff member's named
filters of the conversation list). Passwords are hashed and checked by :mod:`review.accounts`;
only hashes reach this module.

The account commands (:mod:`review.accounts`) pass an engine, each change its own
transaction; the workspace's views pass their connection.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.schema import STAFF_ROLES as STAFF_ROLES  # the roles, in rising order of rights
from storage.schema import login_failures, saved_filters, staff_users

# -- accounts ------------------------------------------------------------------------------------


def create_account(engine: Engine, username: str, password_hash: str, created_at: float, role: str) -> bool:
    """Create the account; False (and nothing written) if the name is taken."""
    with engine.begin() as connection:
        if connection.execute(sa.select(staff_users.c.id).where(staff_users.c.username == username)).first():
            return False
        connection.execute(
            staff_users.insert().values(
                username=username, password_hash=password_hash, created_at=created_at, role=role
            )
        )
        return True


def set_role(engine: Engine, username: str, role: str) -> bool:
    """False if there is no such account."""
    with engine.begin() as connection:
        result = connection.execute(
            staff_users.update().where(staff_users.c.username == username).values(role=role)
        )
        return bool(result.rowcount)


def set_password_hash(engine: Engine, username: str, password_hash: str) -> bool:
    """False if there is no such account."""
    with engine.begin() as connection:
        result = connection.execute(
            staff_users.update().where(staff_users.c.username == username).values(password_hash=password_hash)
        )
        return bool(result.rowcount)


def delete_account(engine: Engine, username: str) -> bool:
    """Delete the account and its saved filters; False (nothing deleted) if there is none."""
    with engine.begin() as connection:
        if connection.execute(staff_users.delete().where(staff_users.c.username == username)).rowcount == 0:
            return False
        connection.execute(saved_filters.delete().where(saved_filters.c.username == username))
        return True


def accounts(engine: Engine) -> List[Tuple[str, str]]:
    """(username, role) of every account, by name."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(staff_users.c.username, staff_users.c.role).order_by(staff_users.c.username)
        )
        return [(name, role) for name, role in rows]


def account_by_id(connection: Connection, user_id: int) -> Any:
    """The row (id, username, role) of the account, or None."""
    return connection.execute(
        sa.select(staff_users.c.id, staff_users.c.username, staff_users.c.role).where(
            staff_users.c.id == user_id
        )
    ).first()


def account_by_name(connection: Connection, username: str) -> Any:
    """The account's row (id, username, password_hash, created_at, role), or None."""
    return connection.execute(sa.select(staff_users).where(staff_users.c.username == username)).first()


# -- failed logins -------------------------------------------------------------------------------


def failed_logins(connection: Connection, username: str, address: str, since: float) -> Tuple[int, int]:
    """Failed logins since ``since``: for ``username``, and from ``address``."""
    by_name = connection.execute(
        sa.select(sa.func.count()).where(login_failures.c.username == username, login_failures.c.at >= since)
    ).scalar_one()
    by_address = connection.execute(
        sa.select(sa.func.count()).where(login_failures.c.address == address, login_failures.c.at >= since)
    ).scalar_one()
    return by_name, by_address


def add_failed_login(connection: Connection, username: str, address: str, at: float) -> None:
    connection.execute(login_failures.insert().values(username=username, address=address, at=at))


def clear_failed_logins(connection: Connection, username: str) -> None:
    connection.execute(login_failures.delete().where(login_failures.c.username == username))


# -- saved filters -------------------------------------------------------------------------------


def saved_filters_of(connection: Connection, username: str) -> List[Dict[str, Any]]:
    """The staff member's saved filters by name (id, username, name, query, created_at)."""
    rows = connection.execute(
        sa.select(saved_filters).where(saved_filters.c.username == username).order_by(saved_filters.c.name)
    )
    return [dict(r._mapping) for r in rows]


def other_filters(connection: Connection, username: str, name: str) -> int:
    """How many filters the staff member saved under another name than ``name``."""
    return int(
        connection.execute(
            sa.select(sa.func.count()).where(
                saved_filters.c.username == username, saved_filters.c.name != name
            )
        ).scalar_one()
    )


def save_filter(connection: Connection, username: str, name: str, query: str, created_at: float) -> None:
    """Save (or replace) the staff member's filter ``name`` (``query``: JSON)."""
    mine = saved_filters.c.username == username
    connection.execute(saved_filters.delete().where(mine, saved_filters.c.name == name))
    connection.execute(
        saved_filters.insert().values(username=username, name=name, query=query, created_at=created_at)
    )


def delete_filter(connection: Connection, filter_id: int, username: str) -> None:
    """Delete a saved filter of the staff member's (nothing if it is another's)."""
    connection.execute(
        saved_filters.delete().where(saved_filters.c.id == filter_id, saved_filters.c.username == username)
    )
