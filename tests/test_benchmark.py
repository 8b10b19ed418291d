"""The benchmark's pure parts: percentiles, ratios and targets, parsing of Rasa's reports,
the one-line NLU change and the Markdown report. No server is started, nothing is trained."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from benchmark import conversations, quality, report, targets
from benchmark.load import Sample, percentile, summarise
from benchmark.memory import parent_of
from benchmark.training import append_nlu_example

# -- percentiles and level summaries ----------------------------------------------------------


def test_percentile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([7.0], 99) == 7.0


def test_percentile_does_not_depend_on_order() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0


@pytest.mark.parametrize("bad", [-1, 101])
def test_percentile_rejects_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], bad)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_counts_errors_and_throughput() -> None:
    samples = [
        Sample("hi", 0.1),
        Sample("hi", 0.3),
        Sample("bye", 0.2, "timeout"),
        Sample("bye", 0.4, "HTTP 500"),
    ]
    level = summarise(concurrency=2, conversations=2, samples=samples, duration=2.0)
    assert level.messages == 4
    assert level.errors == 2
    assert level.error_kinds == {"timeout": 1, "HTTP 500": 1}
    assert level.throughput_msg_s == 2.0
    assert level.p50_ms == 250.0
    assert level.max_ms == 400.0
    assert level.per_message_p50_ms == {"bye": 300.0, "hi": 200.0}
    assert level.failed_messages == {"bye": 2}


def test_scripts_have_the_same_length_for_both_stacks() -> None:
    both = [*conversations.OURS, *conversations.BASELINE]
    assert conversations.messages_per_conversation(both) == len(conversations.OURS[0])
    with pytest.raises(ValueError):
        conversations.messages_per_conversation([["a"], ["a", "b"]])


def test_our_scripts_never_say_yes_after_the_funding_question() -> None:
    for script in conversations.OURS:
        for question, following in zip(script, script[1:], strict=False):
            if "funding" in question:
                assert following.lower() not in {"yes", "yes please", "ok", "sure"}


# -- ratios and targets -----------------------------------------------------------------------


def level(concurrency: int, p95: float, throughput: float, errors: int = 0) -> Dict[str, Any]:
    return {
        "concurrency": concurrency,
        "p50_ms": p95 / 2,
        "p95_ms": float(p95),
        "p99_ms": p95 * 1.2,
        "throughput_msg_s": float(throughput),
        "errors": errors,
    }


def sample_result() -> Dict[str, Any]:
    ours = [level(1, 50, 20), level(8, 100, 40), level(32, 300, 42)]
    baseline = [level(1, 100, 10), level(8, 250, 15), level(32, 900, 16)]
    return {
        "generated": "2024-01-01 12:00 UTC",
        "command": ".venv/bin/python -m benchmark --quick",
        "duration_s": 321.0,
        "machine": {
            "cpu_model": "Test CPU",
            "cores": 2,
            "ram_gib": 8.0,
            "python": "3.10.0",
            "rasa": "3.6.21",
        },
        "settings": {
            "phases": ["load", "quality"],
            "levels": [1, 8, 32],
            "conversations_per_level": 64,
            "messages_per_conversation": 8,
            "messages_per_level": 512,
            "warmup_conversations": 8,
            "timeout_s": 60.0,
        },
        "load": {
            "ours": {
                "launcher": "scripts/serve.py",
                "probe": "do you work in Viet Nam?",
                "startup_s": 31.5,
                "levels": [{**lvl, "mean_ms": 1.0, "max_ms": 2.0, "messages": 512} for lvl in ours],
                "memory_mib": {
                    "after_warmup": {"rasa": 700.0, "actions": 150.0},
                    "after_load": {"rasa": 720.5, "actions": 151.0},
                },
            },
            "baseline": {
                "launcher": "rasa run",
                "probe": "hi",
                "startup_s": 20.0,
                "levels": [{**lvl, "mean_ms": 1.0, "max_ms": 2.0, "messages": 512} for lvl in baseline],
                "memory_mib": {"after_warmup": {"rasa": 900.0}, "after_load": {"rasa": 950.0}},
            },
            "ratios": targets.level_ratios(ours, baseline),
        },
        "quality": {
            "test_set": {
                "test_file": "tests/test_nlu.yml",
                "overall": {
                    "weighted": {"precision": 0.97, "recall": 0.96, "f1": 0.965, "support": 455},
                    "macro": {"precision": 0.96, "recall": 0.95, "f1": 0.955, "support": 455},
                    "accuracy": 0.96,
                },
                "per_intent": {"greet": {"precision": 1.0, "recall": 0.9, "f1": 0.947, "support": 10}},
                "top_confusions": [{"intent": "thank", "predicted": "goodbye", "count": 2}],
                "errors": 5,
                "out_of_scope": {
                    "examples": 14,
                    "as_out_of_scope": 12,
                    "as_fallback": 1,
                    "handled_rate": 13 / 14,
                    "answered_as": {"greet": 1},
                    "threshold": 0.6,
                },
                "pictures": ["intent_confusion_matrix.png"],
            },
            "cross_validation": {
                "folds": 5,
                "per_fold_mean_std": {"test": {"F1-score": {"mean": 0.951, "std": 0.01}}},
                "pooled": {"weighted": {"f1": 0.95}, "macro": {"f1": 0.94}, "accuracy": 0.952},
            },
        },
        "tuning": [{"change": "epochs 100 -> 50", "before": "300 s", "after": "150 s", "note": "same F1"}],
        "problems": [],
    }


def test_ratios_divide_ours_by_the_baseline_per_level() -> None:
    rows = targets.level_ratios([level(8, 100, 40)], [level(8, 250, 15), level(32, 1, 1)])
    assert rows == [
        {"concurrency": 8, "p50_ratio": 0.4, "p95_ratio": 0.4, "p99_ratio": 0.4, "throughput_ratio": 2.667}
    ]


def test_ratio_of_missing_or_zero_baseline_is_none() -> None:
    assert targets.ratio(1.0, 0.0) is None
    assert targets.ratio(None, 2.0) is None


def test_targets_met_on_the_sample() -> None:
    result = sample_result()
    evaluated = {t["id"]: t for t in targets.evaluate(result)}
    assert evaluated["p95_ratio"]["measured"] == 0.4 and evaluated["p95_ratio"]["met"] is True
    assert evaluated["throughput_ratio"]["measured"] == 2.667 and evaluated["throughput_ratio"]["met"] is True
    assert evaluated["errors"]["measured"] == 0 and evaluated["errors"]["met"] is True
    assert evaluated["intent_f1"]["met"] is True


def test_targets_missed_are_reported_as_missed() -> None:
    result = sample_result()
    result["load"]["ours"]["levels"][2]["errors"] = 3
    result["load"]["ratios"] = targets.level_ratios(
        [level(8, 200, 20)], [level(8, 250, 15)]
    )  # p95 ratio 0.8, throughput 1.333
    result["quality"]["test_set"]["overall"]["weighted"]["f1"] = 0.94
    evaluated = {t["id"]: t for t in targets.evaluate(result)}
    assert evaluated["p95_ratio"]["met"] is False
    assert evaluated["throughput_ratio"]["met"] is False
    assert evaluated["errors"]["measured"] == 3 and evaluated["errors"]["met"] is False
    assert evaluated["intent_f1"]["met"] is False


def test_targets_not_measured_are_neither_met_nor_missed() -> None:
    evaluated = targets.evaluate({"problems": []})
    assert all(t["measured"] is None and t["met"] is None for t in evaluated)


def test_boundaries_count_as_met() -> None:
    assert targets.met(0.5, "<=", 0.5) is True
    assert targets.met(2.0, ">=", 2.0) is True
    assert targets.met(0.501, "<=", 0.5) is False
    with pytest.raises(ValueError):
        targets.met(1, "<", 2)


# -- Rasa's reports ---------------------------------------------------------------------------

INTENT_REPORT = {
    "greet": {
        "precision": 1.0,
        "recall": 0.9,
        "f1-score": 0.9473684,
        "support": 10,
        "confused_with": {"thank": 1},
    },
    "thank": {"precision": 0.9, "recall": 1.0, "f1-score": 0.9473684, "support": 9, "confused_with": {}},
    "out_of_scope": {
        "precision": 1.0,
        "recall": 0.75,
        "f1-score": 0.857,
        "support": 4,
        "confused_with": {"greet": 1},
    },
    "accuracy": 0.913,
    "macro avg": {"precision": 0.96, "recall": 0.88, "f1-score": 0.917, "support": 23},
    "weighted avg": {"precision": 0.96, "recall": 0.91, "f1-score": 0.93, "support": 23},
}


def test_intent_report_is_split_into_intents_and_overall() -> None:
    parsed = quality.parse_intent_report(INTENT_REPORT)
    assert set(parsed["per_intent"]) == {"greet", "thank", "out_of_scope"}
    assert parsed["per_intent"]["greet"] == {"precision": 1.0, "recall": 0.9, "f1": 0.9474, "support": 10}
    assert parsed["overall"]["weighted"]["f1"] == 0.93
    assert parsed["overall"]["macro"]["f1"] == 0.917
    assert parsed["overall"]["accuracy"] == 0.913


def test_accuracy_falls_back_to_micro_average() -> None:
    report_without_accuracy = {k: v for k, v in INTENT_REPORT.items() if k != "accuracy"}
    report_without_accuracy["micro avg"] = {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 23}
    assert quality.parse_intent_report(report_without_accuracy)["overall"]["accuracy"] == 0.9


ERRORS = [
    {"text": "hey thanks", "intent": "greet", "intent_prediction": {"name": "thank", "confidence": 0.7}},
    {"text": "hello thx", "intent": "greet", "intent_prediction": {"name": "thank", "confidence": 0.8}},
    {"text": "weather?", "intent": "out_of_scope", "intent_prediction": {"name": "greet", "confidence": 0.9}},
    {"text": "🍕", "intent": "out_of_scope", "intent_prediction": {"name": "thank", "confidence": 0.4}},
]
SUCCESSES = [
    {
        "text": "book a flight",
        "intent": "out_of_scope",
        "intent_prediction": {"name": "out_of_scope", "confidence": 1},
    },
    {"text": "hi", "intent": "greet", "intent_prediction": {"name": "greet", "confidence": 0.99}},
]


def test_confusion_pairs_are_ranked_by_count() -> None:
    pairs = quality.confusion_pairs(ERRORS)
    assert pairs[0] == {"intent": "greet", "predicted": "thank", "count": 2}
    assert len(pairs) == 3
    assert quality.confusion_pairs(ERRORS, top=1) == pairs[:1]


def test_confusion_pairs_from_the_report_when_no_errors_file() -> None:
    pairs = quality.confusion_pairs([], INTENT_REPORT)
    assert {"intent": "greet", "predicted": "thank", "count": 1} in pairs
    assert {"intent": "out_of_scope", "predicted": "greet", "count": 1} in pairs


def test_out_of_scope_outcome_counts_fallbacks_below_the_threshold() -> None:
    outcome = quality.out_of_scope_outcome([*SUCCESSES, *ERRORS], threshold=0.6)
    assert outcome["examples"] == 3
    assert outcome["as_out_of_scope"] == 1
    assert outcome["as_fallback"] == 1  # the pizza emoji at 0.4
    assert outcome["answered_as"] == {"greet": 1}
    assert outcome["handled_rate"] == pytest.approx(2 / 3, abs=1e-4)


def test_out_of_scope_outcome_without_fallback_classifier() -> None:
    outcome = quality.out_of_scope_outcome(ERRORS, threshold=None)
    assert outcome["as_fallback"] == 0
    assert outcome["answered_as"] == {"greet": 1, "thank": 1}


def test_fallback_threshold_is_read_from_the_project_config() -> None:
    config = yaml.safe_load((Path(__file__).resolve().parent.parent / "config.yml").read_text())
    threshold = quality.fallback_threshold(config)
    assert threshold is not None and 0 < threshold < 1
    assert quality.fallback_threshold({"pipeline": [{"name": "DIETClassifier"}]}) is None


CV_LOG = """
2024-01-01 12:00:00 INFO     rasa.model_testing  - CV evaluation (n=5)
2024-01-01 12:00:00 INFO     rasa.model_testing  - Intent evaluation results
2024-01-01 12:00:00 INFO     rasa.nlu.test  - train Accuracy: 1.000 (0.000)
2024-01-01 12:00:00 INFO     rasa.nlu.test  - train F1-score: 0.999 (0.001)
2024-01-01 12:00:00 INFO     rasa.nlu.test  - test Accuracy: 0.956 (0.004)
2024-01-01 12:00:00 INFO     rasa.nlu.test  - test F1-score: 0.950 (0.005)
2024-01-01 12:00:00 INFO     rasa.nlu.test  - test Precision: 0.951 (0.006)
2024-01-01 12:00:00 INFO     rasa.model_testing  - Entity evaluation results
2024-01-01 12:00:00 INFO     rasa.nlu.test  - test F1-score: 0.500 (0.100)
"""


def test_cross_validation_log_gives_mean_and_std_of_intents_only() -> None:
    figures = quality.parse_cv_log(CV_LOG)
    assert figures["test"]["F1-score"] == {"mean": 0.95, "std": 0.005}
    assert figures["test"]["Accuracy"] == {"mean": 0.956, "std": 0.004}
    assert figures["train"]["F1-score"]["mean"] == 0.999
    assert quality.parse_cv_log("nothing here") == {}


# -- the one-line NLU change ------------------------------------------------------------------

NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi
- intent: goodbye
  examples: |
    - bye
"""


