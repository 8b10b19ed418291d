"""How the workspace writes times, counts and the funding form's codes, on every page alike.

Registered as template filters by :func:`review.create_app`: ``{{ moment | when }}``,
``{{ n | plural("funding enquiry", "funding enquiries") }}``, ``{{ share | percent }}``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

from content import domain

# One format for every time the workspace shows or exports, always UTC.
TIME_FORMAT = "%Y-%m-%d %H:%M"

FIT_LABELS = {"likely": "Likely fit", "partial": "Partial fit", "none": "Not a fit"}
# The funding form's questions whose buttons name the codes stored in an enquiry.
_CODE_QUESTIONS = {"organisation_type": "utter_ask_organisation_type", "work_area": "utter_ask_work_area"}
_PAYLOAD_CODE = re.compile(r'"(\w+)"\s*:\s*"([^"]+)"')


def when(moment: Any) -> str:
    """A time (seconds since the epoch, or an ISO 8601 text as enquiries store it) in UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc).strftime(TIME_FORMAT)
    return datetime.fromtimestamp(float(moment), tz=timezone.utc).strftime(TIME_FORMAT)


def plural(count: Optional[int], one: str, many: str) -> str:
    """``1 funding enquiry``, ``2 funding enquiries``, ``0 funding enquiries``."""
    number = int(count or 0)
    return f"{number:,} {one if number == 1 else many}"


def percent(share: Optional[float]) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


@lru_cache(maxsize=4)
def _code_labels(domain_file: Path) -> Dict[str, Dict[str, str]]:
    responses = domain.responses(domain_file)
    labels: Dict[str, Dict[str, str]] = {}
    for slot, response in _CODE_QUESTIONS.items():
        found = labels.setdefault(slot, {})
        for variant in responses.get(response) or []:
            for button in variant.get("buttons") or []:
                for name, code in _PAYLOAD_CODE.findall(str(button.get("payload") or "")):
                    if name == slot:
                        found.setdefault(code, str(button.get("title")))
    return labels


def code_label(domain_file: Path, slot: str, code: str) -> str:
    """The label the funding form's button shows for a stored code (``ngo`` -> "NGO"), else
    the code."""
    if slot == "fit":
        return FIT_LABELS.get(code, code)
    return _code_labels(domain_file).get(slot, {}).get(code, code)
