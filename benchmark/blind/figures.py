"""The results' figures: the share of turns right per language, per kind and overall; how
often the second chance is offered for a clear question; the answer rate per kind; the most
common kinds of miss per kind. Pure functions of the per-turn results, rendered as text for
the terminal and as Markdown for the benchmark report."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence

from benchmark.blind.blindset import LANGUAGES

# The kinds in the order of the set's README.
KINDS = (
    "single", "long_tail", "language", "greeting_question", "long_context", "short", "places",
    "disclosure", "not_disclosure", "out_of_scope", "funding_typed", "correction", "follow_up",
    "language_switch", "grammar",
)  # fmt: skip
TOP_MISSES = 5
Result = Dict[str, Any]


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def share(results: Sequence[Result]) -> Dict[str, Any]:
    right = sum(1 for r in results if r["right"])
    return {"turns": len(results), "right": right, "share": _rate(right, len(results))}


def flagged(results: Sequence[Result]) -> int:
    """Right turns that also got an error reply (judge.ERROR_REPLIES)."""
    return sum(1 for r in results if r["right"] and r.get("flagged"))


def second_chance(results: Sequence[Result]) -> Dict[str, Any]:
    """Of the clear questions (no ``choices:`` label expected), how many got the offer."""
    clear = [r for r in results if r["clear"]]
    offered = sum(1 for r in clear if r["second_chance"])
    return {"clear": len(clear), "offered": offered, "rate": _rate(offered, len(clear))}


def answer_rate(results: Sequence[Result]) -> Dict[str, Any]:
    """Turns the assistant answered rather than offering choices or saying it did not understand."""
    answered = sum(1 for r in results if r["answered"])
    return {"turns": len(results), "answered": answered, "rate": _rate(answered, len(results))}


def ordered_kinds(results: Iterable[Result]) -> List[str]:
    present = {r["kind"] for r in results}
    return [k for k in KINDS if k in present] + sorted(present - set(KINDS))


def _by(results: Sequence[Result], field: str, value: str) -> List[Result]:
    return [r for r in results if r[field] == value]


def figures(results: Sequence[Result]) -> Dict[str, Any]:
    languages = [lang for lang in LANGUAGES if _by(results, "language", lang)]
    kinds = ordered_kinds(results)
    per_kind = {}
    for kind in kinds:
        of_kind = _by(results, "kind", kind)
        misses = Counter(r["miss"] for r in of_kind if not r["right"])
        per_kind[kind] = {
            **share(of_kind),
            "languages": {lang: share(_by(of_kind, "language", lang)) for lang in languages},
            "second_chance": second_chance(of_kind),
            "answer_rate": answer_rate(of_kind),
            "right_with_error_reply": flagged(of_kind),
            "misses": [{"miss": miss, "count": n} for miss, n in misses.most_common(TOP_MISSES)],
        }
    return {
        "overall": share(results),
        "languages": {
            lang: {
                **share(_by(results, "language", lang)),
                "second_chance": second_chance(_by(results, "language", lang)),
            }
            for lang in languages
        },
        "kinds": per_kind,
        "second_chance": second_chance(results),
        "answer_rate": answer_rate(results),
        "right_with_error_reply": flagged(results),
        "conversations": len({r["conversation"] for r in results}),
    }


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _cell(entry: Dict[str, Any]) -> str:
    return f"{percent(entry['share'])} ({entry['right']}/{entry['turns']})" if entry["turns"] else "–"


def rows(summary: Dict[str, Any]) -> List[List[str]]:
    """One row per kind, then the total: right overall and per language, second chance on
    clear questions, answer rate."""
    languages = list(summary["languages"])
    table = []
    for kind, entry in summary["kinds"].items():
        sc, answered = entry["second_chance"], entry["answer_rate"]
        table.append(
            [
                kind,
                _cell(entry),
                *(_cell(entry["languages"][lang]) for lang in languages),
                f"{percent(sc['rate'])} ({sc['offered']}/{sc['clear']})" if sc["clear"] else "–",
                percent(answered["rate"]),
            ]
        )
    sc, answered = summary["second_chance"], summary["answer_rate"]
    table.append(
        [
            "all",
            _cell(summary["overall"]),
            *(_cell(summary["languages"][lang]) for lang in languages),
            f"{percent(sc['rate'])} ({sc['offered']}/{sc['clear']})",
            percent(answered["rate"]),
        ]
    )
    return table


def header(summary: Dict[str, Any]) -> List[str]:
    return ["kind", "right", *summary["languages"], "second chance on clear", "answered"]


def text_lines(summary: Dict[str, Any]) -> List[str]:
    """The figures as aligned columns for the terminal, then the commonest misses per kind."""
    table = [header(summary), *rows(summary)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += ["", _flagged_line(summary), "", "Commonest misses per kind:"]
    for kind, entry in summary["kinds"].items():
        if entry["misses"]:
            found = "; ".join(f"{m['miss']} ({m['count']})" for m in entry["misses"])
            lines.append(f"  {kind}: {found}")
    return lines


def _flagged_line(summary: Dict[str, Any]) -> str:
    kinds = [
        f"{kind} {e['right_with_error_reply']}"
        for kind, e in summary["kinds"].items()
        if e["right_with_error_reply"]
    ]
    return (
        f"Right, but with an error reply as well (counted right): {summary['right_with_error_reply']} turns"
        + (f" ({', '.join(kinds)})." if kinds else ".")
    )


def markdown_lines(summary: Dict[str, Any], source: str) -> List[str]:
    """The benchmark report's blind-set subsection."""
    table = [header(summary), *rows(summary)]
    lines = [
        "### Blind set",
        "",
        f"`{source}`, written apart from the repository and never used for training, played"
        f" over HTTP as the widget does (`make blind`): {summary['overall']['turns']} turns in"
        f" {summary['conversations']} conversations. Share of turns right per kind and per"
        " language of the conversation; how often the second chance (\"Did you mean one of"
        " these?\") was offered for a clear question; the share of turns answered rather than"
        " offered choices or not understood.",
        "",
        "| " + " | ".join(table[0]) + " |",
        "|" + "|".join("---" for _ in table[0]) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    lines += ["", _flagged_line(summary), "", "Commonest misses:", ""]
    for kind, entry in summary["kinds"].items():
        if entry["misses"]:
            lines.append(f"- {kind}: " + "; ".join(f"{m['miss']} ({m['count']})" for m in entry["misses"]))
    return lines + [""]
