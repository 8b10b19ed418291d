"""The report: the result dictionary as JSON (for machines and for comparing runs) and as
Markdown (for people). Rendering is pure, so it is unit-tested on a sample result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from benchmark.tables import fmt, table

OP_TEXT = {"<=": "≤", ">=": "≥", "==": "="}
MEMORY_ROLES = {  # the servers of a stack (benchmark/servers.py: ROLES), in the report's order
    "rasa": "Rasa server (all its processes)",
    "actions": "action server",
    "review": "staff review workspace",
    "web": "demo page server",
    "nginx": "nginx",
    "supervision": "launcher, supervisord and liveness checks",
}


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
        digits = (
            0
            if target["id"] == "errors"
            else (3 if target["id"].startswith(("p95", "throughput", "intent")) else 1)
        )
        met = {True: "**yes**", False: "**NO**", None: "not measured"}[target["met"]]
        rows.append(
            [
                target["what"],
                f"{OP_TEXT[target['op']]} {target.get('bound', target.get('target'))}",
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
        for role, label in MEMORY_ROLES.items():
            warm = (memory.get("after_warmup") or {}).get(role)
            after = (memory.get("after_load") or {}).get(role)
            if warm is None and after is None:
                continue
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


def _and(words: Sequence[str]) -> str:
    """'1, 2 and 4'."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _percent(part: Optional[float], whole: Optional[float]) -> str:
    return "–" if part is None or not whole else f"{100 * part / whole:.0f} %"


def _scale_runs(scale: Dict[str, Any]) -> List[str]:
    settings = scale.get("settings") or {}
    configurations = scale.get("configurations") or []
    lines = [
        "## Scale",
        "",
        "Our stack in the scale profile (`make run-scale`: Rasa replicas on ports of their own behind"
        " nginx, conversations in PostgreSQL, locks in Redis) with"
        f" {_and([str(n) for n in settings.get('replicas', [])])} replicas, and in the embedded"
        " profile (`make run`: 2 Rasa processes sharing one port, SQLite, lock files) as the same"
        " session's baseline. Each configuration ran alone, started by scripts/serve.py on a fresh"
        " database (a temporary PostgreSQL database for the scale profile), was warmed up with"
        f" {settings.get('warmup_conversations')} conversations, then played"
        f" {settings.get('conversations')} conversations ({settings.get('messages')} messages),"
        f" {settings.get('concurrency')} at a time, closed loop as above (load s: how long that took)."
        " Latency in ms; memory in"
        " MiB per Rasa process after the load (RSS: all its pages; USS: its own pages, which"
        " stopping it would free; PSS: its own pages plus its share of the shared ones); the whole"
        " stack's memory counts every process's own pages and the shared ones once.",
        "",
    ]
    rows = []
    for config in configurations:
        level = config.get("level") or {}
        replica = _replica(config)
        whole = _sizing_of(config)
        rows.append(
            [
                config["name"],
                config.get("storage", "–"),
                fmt(config.get("startup_s")),
                fmt(level.get("duration_s"), 1),
                fmt(level.get("throughput_msg_s"), 1),
                fmt(level.get("p50_ms"), 0),
                fmt(level.get("p95_ms"), 0),
                fmt(level.get("p99_ms"), 0),
                level.get("errors", "–"),
                fmt(replica["rss"], 0),
                fmt(replica["uss"], 0),
                fmt(replica["pss"], 0),
                fmt(whole.get("total_mib"), 0),
            ]
        )
    header = ["configuration", "storage", "start-up s", "load s", "msg/s", "p50", "p95", "p99", "errors",
              "RSS per Rasa process", "USS", "PSS", "whole stack"]  # fmt: skip
    lines += table(header, rows)
    for config in configurations:
        level = config.get("level") or {}
        if level.get("errors"):
            kinds = ", ".join(f"{kind} ×{count}" for kind, count in level.get("error_kinds", {}).items())
            texts = ", ".join(
                f'"{text}" ×{count}' for text, count in level.get("failed_messages", {}).items()
            )
            lines.append(
                f"- {config['name']}: {kinds} ({texts}); the slowest answer took"
                f" {fmt(level.get('max_ms'), 0)} ms, and msg/s counts the whole"
                f" {fmt(level.get('duration_s'), 1)} s"
            )
        if level and level.get("conversations", 0) < (settings.get("conversations") or 0):
            lines.append(
                f"- {config['name']}: time limit reached after {level['conversations']} conversations"
            )
    if lines[-1].startswith("- "):
        lines.append("")
    loads = "; ".join(
        f"{config['name']}: {config['load_average_after'][0]:.2f}"
        for config in configurations
        if config.get("load_average_after")
    )
    lines += [
        "Start-up: seconds until every server of the stack answered (the launcher's ready message)"
        " and a message that needs the action server was answered. All replicas load the model at"
        " the same time, on the same cores. The configurations ran one after the other, so the"
        " machine's other work weighs on each differently; load average (1 min) after each:"
        f" {loads or '–'}.",
        "",
    ]
    lines += _cores(scale)
    return lines


