"""Funding enquiries: partnership enquiries that visitors agreed to pass on to the APT.

The repository of the ``funding_enquiries`` table (declared in :mod:`storage.schema`), in
the project's database, apart from the conversation log. The funding conversation's action
records them, the staff workspace and the command line read them. Only enquiries with the
visitor's explicit consent are recorded; the consent and its time are stored with them, and
every value is validated again here before it is written.

Command line (from the project root, in .venv):
    python -m storage.enquiries list            # newest first, one line each
    python -m storage.enquiries export [FILE]   # CSV to FILE or standard output
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from typing import IO, Dict, List, Optional

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from apt_settings import settings
from storage.database import engine_for
from storage.schema import enquiries as enquiries_table


@dataclass(frozen=True)
class Enquiry:
    conversation_id: str
    organisation_type: str
    country_iso3: str
    country: str
    work_area: str
    fit: str
    organisation_name: str
    email: str
    consent: bool
    consent_at: str
    created_at: str = ""
    id: Optional[int] = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class InvalidEnquiry(ValueError):
    """An enquiry with a value that may not be stored; the message names the fields."""


CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
ISO3 = re.compile(r"[A-Z]{3}")
CONVERSATION_ID = re.compile(r"[\x21-\x7e]{1,255}")
FITS = {"likely", "partial", "none"}
MAX_NAME_LENGTH = 200
# Markup, and the characters that make a spreadsheet cell a formula, have no place in a name.
FORBIDDEN_IN_NAMES = set("<>{}")
FORMULA_START = ("=", "+", "-", "@")


def is_plain_name(value: str, longest: int) -> bool:
    """A name that may be stored: letters, no control characters, no markup, no formula."""
    return (
        2 <= len(value) <= longest
        and value == value.strip()
        and any(ch.isalpha() for ch in value)
        and all(unicodedata.category(ch)[0] != "C" for ch in value)
        and not FORBIDDEN_IN_NAMES & set(value)
        and not value.startswith(FORMULA_START)
    )


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def validated(enquiry: Enquiry) -> Enquiry:
    """The enquiry with its email normalised, or InvalidEnquiry naming every bad field.

    The funding conversation validates each answer as it is given; this checks again what is
    about to be stored, whoever calls it (a forged call to the action server once stored an
    organisation ``=HYPERLINK(...)<script>`` with an invalid email)."""
    bad = [
        name
        for name, ok in (
            ("consent", enquiry.consent is True and _is_timestamp(enquiry.consent_at)),
            ("conversation_id", bool(CONVERSATION_ID.fullmatch(enquiry.conversation_id or ""))),
            ("organisation_type", bool(CODE.fullmatch(enquiry.organisation_type or ""))),
            ("country_iso3", bool(ISO3.fullmatch(enquiry.country_iso3 or ""))),
            ("country", is_plain_name(enquiry.country or "", 255)),
            ("work_area", bool(CODE.fullmatch(enquiry.work_area or ""))),
            ("fit", enquiry.fit in FITS),
            ("organisation_name", is_plain_name(enquiry.organisation_name or "", MAX_NAME_LENGTH)),
        )
        if not ok
    ]
    email = enquiry.email
    try:
        email = validate_email(enquiry.email or "", check_deliverability=False).normalized
    except EmailNotValidError:
        bad.append("email")
    if bad:
        raise InvalidEnquiry("an enquiry was not stored: invalid " + ", ".join(bad))
    return replace(enquiry, email=email)


class EnquiryStore:
    """The enquiries of one database (default: the project's); its tables come from the
    migrations (:mod:`storage.migrate`)."""

    def __init__(self, url: Optional[str] = None) -> None:
        self._engine = engine_for(url)
        self.url = self._engine.url.render_as_string(hide_password=False)

    def record(self, enquiry: Enquiry) -> int:
        """Store an enquiry (only with consent, every value checked again: InvalidEnquiry)."""
        if not enquiry.consent:
            raise InvalidEnquiry("an enquiry is only stored with the visitor's consent")
        row = {k: v for k, v in asdict(validated(enquiry)).items() if k != "id"}
        row["created_at"] = row["created_at"] or now()
        with self._engine.begin() as connection:
            result = connection.execute(enquiries_table.insert().values(**row))
            return int(result.inserted_primary_key[0])

    def all(self) -> List[Enquiry]:
        return self._select(enquiries_table.select())

    def for_conversation(self, conversation_id: str) -> List[Enquiry]:
        return self._select(
            enquiries_table.select().where(enquiries_table.c.conversation_id == conversation_id)
        )

    def _select(self, query: sa.sql.Select) -> List[Enquiry]:
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(enquiries_table.c.id.desc()))
            return [Enquiry(**dict(row._mapping)) for row in rows]


_stores: Dict[str, EnquiryStore] = {}


def store_for(url: Optional[str] = None) -> EnquiryStore:
    """One store per database URL per process (connections are pooled inside)."""
    key = url or settings().database_url
    if key not in _stores:
        _stores[key] = EnquiryStore(key)
    return _stores[key]


CSV_COLUMNS = [f.name for f in fields(Enquiry)]


def csv_safe(value: object) -> object:
    """Stop spreadsheet programs from running a visitor's text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(enquiries: List[Enquiry], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for enquiry in enquiries:
        writer.writerow({k: csv_safe(v) for k, v in asdict(enquiry).items()})


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.enquiries", description="Funding enquiries.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list enquiries, newest first")
    export = commands.add_parser("export", help="export enquiries as CSV")
    export.add_argument("file", nargs="?", help="CSV file to write (default: standard output)")
    args = parser.parse_args(argv)

    enquiries = EnquiryStore().all()
    if args.command == "list":
        if not enquiries:
            print("no enquiries yet")
        for e in enquiries:
            print(
                f"{e.id}\t{e.created_at}\t{e.fit}\t{e.organisation_type}\t{e.country}\t{e.work_area}\t{e.email}"
            )
        return 0
    if args.file:
        with open(args.file, "w", newline="", encoding="utf-8") as handle:
            export_csv(enquiries, handle)
        print(f"{len(enquiries)} enquiries written to {args.file}", file=sys.stderr)
    else:
        export_csv(enquiries, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
