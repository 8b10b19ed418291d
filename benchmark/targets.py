"""Ratios between our stack and the baseline, and the issue's targets evaluated on them.

Absolute times drift on a shared machine; ratios measured in the same run on the same
machine do much less, so the targets are stated as ratios.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

TARGET_CONCURRENCY = 8
# The model lifecycle's bars (one Rasa process's memory and start, training, a retraining
# round) and the load's, each with the comparison that meets it. ``required`` is what the
# report and the JSON show: "<= 0.4".
TARGETS: List[Dict[str, Any]] = [
    {
        "id": "throughput_ratio_8",
        "what": f"messages per second, ours / baseline, at {TARGET_CONCURRENCY} conversations",
        "op": ">=",
        "bound": 2.5,
    },
    {
        "id": "p95_ratio_8",
        "what": f"p95 latency, ours / baseline, at {TARGET_CONCURRENCY} conversations",
        "op": "<=",
        "bound": 0.4,
    },
    {"id": "errors", "what": "errors in our answers, all load levels", "op": "==", "bound": 0},
    {
        "id": "rasa_process_rss_mib",
        "what": "RSS of the largest Rasa process after the load, MiB",
        "op": "<=",
        "bound": 800,
    },
    {
        "id": "rasa_process_ready_s",
        "what": "seconds from starting our stack to its first answer (its Rasa processes start at once)",
        "op": "<=",
        "bound": 10,
    },
    {"id": "full_training_s", "what": "full training from a fresh copy, seconds", "op": "<=", "bound": 120},
    {
        "id": "retrain_round_s",
        "what": "a retraining round after 5 corrections, the live model's figures known, seconds",
        "op": "<=",
        "bound": 60,
    },
    {"id": "intent_f1", "what": "weighted intent F1 on the held-out test set", "op": ">=", "bound": 0.95},
]


def ratio(ours: Optional[float], baseline: Optional[float]) -> Optional[float]:
    if ours is None or not baseline:
        return None
    return round(ours / baseline, 3)


def level_ratios(ours: List[Dict[str, Any]], baseline: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per concurrency level present in both: ours divided by baseline."""
    by_level = {level["concurrency"]: level for level in baseline}
    rows = []
    for level in ours:
        other = by_level.get(level["concurrency"])
        if other is None:
            continue
        rows.append(
            {
                "concurrency": level["concurrency"],
                "p50_ratio": ratio(level["p50_ms"], other["p50_ms"]),
                "p95_ratio": ratio(level["p95_ms"], other["p95_ms"]),
                "p99_ratio": ratio(level["p99_ms"], other["p99_ms"]),
                "throughput_ratio": ratio(level["throughput_msg_s"], other["throughput_msg_s"]),
            }
        )
    return rows


def met(measured: Optional[float], op: str, target: float) -> Optional[bool]:
    """None when nothing was measured (a partial run), so it is not shown as a failure."""
    if measured is None:
        return None
    if op == "<=":
        return measured <= target
    if op == ">=":
        return measured >= target
    if op == "==":
        return measured == target
    raise ValueError(f"unknown comparison {op!r}")


def _round_seconds(result: Dict[str, Any]) -> Optional[float]:
    """A round as every round after the first runs: without scoring the live model."""
    figures = (result.get("training") or {}).get("retrain") or {}
    total = figures.get("retrain_s") or (figures.get("seconds") or {}).get("total")
    if total is None:
        return None
    return round(total - (figures.get("live_model_scored_s") or 0.0), 1)


def measured_values(result: Dict[str, Any]) -> Dict[str, Optional[float]]:
    load = result.get("load") or {}
    rows: List[Dict[str, Any]] = load.get("ratios", [])
    at_target: Dict[str, Any] = next((row for row in rows if row["concurrency"] == TARGET_CONCURRENCY), {})
    ours = load.get("ours") or {}
    ours_levels = ours.get("levels")
    errors = sum(level["errors"] for level in ours_levels) if ours_levels else None
    test_set = (result.get("quality") or {}).get("test_set") or {}
    weighted = (test_set.get("overall") or {}).get("weighted") or {}
    processes = (ours.get("memory_mib") or {}).get("rasa_processes_after_load") or []
    training = ((result.get("training") or {}).get("ours")) or {}
    return {
        "throughput_ratio_8": at_target.get("throughput_ratio"),
        "p95_ratio_8": at_target.get("p95_ratio"),
        "errors": errors,
        "rasa_process_rss_mib": max(processes) if processes else None,
        "rasa_process_ready_s": ours.get("startup_s"),
        "full_training_s": training.get("full_s"),
        "retrain_round_s": _round_seconds(result),
        "intent_f1": weighted.get("f1"),
    }


def evaluate(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each target as ``{id, what, required, measured, met}`` (with ``op`` and ``bound``)."""
    values = measured_values(result)
    return [
        {
            **target,
            "required": f"{target['op']} {target['bound']}",
            "measured": values[target["id"]],
            "met": met(values[target["id"]], target["op"], target["bound"]),
        }
        for target in TARGETS
    ]
