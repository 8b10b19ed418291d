"""Partial runs (`--only ...`) update the existing report instead of replacing it: rerunning
the training timings after a config change, or finishing a run that was cut short, keeps the
other sections. The report lists every run that contributed, so no figure loses its origin."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence

SECTIONS: Dict[str, Sequence[str]] = {  # step -> where its figures live in the result
    "load": ("load",),
    "scale": ("scale",),
    "quality": ("quality", "test_set"),
    "cross-validation": ("quality", "cross_validation"),
    "blind": ("quality", "blind"),
    "training": ("training",),
    "languages": ("languages",),
}


def _get(result: Dict[str, Any], path: Sequence[str]) -> Optional[Any]:
    node: Any = result
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _set(result: Dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def measured_steps(result: Dict[str, Any]) -> List[str]:
    return [step for step, path in SECTIONS.items() if _get(result, path)]


def run_entry(result: Dict[str, Any], steps: List[str]) -> Dict[str, Any]:
    return {"command": result.get("command"), "generated": result.get("generated"), "steps": steps}


def merge(previous: Dict[str, Any], fresh: Dict[str, Any], steps: List[str]) -> Dict[str, Any]:
    """`fresh`'s figures for `steps` laid over `previous`. Problems of the re-measured steps
    are replaced; a note that the previous run was interrupted goes once every step it
    meant to run has figures."""
    merged = copy.deepcopy(previous)
    for step in steps:
        value = _get(fresh, SECTIONS[step])
        if value is not None:
            _set(merged, SECTIONS[step], copy.deepcopy(value))
    runs = merged.get("runs") or [run_entry(previous, measured_steps(previous))]
    merged["runs"] = [*runs, run_entry(fresh, steps)]
    for key in ("generated", "command", "duration_s", "machine", "tuning"):
        merged[key] = fresh.get(key)
    if "load" in steps:
        merged["settings"] = fresh.get("settings")
    merged["load_average_after"] = {
        **(previous.get("load_average_after") or {}),
        **(fresh.get("load_average_after") or {}),
    }
    planned = set((previous.get("settings") or {}).get("phases") or []) | set(steps)
    complete = planned <= set(measured_steps(merged))
    kept = [
        problem
        for problem in previous.get("problems") or []
        if not any(problem.startswith(f"{step}:") for step in steps)
        and not (complete and problem.startswith("interrupted"))
    ]
    merged["problems"] = kept + list(fresh.get("problems") or [])
    return merged
