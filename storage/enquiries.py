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
import sys
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import IO, Dict, List, Optional

import sqlalchemy as sa

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


class EnquiryStore:
    """The enquiries of one database (default: the project's); its tables come from the
    migrations (:mod:`storage.migrate`)."""

    def __init__(self, url: Optional[str] = None) -> None:
        self._engine = engine_for(url)
        self.url = self._engine.url.render_as_string(hide_password=False)

    def record(self, enquiry: Enquiry) -> int:
        if not enquiry.consent:
            raise ValueError("an enquiry is only stored with the visitor's consent")
        row = {k: v for k, v in asdict(enquiry).items() if k != "id"}
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
