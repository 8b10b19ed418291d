"""Ratios between our stack and the baseline, and the issue's targets evaluated on them.

Absolute times drift on a shared machine; ratios measured in the same run on the same
machine do much less, so the targets are stated as ratios.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

TARGET_CONCURRENCY = 8
TARGETS: List[Dict[str, Any]] = [
    {
        "id": "p95_ratio",
        "what": f"p95 latency, ours / baseline, at {TARGET_CONCURRENCY} conversations",
        "op": "<=",
        "target": 0.5,
    },
    {
        "id": "throughput_ratio",
        "what": f"messages per second, ours / baseline, at {TARGET_CONCURRENCY} conversations",
        "op": ">=",
        "target": 2.0,
    },
    {"id": "errors", "what": "errors in our answers, all load levels", "op": "==", "target": 0},
    {"id": "intent_f1", "what": "weighted intent F1 on the held-out test set", "op": ">=", "target": 0.95},
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


def measured_values(result: Dict[str, Any]) -> Dict[str, Optional[float]]:
    load = result.get("load") or {}
    at_target = next((row for row in load.get("ratios", []) if row["concurrency"] == TARGET_CONCURRENCY), {})
    ours_levels = (load.get("ours") or {}).get("levels")
    errors = sum(level["errors"] for level in ours_levels) if ours_levels else None
    test_set = (result.get("quality") or {}).get("test_set") or {}
    weighted = (test_set.get("overall") or {}).get("weighted") or {}
    return {
        "p95_ratio": at_target.get("p95_ratio"),
        "throughput_ratio": at_target.get("throughput_ratio"),
        "errors": errors,
        "intent_f1": weighted.get("f1"),
    }


def evaluate(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each target with what was measured and whether it is met."""
    values = measured_values(result)
    return [
        {
            **target,
            "measured": values[target["id"]],
            "met": met(values[target["id"]], target["op"], target["target"]),
        }
        for target in TARGETS
    ]
