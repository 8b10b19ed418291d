"""The report: the result dictionary as JSON (for machines and for comparing runs) and as
Markdown (for people). Rendering is pure, so it is unit-tested on a sample result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

OP_TEXT = {"<=": "≤", ">=": "≥", "==": "="}


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


def load_tuning(path: Path) -> List[Dict[str, Any]]:
    """The "what bought what" entries, {change, before, after, note} each."""
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: expected a list of {{change, before, after, note}}")
    return [entry for entry in entries if isinstance(entry, dict)]


def _targets(result: Dict[str, Any]) -> List[str]:
    rows = []
    for target in result.get("targets", []):
        digits = 0 if target["id"] == "errors" else (3 if "ratio" in target["id"] else 3)
        met = {True: "**yes**", False: "**NO**", None: "not measured"}[target["met"]]
        rows.append(
            [
                target["what"],
                f"{OP_TEXT[target['op']]} {target['target']}",
                fmt(target["measured"], digits),
                met,
            ]
        )
    return ["## Targets", "", *table(["target", "required", "measured", "met"], rows)]


def _loads(values: Optional[Sequence[float]]) -> str:
    return " / ".join(f"{value:.2f}" for value in values) if values else "–"


def _machine(result: Dict[str, Any]) -> List[str]:
    machine = result.get("machine", {})
    settings = result.get("settings", {})
    lines = ["## Machine and settings", ""]
    lines += table(
        ["", ""],
        [
            ["CPU", f"{machine.get('cpu_model')} ({machine.get('cores')} cores)"],
            ["RAM", fmt(machine.get("ram_gib"), 1, " GiB")],
            ["OS", machine.get("os")],
            [
                "Python / Rasa / rasa-sdk",
                f"{machine.get('python')} / {machine.get('rasa')} / {machine.get('rasa_sdk')}",
            ],
            ["load average at start (1/5/15 min)", _loads(machine.get("load_average_at_start"))],
            [
                "load average after each step",
                "; ".join(
                    f"{step}: {_loads(v)}" for step, v in (result.get("load_average_after") or {}).items()
                )
                or "–",
            ],
            [
                "project commit",
                f"{machine.get('git_commit')}{' (uncommitted changes)' if machine.get('git_dirty') else ''}",
            ],
            ["phases run", ", ".join(settings.get("phases", []))],
            ["concurrency levels", ", ".join(str(level) for level in settings.get("levels", []))],
            [
                "messages per level",
                f"{settings.get('messages_per_level')}"
                f" ({settings.get('conversations_per_level')} conversations"
                f" × {settings.get('messages_per_conversation')} messages), after"
                f" {settings.get('warmup_conversations')} warm-up conversations",
            ],
            ["request timeout", fmt(settings.get("timeout_s"), 0, " s")],
        ],
    )
    return lines


def _load(result: Dict[str, Any]) -> List[str]:
    load = result.get("load")
    if not load:
        return []
    lines = [
        "## Latency and throughput over the REST channel",
        "",
        "Closed loop: each simulated visitor sends its next message as soon as the answer to the"
        " previous one arrived. Latency in milliseconds, over every message of the level.",
        "",
    ]
    rows = []
    for name in ("ours", "baseline"):
        for level in (load.get(name) or {}).get("levels", []):
            rows.append(
                [
                    name,
                    level["concurrency"],
                    level["messages"],
                    fmt(level["p50_ms"], 0),
                    fmt(level["p95_ms"], 0),
                    fmt(level["p99_ms"], 0),
                    fmt(level["mean_ms"], 0),
                    fmt(level["max_ms"], 0),
                    fmt(level["throughput_msg_s"], 2),
                    level["errors"],
                ]
            )
    header = [
        "stack",
        "conversations at once",
        "messages",
        "p50",
        "p95",
        "p99",
        "mean",
        "max",
        "msg/s",
        "errors",
    ]
    lines += table(header, rows)
    for name in ("ours", "baseline"):
        for level in (load.get(name) or {}).get("levels", []):
            if level.get("errors"):
                kinds = ", ".join(f"{kind} ×{count}" for kind, count in level.get("error_kinds", {}).items())
                texts = ", ".join(
                    f'"{text}" ×{count}' for text, count in level.get("failed_messages", {}).items()
                )
                lines += [f"- {name} at {level['concurrency']}: {kinds}; messages: {texts}"]
    if lines[-1].startswith("- "):
        lines.append("")
    if load.get("ratios"):
        lines += [
            "Ours divided by the baseline (below 1 is faster for latency; above 1 is better for throughput):",
            "",
        ]
        lines += table(
            ["conversations at once", "p50 ratio", "p95 ratio", "p99 ratio", "throughput ratio"],
            [
                [r["concurrency"], fmt(r["p50_ratio"], 3), fmt(r["p95_ratio"], 3), fmt(r["p99_ratio"], 3),
                 fmt(r["throughput_ratio"], 3)]
                for r in load["ratios"]
            ],
        )  # fmt: skip
    ours = load.get("ours") or {}
    single = next((level for level in ours.get("levels", []) if level["concurrency"] == 1), None)
    if single and single.get("per_message_p50_ms"):
        lines += [
            "### Where our time goes: median latency per message, one conversation at a time",
            "",
            "Messages answered by a custom action (countries, follow-ups) include the call to the"
            " action server; the others are answered by Rasa alone.",
            "",
        ]
        ordered = sorted(single["per_message_p50_ms"].items(), key=lambda item: -item[1])
        lines += table(["message", "p50 ms"], [[text, fmt(ms, 0)] for text, ms in ordered])
    if load.get("notes"):
        lines += [f"- {note}" for note in load["notes"]] + [""]
    return lines


def _memory_and_startup(result: Dict[str, Any]) -> List[str]:
    load = result.get("load")
    if not load:
        return []
    lines = ["## Memory (resident set size, MiB, with child processes)", ""]
    rows = []
    for name in ("ours", "baseline"):
        memory = (load.get(name) or {}).get("memory_mib") or {}
        for role in ("rasa", "actions", "review"):
            warm = (memory.get("after_warmup") or {}).get(role)
            after = (memory.get("after_load") or {}).get(role)
            if warm is None and after is None:
                continue
            label = {"rasa": "Rasa server", "actions": "action server", "review": "staff review workspace"}[
                role
            ]
            rows.append([name, label, fmt(warm), fmt(after)])
        total_warm = sum(v for v in (memory.get("after_warmup") or {}).values() if v)
        total_after = sum(v for v in (memory.get("after_load") or {}).values() if v)
        if memory:
            rows.append([name, "**total**", fmt(round(total_warm, 1)), fmt(round(total_after, 1))])
    lines += table(["stack", "server", "after warm-up", "after the load"], rows)
    lines += ["## Start-up", "", "Seconds from launching the servers to the first answered message.", ""]
    lines += table(
        ["stack", "launched with", "first message", "seconds"],
        [
            [name, (load.get(name) or {}).get("launcher", "–"), (load.get(name) or {}).get("probe", "–"),
             fmt((load.get(name) or {}).get("startup_s"))]
            for name in ("ours", "baseline") if load.get(name)
        ],
    )  # fmt: skip
    return lines


def _training(result: Dict[str, Any]) -> List[str]:
    training = result.get("training")
    if not training:
        return []
    ours = training.get("ours") or {}
    baseline = training.get("baseline") or {}
    lines = ["## Training", ""]
    lines += table(
        ["what", "seconds"],
        [
            ["ours, full training (`rasa train --force`)", fmt(ours.get("full_s"))],
            [
                "ours, after adding one NLU example (Rasa's cache reused)",
                fmt(ours.get("after_one_nlu_line_s")),
            ],
            ["baseline (default assistant and config), full training", fmt(baseline.get("full_s"))],
        ],
    )
    return lines


def _quality(result: Dict[str, Any]) -> List[str]:
    quality = result.get("quality")
    if not quality:
        return []
    lines = ["## NLU quality", ""]
    test_set = quality.get("test_set")
    if test_set:
        overall = test_set.get("overall", {})
        lines += [f"`rasa test nlu` with the trained model on `{test_set.get('test_file')}`.", ""]
        summary_rows = []
        for label in ("weighted", "macro"):
            if overall.get(label):
                entry = overall[label]
                summary_rows.append([label, fmt(entry["precision"], 3), fmt(entry["recall"], 3),
                                     fmt(entry["f1"], 3), entry["support"]])  # fmt: skip
        lines += table(["average", "precision", "recall", "F1", "support"], summary_rows)
        lines += [
            f"Accuracy: {fmt(overall.get('accuracy'), 3)}; misclassified examples: {test_set.get('errors')}.",
            "",
        ]
        lines += ["### Per intent", ""]
        per_intent = sorted(test_set.get("per_intent", {}).items(), key=lambda item: (item[1]["f1"], item[0]))
        lines += table(
            ["intent", "precision", "recall", "F1", "support"],
            [[name, fmt(m["precision"], 3), fmt(m["recall"], 3), fmt(m["f1"], 3), m["support"]]
             for name, m in per_intent],
        )  # fmt: skip
        if test_set.get("top_confusions"):
            lines += ["### Most frequent confusions", ""]
            lines += table(
                ["true intent", "predicted", "count"],
                [[c["intent"], c["predicted"], c["count"]] for c in test_set["top_confusions"]],
            )
        oos = test_set.get("out_of_scope")
        if oos and oos.get("examples"):
            rate = None if oos["handled_rate"] is None else oos["handled_rate"] * 100
            answered = (
                ", ".join(f"{name} ({count})" for name, count in oos["answered_as"].items()) or "nothing else"
            )
            lines += [
                "### Out-of-scope examples",
                "",
                f"{oos['examples']} out-of-scope test examples: {oos['as_out_of_scope']} recognised as"
                f" out_of_scope, {oos['as_fallback']} below the fallback threshold"
                f" ({fmt(oos['threshold'], 2)}), so **{fmt(rate, 1, ' %')}**"
                f" declined or admitted as not understood; answered as something else: {answered}."
                " (The ambiguity threshold can send more to the fallback; Rasa's report does not show it.)",
                "",
            ]
        for picture in test_set.get("pictures", []):
            lines += [f"![{picture}]({picture})", ""]
    cv = quality.get("cross_validation")
    if cv:
        lines += [f"### {cv['folds']}-fold cross-validation on `data/nlu/`", ""]
        figures = cv.get("per_fold_mean_std", {})
        rows = []
        for dataset in ("test", "train"):
            for metric in ("F1-score", "Accuracy", "Precision"):
                value = (figures.get(dataset) or {}).get(metric)
                if value:
                    rows.append([dataset, metric, fmt(value["mean"], 3), fmt(value["std"], 3)])
        lines += table(["folds' data", "metric (weighted)", "mean over folds", "std"], rows)
        pooled = cv.get("pooled")
        if pooled and pooled.get("weighted"):
            lines += [
                f"All held-out folds pooled: weighted F1 {fmt(pooled['weighted']['f1'], 3)},"
                f" macro F1 {fmt((pooled.get('macro') or {}).get('f1'), 3)},"
                f" accuracy {fmt(pooled.get('accuracy'), 3)}. Rasa logs only the mean and"
                " standard deviation of the folds, not each fold.",
                "",
            ]
    return lines


def _tuning(result: Dict[str, Any]) -> List[str]:
    lines = ["## What bought what", "", "From `benchmark/tuning.yml`: each change and its effect.", ""]
    entries = result.get("tuning") or []
    if not entries:
        return lines + ["No entries yet.", ""]
    return lines + table(
        ["change", "before", "after", "note"],
        [[e.get("change", ""), e.get("before", ""), e.get("after", ""), e.get("note", "")] for e in entries],
    )


def render_markdown(result: Dict[str, Any]) -> str:
    """The whole report as Markdown."""
    lines = [
        "# Benchmark and quality report",
        "",
        f"Generated {result.get('generated', '–')} by `{result.get('command', 'python -m benchmark')}`"
        f" in {fmt(result.get('duration_s'), 0, ' s')}. Figures for our assistant are compared with"
        " Rasa's default assistant (`rasa init`), measured in the same run on the same machine"
        " (a shared one: the load averages below tell how busy it was).",
        "",
    ]
    runs = result.get("runs") or []
    if len(runs) > 1:
        lines += ["This report combines runs (a later partial run replaced the sections it measured):", ""]
        lines += [f"- `{run['command']}` ({run['generated']}): {', '.join(run['steps'])}" for run in runs] + [
            ""
        ]
    for section in (_targets, _machine, _load, _memory_and_startup, _training, _quality, _tuning):
        lines += section(result)
    problems: Optional[List[str]] = result.get("problems")
    if problems:
        lines += ["## Problems", ""] + [f"- {problem}" for problem in problems] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write(result: Dict[str, Any], directory: Path) -> Dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "benchmark.json", "markdown": directory / "benchmark.md"}
    paths["json"].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(render_markdown(result))
    return paths
