"""Retraining from staff corrections (training/, docs/retraining.md): corrections written into
the right training file and nothing else, the gate, the lock, the live model's replacement,
the workspace's Retrain page; and, with real Rasa on a copy of the project, a round that
learns corrections and puts the new model live, and one whose model is worse and stays out.

Every round works on a temporary copy of the project (training data, domain, configuration,
held-out sets and a copy of the session's model): the working tree's data and model are never
touched.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from apt_settings import ROOT
from benchmark.retrain import CORRECTIONS
from review import create_app
from storage import schema
from storage.database import engine_for
from supervision import live
from supervision.programs import Program
from supervision.supervisor_conf import render
from tests.support.small_project import small_project
from training import corrections, evaluate, status
from training.corrections import Correction

PASSWORD = "correct horse battery staple"


# -- a small project of its own, for the fast tests ------------------------------------------------

NLU = 'version: "3.1"\nnlu:\n- intent: {}\n  examples: |\n    - {}\n'
TINY_FILES = {
    "domain.yml": 'version: "3.1"\nintents:\n  - greet\n  - ask_funding\n  - out_of_scope\n',
    "data/nlu/chitchat.yml": (
        'version: "3.1"\n# Greetings.\nnlu:\n- intent: greet\n  examples: |\n    - hello\n    - hi there\n\n'
        "- intent: out_of_scope\n  examples: |\n    - what is the weather\n"
    ),
    "data/nlu/faq.yml": (
        'version: "3.1"\nnlu:\n- intent: ask_funding\n  examples: |\n    - can you fund us\n'
        "    - do you give grants\n  # a comment after the block\n"
    ),
    "data/nlu/fr/faq.yml": NLU.format("ask_funding", "financez-vous des projets"),
    "data/nlu/fr/chitchat.yml": NLU.format("greet", "bonjour"),
    "data/nlu/es/faq.yml": NLU.format("ask_funding", "¿financian proyectos?"),
    "tests/test_nlu.yml": NLU.format("greet", "good morning APT"),
    "tests/test_nlu_fr.yml": NLU.format("greet", "salut"),
    "tests/test_nlu_es.yml": NLU.format("greet", "hola"),
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    for name, text in TINY_FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def correction(
    text: str, intent: str, language: str = "en", number: int = 1, predicted: Optional[str] = None
) -> Correction:
    return Correction(number, text, intent, language, predicted)


def snapshot(project: Path) -> Dict[str, str]:
    return {p.relative_to(project).as_posix(): p.read_text() for p in sorted(project.rglob("*.yml"))}


# -- writing corrections ---------------------------------------------------------------------------


def test_a_correction_becomes_one_harmless_line() -> None:
    assert corrections.clean("  do you\nfund\r\n  projects ?\u2028- intent: greet ") == (
        "do you fund projects ? - intent: greet"
    )
    # Rasa's entity markup cannot be smuggled in: "[x](entity)" is spaced apart.
    assert corrections.clean('write to [EMAIL](email) or [me]{"entity": "x"}') == (
        'write to [EMAIL] (email) or [me] {"entity": "x"}'
    )
    # Control characters, direction overrides and what YAML cannot hold are dropped.
    assert corrections.clean("abc\x00\x1b[31m\u202edef\ufffe") == "abc[31mdef"
    # Personal data left in a stored text is redacted once more.
    assert corrections.clean("mail me at someone@example.org") == "mail me at [EMAIL]"
    assert corrections.clean(" \n\t ") == ""


def test_examples_go_at_the_end_of_their_intents_block_and_nothing_else_changes() -> None:
    document = TINY_FILES["data/nlu/chitchat.yml"]
    updated = corrections.insert_examples(document, "greet", ["hey you", "- intent: injected"])
    assert updated == document.replace(
        "    - hi there\n", "    - hi there\n    - hey you\n    - - intent: injected\n"
    )
    parsed = corrections.examples_in_text(updated)
    assert parsed == {
        "greet": ["hello", "hi there", "hey you", "- intent: injected"],
        "out_of_scope": ["what is the weather"],
    }
    # The last block of a file, and a block followed by a comment.
    assert corrections.examples_in_text(corrections.insert_examples(document, "out_of_scope", ["x"]))[
        "out_of_scope"
    ] == ["what is the weather", "x"]
    faq = corrections.insert_examples(TINY_FILES["data/nlu/faq.yml"], "ask_funding", ["any grants"])
    assert faq.endswith("    - any grants\n  # a comment after the block\n")
    with pytest.raises(corrections.LayoutError):
        corrections.insert_examples(document, "ask_funding", ["x"])


def test_examples_go_after_a_blocks_metadata_too() -> None:
    """French and Spanish blocks say their language in metadata, before their examples."""
    document = (
        'version: "3.1"\nnlu:\n- intent: greet\n  metadata:\n    language: fr\n  examples: |\n'
        "    - salut\n- intent: thank\n  metadata:\n    language: fr\n  examples: |\n    - merci\n"
    )
    updated = corrections.insert_examples(document, "greet", ["coucou"])
    assert updated == document.replace("    - salut\n", "    - salut\n    - coucou\n")
    assert corrections.examples_in_text(updated) == {"greet": ["salut", "coucou"], "thank": ["merci"]}
    with pytest.raises(corrections.LayoutError):
        corrections.insert_examples(
            "nlu:\n- intent: greet\n- intent: thank\n  examples: |\n    - x\n", "greet", ["y"]
        )


def test_each_correction_goes_to_the_topic_file_of_its_intent_in_its_language(tiny: Path) -> None:
    plan = corrections.plan(
        [
            correction("could you pay for our workshop", "ask_funding", "en", 1),
            correction("pouvez-vous payer notre atelier", "ask_funding", "fr", 2),
            correction("¿pueden pagar nuestro taller?", "ask_funding", "es", 3),
            correction("bonsoir à tous", "greet", "fr", 4),
            correction("is it raining in Geneva", "out_of_scope", "en", 5),
        ],
        tiny,
    )
    assert [(w.correction.id, w.file.relative_to(tiny).as_posix()) for w in plan.written] == [
        (1, "data/nlu/faq.yml"),
        (2, "data/nlu/fr/faq.yml"),
        (3, "data/nlu/es/faq.yml"),
        (4, "data/nlu/fr/chitchat.yml"),
        (5, "data/nlu/chitchat.yml"),
    ]
    before = snapshot(tiny)
    backup = corrections.apply(plan)
    assert corrections.examples_in(tiny / "data/nlu/fr/faq.yml")["ask_funding"] == [
        "financez-vous des projets",
        "pouvez-vous payer notre atelier",
    ]
    assert (
        corrections.examples_in(tiny / "data/nlu/chitchat.yml")["out_of_scope"][-1]
        == "is it raining in Geneva"
    )
    after = snapshot(tiny)
    assert {name for name in after if after[name] != before[name]} == {
        "data/nlu/faq.yml", "data/nlu/fr/faq.yml", "data/nlu/es/faq.yml", "data/nlu/fr/chitchat.yml",
        "data/nlu/chitchat.yml",
    }  # fmt: skip
    corrections.restore(backup)
    assert snapshot(tiny) == before


def test_corrections_that_would_spoil_the_data_or_the_scores_are_left_out(tiny: Path) -> None:
    plan = corrections.plan(
        [
            correction("Good  morning APT", "greet", "en", 1),  # a held-out example
            correction("can you fund us", "greet", "en", 2),  # an example of another intent
            correction("HELLO", "greet", "en", 3),  # already there: nothing to write
            correction("some text", "ask_weather", "en", 4),  # not an intent of the domain
            correction("some text", "greet", "de", 5),  # not a language of the assistant
            correction("x " * 150, "greet", "en", 6),  # too long
            correction("\x00\n", "greet", "en", 7),  # nothing left
            correction("what about money", "ask_funding", "en", 8),  # staff disagree
            correction("what about money", "out_of_scope", "en", 9),
            correction("hola", "greet", "es", 10),  # held-out in Spanish
        ],
        tiny,
    )
    reasons = {c.id: reason for c, reason in plan.skipped}
    assert "held-out set tests/test_nlu.yml" in reasons[1]
    assert reasons[2] == "already an example of ask_funding in data/nlu/faq.yml"
    assert "not in domain.yml" in reasons[4]
    assert "'de' is not one of en, fr, es" in reasons[5]
    assert "longer than 200" in reasons[6]
    assert reasons[7] == "no text left once cleaned"
    assert "disagree" in reasons[8] and "disagree" in reasons[9]
    assert "tests/test_nlu_es.yml" in reasons[10]
    assert [c.id for c in plan.present] == [3]
    assert plan.written == [] and plan.writes == {}
    assert [c.id for c in plan.learnt_if_live] == [3]


def test_pending_corrections_are_read_and_marked_learnt(database_url: str) -> None:
    engine = engine_for(database_url)
    with engine.begin() as connection:
        for number, (text, language) in enumerate(
            [("hello", "en"), ("bonjour", "fr"), ("hola", "es")], start=1
        ):
            connection.execute(
                schema.corrections.insert().values(
                    event_id=number, sender_id=f"s{number}", text=text, predicted_intent="out_of_scope",
                    intent="greet", created_by="alice", created_at=time.time(), language=language,
                )
            )  # fmt: skip
    pending = corrections.pending(engine)
    assert [(c.text, c.language, c.predicted_intent) for c in pending] == [
        ("hello", "en", "out_of_scope"),
        ("bonjour", "fr", "out_of_scope"),
        ("hola", "es", "out_of_scope"),
    ]
    assert corrections.mark_trained(engine, [pending[0].id, pending[2].id], 1234.5) == 2
    assert [c.text for c in corrections.pending(engine)] == ["bonjour"]
    assert corrections.mark_trained(engine, [pending[0].id], 9999.0) == 0  # the first time is kept
    with engine.connect() as connection:
        assert connection.execute(sa.select(schema.corrections.c.trained_at).where(
            schema.corrections.c.id == pending[0].id)).scalar_one() == 1234.5  # fmt: skip


# -- the gate --------------------------------------------------------------------------------------

BEFORE = {"en": {"f1": 0.970}, "fr": {"f1": 0.950}, "es": {"f1": 0.960}}


def test_a_new_model_goes_live_only_if_no_language_is_worse_and_every_correction_is_understood() -> None:
    fixes = [
        correction("could you pay", "ask_funding", "en", 1),
        correction("weather?", "out_of_scope", "en", 2),
    ]
    understood = {1: "ask_funding", 2: "nlu_fallback"}  # the fallback is an honest answer out of scope
    within = {"en": {"f1": 0.9601}, "fr": {"f1": 0.951}, "es": {"f1": 0.990}}
    assert evaluate.verdict(BEFORE, within, fixes, understood) == (True, [])

    ok, reasons = evaluate.verdict(BEFORE, {**within, "fr": {"f1": 0.939}}, fixes, understood)
    assert not ok and reasons == ["fr: held-out intent F1 0.939 against 0.950 now (more than 0.01 lower)"]

    ok, reasons = evaluate.verdict(BEFORE, within, fixes, {1: "ask_partner_selection", 2: "out_of_scope"})
    assert not ok and reasons == ["correction #1 (en) still read as ask_partner_selection, not ask_funding"]

    ok, reasons = evaluate.verdict(BEFORE, {"en": within["en"]}, [], {})
    assert not ok and len(reasons) == 2  # a language the new model was not scored on

    assert evaluate.verdict({}, within, [], {}) == (True, [])  # no live model to compare with
    assert evaluate.verdict(BEFORE, {**within, "fr": {"f1": 0.90}}, [], {}, tolerance=0.06)[0]


def test_fine_tuning_after_fine_tuning_cannot_drift_below_the_reference() -> None:
    """Each round within the tolerance of the last would let many rounds lose a lot."""
    reference = {"en": {"f1": 0.980}, "fr": {"f1": 0.950}, "es": {"f1": 0.960}}
    drifted = {"en": {"f1": 0.9651}, "fr": {"f1": 0.950}, "es": {"f1": 0.960}}
    ok, reasons = evaluate.verdict(BEFORE, drifted, [], {}, reference=reference)
    assert not ok and reasons == [
        "en: held-out intent F1 0.965 against 0.980 at the reference (more than 0.01 lower)"
    ]
    assert evaluate.verdict(BEFORE, drifted, [], {}, reference=BEFORE)[0]


# -- one round at a time, the live model -----------------------------------------------------------


def test_only_one_retrain_runs_at_a_time(tmp_path: Path) -> None:
    assert not status.is_running(tmp_path)
    with status.lock(tmp_path):
        assert status.is_running(tmp_path)
        with pytest.raises(status.Busy):
            with status.lock(tmp_path):
                pass
    assert not status.is_running(tmp_path)


def test_a_round_killed_midway_shows_as_failed(tmp_path: Path) -> None:
    round_status = status.Status(tmp_path, "20260101-000000-abcd", "alice")
    round_status.data["started_at"] -= 60
    round_status.stage("training")
    assert status.current(tmp_path)["state"] == "failed"  # no process holds the lock


def test_putting_a_model_live_keeps_the_previous_one_and_can_roll_back(tmp_path: Path) -> None:
    live_model = tmp_path / "models" / "apt.tar.gz"
    candidate = tmp_path / "candidate.tar.gz"
    candidate.write_bytes(b"first")
    assert live.put_live(candidate, live_model) is None
    assert live_model.read_bytes() == b"first"
    candidate.write_bytes(b"second")
    previous = live.put_live(candidate, live_model)
    assert previous == tmp_path / "models" / "apt.previous.tar.gz"
    assert (live_model.read_bytes(), previous.read_bytes()) == (b"second", b"first")
    live.roll_back(live_model)
    assert (live_model.read_bytes(), previous.read_bytes()) == (b"first", b"second")
    assert sorted(p.name for p in live_model.parent.iterdir()) == ["apt.previous.tar.gz", "apt.tar.gz"]


def test_the_rasa_servers_to_restart_are_those_loading_the_model(tmp_path: Path) -> None:
    model = tmp_path / "models" / "apt.tar.gz"
    rasa = [sys.executable, str(ROOT / "scripts" / "rasa_server.py"), "--model"]

    def program(name: str, loads: Path, port: int) -> Program:
        return Program(name, name, [*rasa, str(loads), "--interface", "127.0.0.1", "--port", str(port)], "")

    conf = render(
        [
            Program("action_server", "action server", [sys.executable, "x.py", "--port", "5055"], ""),
            program("rasa_0", model, 5005),
            program("rasa_1", model, 5005),
            program("rasa_2", tmp_path / "other 100%.tar.gz", 5006),
        ],
        tmp_path,
    )
    (tmp_path / "supervisord.conf").write_text(conf)
    assert live.rasa_programs(tmp_path, model) == [("rasa_0", 5005), ("rasa_1", 5005)]
    assert live.rasa_programs(tmp_path, tmp_path / "other 100%.tar.gz") == [("rasa_2", 5006)]
    assert live.shared_socket_groups(tmp_path, model) == []
    # The embedded profile: processes on one shared socket, replaced by a swap.
    ready = tmp_path / "ready"
    shared = [*rasa, str(model), "--interface", "127.0.0.1", "--port", "5007", "--shared-socket", str(ready)]
    group = [
        Program(f"rasa_{i}", "", shared, "", group="rasa", socket="tcp://127.0.0.1:5007", spare=i > 0)
        for i in range(2)
    ]
    (tmp_path / "supervisord.conf").write_text(render(group, tmp_path))
    assert live.shared_socket_groups(tmp_path, model) == [("rasa", ready)]
    assert live.shared_socket_groups(tmp_path, tmp_path / "other 100%.tar.gz") == []
    assert live.rasa_programs(tmp_path, model) == []
    # No stack runs there (no supervisor socket): nothing to restart.
    assert live.reload_servers(model, lambda _m: None, runs=tmp_path.parent) == []


def run_retrain(
    project: Path, database_url: str, *args: str, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """``python -m training.retrain`` on ``project``, as a trainer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "training.retrain", "--project", str(project), *args],
        cwd=ROOT,
        env={**os.environ, "APT_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_round_with_nothing_to_learn_ends_at_once(tiny: Path, project_database: str) -> None:
    result = run_retrain(tiny, project_database, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[retrain] nothing: no corrections waiting" in result.stdout
    [record] = status.runs(tiny)
    assert record["outcome"] == "nothing" and record["started_by"] == "command line"
    assert status.current(tiny)["state"] == "nothing"


# -- the workspace's Retrain page ------------------------------------------------------------------


@functools.cache
def password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


def add_staff(database_url: str, username: str, role: str) -> None:
    with engine_for(database_url).begin() as connection:
        connection.execute(
            schema.staff_users.insert().values(
                username=username, password_hash=password_hash(), created_at=time.time(), role=role
            )
        )


def add_correction(
    database_url: str, number: int, text: str, intent: str, language: str = "en", **more: Any
) -> None:
    values = dict(
        event_id=number, sender_id=f"retrain-{number}", text=text, intent=intent, created_by="alice",
        created_at=time.time(), language=language, predicted_intent=more.pop("predicted", None), **more,
    )  # fmt: skip
    with engine_for(database_url).begin() as connection:
        connection.execute(schema.corrections.insert().values(**values))


@pytest.fixture
def workspace(database_url: str, tiny: Path) -> Flask:
    add_staff(database_url, "rita", "reviewer")
    add_staff(database_url, "tom", "trainer")
    return create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test",
            "SESSION_COOKIE_SECURE": False,
            "RETRAIN_PROJECT": tiny,
        }
    )


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf(client, "/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def csrf(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, path
    return found.group(1)


def test_a_reviewer_sees_the_page_but_cannot_start_a_retrain(workspace: Flask, database_url: str) -> None:
    add_correction(database_url, 1, "could you pay for our workshop", "ask_funding")
    add_correction(database_url, 2, "c'est payant ?", "ask_funding", "fr")
    add_correction(database_url, 3, "hello", "greet", trained_at=time.time())
    rita = signed_in(workspace, "rita")
    page = rita.get("/retrain/").get_data(as_text=True)
    assert "2 corrections not yet learnt by the live model: English 1, French 1." in page
    assert "Retrain now" not in page and "Only a trainer can start a retrain" in page
    response = rita.post("/retrain/start", data={"csrf_token": csrf(rita, "/retrain/")})
    assert response.status_code == 403
    assert not status.directory(workspace.config["RETRAIN_PROJECT"]).exists()


def test_a_trainer_starts_a_retrain_which_runs_as_a_process_of_its_own(workspace: Flask) -> None:
    tom = signed_in(workspace, "tom")
    page = tom.get("/retrain/").get_data(as_text=True)
    assert re.search(r'<button type="submit" id="retrain-start"[^>]* disabled>', page)  # nothing is waiting
    assert re.search(r'role="status" aria-live="polite"[^>]*>No retrain has run yet.<', page)
    assert tom.post("/retrain/start").status_code == 400  # no CSRF token
    response = tom.post("/retrain/start", data={"csrf_token": csrf(tom, "/retrain/")})
    assert response.status_code == 302
    deadline = time.monotonic() + 120
    while tom.get("/retrain/status.json").get_json()["running"]:
        assert time.monotonic() < deadline, "the retrain process did not finish"
        time.sleep(0.5)
    shown = tom.get("/retrain/status.json").get_json()
    assert shown["state"] == "nothing" and shown["text"].startswith("Nothing to learn")
    page = tom.get("/retrain/").get_data(as_text=True)
    assert '<td colspan="7">No retrain has run yet.</td>' not in page and "<td>tom</td>" in page
    project = workspace.config["RETRAIN_PROJECT"]
    [record] = status.runs(project)
    assert record["started_by"] == "tom"
    assert "[retrain] nothing" in status.log_path(project, record["run_id"]).read_text()


def test_a_second_retrain_is_refused_while_one_runs(workspace: Flask) -> None:
    tom = signed_in(workspace, "tom")
    token = csrf(tom, "/retrain/")
    with status.lock(workspace.config["RETRAIN_PROJECT"]):
        response = tom.post("/retrain/start", data={"csrf_token": token}, follow_redirects=True)
    assert "A retrain is already running" in response.get_data(as_text=True)
    assert status.runs(workspace.config["RETRAIN_PROJECT"]) == []


def test_past_rounds_show_their_before_and_after_figures(workspace: Flask) -> None:
    project = workspace.config["RETRAIN_PROJECT"]
    status.save_run(
        project,
        {
            "run_id": "20261209-101500-ab12", "started_by": "tom", "started_at": 1796810100.0,
            "outcome": "live", "detail": "new model live after 95 s", "mode": "finetune", "retrain_s": 95.2,
            "seconds": {"training": 61.0},
            "corrections": {
                "written": [{"id": 1, "intent": "ask_funding", "language": "en", "file": "data/nlu/faq.yml"}],
                "present": [],
                "skipped": [{"id": 2, "intent": "greet", "language": "en", "reason": "<b>held-out</b>"}],
            },
            "before": {"held_out": {"en": {"f1": 0.9612}, "fr": {"f1": 0.93}},
                       "corrections": {"1": "ask_partner_selection"}},
            "after": {"held_out": {"en": {"f1": 0.9655}, "fr": {"f1": 0.931}},
                      "corrections": {"1": "ask_funding"}},
        },
    )  # fmt: skip
    page = signed_in(workspace, "rita").get("/retrain/").get_data(as_text=True)
    row = page[page.index('id="run-20261209-101500-ab12"') :]
    row = row[: row.index("</tr>")]
    assert "New model live" in row and "fine-tuned" in row and "95 s, training 61 s" in row
    assert "English 0.961 → 0.966<br>French 0.930 → 0.931" in row
    assert "0 → 1 of 1" in row
    assert "&lt;b&gt;held-out" in row  # shown as text


def test_the_benchmark_reports_a_round_with_its_target() -> None:
    from benchmark.report import render_markdown

    intents = [intent for _, intent, _, _ in CORRECTIONS]
    figures: Dict[str, Any] = {
        "corrections": 5, "command_s": 268.0, "outcome": "live", "mode": "finetune", "epoch_fraction": 0.2,
        "seconds": {"writing": 0.8, "validating": 7.6, "training": 137.5, "evaluating": 117.4, "live": 0.2},
        "live_model_scored_s": 49.7, "retrain_s": 263.8,
        "before": {"held_out": {"en": {"f1": 0.972}}, "corrections": {"1": "thank", "4": "ask_funding"}},
        "after": {"held_out": {"en": {"f1": 0.979}},
                  "corrections": {str(n): intent for n, intent in enumerate(intents, start=1)}},
    }  # fmt: skip
    text = render_markdown({"training": {"retrain": figures}})
    assert "## Retraining from corrections" in text
    assert "a round after that: **214.1 s** against a target of 60 s (not met)" in text
    assert "| English | 0.972 | 0.979 |" in text
    assert "| corrected messages understood (of 5) | 1 | 5 |" in text
    assert "## Retraining from corrections" not in render_markdown({"training": {}})


# -- real Rasa, on a copy of the project ----------------------------------------------------------


# Messages staff corrected (the benchmark's handful): the session model did not understand them.
LEARNT = [(text, intent, language) for text, intent, language, _ in CORRECTIONS]


def intents_of(model: Path, texts: List[str]) -> List[str]:
    """What the model makes of each text, asked in a Python process of its own (real Rasa)."""
    script = (
        "import asyncio, json, sys\n"
        "from server import patches\n"
        "patches.install()  # DIET loaded as the Rasa servers load it\n"
        "from rasa.core.agent import Agent\n"
        "agent = Agent.load(sys.argv[1])\n"
        "print(json.dumps([asyncio.run(agent.parse_message(t))['intent']['name'] for t in sys.argv[2:]]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(model), *texts],
        cwd=model.parent.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


class Rounds:
    def __init__(self, project: Path, database_url: str) -> None:
        self.project = project
        self.database_url = database_url
        self.model = project / "models" / "apt.tar.gz"


@pytest.fixture(scope="module")
def rounds(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Rounds:
    base = tmp_path_factory.mktemp("retrain")
    project = small_project(base / "project", trained_model)
    url = f"sqlite:///{base / 'apt.db'}"
    from storage.migrate import upgrade

    upgrade(engine_for(url))
    return Rounds(project, url)


def test_a_round_learns_the_corrections_and_puts_the_new_model_live(rounds: Rounds) -> None:
    for number, (text, intent, language) in enumerate(LEARNT, start=1):
        add_correction(rounds.database_url, number, text, intent, language, predicted="nlu_fallback")
    data_before = snapshot(rounds.project / "data")
    model_before = rounds.model.read_bytes()
    # The tolerance is the gate's business (the next test): this one is about learning.
    result = run_retrain(rounds.project, rounds.database_url, "--tolerance", "0.5")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for stage in ("writing", "validating", "training", "evaluating", "deciding", "live"):
        assert f"[retrain] {stage}" in output
    assert re.search(r"Epochs: 100%", output), "Rasa's own progress is shown"

    [record] = status.runs(rounds.project)
    print(
        "\nround:",
        json.dumps({k: record.get(k) for k in ("mode", "seconds", "retrain_s", "before", "after")}),
    )
    assert record["outcome"] == "live" and record["mode"] == "finetune"
    assert rounds.model.read_bytes() != model_before
    assert (rounds.project / "models" / "apt.previous.tar.gz").read_bytes() == model_before
    assert set(record["before"]["held_out"]) == set(record["after"]["held_out"]) == {"en", "fr", "es"}

    # The examples are in the topic files of their intent and language, and only there.
    changed = {
        name for name, text in snapshot(rounds.project / "data").items() if data_before.get(name) != text
    }
    written = record["corrections"]["written"]
    assert {f"data/{name}" for name in changed} == {w["file"] for w in written}
    assert len(written) == len(LEARNT)
    folders = {"en": "data/nlu", "fr": "data/nlu/fr", "es": "data/nlu/es"}
    for entry, (text, intent, language) in zip(written, LEARNT, strict=True):
        assert entry["file"].rsplit("/", 1)[0] == folders[language]
        assert text in corrections.examples_in(rounds.project / entry["file"])[intent]
    assert corrections.pending(engine_for(rounds.database_url)) == []

    # The live model understands the corrected messages (asked afresh, not from the record).
    assert intents_of(rounds.model, [text for text, _, _ in LEARNT]) == [intent for _, intent, _ in LEARNT]


STRICT_TOLERANCE = evaluate.TOLERANCE / 2


def test_a_worse_model_is_not_put_live(rounds: Rounds) -> None:
    """Bad corrections: greetings and thanks labelled as goodbyes. The new model learns them
    and reads held-out greetings and thanks as goodbyes too: its F1 drops, and it stays out."""
    hellos = ("hello", "hi", "hey", "good morning", "good afternoon", "good evening", "greetings")
    thanks = ("thanks", "thank you", "many thanks", "thanks a lot", "thank you so much", "cheers", "ta")
    to_whom = ("everyone", "to the whole team", "dear APT people", "friends at the APT", "from Lima", "all")
    for_what = (
        "for the reply",
        "for your answer",
        "for the details",
        "for replying",
        "for the help",
        "again",
    )
    bad = [(f"{a} {b}", "greet") for a in hellos for b in to_whom]
    bad += [(f"{a} {b}", "thank") for a in thanks for b in for_what]
    for number, (text, said) in enumerate(bad, start=100):
        add_correction(rounds.database_url, number, text, "goodbye", predicted=said)
    data_before = snapshot(rounds.project / "data")
    model_before = rounds.model.read_bytes()
    # Half the default tolerance: measured, these corrections cost 0.014 of English F1; the test
    # must not depend on the margin between that and the default 0.01 (the gate's own test above).
    result = run_retrain(
        rounds.project, rounds.database_url, "--no-reload", "--tolerance", str(STRICT_TOLERANCE)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-6000:]
    record = status.runs(rounds.project)[0]
    print("\nround:", json.dumps({k: record.get(k) for k in ("seconds", "before", "after", "reasons")}))
    assert record["outcome"] == "kept"
    before, after = record["before"]["held_out"], record["after"]["held_out"]
    # The gate compares with the live model and with the reference the chain of fine-tunings
    # started from (the previous round's model may already sit below it, within its tolerance).
    reference = record["before"].get("reference") or {}
    worse = [
        code
        for code in after
        if any(
            code in old and after[code]["f1"] < old[code]["f1"] - STRICT_TOLERANCE
            for old in (before, reference)
        )
    ]
    assert worse, (before, reference, after)
    assert {reason.split(":")[0] for reason in record["reasons"]} >= set(worse)
    assert rounds.model.read_bytes() == model_before
    assert snapshot(rounds.project / "data") == data_before
    assert len(corrections.pending(engine_for(rounds.database_url))) == len(bad)
    assert not (status.directory(rounds.project) / "candidate" / "candidate.tar.gz").exists()


def test_the_round_refuses_to_start_while_another_runs(rounds: Rounds) -> None:
    with status.lock(rounds.project):
        result = run_retrain(rounds.project, rounds.database_url, timeout=120)
    assert result.returncode == 3 and "a retrain is already running" in result.stdout


@pytest.mark.slow  # imports Rasa's validator
def test_an_example_the_validator_objects_to_stops_the_round_without_naming_its_text(tiny: Path) -> None:
    from training.corrections import Written
    from training.retrain import RoundFailed, validate

    (tiny / "config.yml").write_text("recipe: default.v1\nlanguage: en\npipeline: []\npolicies: []\n")
    text = "can you fund us"  # already an example of ask_funding: written as greet, Rasa objects
    (tiny / "data/nlu/chitchat.yml").write_text(
        corrections.insert_examples(TINY_FILES["data/nlu/chitchat.yml"], "greet", [text])
    )
    written = Written(correction(text, "greet", "en", 7), text, tiny / "data/nlu/chitchat.yml")
    with pytest.raises(RoundFailed) as failure:
        validate(tiny, [written])
    assert "correction #7: The example '…' was found labeled with multiple" in str(failure.value)
    assert text not in str(failure.value)
    (tiny / "data/nlu/chitchat.yml").write_text(TINY_FILES["data/nlu/chitchat.yml"])
    # Warnings not about a written example (here: intents no story uses) do not stop a round.
    others = validate(tiny, [written])
    assert others and all(warning.endswith("is not used in any story or rule.") for warning in others)
