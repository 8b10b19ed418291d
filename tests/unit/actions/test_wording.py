"""Wording in one place: every sentence a visitor reads is a ``domain.yml`` response (or a
knowledge-base text), and the actions send responses by literal name with exactly the
variables each response uses.

``rendered`` turns what an action sent into what the visitor reads, with Rasa's own
response generator, so the other unit tests assert on the text itself.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import CARRIED_CODES
from apt_settings import ROOT

ACTIONS = sorted((ROOT / "actions").glob("*.py"))
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")  # what Rasa's interpolator replaces
# The keyword arguments of CollectingDispatcher.utter_message; anything else is a variable.
MESSAGE_KEYS = {
    "text",
    "image",
    "json_message",
    "template",
    "response",
    "attachment",
    "buttons",
    "elements",
    "custom",
    "quick_replies",
    # message metadata, not a response variable: the second chance's offered intents
    "offered",
    # and the codes of the places answered (actions/answers.py)
    *CARRIED_CODES,
}
# A sentence: a capital, at least two more words, a full stop (or ? or !) at the end.
SENTENCE = re.compile(r"[A-Z][\w'’]*(?:[ ,;:()\"'’-]+[\w'’{}]+){2,}[.?!]")


@cache
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def response_texts(name: str) -> List[str]:
    return [variation.get("text") or "" for variation in domain()["responses"][name]]


def rendered(message: Dict[str, Any]) -> str:
    """The text a visitor reads for one message an action sent: a response filled with the
    variables sent with it (as the Rasa server does), or the text as it is."""
    name = message.get("response")
    if not name:
        return message["text"]
    variables = {key: value for key, value in message.items() if key != "response"}
    generator = TemplatedNaturalLanguageGenerator(domain()["responses"])
    draft = generator.generate_from_slots(name, {}, "rest", **variables)
    assert draft is not None, f"no response {name} in domain.yml"
    text = draft["text"]
    assert not PLACEHOLDER.search(text), f"{name}: a variable was not filled in {text!r}"
    return text


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [rendered(message) for message in dispatcher.messages]


# -- reading the actions' code ------------------------------------------------------------------


def _trees() -> Iterator[Tuple[Path, ast.Module]]:
    for path in ACTIONS:
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _docstrings(tree: ast.Module) -> Set[int]:
    nodes = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)),
    ]
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }


def _is_log_or_error(node: ast.AST) -> bool:
    """A raise, or a call to a logger, print or a warning: text for staff, not visitors."""
    if isinstance(node, ast.Raise | ast.Assert):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        owner_name = getattr(owner, "id", "") or getattr(owner, "attr", "")
        return name in {"print", "warn"} or "log" in owner_name.lower()
    return False


def _strings(tree: ast.Module) -> Iterator[str]:
    """Every string literal (an f-string with "{}" for its values) outside docstrings, log
    messages and exceptions."""
    skipped = _docstrings(tree)

    def visit(node: ast.AST) -> Iterator[str]:
        if id(node) in skipped or _is_log_or_error(node):
            return
        if isinstance(node, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(tree)


# The one call that sends a response named by a variable: actions/again.py sends again a
# response Rasa itself sent in the previous turn (a rule's ``utter_*`` action, which has no
# variables: see test_no_response_variable_is_a_slot), named by the conversation's events.
REPLAYED = ("again.py", "name")


def _is_replay(filename: str, call: ast.Call) -> bool:
    value = next(k.value for k in call.keywords if k.arg == "response")
    return (filename, getattr(value, "id", None)) == REPLAYED and len(call.keywords) == 1


def _response_calls() -> Iterator[Tuple[str, ast.Call]]:
    """Every call in actions/ with a ``response=`` keyword, but the replay above."""
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and any(k.arg == "response" for k in node.keywords):
                if not _is_replay(path.name, node):
                    yield path.name, node


def test_the_only_response_named_by_a_variable_is_the_replay_and_it_passes_no_variables() -> None:
    replays = [
        (path.name, node.lineno)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and any(k.arg == "response" for k in node.keywords)
        and _is_replay(path.name, node)
    ]
    assert len(replays) == 1, replays


# -- the tests ----------------------------------------------------------------------------------


def test_sentence_pattern_finds_a_reply_and_lets_data_through() -> None:
    assert SENTENCE.search("Sorry, I didn't recognise that {}.")
    assert SENTENCE.search('Which country do you mean? You can ask, for example, "Do you work in Kenya?"')
    assert not SENTENCE.search("{}: {} ({})")
    assert not SENTENCE.search("{} countries")
    assert not SENTENCE.search("utter_fit_likely")


def test_no_python_module_in_actions_holds_a_visitor_sentence() -> None:
    found = [
        f"{path.name}: {string!r}"
        for path, tree in _trees()
        for string in _strings(tree)
        if SENTENCE.search(string)
    ]
    assert found == [], "visitor-facing sentences belong in domain.yml responses:\n" + "\n".join(found)


def test_actions_send_no_literal_text() -> None:
    """``utter_message(text=...)`` only quotes knowledge-base texts, never a literal."""
    found = [
        f"{path.name}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "text" and any(_is_literal(n) for n in ast.walk(keyword.value))
    ]
    assert found == []


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_every_response_an_action_sends_is_a_literal_name_in_the_domain() -> None:
    """Literal names only: Rasa's validator and tests/rasa/test_model.py find them in the code."""
    responses = set(domain()["responses"])
    names = []
    for filename, call in _response_calls():
        value = next(k.value for k in call.keywords if k.arg == "response")
        assert isinstance(value, ast.Constant) and isinstance(
            value.value, str
        ), f"{filename}:{call.lineno}: response names must be literal strings"
        assert value.value in responses, f"{filename}:{call.lineno}: {value.value} is not in domain.yml"
        names.append(value.value)
    assert names, "no response sent by name: is the scan broken?"
    # Names kept in constants too (the consent question, looked for in the conversation's
    # events under Rasa's "utter_action" key).
    other = {s for _, tree in _trees() for s in _strings(tree) if re.fullmatch(r"utter_\w+", s)}
    assert other - {"utter_action"} <= responses, other - responses


def test_actions_pass_exactly_the_variables_each_response_uses() -> None:
    for filename, call in _response_calls():
        value = next(k.value for k in call.keywords if k.arg == "response")
        assert isinstance(value, ast.Constant) and isinstance(value.value, str)
        name = value.value
        assert all(k.arg is not None for k in call.keywords), f"{filename}:{call.lineno}: no **variables"
        passed = {k.arg for k in call.keywords} - MESSAGE_KEYS
        used = {v for text in response_texts(name) for v in PLACEHOLDER.findall(text)}
        assert passed == used, f"{filename}:{call.lineno}: {name} uses {sorted(used)}, gets {sorted(passed)}"


def test_no_response_variable_is_a_slot() -> None:
    """A variable an action forgot would otherwise be filled with a slot, perhaps a visitor's
    organisation name or email address."""
    slots = set(domain()["slots"]) | {"requested_slot", "session_started_metadata"}
    for name, variations in domain()["responses"].items():
        for variation in variations:
            assert not set(PLACEHOLDER.findall(variation.get("text") or "")) & slots, name


def test_not_a_donor_is_said_by_the_faq_answer_and_one_reminder() -> None:
    saying = [
        name
        for name, variations in domain()["responses"].items()
        if any(re.search(r"not a donor|not fund", v.get("text") or "") for v in variations)
    ]
    assert saying == ["utter_faq_funding", "utter_no_funding_promised"]
