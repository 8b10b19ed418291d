"""Replace personal data in visitors' text with placeholders before it is stored.

Visitors may disclose torture or detention, so the conversation log keeps what was asked, not
how to reach who asked. Detected without any model download:

- email addresses (a pattern for candidates, then ``email-validator``'s syntax check);
- phone numbers (``phonenumbers``, Google's libphonenumber: any number in international
  format, ``+41 22 …`` or ``0041 22 …``, and national formats of ``PHONE_REGIONS``);
- payment card numbers (digit runs passing the Luhn check of ``python-stdnum``) and IBANs
  (``python-stdnum``'s IBAN checksum);
- IP addresses (the standard library's ``ipaddress``).

Names of people and places are not detected: that needs a statistical model and would be
unreliable here. Detection is deliberately on the side of redacting a little too much.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable, List, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum import iban, luhn

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
IBAN = "[IBAN]"
IP_ADDRESS = "[IP]"

# National phone formats recognised besides international ones: the APT's host country and
# the countries most of its website visitors write from.
PHONE_REGIONS = ("CH", "FR", "GB", "US")

_EMAIL_CANDIDATE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN_CANDIDATE = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.IGNORECASE
)
_CARD_CANDIDATE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_IP_CANDIDATE = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b", re.IGNORECASE
)

Span = Tuple[int, int, str]


def _emails(text: str) -> List[Span]:
    if "@" not in text:  # the pattern's search is slow on long runs without spaces
        return []
    spans = []
    for match in _EMAIL_CANDIDATE.finditer(text):
        try:
            validate_email(match.group(), check_deliverability=False)
        except EmailNotValidError:
            continue
        spans.append((match.start(), match.end(), EMAIL))
    return spans


def _phones(text: str) -> List[Span]:
    spans = []
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            spans.append((match.start, match.end, PHONE))
    return spans


def _checked(
    pattern: re.Pattern[str], is_valid: Callable[[str], bool], placeholder: str
) -> Callable[[str], List[Span]]:
    def find(text: str) -> List[Span]:
        return [(m.start(), m.end(), placeholder) for m in pattern.finditer(text) if is_valid(m.group())]

    return find


def _is_card(candidate: str) -> bool:
    return luhn.is_valid(re.sub(r"[ -]", "", candidate))


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


_DETECTORS = (
    _emails,
    _checked(_IBAN_CANDIDATE, iban.is_valid, IBAN),
    _checked(_CARD_CANDIDATE, _is_card, CARD),
    _phones,
    _checked(_IP_CANDIDATE, _is_ip, IP_ADDRESS),
)


def redact(text: str) -> str:
    """``text`` with every detected piece of personal data replaced by its placeholder.

    Where detections overlap (a card number is also a possible phone number), the one found
    first in ``_DETECTORS`` order wins, and overlapping later ones are dropped.
    """
    if not text or not any(ch.isdigit() or ch == "@" for ch in text):
        return text
    chosen: List[Span] = []
    for detect in _DETECTORS:
        for start, end, placeholder in detect(text):
            if all(end <= s or start >= e for s, e, _ in chosen):
                chosen.append((start, end, placeholder))
    for start, end, placeholder in sorted(chosen, reverse=True):
        text = text[:start] + placeholder + text[end:]
    return text
