"""The benchmark's pure parts: percentiles, ratios and targets, parsing of Rasa's reports,
the one-line NLU change and the Markdown report. No server is started, nothing is trained."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from apt_settings import ROOT
from benchmark import conversations, quality, report, tables, targets
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
    result["load"]["ratios"] = targets.level_ratios([level(8, 100, 40)], [level(8, 250, 15)])
    result["load"]["ours"]["memory_mib"]["rasa_processes_after_load"] = [760.5, 790.0]
    result["load"]["ours"]["startup_s"] = 9.5
    result["training"] = {
        "ours": {"full_s": 118.0},
        "retrain": {"retrain_s": 85.0, "live_model_scored_s": 30.0},
    }
    evaluated = {t["id"]: t for t in targets.evaluate(result)}
    assert set(evaluated) == {
        "throughput_ratio_8", "p95_ratio_8", "errors", "rasa_process_rss_mib", "rasa_process_ready_s",
        "full_training_s", "retrain_round_s", "intent_f1",
    }  # fmt: skip
    assert evaluated["p95_ratio_8"]["measured"] == 0.4 and evaluated["p95_ratio_8"]["met"] is True
    assert evaluated["p95_ratio_8"]["required"] == "<= 0.4"
    assert (
        evaluated["throughput_ratio_8"]["measured"] == 2.667
        and evaluated["throughput_ratio_8"]["met"] is True
    )
    assert evaluated["errors"]["measured"] == 0 and evaluated["errors"]["met"] is True
    assert evaluated["rasa_process_rss_mib"]["measured"] == 790.0, "the largest process"
    assert evaluated["rasa_process_ready_s"]["met"] is True and evaluated["full_training_s"]["met"] is True
    assert (
        evaluated["retrain_round_s"]["measured"] == 55.0
    ), "a round after the first: no scoring of the live model"
    assert all(t["met"] is True for t in evaluated.values())


def test_targets_missed_are_reported_as_missed() -> None:
    result = sample_result()
    result["load"]["ours"]["levels"][2]["errors"] = 3
    result["load"]["ratios"] = targets.level_ratios(
        [level(8, 200, 20)], [level(8, 250, 15)]
    )  # p95 ratio 0.8, throughput 1.333
    result["quality"]["test_set"]["overall"]["weighted"]["f1"] = 0.94
    result["load"]["ours"]["memory_mib"]["rasa_processes_after_load"] = [760.5, 805.0]
    result["training"] = {"ours": {"full_s": 210.0}, "retrain": {"seconds": {"total": 96.0}}}
    evaluated = {t["id"]: t for t in targets.evaluate(result)}
    assert evaluated["p95_ratio_8"]["met"] is False
    assert evaluated["throughput_ratio_8"]["met"] is False
    assert evaluated["errors"]["measured"] == 3 and evaluated["errors"]["met"] is False
    assert evaluated["intent_f1"]["met"] is False
    assert evaluated["rasa_process_rss_mib"]["met"] is False
    assert evaluated["rasa_process_ready_s"]["met"] is False  # the sample's 31.5 s
    assert evaluated["full_training_s"]["met"] is False
    assert evaluated["retrain_round_s"]["measured"] == 96.0 and evaluated["retrain_round_s"]["met"] is False


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
    config = yaml.safe_load((ROOT / "config.yml").read_text())
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

    nlu = nlu_file_of(CHANGED_INTENT, ROOT / "data" / "nlu").read_text()
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
    assert "| p95 latency, ours / baseline, at 8 conversations | ≤ 0.4 | 0.400 | **yes** |" in text
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
    assert tables.table(["a"], [["x | y"]])[2] == "| x \\| y |"


def test_tuning_file_is_a_list(tmp_path: Path) -> None:
    shipped = ROOT / "benchmark" / "tuning.yml"
    assert isinstance(report.load_tuning(shipped), list)
    broken = tmp_path / "tuning.yml"
    broken.write_text("change: not a list\n")
    with pytest.raises(ValueError):
        report.load_tuning(broken)
    assert report.load_tuning(tmp_path / "missing.yml") == []


# -- which steps a command runs ---------------------------------------------------------------


def test_default_runs_everything_and_quick_skips_the_slow_steps() -> None:
    from benchmark.__main__ import steps_for

    assert steps_for(None, quick=False) == [
        "load",
        "scale",
        "quality",
        "cross-validation",
        "blind",
        "training",
        "languages",
    ]
    assert steps_for(None, quick=True) == ["load", "quality", "blind"]
    assert steps_for(["scale"], quick=False) == ["scale"]
    assert steps_for(["quality"], quick=False) == ["quality", "cross-validation", "blind"]
    assert steps_for(["quality"], quick=True) == ["quality", "blind"]
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


# -- the stack's processes by role, with supervisord in between ----------------------------------


def test_roles_are_found_below_the_supervisor() -> None:
    from benchmark.servers import classify, main_processes

    table = {10: 1, 11: 10, 20: 11, 21: 11, 22: 11, 23: 11, 24: 11, 25: 11, 26: 25, 27: 11, 30: 20}
    commands = {
        10: ".venv/bin/python scripts/serve.py",
        11: ".venv/bin/python .venv/bin/supervisord -c var/run/5005/supervisord.conf",
        20: ".venv/bin/python scripts/rasa_server.py --model models/apt.tar.gz --port 20000",
        21: ".venv/bin/python scripts/rasa_server.py --model models/apt.tar.gz --port 20001",
        22: ".venv/bin/python scripts/action_server.py --port 5055",
        23: ".venv/bin/python -m waitress --port 8081 --call review:create_app",
        24: ".venv/bin/python -m waitress --port 8080 --call web:create_app",
        25: "nginx: master process /usr/sbin/nginx -p var/run/5005 -c var/run/5005/nginx.conf",
        26: "nginx: worker process",
        27: ".venv/bin/python .venv/bin/httpok -p rasa_0 -t 30 -c 200 http://127.0.0.1:20000/",
        30: "",  # a process a Rasa server started (no command line of its own)
    }
    roles = classify(10, table, commands)
    assert roles == {
        "supervision": [10, 11, 27],
        "rasa": [20, 21, 30],
        "actions": [22],
        "review": [23],
        "web": [24],
        "nginx": [25, 26],
    }
    mains = main_processes(roles, table)
    assert mains["rasa"] == [20, 21]  # one per replica, its own child not counted apart
    assert mains["nginx"] == [25]
    assert classify(5, {6: 5}, {5: ".venv/bin/rasa run --model m.tar.gz", 6: ""}) == {"rasa": [5, 6]}


# -- where a process's memory is --------------------------------------------------------------

SMAPS = """7f0000000000-7f0000100000 r-xp 00000000 08:01 123 /venv/tensorflow/libtensorflow_framework.so.2
Rss:                2048 kB
Pss:                1024 kB
Shared_Clean:       2048 kB
Private_Clean:         0 kB
7f0000200000-7f0000300000 r--p 00000000 08:01 124 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1024 kB
Pss:                 256 kB
Shared_Clean:       1024 kB
55d000000000-55d000400000 rw-p 00000000 00:00 0                          [heap]
Rss:                4096 kB
Pss:                4096 kB
Private_Dirty:      4096 kB
7f0000400000-7f0000500000 rw-p 00000000 00:00 0
Rss:                1024 kB
Pss:                1024 kB
Private_Dirty:      1024 kB
VmFlags: rd wr mr mw me ac sd
7f0000600000-7f0000700000 r--s 00000000 08:01 125 /var/lib/some.db
Rss:                 512 kB
Pss:                 512 kB
Private_Clean:       512 kB
"""


def test_smaps_is_split_into_regions() -> None:
    from benchmark.memory import parse_smaps, region_of

    regions = parse_smaps(SMAPS)
    assert regions["tensorflow libraries"] == {"rss": 2.0, "pss": 1.0, "shared": 2.0, "private": 0.0}
    assert regions["other shared libraries"] == {"rss": 1.0, "pss": 0.2, "shared": 1.0, "private": 0.0}
    assert regions["anonymous"] == {"rss": 5.0, "pss": 5.0, "shared": 0.0, "private": 5.0}
    assert regions["other mapped files"]["rss"] == 0.5
    assert region_of("/x/tensorflow/python/_pywrap_tensorflow_internal.so") == "tensorflow libraries"
    assert region_of("/x/tensorflow/core/kernels.json") == "other mapped files"
    assert region_of("[stack]") == "anonymous"


# -- the scale phase: arithmetic and report --------------------------------------------------


def replica(rss: float, uss: float, pss: float) -> Dict[str, Any]:
    return {"pid": 1, "rss": rss, "uss": uss, "pss": pss, "swap": 0.0}


def others(actions_uss: float = 100.0) -> Dict[str, Any]:
    return {
        "actions": {"processes": 1, "rss": 160.0, "uss": actions_uss, "pss": 110.0},
        "review": {"processes": 1, "rss": 70.0, "uss": 50.0, "pss": 52.0},
        "supervision": {"processes": 5, "rss": 200.0, "uss": 120.0, "pss": 130.0},
    }


def configuration(name: str, profile: str, replicas: int, throughput: float, p95: float) -> Dict[str, Any]:
    memory = {"replicas": [replica(1250.0, 950.0, 1100.0) for _ in range(replicas)], "others": others()}
    return {
        "name": name,
        "profile": profile,
        "replicas": replicas,
        "storage": "PostgreSQL, Redis locks" if profile == "scale" else "SQLite, lock files",
        "startup_s": 40.0 * replicas,
        "level": {
            **level(16, p95, throughput),
            "p50_ms": p95 / 2,
            "conversations": 128,
            "messages": 1024,
            "duration_s": 15.5,
            "max_ms": 900.0,
            "error_kinds": {},
        },
        "memory_mib": {"after_start": memory, "after_load": memory},
        "load_average_after": [1.5, 1.2, 1.0],
        "replica_regions_mib": {
            "tensorflow libraries": {"rss": 197.0, "pss": 100.0, "shared": 190.0, "private": 7.0},
            "other shared libraries": {"rss": 140.0, "pss": 60.0, "shared": 120.0, "private": 20.0},
            "other mapped files": {"rss": 0.0, "pss": 0.0, "shared": 0.0, "private": 0.0},
            "anonymous": {"rss": 900.0, "pss": 900.0, "shared": 0.0, "private": 900.0},
        },
    }


def sample_scale() -> Dict[str, Any]:
    from benchmark import scale

    configurations = [
        configuration("embedded, 2 processes", "embedded", 2, 70.0, 300.0),
        configuration("scale, 1 replica", "scale", 1, 40.0, 500.0),
        configuration("scale, 2 replicas", "scale", 2, 68.0, 320.0),
        configuration("scale, 4 replicas", "scale", 4, 66.0, 700.0),
    ]
    stages = [
        {"stage": "Python interpreter", "seconds": 0.0, "rss": 19.0, "uss": 10.0, "pss": 11.0},
        {"stage": "Rasa's server modules imported", "seconds": 6.0, "rss": 570.0, "uss": 310.0, "pss": 372.0,
         "tensorflow_libraries_rss": 159.0, "anonymous_rss": 286.0},
        {"stage": "model loaded", "seconds": 40.0, "rss": 1215.0, "uss": 959.0, "pss": 1083.0,
         "tensorflow_libraries_rss": 196.0, "anonymous_rss": 884.0},
    ]  # fmt: skip
    store = {"processes": 4, "overlapping_after_expiry": 0, "stalls": 0, "failures": []}
    return {
        "settings": {
            "replicas": [1, 2, 4],
            "concurrency": 16,
            "conversations": 128,
            "messages": 1024,
            "warmup_conversations": 8,
            "cores": 2,
        },
        "configurations": configurations,
        "memory_stages": {
            "stages": stages,
            "components": {"DIETClassifier": {"rss_added": 604.0, "seconds": 30.0, "nodes": 1}},
            "model_load_steps": {
                "fit": {"rss_added": 582.0, "seconds": 29.0, "calls": 1},
                "load_weights": {"rss_added": 10.0, "seconds": 0.1, "calls": 1},
            },
            "checkpoints": {"DIETClassifier.tf_model": {"weights_mib": 11.2, "optimizer_mib": 20.7}},
        },
        "model_on_disk": {"archive_mib": 29.3, "unpacked_mib": 32.3, "largest": []},
        "locks": {
            "settings": {"processes": 4, "iterations_per_process": 50, "hold_ms": 2.0,
                         "overhead_samples": 200},
            "stores": {
                "rasa-redis": {**store, "acquisitions": 187, "overlapping": 107, "errors": 13, "hung": 0,
                               "overhead": {"mean_ms": 1.02, "p95_ms": 1.3}},
                "atomic-redis": {**store, "acquisitions": 200, "overlapping": 0, "errors": 0, "hung": 0,
                                 "overhead": {"mean_ms": 0.5, "p95_ms": 0.7}},
                "file": {**store, "acquisitions": 200, "overlapping": 0, "errors": 0, "hung": 0,
                         "overhead": {"mean_ms": 0.02, "p95_ms": 0.03}},
            },
        },
        "sizing": {"from": "scale, 4 replicas",
                   **scale.sizing(configurations[-1]["memory_mib"]["after_load"])},
        "speedup": scale.speedup(configurations),
        "duration_s": 700.0,
    }  # fmt: skip


def test_sizing_splits_the_stack_into_replicas_and_a_fixed_part() -> None:
    from benchmark.scale import estimate, replica_figures, sizing

    memory = {
        "replicas": [replica(1250.0, 950.0, 1100.0), replica(1230.0, 930.0, 1080.0)],
        "others": others(),
    }
    assert replica_figures(memory) == {"rss": 1240.0, "uss": 940.0, "pss": 1090.0}
    split = sizing(memory)
    # own pages 950 + 930 + 100 + 50 + 120 = 2150, shared pages once: the largest RSS - USS, 300
    assert split["total_mib"] == 2450.0
    assert split["shared_once_mib"] == 300.0
    assert split["per_replica_mib"] == 940.0
    assert split["fixed_mib"] == 2450.0 - 2 * 940.0
    assert split["total_pss_mib"] == 1100.0 + 1080.0 + 110.0 + 52.0 + 130.0
    assert split["total_rss_mib"] == 1250.0 + 1230.0 + 160.0 + 70.0 + 200.0
    assert estimate(split, 4) == 570.0 + 4 * 940.0
    assert estimate({"fixed_mib": None, "per_replica_mib": 1.0}, 2) is None


def test_sizing_of_a_stack_without_replicas_has_no_per_replica_part() -> None:
    from benchmark.scale import replica_figures, sizing

    assert replica_figures({}) == {"rss": None, "uss": None, "pss": None}
    split = sizing({"replicas": [], "others": others()})
    assert split["per_replica_mib"] is None and split["fixed_mib"] is None
    assert split["total_mib"] == 270.0 + 80.0  # own pages, and the supervision's shared ones once


def test_speedup_is_relative_to_one_replica() -> None:
    from benchmark.scale import speedup

    configurations = sample_scale()["configurations"]
    assert speedup(configurations) == [
        {"replicas": 1, "ratio": 1.0},
        {"replicas": 2, "ratio": 1.7},
        {"replicas": 4, "ratio": 1.65},
    ]
    assert speedup(configurations[2:]) == []  # no single replica measured


def test_markdown_has_the_scale_section() -> None:
    result = sample_result()
    result["scale"] = sample_scale()
    text = render(result)
    assert "## Scale" in text
    section = text[text.index("## Scale") : text.index("## NLU quality")]
    assert "with 1, 2 and 4 replicas" in section
    assert "load average (1 min) after each: embedded, 2 processes: 1.50; scale, 1 replica: 1.50" in section
    assert text.index("## Start-up") < text.index("## Scale") < text.index("## NLU quality")
    # per replica: RSS 1250, USS 950, PSS 1100; whole stack: 4 x 950 + 270 own pages + 300 shared once
    assert (
        "| scale, 4 replicas | PostgreSQL, Redis locks | 160.0 | 15.5 | 66.0 | 350 | 700 | 840 | 0 |"
        in section
    )
    assert "| 1250 | 950 | 1100 | 4370 |" in section
    assert "| embedded, 2 processes | SQLite, lock files |" in section
    assert "**What 2 cores allow.**" in section
    assert "1: 40.0 msg/s (×1.00), p95 500 ms; 2: 68.0 msg/s (×1.70)" in section
    assert "replicas beyond 2 cannot add throughput" in section
    assert "Here 4 replicas against 2: ×0.97 the throughput for 1900 MiB more." in section
    # sizing: fixed part 4370 - 4 x 950 = 570; estimate for 8 replicas 570 + 8 x 950 = 8170
    assert "**950 MiB**; the rest, **570 MiB**" in section
    assert "| 8 | 8170 | – |" in section
    assert "| 1 | 1520 | 1520 |" in section
    assert "| Rasa replicas | 4 | 5000 | 3800 | 4400 |" in section
    assert "| action server | 1 | 160 | 100 | 110 |" in section
    # what a process holds
    assert "| model loaded | 40.0 | 1215 | 959 | 1083 | 196 | 884 |" in section
    assert "**Loading the model** adds 645 MiB" in section
    assert "11.2 MiB are DIET's weights and 20.7 MiB the optimizer's state" in section
    assert "582 MiB and 29.0 s of each replica's start" in section
    assert "| anonymous | 900 | 900 | 0 | 900 |" in section
    # locks: per message, against the median at one visitor (25 ms in the sample's load section)
    assert "| atomic-redis | 0.50 | 0.70 | 200 | 0 | 0 | 0 |" in section
    assert "costs 0.50 ms" in section and "against 0.02 ms for the lock files: +0.48 ms, 2 % of" in section
    assert "107 times in 187 acquisitions" in section


def test_scale_section_without_load_figures_or_lock_figures() -> None:
    result = sample_result()
    del result["load"]
    result["scale"] = sample_scale()
    del result["scale"]["locks"]
    result["scale"]["configurations"][3]["level"].update(
        errors=3, error_kinds={"timeout": 3}, failed_messages={"bye": 3}, conversations=100, max_ms=60012.0
    )
    text = render(result)
    assert "## Scale" in text and "### Lock stores" not in text
    assert '- scale, 4 replicas: timeout ×3 ("bye" ×3); the slowest answer took 60012 ms' in text
    assert "- scale, 4 replicas: time limit reached after 100 conversations" in text
    assert "## Scale" not in render(sample_result())


def test_a_scale_run_replaces_only_the_scale_section() -> None:
    from benchmark import merge

    previous = sample_result()
    previous["scale"] = sample_scale()
    previous["problems"] = ["scale: scale, 4 replicas: did not start", "load: something"]
    fresh_scale = sample_scale()
    fresh_scale["configurations"] = fresh_scale["configurations"][:2]
    fresh = {
        "command": ".venv/bin/python -m benchmark --only scale",
        "generated": "2024-01-02 09:00 UTC",
        "settings": {"phases": ["scale"], "levels": [1]},
        "scale": fresh_scale,
        "problems": [],
    }
    merged = merge.merge(previous, fresh, ["scale"])
    assert len(merged["scale"]["configurations"]) == 2
    assert merged["load"] == previous["load"] and merged["quality"] == previous["quality"]
    assert merged["settings"] == previous["settings"]  # the load phase's settings stay
    assert merged["problems"] == ["load: something"]
    assert "scale" in merge.measured_steps(merged)


def test_the_rate_limit_reply_counts_as_an_error() -> None:
    from benchmark.load import RATE_LIMITED, reply_error

    assert RATE_LIMITED.startswith("You are sending messages faster")
    assert reply_error([{"text": "You are sending messages faster than I can answer.\nPlease wait"}]) == (
        "rate limited"
    )
    assert reply_error([{"text": "hello"}, {"image": "x.png"}]) is None
    assert reply_error([]) == "empty reply"
    assert reply_error({"text": "hi"}) == "empty reply"


def test_a_command_is_timed_when_its_exit_status_is_one_that_counts_as_done(tmp_path: Path) -> None:
    """A retraining round whose model the gate keeps out (exit status 4) is still a round, and
    its time a measurement; any other status is a failure."""
    import sys

    from benchmark.processes import CommandFailed, run_timed

    kept = [sys.executable, "-c", "import sys; sys.exit(4)"]
    assert run_timed(kept, tmp_path, tmp_path / "kept.log", succeeded=(0, 4)) >= 0
    with pytest.raises(CommandFailed, match="exited with 4"):
        run_timed(kept, tmp_path, tmp_path / "kept.log")
