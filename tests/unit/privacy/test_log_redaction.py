"""Logs: visitors' text is cut and redacted in every log record (privacy/log_redaction.py),
and sending a response logs no template error (domain.yml)."""

from __future__ import annotations

import ast
import asyncio
import functools
import io
import json
import logging
import re
import subprocess
import sys
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest
import structlog
import yaml

from apt_settings import ROOT
from privacy import log_redaction
from privacy.log_redaction import MAX_MESSAGE, MAX_RUN, RedactingFilter
from tests.support.stacks import Stack

EMAIL = "jane.doe@example.org"
PHONE = "+41 79 123 45 67"
# Longest message a cut leaves: the kept characters and the note saying how many were cut.
NOTE = "[... 999999999 characters cut]"


@pytest.fixture
def sanitising() -> Iterator[None]:
    """Records of this process sanitised (as in the servers); the factory, the warnings and
    the standard streams restored after."""
    previous = logging.getLogRecordFactory()
    streams = sys.stdout, sys.stderr
    log_redaction.install()
    yield
    logging.setLogRecordFactory(previous)
    logging.captureWarnings(False)
    sys.stdout, sys.stderr = streams


class Collecting(logging.StreamHandler):
    """A stream handler that also keeps the records it writes."""

    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(stream)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        super().emit(record)


Output = Tuple[logging.Logger, io.StringIO, Collecting]