def _replica(config: Dict[str, Any]) -> Dict[str, Optional[float]]:
    from benchmark.scale import replica_figures

    return replica_figures(((config.get("memory_mib") or {}).get("after_load")) or {})


def _sizing_of(config: Dict[str, Any]) -> Dict[str, Any]:
    from benchmark.scale import sizing

    memory = ((config.get("memory_mib") or {}).get("after_load")) or {}
    return sizing(memory) if memory.get("replicas") else {}


def _cores(scale: Dict[str, Any]) -> List[str]:
    """What the machine's cores allow, in a few sentences from the figures."""
    cores = (scale.get("settings") or {}).get("cores")
    measured = [c for c in scale.get("configurations") or [] if c.get("level")]
    by_count = {c["replicas"]: c for c in measured if c.get("profile") == "scale"}
    embedded = next((c for c in measured if c.get("profile") == "embedded"), None)
    if not by_count:
        return []

    def rate(config: Dict[str, Any]) -> float:
        return float(config["level"]["throughput_msg_s"])

    parts = [
        f"{row['replicas']}: {rate(by_count[row['replicas']]):.1f} msg/s (×{row['ratio']:.2f}),"
        f" p95 {fmt(by_count[row['replicas']]['level']['p95_ms'], 0)} ms"
        for row in scale.get("speedup") or []
        if row["replicas"] in by_count
    ]
    text = f"**What {cores} cores allow.** "
    if parts:
        text += f"Replicas and throughput: {'; '.join(parts)}. "
    text += (
        "A Rasa process answers one message at a time with one core (the prediction is Python and"
        f" TensorFlow on the CPU), so on {cores} cores replicas beyond {cores} cannot add throughput:"
        " they queue for the same cores and add only memory, each its own USS. One replica alone"
        " uses TensorFlow's default threads; several get one thread each (supervision/programs.py)."
    )
    most, two = max(by_count), by_count.get(2)
    if two and most > max(2, cores or 0) and rate(two):
        extra = (_sizing_of(by_count[most]).get("total_mib") or 0) - (_sizing_of(two).get("total_mib") or 0)
        text += (
            f" Here {most} replicas against 2: ×{rate(by_count[most]) / rate(two):.2f} the throughput"
            f" for {extra:.0f} MiB more."
        )
    if embedded and two:
        text += (
            f" The embedded profile's 2 processes on SQLite: {rate(embedded):.1f} msg/s, p95"
            f" {fmt(embedded['level']['p95_ms'], 0)} ms, against {rate(two):.1f} msg/s and"
            f" {fmt(two['level']['p95_ms'], 0)} ms for 2 replicas behind nginx with PostgreSQL and"
            " Redis on the same cores."
        )
    return [text, ""]


