"""Print a JWT for Rasa's HTTP API, signed with ``APT_RASA_JWT_SECRET``.

    python scripts/api_token.py                    # admin: every route, every conversation
    python scripts/api_token.py --user SENDER_ID   # one conversation only
    python scripts/api_token.py --hours 1          # lifetime (default 8 hours)

Use it as ``Authorization: Bearer <token>``.
"""

import argparse
import sys
import time

import jwt

from apt_settings import SettingsError, settings  # noqa: E402


def token(secret: str, username: str, role: str, hours: float) -> str:
    payload = {"user": {"username": username, "role": role}, "exp": int(time.time() + hours * 3600)}
    return jwt.encode(payload, secret, algorithm="HS256")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", help="conversation id the token is limited to (role 'user')")
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    try:
        secret = settings().jwt_secret()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not secret:
        print(
            "error: set APT_RASA_JWT_SECRET (at least 32 characters) to the Rasa server's secret",
            file=sys.stderr,
        )
        return 1
    role, username = ("user", args.user) if args.user else ("admin", "staff")
    print(token(secret, username, role, args.hours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