@pytest.fixture
def output(sanitising: None) -> Iterator[Output]:
    """A logger named like Rasa's REST channel, with a real handler and formatter added
    after install() (as Rasa and coloredlogs add theirs), and what that handler writes."""
    logger = logging.getLogger("rasa.core.channels.rest")
    stream = io.StringIO()
    handler = Collecting(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
    logger.addHandler(handler)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def test_email_and_phone_are_redacted_in_a_handlers_output(
    output: Output,
) -> None:
    logger, stream, _ = output
    logger.error(f"Received user message 'I am {EMAIL}, call me on {PHONE}'")
    written = stream.getvalue()
    assert EMAIL not in written and "123 45 67" not in written
    assert "Received user message 'I am [EMAIL], call me on [PHONE]'" in written


def test_percent_arguments_with_personal_data_are_redacted(output: Output) -> None:
    logger, stream, handler = output
    logger.warning("visitor %s sent %r", EMAIL, {"phone": PHONE, "count": 3})
    [record] = handler.records
    assert record.args == ()
    assert record.getMessage() == "visitor [EMAIL] sent {'phone': '[PHONE]', 'count': 3}"
    assert EMAIL not in stream.getvalue()


def test_the_servers_own_addresses_are_kept_and_others_replaced(output: Output) -> None:
    logger, stream, _ = output
    logger.info("Starting Rasa server on http://127.0.0.1:5005 ([::1]:5005, 0.0.0.0) for %s", "203.0.113.9")
    message = stream.getvalue().split(" - ", 1)[1].rstrip("\n")
    assert message == "Starting Rasa server on http://127.0.0.1:5005 ([::1]:5005, 0.0.0.0) for [IP]"


def test_a_1_mb_message_is_cut_to_the_limit(output: Output) -> None:
    logger, stream, _ = output
    logger.error("a" * 1_000_000)
    [line] = stream.getvalue().splitlines()
    message = line.split(" - ", 1)[1]
    assert message == "a" * MAX_RUN + f"[... {1_000_000 - MAX_RUN} characters cut]"


def test_a_long_visitor_text_in_rasas_json_log_is_cut_and_the_rest_of_the_line_kept(
    output: Output,
) -> None:
    """Rasa's REST channel logged the whole text at ERROR on a timeout, through structlog's
    JSON renderer and the standard library's logger: the same path here."""
    logger, stream, _ = output
    rest_log = structlog.wrap_logger(
        logger, processors=[structlog.processors.JSONRenderer()], wrapper_class=structlog.stdlib.BoundLogger
    )
    text = "x" * 290 + f" {EMAIL} " + "y" * 1_000_000
    rest_log.error("rest.message.received.timeout", text=text)
    [line] = stream.getvalue().splitlines()
    event = json.loads(line.split(" - ", 1)[1])
    assert event["event"] == "rest.message.received.timeout"
    assert len(event["text"]) <= MAX_RUN + len(NOTE) and event["text"].endswith("characters cut]")
    assert EMAIL not in line and "jane.doe" not in line, "an address across the cut is not half kept"


def test_many_short_stretches_are_cut_at_the_message_limit(
    output: Output,
) -> None:
    logger, stream, _ = output
    logger.error('"a" ' * 100_000 + EMAIL)
    message = stream.getvalue().split(" - ", 1)[1].rstrip("\n")
    assert len(message) <= MAX_MESSAGE + len(NOTE)
    assert message.endswith(f"[... {400_020 - MAX_MESSAGE} characters cut]")


def test_rasas_loggers_are_covered_through_the_root_handlers(
    sanitising: None, caplog: pytest.LogCaptureFixture
) -> None:
    """caplog's handler sits on the root logger and was added after install(), like the ones
    Rasa adds when it configures logging: records of Rasa's loggers reach it sanitised."""
    with caplog.at_level(logging.DEBUG):
        for name in ("rasa.core.channels.rest", "rasa.core.processor", "sanic.error", "rasa_sdk.executor"):
            logging.getLogger(name).error("text %s", f"{EMAIL} " + "z" * 5000)
    assert len(caplog.records) == 4
    assert EMAIL not in caplog.text and "z" * (MAX_RUN + 1) not in caplog.text
    assert all(r.getMessage().startswith("text [EMAIL] ") for r in caplog.records)


def test_arguments_that_do_not_fit_and_non_string_messages_do_not_break_logging(
    output: Output, capsys: pytest.CaptureFixture
) -> None:
    logger, stream, _ = output
    logger.info("%d messages", "not a number")
    logger.info({"contact": EMAIL, "n": 1})
    logger.info("no arguments, a literal %s stays")
    logger.info("%s and %s", b"bytes", None)
    logger.info("%(name)s", {"name": EMAIL})

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    logger.info(Unprintable())
    lines = stream.getvalue().splitlines()
    assert [line.split(" - ", 1)[1] for line in lines] == [
        "%d messages (log arguments that do not fit the message: ('not a number',))",
        "{'contact': [EMAIL]', 'n': 1}",  # the quote goes with the address: privacy.redaction's pattern
        "no arguments, a literal %s stays",
        "b'bytes' and None",
        "[EMAIL]",
        "(a log message of type Unprintable that cannot be printed)",
    ]
    assert "Logging error" not in capsys.readouterr().err


def test_tracebacks_are_redacted_and_keep_their_end(output: Output) -> None:
    logger, stream, _ = output
    try:
        raise ValueError("unreadable:\n" + "line\n" * 10_000 + f"from {EMAIL}")
    except ValueError:
        logger.exception("A message could not be handled")
    written = stream.getvalue()
    assert "A message could not be handled" in written
    assert written.rstrip().endswith("from [EMAIL]") and EMAIL not in written
    assert len(written) < MAX_MESSAGE + 500
    assert "characters cut]" in written


def test_a_record_made_elsewhere_is_sanitised_by_the_filter() -> None:
    record = logging.makeLogRecord({"msg": "from %s", "args": (EMAIL,), "levelno": logging.INFO})
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "from [EMAIL]"


def test_install_is_idempotent(sanitising: None) -> None:
    factory = logging.getLogRecordFactory()
    log_redaction.install()
    assert logging.getLogRecordFactory() is factory and log_redaction.installed()


def installed_in_a_new_process(code: str) -> List[str]:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


def test_the_action_server_installs_it_with_the_actions_package_without_rasa() -> None:
    """rasa-sdk imports the ``actions`` package when its server starts."""
    assert installed_in_a_new_process(
        "import sys; import actions; from privacy import log_redaction; "
        "print(log_redaction.installed(), any(m.split('.')[0] == 'rasa' for m in sys.modules))"
    ) == ["True", "False"]


def test_warnings_and_stray_output_are_redacted_like_log_records() -> None:
    """Python's warnings and a library's print() bypass the record factory: install() sends
    the first through logging, and the servers wrap both standard streams."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, sys, warnings; import actions\n"
            "from privacy.log_redaction import redact_standard_streams; redact_standard_streams()\n"
            "logging.basicConfig(level=logging.WARNING)\n"
            f'warnings.warn(\'Failed to parse /inform{{"contact_email": "{EMAIL}"}}\', UserWarning)\n'
            f"print('stray {EMAIL}', '{PHONE}')\n"
            f"sys.stderr.write('x' * 5000 + ' {EMAIL}\\n')\n"
            f"raise RuntimeError('nobody caught {EMAIL}')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "UserWarning" in result.stderr and "stray [EMAIL] [PHONE]" in result.stdout
    assert "nobody caught [EMAIL]" in result.stderr and "characters cut" in result.stderr
    assert EMAIL not in output and PHONE not in output


@pytest.mark.parametrize(
    "server",
    ["action_server.py", pytest.param("rasa_server.py", marks=pytest.mark.slow)],  # Rasa's import is slow
)
def test_the_servers_redact_what_they_print(server: str) -> None:
    """An argument error is printed by argparse, not logged: it is redacted all the same."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / server), "--port", EMAIL, "--interface", "127.0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "[EMAIL]" in result.stderr, result.stderr[-2000:]
    assert EMAIL not in result.stdout + result.stderr


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_the_rasa_server_installs_it_with_the_runtime_adjustments() -> None:
    assert installed_in_a_new_process(
        "from server import patches; from privacy import log_redaction; "
        "patches.install(); print(log_redaction.installed())"
    ) == ["True"]


# -- no template error when a response is sent ---------------------------------------------------


def kwargs_sent_by_actions() -> Dict[str, List[Set[str]]]:
    """For each response an action sends by name, the variables each call passes with it;
    also the Rasa server's own (server/patches/: ``nlg.generate(NAMED_RESPONSE, ..., variable=...)``)."""
    sent: Dict[str, List[Set[str]]] = {}
    for path in sorted((ROOT / "actions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "utter_message":
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
                name = keywords.pop("response", None)
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    sent.setdefault(name.value, []).append(set(keywords))
    for path in sorted((ROOT / "server").rglob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and str(node.value.value).startswith("utter_")
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "generate" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in constants:
                    keywords = {k.arg for k in node.keywords if k.arg}
                    sent.setdefault(str(constants[first.id]), []).append(keywords)
    return sent


def named_in_training_data() -> Set[str]:
    """Responses that Rasa sends itself, as a step of a rule or a story."""
    names: Set[str] = set()
    for path in (ROOT / "data").rglob("*.yml"):
        names |= set(re.findall(r"\baction: (utter_\w+)", path.read_text()))
    return names


@functools.cache
def domain() -> Any:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml"))


def rendered(
    name: str, responses: Optional[Dict[str, Any]] = None, /, **kwargs: Any
) -> Tuple[Dict[str, Any], List[Any]]:
    """The response as Rasa's NLG renders it for the REST channel, with the domain's slots
    (all empty), and the structured log events of the rendering."""
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events("test", [], slots=domain().slots)
    generator = TemplatedNaturalLanguageGenerator(responses or domain().responses)
    with structlog.testing.capture_logs() as events:
        message = asyncio.run(generator.generate(name, tracker, "rest", **kwargs))
    assert message is not None, name
    return message, events


def test_single_braces_in_a_button_payload_log_an_error() -> None:
    """What the domain's form buttons did (and proof that the tests below would see it)."""
    button = {"title": "NGO", "payload": '/inform{"organisation_type": "ngo"}'}
    message, events = rendered("utter_ask", {"utter_ask": [{"text": "Which?", "buttons": [button]}]})
    assert message["buttons"][0]["payload"] == button["payload"]  # sent unchanged...
    assert [e["event"] for e in events] == ["interpolator.interpolate.text"]  # ...after an error


def sendings() -> List[Tuple[str, Set[str]]]:
    """Every response, with the variables of each way it is sent: by an action with its
    keyword arguments, or by Rasa itself (rules, stories, form questions) with none."""
    responses = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
    by_actions = kwargs_sent_by_actions()
    by_rasa = named_in_training_data()
    cases = []
    for name in responses:
        variants = list(by_actions.get(name, []))
        if name in by_rasa or name.startswith("utter_ask_") or not variants:
            variants.append(set())
        cases += [(name, variables) for variables in variants]
    return cases


@pytest.mark.parametrize(("name", "variables"), sendings(), ids=lambda v: v if isinstance(v, str) else "")
def test_sending_a_response_logs_no_template_error(
    name: str, variables: Set[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa fills each {name} of a response, buttons included, from the slots and the
    variables it is sent with; one it cannot fill logs an error (the braces of a button's
    entities, once for each button). Each response is rendered as it is sent."""
    with caplog.at_level(logging.WARNING):
        message, events = rendered(name, **{variable: "x" for variable in variables})
    assert [e for e in events if e["log_level"] in ("warning", "error", "exception")] == [], name
    assert [r for r in caplog.records if r.name.startswith("rasa")] == [], name
    assert "{" not in (message.get("text") or ""), "a variable left unfilled"


@pytest.mark.parametrize("name", ["utter_ask_organisation_type", "utter_ask_work_area"])
def test_the_form_buttons_send_their_intent_and_entity(name: str) -> None:
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    message, _ = rendered(name)
    slot = name.removeprefix("utter_ask_")
    for button in message["buttons"]:
        payload = button["payload"]
        assert re.fullmatch(rf'/inform\{{"{slot}": "[a-z_]+"\}}', payload), payload
        parsed = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: payload}), domain())
        assert parsed.get(INTENT)["name"] == "inform"
        assert [(e["entity"], e["value"]) for e in parsed.get(ENTITIES)] == [
            (slot, json.loads(payload[7:])[slot])
        ]


def test_the_edge_accepts_the_buttons_payloads_as_rasa_sends_them() -> None:
    """The chat channels let through, as payloads, only those of the domain's buttons
    (server/channels/edge.py): as Rasa sends them, with single braces."""
    edge = pytest.importorskip("server.channels.edge")
    with_buttons = [name for name, variations in domain().responses.items() if variations[0].get("buttons")]
    assert "utter_ask_work_area" in with_buttons
    for name in with_buttons:
        for button in rendered(name)[0]["buttons"]:
            assert edge.as_offered(button["payload"]) == button["payload"], name


# -- the running stack ---------------------------------------------------------------------------


def test_the_stack_log_holds_no_long_visitor_text_no_address_and_no_template_error(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """After this session's end-to-end tests (and these messages), the stack's log."""
    sender = "log-check-1"
    stack.send(sender, f"Do you work in Kenya? I am {EMAIL}, phone {PHONE}")
    stack.send(sender, "b" * 10_000 + f" {EMAIL}")
    # Once a Rasa warning that printed the whole payload, when a blank hid it from the edge.
    stack.send(
        sender, f' /inform{{"country": "<svg>", "organisation_name": "x", "contact_email": "{EMAIL}"}}'
    )
    for message in ["can you fund our project?", "yes", "we are an NGO", "Kenya", "stop"]:
        stack.send("log-check-2", message)
    log = (tmp_path_factory.getbasetemp() / "stack.log").read_text(errors="replace")
    for sent in (EMAIL, "jane@example.org", "o@example.org"):
        assert sent not in log
    assert not re.search(rf"([ab])\1{{{MAX_RUN}}}", log), "a visitor's text longer than the limit"
    assert "interpolator.interpolate.text" not in log and "Failed to fill utterance template" not in log