def _sizing(scale: Dict[str, Any]) -> List[str]:
    from benchmark.scale import estimate

    split = scale.get("sizing")
    if not split:
        return []
    measured = {
        config["replicas"]: _sizing_of(config).get("total_mib")
        for config in scale.get("configurations") or []
        if config.get("profile") == "scale"
    }
    lines = [
        "### Sizing a deployment",
        "",
        f"From the stack with {split['replicas']} replicas: each replica adds its USS,"
        f" **{fmt(split['per_replica_mib'], 0)} MiB**; the rest, **{fmt(split['fixed_mib'], 0)} MiB**,"
        " is paid once (the action server, staff workspace, demo page, nginx, supervisor, and the"
        " libraries all replicas map, counted once). So memory ≈"
        f" {fmt(split['fixed_mib'], 0)} + replicas × {fmt(split['per_replica_mib'], 0)} MiB, plus"
        " PostgreSQL and Redis (the machine's services here, not counted) and headroom. The"
        f" stack's {fmt(split['total_mib'], 0)} MiB are every process's own pages (USS) and the"
        f" shared ones once ({fmt(split['shared_once_mib'], 0)} MiB, the libraries a replica maps);"
        f" the processes' PSS add up to {fmt(split['total_pss_mib'], 0)} MiB (less when processes"
        " outside the stack map the same libraries); adding up RSS would say"
        f" {fmt(split['total_rss_mib'], 0)} MiB, counting the shared pages once per process.",
        "",
    ]
    counts = sorted({1, 2, 4, 8, *measured})
    lines += table(
        ["replicas", "estimate MiB", "measured MiB (whole stack)"],
        [[n, fmt(estimate(split, n), 0), fmt(measured.get(n), 0)] for n in counts],
    )
    largest = next((c for c in scale.get("configurations") or [] if c.get("name") == split.get("from")), None)
    others = (((largest or {}).get("memory_mib") or {}).get("after_load") or {}).get("others") or {}
    if largest:
        replicas = ((largest.get("memory_mib") or {}).get("after_load") or {}).get("replicas") or []
        rows = [
            [
                "Rasa replicas",
                len(replicas),
                fmt(round(sum(r["rss"] for r in replicas), 1), 0),
                fmt(round(sum(r["uss"] for r in replicas), 1), 0),
                fmt(round(sum(r["pss"] for r in replicas), 1), 0),
            ]
        ]
        for role, label in MEMORY_ROLES.items():
            entry = others.get(role)
            if entry:
                rows.append([label, entry.get("processes", "–"), fmt(entry["rss"], 0), fmt(entry["uss"], 0),
                             fmt(entry["pss"], 0)])  # fmt: skip
        lines += [f"The stack with {split['replicas']} replicas, by server (MiB, after the load):", ""]
        lines += table(["server", "processes", "RSS", "USS", "PSS"], rows)
    return lines


