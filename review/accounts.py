"""Staff accounts: created, listed, removed and re-passworded on the command line only.

    python -m review.accounts create NAME        # asks for the password twice
    python -m review.accounts create NAME --password-stdin
    python -m review.accounts create NAME --role trainer
    python -m review.accounts role NAME trainer  # change an account's role
    python -m review.accounts password NAME      # set a new password
    python -m review.accounts list               # names and roles
    python -m review.accounts delete NAME

Passwords are hashed with Argon2id (argon2-cffi's defaults); there is no default account.
Roles (``storage.staff.STAFF_ROLES``, :func:`review.auth.require_role`): ``reviewer``, the
default, and ``trainer``, who may also start a retrain.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from typing import List, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage import staff
from storage.database import Engine, engine_for
from storage.migrate import upgrade
from storage.staff import STAFF_ROLES

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name takes as long as a
# wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    pass


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def verify(password_hash: Optional[str], password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_role(role: str) -> None:
    if role not in STAFF_ROLES:
        raise AccountError(f"a role is one of: {', '.join(STAFF_ROLES)}")


def create(engine: Engine, username: str, password: str, role: str = "reviewer") -> None:
    if not USERNAME.match(username):
        raise AccountError("a username is 2 to 64 letters, digits, '.', '_' or '-'")
    check_new_password(password)
    check_role(role)
    if not staff.create_account(engine, username, _hasher.hash(password), time.time(), role):
        raise AccountError(f"the account {username!r} exists already")


def set_role(engine: Engine, username: str, role: str) -> None:
    check_role(role)
    if not staff.set_role(engine, username, role):
        raise AccountError(f"no account {username!r}")


def set_password(engine: Engine, username: str, password: str) -> None:
    check_new_password(password)
    if not staff.set_password_hash(engine, username, _hasher.hash(password)):
        raise AccountError(f"no account {username!r}")


def delete(engine: Engine, username: str) -> None:
    """Delete the account and its saved filters (what it reviewed and corrected keeps its name)."""
    if not staff.delete_account(engine, username):
        raise AccountError(f"no account {username!r}")


def accounts(engine: Engine) -> List[Tuple[str, str]]:
    """(username, role) of every account, by name."""
    return staff.accounts(engine)


def usernames(engine: Engine) -> List[str]:
    return [name for name, _ in accounts(engine)]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m review.accounts", description="Staff accounts of the review workspace."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("create", "create an account"), ("password", "set a new password")):
        command = commands.add_parser(name, help=text)
        command.add_argument("username")
        command.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        if name == "create":
            command.add_argument("--role", choices=STAFF_ROLES, default="reviewer", help="default: reviewer")
    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=STAFF_ROLES)
    commands.add_parser("list", help="list the accounts and their roles")
    commands.add_parser("delete", help="delete an account").add_argument("username")
    args = parser.parse_args(argv)

    engine = engine_for()
    upgrade(engine)
    try:
        if args.command == "list":
            print("\n".join(f"{name}\t{role}" for name, role in accounts(engine)) or "no staff accounts yet")
        elif args.command == "delete":
            delete(engine, args.username)
            print(f"deleted {args.username}")
        elif args.command == "create":
            create(engine, args.username, _read_password(args.password_stdin), args.role)
            print(f"created {args.username} ({args.role})")
        elif args.command == "role":
            set_role(engine, args.username, args.role)
            print(f"{args.username} is now a {args.role}")
        else:
            set_password(engine, args.username, _read_password(args.password_stdin))
            print(f"new password set for {args.username}")
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
