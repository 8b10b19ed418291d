"""The training data and the trained model, checked with Rasa's own tools:
`rasa data validate`, `rasa test core` on tests/test_stories.yml and Rasa's NLU evaluation (that
of `rasa test nlu`, through training/evaluate.py) on the held-out sets, one per language
(tests/test_nlu.yml, tests/test_nlu_fr.yml, tests/test_nlu_es.yml), each written apart from the
training data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from apt_settings import ROOT
from tests.support.commands import BIN, RESULTS, run

# The suite fails when the held-out NLU test set scores below this (weighted intent F1).
NLU_F1_THRESHOLD = 0.95


# The training data: one file per topic, all of them read (Rasa reads data/ recursively);
# English in data/nlu/, French and Spanish in data/nlu/fr/ and data/nlu/es/.
TRAINING_NLU = ROOT / "data" / "nlu"
HELD_OUT = {
    "en": ROOT / "tests" / "test_nlu.yml",
    "fr": ROOT / "tests" / "test_nlu_fr.yml",
    "es": ROOT / "tests" / "test_nlu_es.yml",
}
# Examples per intent, at least: (training, held-out) for English, and for each other language.
MINIMUM_EXAMPLES = {"en": (20, 10), "fr": (15, 8), "es": (15, 8)}


def training_files(language: str) -> Path:
    return TRAINING_NLU if language == "en" else TRAINING_NLU / language


def examples(path: Path, recursive: bool = True) -> Dict[str, Set[str]]:
    """intent -> examples, with entity markup removed and case and spacing normalised; `path`
    is one NLU file or a folder of them (with its sub-folders unless ``recursive`` is off)."""
    pattern = "**/*" if recursive else "*"
    files = (
        sorted(f for f in path.glob(pattern) if f.suffix in (".yml", ".yaml")) if path.is_dir() else [path]
    )
    found: Dict[str, Set[str]] = {}
    for block in (b for f in files for b in yaml.safe_load(f.read_text(encoding="utf-8")).get("nlu") or []):
        if "intent" not in block:
            continue
        lines = [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
        plain = {
            re.sub(r"\s+", " ", re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line)).strip().lower()
            for line in lines
        }
        found.setdefault(block["intent"], set()).update(plain)
    return found


def listed_examples(path: Path) -> int:
    """How many examples an NLU file lists, duplicates included."""
    blocks = yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []
    return sum(
        1
        for block in blocks
        if "intent" in block
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    )


def responses_sent_outside_stories() -> Set[str]:
    """Form questions (utter_ask_<slot>), responses that actions send by name and those the
    channels send at the edge: Rasa's validator cannot see these being used and reports them
    as unused."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    asked = {f"utter_ask_{slot}" for form in domain["forms"].values() for slot in form["required_slots"]}
    code = "".join(
        path.read_text() for folder in ("actions", "server") for path in (ROOT / folder).rglob("*.py")
    )
    return asked | set(re.findall(r'(?:response=|edge_reply\(|_RESPONSE = )"(utter_\w+)"', code))


@pytest.mark.slow  # runs `rasa data validate`
def test_training_data_and_domain_validate_without_warnings() -> None:
    result = run([str(BIN / "rasa"), "data", "validate", "--fail-on-warnings"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    allowed = {
        f"The utterance '{name}' is not used in any story or rule."
        for name in responses_sent_outside_stories()
    }
    assert [w for w in warnings if w.strip() not in allowed] == [], output[-4000:]


def test_nlu_test_sets_are_not_copied_from_training_data() -> None:
    training = set().union(*examples(TRAINING_NLU).values())
    for path in HELD_OUT.values():
        tests = set().union(*examples(path).values())
        assert not training & tests, (path.name, sorted(training & tests))


@pytest.mark.parametrize("language", list(HELD_OUT))
def test_every_intent_has_training_and_test_examples_in_each_language(language: str) -> None:
    domain_intents = set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])
    training = examples(training_files(language), recursive=language != "en")
    tests = examples(HELD_OUT[language])
    fewest_training, fewest_tests = MINIMUM_EXAMPLES[language]
    assert set(training) == domain_intents, sorted(domain_intents ^ set(training))
    assert set(tests) == domain_intents, sorted(domain_intents ^ set(tests))
    assert all(len(training[i]) >= fewest_training for i in domain_intents), {
        i: len(training[i]) for i in domain_intents
    }
    assert all(len(tests[i]) >= fewest_tests for i in domain_intents), {
        i: len(tests[i]) for i in domain_intents
    }


# Rasa's command line through the server's entry point, with its patches: DIET loaded for
# prediction only, as the Rasa servers load it (server/patches/fast_model_load.py).
RASA_LOADING_AS_THE_SERVERS_DO = [str(BIN / "python"), "scripts/rasa_server.py"]


def test_test_stories_predict_every_action(trained_model: Path) -> None:
    out = RESULTS / "core"
    result = run(
        [
            *RASA_LOADING_AS_THE_SERVERS_DO,
            "test",
            "core",
            "--model",
            str(trained_model),
            "--stories",
            "tests/test_stories.yml",
            "--out",
            str(out),
            "--fail-on-prediction-errors",
            "--no-plot",
        ]
    )
    failed = (
        (out / "failed_test_stories.yml").read_text() if (out / "failed_test_stories.yml").exists() else ""
    )
    assert result.returncode == 0, failed or (result.stdout[-3000:] + result.stderr[-3000:])
    assert "None of the test stories failed" in failed


@pytest.fixture(scope="module")
def held_out_scores(trained_model: Path) -> Dict[str, Dict[str, Any]]:
    """Each language's held-out scores, as ``rasa test nlu`` computes them (Rasa's own
    evaluation functions, training/evaluate.py), from one load of the model in a process of
    its own: three ``rasa test nlu`` runs loaded it three times, Rasa's slow way."""
    result = run([str(BIN / "python"), "-m", "training.evaluate", "--model", str(trained_model), "--json"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    scores: Dict[str, Dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu-held-out.json").write_text(json.dumps(scores, ensure_ascii=False, indent=1))
    return scores


@pytest.mark.parametrize("language", list(HELD_OUT))
def test_held_out_nlu_test_set_of_each_language_reaches_the_threshold(
    held_out_scores: Dict[str, Dict[str, Any]], language: str
) -> None:
    scores = held_out_scores[language]
    f1, accuracy = scores["f1"], scores["accuracy"]
    print(f"\nNLU test set ({language}): intent F1 (weighted) {f1:.3f}, accuracy {accuracy:.3f}")
    assert scores["examples"] == listed_examples(HELD_OUT[language])  # every one was scored
    summary = [f"{m['text']!r}: {m['intent']} -> {m['predicted']}" for m in scores["misses"]]
    assert f1 >= NLU_F1_THRESHOLD, f"intent F1 {f1:.3f} < {NLU_F1_THRESHOLD}:\n" + "\n".join(summary)