def test_one_example_is_added_to_the_chosen_intent_only() -> None:
    changed = append_nlu_example(NLU, "goodbye", "see you later")
    data = yaml.safe_load(changed)
    by_intent = {entry["intent"]: entry["examples"].split("\n") for entry in data["nlu"]}
    assert "- see you later" in by_intent["goodbye"]
    assert "- see you later" not in by_intent["greet"]
    assert len(changed.splitlines()) == len(NLU.splitlines()) + 1


def test_unknown_intent_is_an_error() -> None:
    with pytest.raises(ValueError):
        append_nlu_example(NLU, "ask_weather", "is it sunny")


def test_the_changed_intent_exists_in_the_project_data() -> None:
    from benchmark.training import ADDED_EXAMPLE, CHANGED_INTENT, nlu_file_of

    nlu = nlu_file_of(CHANGED_INTENT, Path(__file__).resolve().parent.parent / "data" / "nlu").read_text()
    assert ADDED_EXAMPLE in append_nlu_example(nlu, CHANGED_INTENT, ADDED_EXAMPLE)


# -- /proc parsing ----------------------------------------------------------------------------


def test_parent_pid_is_read_after_the_command_name() -> None:
    assert parent_of("1234 (python (x) y) S 99 1234 1234 0 -1") == 99


