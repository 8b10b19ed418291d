"""Markdown cells and tables, shared by the benchmark's report and its retraining section."""

from __future__ import annotations

from typing import Any, Iterable, List, Sequence


def fmt(value: Any, digits: int = 1, suffix: str = "") -> str:
    """A cell: '–' for what was not measured."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines + [""]