def _holdings(scale: Dict[str, Any]) -> List[str]:
    """What one Rasa process holds, and what could be shared or avoided."""
    found = scale.get("memory_stages") or {}
    stages = found.get("stages") or []
    if not stages:
        return []
    lines = [
        "### What a Rasa process holds",
        "",
        "One process going through a replica's start (benchmark/memory_stages.py, one TensorFlow"
        " thread as among several replicas), measured after each stage (MiB; seconds since it"
        " started):",
        "",
    ]
    lines += table(
        ["stage", "seconds", "RSS", "USS", "PSS", "TensorFlow's libraries (RSS)", "anonymous memory (RSS)"],
        [[s["stage"], fmt(s.get("seconds")), fmt(s.get("rss"), 0), fmt(s.get("uss"), 0), fmt(s.get("pss"), 0),
          fmt(s.get("tensorflow_libraries_rss"), 0), fmt(s.get("anonymous_rss"), 0)] for s in stages],
    )  # fmt: skip
    by_stage = {s["stage"]: s for s in stages}
    imported = by_stage.get("Rasa's server modules imported") or stages[min(1, len(stages) - 1)]
    loaded = by_stage.get("model loaded") or stages[-1]
    components = found.get("components") or {}
    steps = found.get("model_load_steps") or {}
    if components:
        top = list(components.items())[:3]
        lines += ["While the model loads, by component:", ""]
        lines += table(
            ["component", "RSS added", "seconds"],
            [[name, fmt(entry["rss_added"], 0), fmt(entry["seconds"])] for name, entry in top],
        )
    disk = scale.get("model_on_disk") or {}
    fit, weights = steps.get("fit") or {}, steps.get("load_weights") or {}
    load_added = round(loaded["rss"] - imported["rss"], 1)
    saved = list((found.get("checkpoints") or {}).values())
    checkpoint = (
        f", of which {fmt(round(sum(c['weights_mib'] for c in saved), 1))} MiB are DIET's weights and"
        f" {fmt(round(sum(c['optimizer_mib'] for c in saved), 1))} MiB the optimizer's state saved with them"
        if saved
        else ""
    )
    lines += [
        f"- **Importing** Rasa's server modules (which import TensorFlow) takes {fmt(imported['rss'], 0)}"
        f" MiB of RSS, {fmt(imported.get('tensorflow_libraries_rss'), 0)} of them TensorFlow's libraries.",
        f"- **Loading the model** adds {fmt(load_added, 0)} MiB, though it is {fmt(disk.get('archive_mib'))}"
        f" MiB on disk ({fmt(disk.get('unpacked_mib'))} MiB unpacked{checkpoint})."
        + (
            f" Most of it is how Rasa builds DIET's network: it trains it one step on one example"
            f" (`RasaModel.load` in rasa/utils/tensorflow/models.py: `fit`, then `load_weights`),"
            f" which traces TensorFlow's training graph (gradients, optimizer) in every process:"
            f" {fmt(fit.get('rss_added'), 0)} MiB and {fmt(fit.get('seconds'))} s of each replica's start;"
            f" reading the trained weights adds {fmt(weights.get('rss_added'), 0)} MiB."
            if fit
            else ""
        ),
    ]
    regions = _largest_regions(scale)
    if regions:
        anonymous = regions.get("anonymous") or {}
        libraries = [regions.get("tensorflow libraries") or {}, regions.get("other shared libraries") or {}]
        shared = round(sum(region.get("shared", 0.0) for region in regions.values()), 1)
        lines += [
            f"- **Shared already**: the libraries are file pages the kernel keeps once for all replicas"
            f" (in a running replica {fmt(round(sum(r.get('rss', 0.0) for r in libraries), 1), 0)} MiB,"
            f" TensorFlow's {fmt(libraries[0].get('rss'), 0)}; {fmt(shared, 0)} MiB of the replica's"
            f" pages were shared with another process).",
            f"- **Private to each replica**: its anonymous memory, {fmt(anonymous.get('rss'), 0)} MiB"
            " (the Python objects of every imported module, the model's data, TensorFlow's graphs and"
            " buffers). Each replica imports and loads by itself. A server that loaded the model once"
            " and then forked its workers would share these pages copy-on-write until written (Python's"
            " reference counts write to many of them); Rasa does not start that way, and TensorFlow is"
            " not meant to be used across fork() once its runtime has started.",
            "- **Could be avoided**: the one-step training at load, if the network were built for"
            " prediction only (a change to how Rasa loads DIET, not made here); TensorFlow in"
            " processes that never predict (the action server already keeps it out, see"
            " scripts/action_server.py).",
        ]
        lines += ["", "Where a running replica's memory is (after the load, MiB, /proc/<pid>/smaps):", ""]
        lines += table(
            ["region", "RSS", "PSS", "shared", "private"],
            [[name, fmt(r.get("rss"), 0), fmt(r.get("pss"), 0), fmt(r.get("shared"), 0),
              fmt(r.get("private"), 0)] for name, r in regions.items()],
        )  # fmt: skip
    else:
        lines.append("")
    return lines


