"""Which of the assistant's responses shows which label of the blind set: the mapping, as data.

Every bot message the assistant stores names its response (``utter_action`` in the bot
event's metadata, which Rasa adds for a response and for a response a custom action names),
and a custom action's variables travel with it (``country_name``, ``activity_title``...).
A reply shows a label as follows:

- **one response, or any of a few** (``RESPONSES``): the FAQ answers (``faq_victims`` is
  ``utter_faq_victims``), the profile facts (``about_apt``, ``vision``, ``objectives``,
  ``opcat``, ``operations``, ``budget``, ``address``, ``contacts``, ``partners``, ``cinat``,
  ``person_unknown``), the small talk (``greet``, ``goodbye``, ``thanks`` =
  ``utter_you_are_welcome``, ``bot_challenge`` = ``utter_iamabot``, ``help``,
  ``out_of_scope``, ``language_chosen``), ``country_count`` (in all, or in one place),
  ``ask_which_place`` (which country, or which country or region), ``region_not_covered``
  (``utter_no_country_in_region``: the profile lists no country there, or
  ``utter_unknown_region``: the place named is not one the assistant knows), ``disclosure``
  (any of the three disclosure responses), and the funding steps (``offer_check`` =
  ``utter_offer_partnership_check``, ``ask_consent`` = ``utter_ask_enquiry_consent``,
  ``assessment`` = any ``utter_fit_likely/partial/none`` headline, ``invalid_email`` = either
  invalid-email reply, ``form_stopped`` = the form stopped or a "no" acknowledged, the others
  by their own ``utter_`` names);
- **a named thing** (``NAMED``): ``person:<name>`` is ``utter_person`` for that person;
  ``country_listed:<name>`` / ``country_not_listed:<name>`` are ``utter_country_listed`` /
  ``utter_country_not_listed`` for that country (the answer carries its ISO3 code,
  ``country_code``); ``region:<name>`` is the list of a sub-region
  (``utter_countries_in_subregion``) or a region (``utter_countries_in_region``), by the UN
  code the answer carries (``place_code``); a region that is not one of the profile's headings
  (Latin America) shows each of the profile's sub-regions it lists (``subregion_codes``);
- **an activity** (``ACTIVITIES``): ``activity_<x>`` is ``utter_activity`` whose title is that
  knowledge-base activity's, in whichever language;
- **a second chance** (``OFFER``): ``choices:<label>`` is an ``utter_offer_choices`` with a
  button whose payload asks the question answered by ``<label>`` (``INTENT_LABELS``; a place
  carried in the payload gives ``choices:region:<name>`` or ``choices:country_...:<name>``).

A response of no label is reported by its own name (``utter_default``,
``utter_countries_summary``...), so that a reader of the results sees what came instead.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Tuple

from benchmark.blind.names import Names, fold

RESPONSES: Dict[str, Tuple[str, ...]] = {
    "faq_victims": ("utter_faq_victims",),
    "faq_not_denouncing": ("utter_faq_not_denouncing",),
    "faq_individual_cases": ("utter_faq_individual_cases",),
    "faq_country_selection": ("utter_faq_country_selection",),
    "faq_partner_selection": ("utter_faq_partner_selection",),
    "faq_funding": ("utter_faq_funding",),
    "about_apt": ("utter_about_apt",),
    "vision": ("utter_vision",),
    "objectives": ("utter_objectives",),
    "opcat": ("utter_opcat",),
    "operations": ("utter_operations",),
    "budget": ("utter_budget",),
    "address": ("utter_address",),
    "contacts": ("utter_contacts",),
    "partners": ("utter_partners",),
    "cinat": ("utter_cinat",),
    "person_unknown": ("utter_person_unknown",),
    "country_count": ("utter_country_count", "utter_country_count_in_place"),
    "ask_which_place": ("utter_ask_which_place", "utter_ask_which_country"),
    # "The APT's profile lists no country in <region>", or a region it does not know at all.
    "region_not_covered": ("utter_no_country_in_region", "utter_unknown_region"),
    "disclosure": (
        "utter_disclosure_support",
        "utter_disclosure_what_apt_can_do",
        "utter_disclosure_where_to_get_help",
    ),
    "greet": ("utter_greet",),
    "goodbye": ("utter_goodbye",),
    "thanks": ("utter_you_are_welcome",),
    "bot_challenge": ("utter_iamabot",),
    "help": ("utter_help",),
    "out_of_scope": ("utter_out_of_scope",),
    "language_chosen": ("utter_language_chosen",),
    "offer_check": ("utter_offer_partnership_check",),
    "ask_organisation_type": ("utter_ask_organisation_type",),
    "ask_organisation_country": ("utter_ask_organisation_country",),
    "ask_work_area": ("utter_ask_work_area",),
    "assessment": ("utter_fit_likely", "utter_fit_partial", "utter_fit_none"),
    "ask_consent": ("utter_ask_enquiry_consent",),
    "ask_organisation_name": ("utter_ask_organisation_name",),
    "ask_contact_email": ("utter_ask_contact_email",),
    "enquiry_recorded": ("utter_enquiry_recorded",),
    "enquiry_not_sent": ("utter_enquiry_not_sent",),
    # A "no" to the offer of the check gets "All right. What else would you like to know?"
    # (utter_acknowledge): the polite close the sets' writers expected as [[enquiry_not_sent,
    # form_stopped, greet, help]], not knowing the assistant's words.
    "form_stopped": ("utter_form_stopped", "utter_acknowledge"),
    "invalid_email": ("utter_invalid_email", "utter_invalid_email_given_up"),
}

# Label prefix -> response -> the variable (in the bot message's metadata) naming the thing:
# a person by name, a country by its ISO code, a region by its UN code (the actions send the
# codes with their answers; no response shows them).
NAMED: Dict[str, Dict[str, str]] = {
    "person": {"utter_person": "person_name"},
    "country_listed": {"utter_country_listed": "country_code"},
    "country_not_listed": {"utter_country_not_listed": "country_code"},
    "region": {"utter_countries_in_subregion": "place_code", "utter_countries_in_region": "place_code"},
}
# A region answered that is not one of the profile's headings (Latin America, MENA) lists the
# profile's sub-regions inside it: it shows each of them.
SUBREGION_CODES = "subregion_codes"
# What answers carried before they carried codes (a model of before 2026-12-06 played for a
# baseline): the name as shown, read back by name.
LEGACY_NAMES = {"country_code": "country_name", "place_code": ("subregion_name", "region_name")}
COUNTRY_LABELS = ("country_listed", "country_not_listed")
# Labels whose name the reply is not checked for: utter_unknown_region names no place.
NAMELESS = ("region_not_covered",)

ACTIVITY_RESPONSE, ACTIVITY_TITLE = "utter_activity", "activity_title"
ACTIVITIES: Dict[str, str] = {  # knowledge-base activity id -> label
    "legal_instruments": "activity_legal_instruments",
    "advocacy": "activity_advocacy",
    "capacity": "activity_capacity",
    "tools": "activity_practical_tools",
}

OFFER = "utter_offer_choices"
# A second-chance button's intent -> the label of the answer it leads to.
INTENT_LABELS: Dict[str, str] = {
    "ask_victims_help": "faq_victims",
    "ask_why_not_denounce": "faq_not_denouncing",
    "ask_individual_cases": "faq_individual_cases",
    "ask_country_selection": "faq_country_selection",
    "ask_partner_selection": "faq_partner_selection",
    "ask_funding": "faq_funding",
    "ask_about_apt": "about_apt",
    "ask_vision": "vision",
    "ask_objectives": "objectives",
    "ask_legal_instruments": "activity_legal_instruments",
    "ask_advocacy": "activity_advocacy",
    "ask_capacity_building": "activity_capacity",
    "ask_practical_tools": "activity_practical_tools",
    "ask_opcat": "opcat",
    "ask_operations": "operations",
    "ask_budget": "budget",
    "ask_address": "address",
    "ask_contacts": "contacts",
    "ask_partners": "partners",
    "ask_cinat": "cinat",
    "ask_person": "person",
    "count_countries": "country_count",
    "help": "help",
    "ask_country_engagement": "ask_which_place",  # without a place it asks which one
    "list_countries_in_region": "countries_summary",  # without a place: the summary
}
PLACE_INTENTS = ("ask_country_engagement", "list_countries_in_region", "follow_up")
_PAYLOAD = re.compile(r"/(?P<intent>\w+)(?P<entities>\{.*\})?", re.DOTALL)


def _by_response() -> Dict[str, str]:
    found = {}
    for label, responses in RESPONSES.items():
        for response in responses:
            found[response] = label
    return found


LABEL_OF_RESPONSE = _by_response()


def country_label(iso3: str, names: Names) -> str:
    kind = "country_listed" if names.listed(iso3) else "country_not_listed"
    return f"{kind}:{names.country_label(iso3)}"


def _named(prefix: str, value: str, names: Names, values: Dict[str, Any]) -> List[str]:
    if prefix == "region":
        place = names.place_of_code(value)
        if place:
            return [f"region:{place}"]
        listed = [names.place_of_code(code) for code in str(values.get(SUBREGION_CODES) or "").split(",")]
        return [f"region:{name}" for name in listed if name] or [f"region:{value}"]
    if prefix in COUNTRY_LABELS:  # the response says listed or not, whatever the profile says
        return [f"{prefix}:{names.country_label(value) if value else value}"]
    return [f"{prefix}:{value}"]


def _legacy(prefix: str, response: str, values: Dict[str, Any], names: Names) -> List[str]:
    if prefix in COUNTRY_LABELS:
        iso3 = names.country_code(str(values.get("country_name") or ""))
        return [f"{prefix}:{names.country_label(iso3) if iso3 else values.get('country_name')}"]
    name = str(
        values.get("subregion_name" if response == "utter_countries_in_subregion" else "region_name") or ""
    )
    return [f"region:{names.place(name) or name}"]


def payload_label(payload: str, names: Names) -> Optional[str]:
    """The label answered by a second-chance button's payload; None for "None of these"."""
    match = _PAYLOAD.fullmatch(payload.strip())
    if match is None or match["intent"] == "none_of_these":
        return None
    intent = match["intent"]
    entities: Dict[str, Any] = {}
    if match["entities"]:
        try:
            entities = json.loads(match["entities"]) or {}
        except ValueError:
            entities = {}
    if intent in PLACE_INTENTS or intent == "count_countries":
        if intent == "count_countries":
            return "country_count"
        if isinstance(entities.get("country"), str):
            iso3 = names.country_code(entities["country"])
            if iso3:
                return country_label(iso3, names)
        if isinstance(entities.get("region"), str):
            return f"region:{names.place(entities['region']) or entities['region']}"
    return INTENT_LABELS.get(intent, intent)


