"""The funding conversation over HTTP, down to the enquiry stored in the database."""

from __future__ import annotations

import sqlite3
import uuid
from typing import List

import pytest

from storage.enquiries import Enquiry, EnquiryStore
from tests.support.stacks import Stack


def say(stack: Stack, sender: str, message: str) -> str:
    return "\n".join(reply.get("text") or "" for reply in stack.send(sender, message))


def buttons(stack: Stack, sender: str, message: str) -> List[str]:
    return [b["payload"] for reply in stack.send(sender, message) for b in reply.get("buttons", [])]


def test_completed_enquiry_is_stored_once_with_the_right_fields(stack: Stack) -> None:
    sender = f"funding-{uuid.uuid4().hex}"
    reply = say(stack, sender, "Can you fund our project?")
    assert "not a donor" in reply and "Shall we?" in reply
    assert "/inform" in " ".join(buttons(stack, sender, "yes"))  # asks the organisation type, with buttons
    assert "which country" in say(stack, sender, '/inform{"organisation_type": "ngo"}').lower()
    assert "kind of work" in say(stack, sender, "Keyna")  # typo resolved, next question
    assessment = say(stack, sender, '/inform{"work_area": "detention_monitoring"}')
    assert "likely fit" in assessment and "Kenya is among the countries" in assessment
    assert "pass this enquiry on to the APT" in assessment
    assert "name of your organisation" in say(stack, sender, "yes, pass it on")
    # Markup has no place in a name: asked again (never echoed), then a plain name is taken.
    refused = say(stack, sender, "Justice Watch <b>Kenya</b>")
    assert "name" in refused and "<b>" not in refused
    assert "email address" in say(stack, sender, "Justice Watch Kenya")
    assert "valid email" in say(stack, sender, "jane at example")  # re-asked once
    assert "has been recorded" in say(stack, sender, "jane@example.org")

    [enquiry] = EnquiryStore(stack.database_url).for_conversation(sender)
    with sqlite3.connect(stack.database_file) as db:
        log = " ".join(d for (d,) in db.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)))
    assert "jane@example.org" not in log and "Justice Watch" not in log, "kept only in the enquiries table"
    assert "[ENQUIRY EMAIL]" in log and "[ENQUIRY ORGANISATION]" in log
    assert (enquiry.organisation_type, enquiry.country_iso3, enquiry.country, enquiry.work_area) == (
        "ngo",
        "KEN",
        "Kenya",
        "detention_monitoring",
    )
    assert (enquiry.fit, enquiry.organisation_name, enquiry.email) == (
        "likely",
        "Justice Watch Kenya",
        "jane@example.org",
    )
    assert enquiry.consent is True and enquiry.consent_at


def test_refused_consent_stores_nothing(stack: Stack) -> None:
    sender = f"funding-{uuid.uuid4().hex}"
    say(stack, sender, "we are an NGO in Norway, can we get a grant from you?")
    say(stack, sender, "yes")  # organisation type and country were already given
    assessment = say(stack, sender, "legal reform")
    assert "partial fit" in assessment and "Norway is not among the countries listed" in assessment
    assert "nothing has been stored" in say(stack, sender, "no").lower()
    assert EnquiryStore(stack.database_url).for_conversation(sender) == []


def test_stop_in_the_middle_ends_the_questions(stack: Stack) -> None:
    sender = f"funding-{uuid.uuid4().hex}"
    say(stack, sender, "do you offer grants?")
    say(stack, sender, "yes")
    assert "stopped the questions" in say(stack, sender, "stop")
    assert "Kazakhstan" in say(stack, sender, "which countries in central asia?")  # back to normal
    assert EnquiryStore(stack.database_url).for_conversation(sender) == []


def test_question_in_the_middle_is_answered_then_the_form_resumes(stack: Stack) -> None:
    sender = f"funding-{uuid.uuid4().hex}"
    say(stack, sender, "can my organisation get funding?")
    say(stack, sender, "yes")
    reply = say(stack, sender, "what is the OPCAT?")
    assert "first global system of detention monitoring" in reply
    assert "kind of organisation" in reply


def enquiry_after(stack: Stack, prefix: str, messages: List[str]) -> Enquiry:
    """The one enquiry stored after a new conversation of ``messages``."""
    sender = f"{prefix}-{uuid.uuid4().hex}"
    for message in messages:
        stack.send(sender, message)
    [enquiry] = EnquiryStore(stack.database_url).for_conversation(sender)
    return enquiry


