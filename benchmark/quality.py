"""NLU quality from Rasa's own evaluation: `rasa test nlu` of the trained model on the
held-out test set, and cross-validation on the training data.

The parsing functions are pure (they take what Rasa wrote) so that they are unit-tested.
Rasa's evaluation undoes the FallbackClassifier's verdict to show the underlying intent and
its confidence; whether the assistant fell back is therefore worked out here from the
confidence and the threshold in config.yml.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from benchmark import ROOT
from benchmark.processes import BIN, run_timed
from benchmark.progress import say

SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"


def _metrics(entry: Dict[str, Any]) -> Dict[str, float]:
    return {
        "precision": round(float(entry["precision"]), 4),
        "recall": round(float(entry["recall"]), 4),
        "f1": round(float(entry["f1-score"]), 4),
        "support": int(entry["support"]),
    }


def parse_intent_report(report: Dict[str, Any]) -> Dict[str, Any]:
    """Per-intent and overall figures from Rasa's intent_report.json."""
    per_intent = {
        name: _metrics(entry)
        for name, entry in sorted(report.items())
        if name not in SUMMARY_KEYS and isinstance(entry, dict) and "f1-score" in entry
    }
    overall: Dict[str, Any] = {}
    for key, label in (("weighted avg", "weighted"), ("macro avg", "macro"), ("micro avg", "micro")):
        if isinstance(report.get(key), dict):
            overall[label] = _metrics(report[key])
    accuracy = report.get("accuracy")
    if accuracy is None and "micro" in overall:  # sklearn reports micro avg instead when labels are partial
        accuracy = overall["micro"]["f1"]
    overall["accuracy"] = None if accuracy is None else round(float(accuracy), 4)
    return {"per_intent": per_intent, "overall": overall}


def confusion_pairs(
    errors: List[Dict[str, Any]], report: Optional[Dict[str, Any]] = None, top: int = 10
) -> List[Dict[str, Any]]:
    """The most frequent (true intent, predicted intent) mistakes, from intent_errors.json,
    or from the report's confused_with when the errors file is missing."""
    counts: Counter = Counter()
    if errors:
        for error in errors:
            predicted = (error.get("intent_prediction") or {}).get("name")
            counts[(error.get("intent"), predicted)] += 1
    elif report:
        for name, entry in report.items():
            if isinstance(entry, dict):
                for predicted, count in (entry.get("confused_with") or {}).items():
                    counts[(name, predicted)] += int(count)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return [{"intent": i, "predicted": p, "count": c} for (i, p), c in ranked[:top]]


def out_of_scope_outcome(
    predictions: List[Dict[str, Any]], threshold: Optional[float], label: str = OUT_OF_SCOPE
) -> Dict[str, Any]:
    """How the out-of-scope test examples ended: recognised as out of scope, falling back
    (confidence below the FallbackClassifier threshold), or answered as something else."""
    examples = [p for p in predictions if p.get("intent") == label]
    outcome: Counter = Counter()
    wrongly: Counter = Counter()
    for example in examples:
        prediction = example.get("intent_prediction") or {}
        name, confidence = prediction.get("name"), prediction.get("confidence")
        if name == label:
            outcome[label] += 1
        elif name == FALLBACK or (
            threshold is not None and confidence is not None and confidence < threshold
        ):
            outcome[FALLBACK] += 1
        else:
            outcome["other"] += 1
            wrongly[name] += 1
    handled = outcome[label] + outcome[FALLBACK]
    return {
        "examples": len(examples),
        "as_out_of_scope": outcome[label],
        "as_fallback": outcome[FALLBACK],
        "handled_rate": round(handled / len(examples), 4) if examples else None,
        "answered_as": dict(wrongly.most_common()),
        "threshold": threshold,
    }


def fallback_threshold(config: Dict[str, Any]) -> Optional[float]:
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))  # Rasa's default threshold
    return None


CV_LINE = re.compile(r"\b(train|test) (Accuracy|F1-score|Precision): ([0-9.]+) \(([0-9.]+)\)")


def parse_cv_log(text: str) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Mean and standard deviation over the folds from the intent section of the CV log
    (Rasa logs "test F1-score: 0.950 (0.005)"; the entity section repeats the pattern
    after "Entity evaluation results", which is cut off here)."""
    intent_part = text.split("Entity evaluation results")[0]
    figures: Dict[str, Dict[str, Dict[str, float]]] = {}
    for dataset, metric, mean, std in CV_LINE.findall(intent_part):
        figures.setdefault(dataset, {})[metric] = {"mean": float(mean), "std": float(std)}
    return figures


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else []


def test_set_quality(model: Path, test_file: Path, out: Path, reports: Path) -> Dict[str, Any]:
    """`rasa test nlu` on the held-out set; copies the confusion matrix into `reports`."""
    if out.exists():
        shutil.rmtree(out)
    say(f"rasa test nlu on {test_file.relative_to(ROOT)}")
    args = [str(BIN / "rasa"), "test", "nlu", "--model", str(model), "--nlu", str(test_file)]
    seconds = run_timed([*args, "--out", str(out), "--successes"], ROOT, out.parent / "test-nlu.log")
    report = json.loads((out / "intent_report.json").read_text())
    errors = _read_json(out / "intent_errors.json")
    successes = _read_json(out / "intent_successes.json")
    config = yaml.safe_load((ROOT / "config.yml").read_text()) or {}
    parsed = parse_intent_report(report)
    pictures = []
    for picture in ("intent_confusion_matrix.png", "intent_histogram.png"):
        if (out / picture).is_file():
            reports.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / picture, reports / picture)
            pictures.append(picture)
    return {
        "seconds": round(seconds, 1),
        "test_file": str(test_file.relative_to(ROOT)),
        **parsed,
        "top_confusions": confusion_pairs(errors, report),
        "errors": len(errors),
        "out_of_scope": out_of_scope_outcome([*successes, *errors], fallback_threshold(config)),
        "pictures": pictures,
    }


def cross_validation(folds: int, out: Path) -> Dict[str, Any]:
    """`rasa test nlu --cross-validation` on every file of data/nlu/ with config.yml."""
    if out.exists():
        shutil.rmtree(out)
    log = out.parent / "cross-validation.log"
    say(f"{folds}-fold cross-validation on data/nlu/ (slow: one training per fold)")
    args = [str(BIN / "rasa"), "test", "nlu", "--cross-validation", "--folds", str(folds)]
    args += ["--nlu", "data/nlu", "--config", "config.yml", "--out", str(out)]
    seconds = run_timed(args, ROOT, log, timeout=3 * 3600)
    figures = parse_cv_log(log.read_text(errors="replace"))
    result: Dict[str, Any] = {"folds": folds, "seconds": round(seconds, 1), "per_fold_mean_std": figures}
    report_path = out / "intent_report.json"
    if report_path.is_file():  # all held-out folds' predictions pooled
        result["pooled"] = parse_intent_report(json.loads(report_path.read_text()))["overall"]
    return result