def labels_of(
    response: Optional[str], values: Dict[str, Any], buttons: List[Dict[str, Any]], names: Names
) -> List[str]:
    """The labels one bot message shows, in the set's vocabulary (see the module's docstring)."""
    if not response:
        return []
    if response == OFFER:
        offered = (payload_label(str(button.get("payload") or ""), names) for button in buttons)
        return [f"choices:{label}" for label in offered if label]
    if response == ACTIVITY_RESPONSE:
        activity = names.activity(str(values.get(ACTIVITY_TITLE) or ""))
        return [ACTIVITIES.get(activity or "", f"activity:{values.get(ACTIVITY_TITLE)}")]
    for prefix, responses in NAMED.items():
        if response in responses:
            variable = responses[response]
            if variable not in values and variable in LEGACY_NAMES:
                return _legacy(prefix, response, values, names)
            return _named(prefix, str(values.get(variable) or ""), names, values)
    return [LABEL_OF_RESPONSE.get(response, response)]


def key(label: str, names: Names) -> str:
    """A label in a form that compares: countries by ISO3, regions by English name, people
    and anything else without case or accents."""
    if label.startswith("choices:"):
        return "choices:" + key(label[len("choices:") :], names)
    prefix, _, value = label.partition(":")
    if not value or prefix in NAMELESS:
        return prefix
    if prefix in COUNTRY_LABELS:
        iso3 = names.country_code(value)
        return f"{prefix}:{iso3}" if iso3 else f"{prefix}:?{fold(value)}"
    if prefix == "region":
        return f"region:{fold(names.place(value) or value)}"
    return f"{prefix}:{fold(value)}"