# -- the Markdown report ----------------------------------------------------------------------


def render(result: Dict[str, Any]) -> str:
    result = copy.deepcopy(result)
    result["targets"] = targets.evaluate(result)
    return report.render_markdown(result)


def test_markdown_has_every_section_and_the_figures() -> None:
    text = render(sample_result())
    for heading in (
        "## Targets",
        "## Machine and settings",
        "## Latency and throughput",
        "## Memory",
        "## Start-up",
        "## NLU quality",
        "### Most frequent confusions",
        "### Out-of-scope examples",
        "### 5-fold cross-validation",
        "## What bought what",
    ):
        assert heading in text, heading
    assert "| p95 latency, ours / baseline, at 8 conversations | ≤ 0.5 | 0.400 | **yes** |" in text
    assert "| ours | 8 | 512 | 50 | 100 | 120 | 1 | 2 | 40.00 | 0 |" in text
    assert "| ours | **total** | 850.0 | 871.5 |" in text
    assert "| epochs 100 -> 50 | 300 s | 150 s | same F1 |" in text
    assert "![intent_confusion_matrix.png](intent_confusion_matrix.png)" in text
    assert "92.9 %" in text
    assert "`.venv/bin/python -m benchmark --quick`" in text


def test_markdown_shows_a_missed_target_and_problems() -> None:
    result = sample_result()
    result["quality"]["test_set"]["overall"]["weighted"]["f1"] = 0.9
    result["problems"] = ["training: rasa train exited with 1"]
    text = render(result)
    assert "| weighted intent F1 on the held-out test set | ≥ 0.95 | 0.900 | **NO** |" in text
    assert "## Problems" in text and "rasa train exited with 1" in text