def _largest_regions(scale: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    configurations = [c for c in scale.get("configurations") or [] if c.get("replica_regions_mib")]
    if not configurations:
        return {}
    return max(configurations, key=lambda c: (c.get("profile") == "scale", c["replicas"]))[
        "replica_regions_mib"
    ]


def _locks(result: Dict[str, Any], scale: Dict[str, Any]) -> List[str]:
    locks = scale.get("locks") or {}
    stores = locks.get("stores") or {}
    if not stores:
        return []
    settings = locks.get("settings") or {}
    lines = [
        "### Lock stores",
        "",
        "Rasa holds a conversation's lock while it handles each message, so every message pays"
        " one uncontended acquire and release; with several replicas the lock must be one they all"
        " reach. benchmark/lock_race.py: the cost of one acquire and release"
        f" ({settings.get('overhead_samples')} in a row, one process), and"
        f" {settings.get('processes')} processes taking one conversation's lock at the same moment"
        f" in each of up to {settings.get('iterations_per_process')} rounds (holding it"
        f" {fmt(settings.get('hold_ms'), 0)} ms).",
        "",
    ]
    lines += table(
        ["store", "mean ms", "p95 ms", "acquisitions", "overlapping holders", "LockError", "hung"],
        [[kind, fmt(store["overhead"]["mean_ms"], 2), fmt(store["overhead"]["p95_ms"], 2),
          store["acquisitions"], store["overlapping"], store["errors"], store["hung"]]
         for kind, store in stores.items()],
    )  # fmt: skip
    redis, files = stores.get("atomic-redis"), stores.get("file")
    if redis and files:
        difference = redis["overhead"]["mean_ms"] - files["overhead"]["mean_ms"]
        ours = ((result.get("load") or {}).get("ours") or {}).get("levels") or []
        single = next((level for level in ours if level["concurrency"] == 1), None)
        share = (
            f", {_percent(redis['overhead']['mean_ms'], single['p50_ms'])} of a message's median latency"
            f" at one visitor ({fmt(single['p50_ms'], 0)} ms)"
            if single
            else ""
        )
        lines += [
            f"Per message, the atomic Redis lock costs {fmt(redis['overhead']['mean_ms'], 2)} ms (Redis on"
            f" this machine, over the loopback) against {fmt(files['overhead']['mean_ms'], 2)} ms for the"
            f" lock files: {difference:+.2f} ms{share}. Over a network add a round trip or two to"
            " Redis per message.",
            "",
        ]
    rasa = stores.get("rasa-redis")
    if rasa:
        lines += [
            f"Rasa's own Redis lock store let two holders in at once {rasa['overlapping']} times in"
            f" {rasa['acquisitions']} acquisitions ({rasa['hung']} calls hung) (RasaHQ/rasa#9213);"
            f" the atomic store {stores.get('atomic-redis', {}).get('overlapping', '–')} times.",
            "",
        ]
    return lines


def _scale(result: Dict[str, Any]) -> List[str]:
    scale = result.get("scale")
    if not scale:
        return []
    lines = _scale_runs(scale) + _sizing(scale) + _holdings(scale) + _locks(result, scale)
    lines += [
        "- PSS divides each shared page among all processes that map it, also processes outside the"
        " stack (another Rasa server on this machine lowers it), and USS counts only pages no other"
        " process maps: both depend on what else runs. Sums are over the processes of the stack.",
        f"- The scale phase took {fmt(scale.get('duration_s'), 0, ' s')}.",
        "",
    ]
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


def _languages(result: Dict[str, Any]) -> List[str]:
    figures = result.get("languages")
    if not figures:
        return []
    one, three, ratios = figures["one_language"], figures["three_languages"], figures["ratios"]
    rows = [
        [label, fmt(one.get(key)), fmt(three.get(key)), fmt(ratios.get(key), 2) if key in ratios else ""]
        for label, key in (
            ("full training (s)", "training_s"),
            ("NLU time per message, median (ms)", "parse_ms_median"),
            ("NLU time per message, p95 (ms)", "parse_ms_p95"),
            ("memory with the model loaded (MiB)", "rss_mib_loaded"),
            ("memory after parsing (MiB)", "rss_mib_after"),
        )
    ]
    return [
        "## Three languages against one",
        "",
        "The same configuration trained on the English data alone and on the English, French and"
        f" Spanish data, then {three.get('messages')} held-out messages of the three languages parsed"
        " one at a time in a fresh process per model (`benchmark/languages.py`).",
        "",
        *table(["", "English only", "three languages", "ratio"], rows),
        "",
    ]


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
    blind = quality.get("blind")
    if blind:
        from benchmark.blind.figures import markdown_lines

        lines += markdown_lines(blind["figures"], blind["set"])
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


def retrain_lines(result: Dict[str, Any]) -> List[str]:
    """Retraining from corrections: rendered by benchmark/retrain.py, beside its measurement."""
    from benchmark.retrain import report_lines

    return report_lines(result)


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
    for section in (
        _targets,
        _machine,
        _load,
        _memory_and_startup,
        _scale,
        _training,
        retrain_lines,
        _languages,
        _quality,
        _tuning,
    ):
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