TYPED_CHECKS = {
    "en": (
        ["can you fund us?", "sure", "we're a law clinic at a university", "Nepal",
         "we push for changes to the criminal code", "yes", "Kathmandu Law Clinic", "ram@example.org"],
        ("academic", "NPL", "legal_reform"),
    ),
    "fr": (
        ["Est-ce que vous financez des associations ?", "oui", "un petit collectif de bénévoles",
         "au Sénégal", "nous formons des gardiens de prison", "oui", "Collectif Teranga", "awa@example.org"],
        ("ngo", "SEN", "training"),
    ),
    "es": (
        ["¿Ustedes dan subvenciones a organizaciones?", "sí", "somos una pequeña organización comunitaria",
         "en Perú", "vigilamos las comisarías y las cárceles", "sí", "Red Andina", "ana@example.org"],
        ("ngo", "PER", "detention_monitoring"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(TYPED_CHECKS))
def test_the_whole_check_typed_in_own_words_ends_in_the_right_enquiry(stack: Stack, language: str) -> None:
    """No button pressed: every answer typed as visitors write them, in each language. Each is
    read as the answer to the question asked (language/form_answers.py), whatever the model
    makes of it alone ("en Perú" reads as a question about Peru)."""
    messages, expected = TYPED_CHECKS[language]
    enquiry = enquiry_after(stack, f"funding-typed-{language}", messages)
    assert (enquiry.organisation_type, enquiry.country_iso3, enquiry.work_area) == expected
    assert enquiry.consent is True


def test_a_name_or_an_address_in_another_language_keeps_the_conversations_language(stack: Stack) -> None:
    """An organisation's name is no request for a language: an English conversation stays
    English after "Association Lumière pour les Droits" (before, Lingua read it as French)."""
    sender = f"funding-name-{uuid.uuid4().hex}"
    for message in ["Can you fund our project?", "yes", "an NGO", "Togo", "prison monitoring", "yes"]:
        stack.send(sender, message)
    assert "Which email address" in say(stack, sender, "Association Lumière pour les Droits de l'Homme")
    assert "has been recorded" in say(stack, sender, "contact@lumiere-droits.org")


OFFER_REPLIES = {
    "en": (["Can you fund our project?", "we are a small NGO from Benin working on prison visits", "yes",
            "Benin Prison Watch", "contact@bpw.example.org"], ("ngo", "BEN", "detention_monitoring")),
    "fr": (["Financez-vous les ONG ?", "nous sommes une association au Togo", "nous formons des policiers",
            "oui", "Collectif Lomé Droits", "info@cld.example.org"], ("ngo", "TGO", "training")),
    "es": (["¿Financian proyectos?", "somos una ONG de Perú", "trabajamos en la reforma del código penal",
            "sí", "Red Andina Justicia", "ana@raj.example.org"], ("ngo", "PER", "legal_reform")),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(OFFER_REPLIES))
def test_a_reply_to_the_offer_that_tells_about_the_organisation_starts_the_check_with_it(
    stack: Stack, language: str
) -> None:
    """Instead of "yes", the visitor tells who they are: the check starts, with what they told,
    and asks only what is missing (before, "Sorry, I'm not sure I understood")."""
    messages, expected = OFFER_REPLIES[language]
    enquiry = enquiry_after(stack, f"funding-offer-{language}", messages)
    assert (enquiry.organisation_type, enquiry.country_iso3, enquiry.work_area) == expected


DESCRIBED_WORK = {
    "en": ["Can you fund our project?", "yes", "an NGO", "Ghana",
           "we run radio programmes on human rights for rural listeners", "yes", "Radio Rights Ghana",
           "desk@rrg.example.org"],
    "fr": ["Financez-vous les associations ?", "oui", "une ONG", "Bénin",
           "nous produisons des émissions de radio sur les droits humains", "oui", "Radio Droits Bénin",
           "contact@rdb.example.org"],
    "es": ["¿Ustedes financian organizaciones?", "sí", "una ONG", "Bolivia",
           "hacemos programas de radio sobre derechos humanos en las comunidades", "sí", "Radio Derechos",
           "info@rd.example.org"],
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(DESCRIBED_WORK))
def test_work_described_in_own_words_that_names_no_kind_is_other_work(stack: Stack, language: str) -> None:
    """The kind-of-work question is open: a description that names none of the buttons' kinds
    is "other work", not "Sorry, I didn't recognise that kind of work" again and again."""
    enquiry = enquiry_after(stack, f"funding-described-{language}", DESCRIBED_WORK[language])
    assert enquiry.work_area == "other" and enquiry.consent is True


REFUSALS = {
    "en": (["Can you fund our project?", "yes", "an NGO", "Togo", "prison monitoring"],
           "no thanks, not for now", "nothing has been stored"),
    "fr": (["Financez-vous les associations ?", "oui", "une ONG", "Togo", "monitoring des prisons"],
           "non merci, pas pour le moment", "rien n'a été enregistré"),
    "es": (["¿Ustedes financian organizaciones?", "sí", "una ONG", "Togo", "monitoreo de cárceles"],
           "mejor no, gracias", "no se ha guardado nada"),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(REFUSALS))
def test_a_polite_refusal_of_consent_is_a_no_and_says_nothing_was_stored(stack: Stack, language: str) -> None:
    """A "no thanks" was read as thanks ("You're welcome") and the visitor never heard that
    nothing was passed on."""
    messages, refusal, not_sent = REFUSALS[language]
    sender = f"funding-refusal-{language}-{uuid.uuid4().hex}"
    for message in messages:
        stack.send(sender, message)
    assert not_sent in say(stack, sender, refusal)
    assert EnquiryStore(stack.database_url).for_conversation(sender) == []


ACCEPTANCES = {
    "en": ["Can you fund our project?", "yes", "an NGO", "Kenya", "we visit detained people in police cells",
           "that would be great, thank you", "Cells Watch Kenya", "info@cwk.example.org"],
    "fr": ["Financez-vous les associations ?", "oui", "une ONG", "Bénin",
           "nous rendons visite aux détenus dans les commissariats", "volontiers, merci", "Veille Bénin",
           "contact@vb.example.org"],
    "es": ["¿Ustedes financian organizaciones?", "sí", "una ONG", "Perú",
           "en mi organización visitamos a las personas detenidas en las comisarías",
           "me parece bien, gracias", "Vigilancia Perú", "info@vp.example.org"],
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(ACCEPTANCES))
def test_work_with_detainees_is_an_answer_and_a_polite_yes_is_consent(stack: Stack, language: str) -> None:
    """Work with detainees has a disclosure's cues ("we" and detention) and was left to the
    model, which offered unrelated questions; "that would be great, thank you" was read as
    thanks, and the enquiry was lost."""
    enquiry = enquiry_after(stack, f"funding-accept-{language}", ACCEPTANCES[language])
    assert enquiry.work_area == "detention_monitoring" and enquiry.consent is True