def test_markdown_names_the_failed_messages() -> None:
    result = sample_result()
    failed = result["load"]["ours"]["levels"][1]
    failed.update(errors=2, error_kinds={"timeout": 2}, failed_messages={"and Uganda?": 2})
    text = render(result)
    assert '- ours at 8: timeout ×2; messages: "and Uganda?" ×2' in text
    assert "| errors in our answers, all load levels | = 0 | 2 | **NO** |" in text


def test_markdown_of_a_partial_run_leaves_out_what_was_not_measured() -> None:
    result = sample_result()
    del result["load"], result["quality"]
    result["tuning"] = []
    text = render(result)
    assert "## Latency and throughput" not in text
    assert "## NLU quality" not in text
    assert "not measured" in text
    assert "No entries yet." in text


def test_markdown_escapes_pipes_in_cells() -> None:
    assert report.table(["a"], [["x | y"]])[2] == "| x \\| y |"


def test_tuning_file_is_a_list(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parent.parent / "benchmark" / "tuning.yml"
    assert isinstance(report.load_tuning(shipped), list)
    broken = tmp_path / "tuning.yml"
    broken.write_text("change: not a list\n")
    with pytest.raises(ValueError):
        report.load_tuning(broken)
    assert report.load_tuning(tmp_path / "missing.yml") == []


# -- which steps a command runs ---------------------------------------------------------------


def test_default_runs_everything_and_quick_skips_the_slow_steps() -> None:
    from benchmark.__main__ import steps_for

    assert steps_for(None, quick=False) == ["load", "quality", "cross-validation", "training"]
    assert steps_for(None, quick=True) == ["load", "quality"]
    assert steps_for(["quality"], quick=False) == ["quality", "cross-validation"]
    assert steps_for(["quality"], quick=True) == ["quality"]
    assert steps_for(["training", "load"], quick=False) == ["load", "training"]


# -- partial runs update the report -----------------------------------------------------------


def test_a_partial_run_replaces_only_its_sections() -> None:
    from benchmark import merge

    previous = sample_result()
    previous["settings"]["phases"] = ["load", "quality", "cross-validation", "training"]
    previous["problems"] = ["interrupted before the end; not measured: training", "load: something"]
    fresh = {
        "command": ".venv/bin/python -m benchmark --only training",
        "generated": "2024-01-02 09:00 UTC",
        "machine": {"cores": 2},
        "tuning": [],
        "settings": {"phases": ["training"]},
        "training": {"ours": {"full_s": 300.0, "after_one_nlu_line_s": 200.0}, "baseline": {"full_s": 90.0}},
        "problems": [],
    }
    merged = merge.merge(previous, fresh, ["training"])
    assert merged["training"]["ours"]["full_s"] == 300.0
    assert merged["load"] == previous["load"] and merged["quality"] == previous["quality"]
    assert merged["problems"] == ["load: something"]  # the interruption is made good
    assert [run["steps"] for run in merged["runs"]] == [["load", "quality", "cross-validation"], ["training"]]
    assert merged["settings"] == previous["settings"]
    text = render(merged)
    assert "This report combines runs" in text and "`.venv/bin/python -m benchmark --only training`" in text
    assert "| ours, full training (`rasa train --force`) | 300.0 |" in text


def test_an_interruption_note_stays_while_steps_are_missing() -> None:
    from benchmark import merge

    previous = sample_result()
    del previous["quality"]["cross_validation"]
    previous["settings"]["phases"] = ["load", "quality", "cross-validation", "training"]
    previous["problems"] = ["interrupted before the end; not measured: cross-validation, training"]
    fresh = {"command": "x", "generated": "y", "training": {"ours": {"full_s": 1.0}}, "problems": []}
    merged = merge.merge(previous, fresh, ["training"])
    assert merged["problems"] == previous["problems"]
