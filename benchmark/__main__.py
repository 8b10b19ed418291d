"""`python -m benchmark`: measure the running stack against Rasa's default assistant and
write reports/benchmark.md and reports/benchmark.json.

Phases: load (start-up, latency, throughput, memory, both stacks), scale (1, 2 and 4 Rasa
replicas behind nginx on PostgreSQL and Redis against 2 embedded processes on SQLite, memory
per replica, the lock stores' overhead), quality (`rasa test nlu` on the held-out set,
cross-validation, the blind set played against a stack of its own), training (full,
incremental, baseline), languages (the English data alone against the three languages:
training, time per message, memory). A phase that fails is reported as a problem and the
others still run; every server started is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from apt_settings import settings
from benchmark import (
    REPORTS,
    ROOT,
    SCRATCH,
    conversations,
    languages,
    machine,
    merge,
    quality,
    report,
    retrain,
    scale,
    targets,
    training,
)
from benchmark.load import LevelResult, run_level, warm_up
from benchmark.memory import mib, rss_of
from benchmark.processes import on_termination, stop_all
from benchmark.progress import phase, say
from benchmark.servers import RunningStack, baseline_stack, our_stack

PHASES = ("load", "scale", "quality", "training", "languages")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the scale phase, cross-validation and the training timings"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PHASES,
        help="run only this phase (repeatable); updates those sections of an existing report",
    )
    parser.add_argument(
        "--levels", default="1,8,32", help="concurrent conversations per level (default 1,8,32)"
    )
    parser.add_argument("--conversations", type=int, default=64, help="conversations per level (default 64)")
    parser.add_argument("--warmup", type=int, default=8, help="warm-up conversations per stack (default 8)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a request is an error")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--replicas", default="1,2,4", help="scale phase: Rasa replicas (default 1,2,4)")
    parser.add_argument(
        "--scale-concurrency", type=int, default=16, help="scale phase: conversations at once (default 16)"
    )
    parser.add_argument(
        "--scale-conversations",
        type=int,
        default=128,
        help="scale phase: conversations per configuration (default 128)",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/0", help="scale phase: Redis (default on 127.0.0.1)"
    )
    parser.add_argument(
        "--postgres-server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="scale phase: a PostgreSQL database to connect to, where a temporary one is created and dropped",
    )
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "apt.tar.gz", help="our trained model"
    )
    parser.add_argument("--out", type=Path, default=REPORTS, help="where the report goes (default reports/)")
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",") if level.strip()]
    args.replicas = [int(count) for count in args.replicas.split(",") if count.strip()]
    if not args.levels or min(args.levels) < 1 or args.conversations < 1:
        parser.error("levels and conversations must be positive")
    if not args.replicas or min(args.replicas) < 1 or max(args.replicas) > 16:
        parser.error("replicas must be between 1 and 16")
    if args.scale_concurrency < 1 or args.scale_conversations < 1:
        parser.error("the scale phase's concurrency and conversations must be positive")
    return args


def memory_of(stack: RunningStack) -> Dict[str, Optional[float]]:
    """RSS of each server (role), summed over its processes: all Rasa worker processes, say."""
    return {
        role: mib(sum(rss_of(pid) or 0 for pid in pids)) for role, pids in sorted(stack.processes().items())
    }


def rasa_processes_of(stack: RunningStack) -> List[float]:
    """RSS of each Rasa process, MiB (the target is per process)."""
    return [mib(rss_of(pid) or 0) or 0.0 for pid in stack.processes().get("rasa", [])]


def summary(level: LevelResult) -> str:
    return (
        f"p50 {level.p50_ms:.0f} ms, p95 {level.p95_ms:.0f} ms, p99 {level.p99_ms:.0f} ms, "
        f"{level.throughput_msg_s:.2f} msg/s, {level.errors} errors"
    )


def run_load(args: argparse.Namespace) -> Dict[str, Any]:
    """Both stacks up at once (the idle one costs no CPU), levels interleaved ours/baseline,
    so that drift in the machine's load hits both alike."""
    if not args.model.is_file():
        raise RuntimeError(f"no trained model at {args.model}: run `make train` first")
    baseline_model = training.ensure_baseline(SCRATCH)
    plans = {
        "ours": (conversations.OURS, conversations.OURS_PROBE, "scripts/serve.py"),
        "baseline": (conversations.BASELINE, conversations.BASELINE_PROBE, "rasa run"),
    }
    results: Dict[str, Dict[str, Any]] = {}
    with ExitStack() as servers:
        stacks: Dict[str, RunningStack] = {}
        say("starting our stack (scripts/serve.py)")
        stacks["ours"] = servers.enter_context(
            our_stack(args.model, SCRATCH / "ours-stack", conversations.OURS_PROBE)
        )
        say(f"our stack answered after {stacks['ours'].startup_s:.1f} s; starting the baseline (rasa run)")
        stacks["baseline"] = servers.enter_context(
            baseline_stack(training.baseline_project(SCRATCH), baseline_model, conversations.BASELINE_PROBE)
        )
        say(f"baseline answered after {stacks['baseline'].startup_s:.1f} s")
        for name, stack in stacks.items():
            scripts, probe, launcher = plans[name]
            warm_errors = warm_up(stack.url, scripts, name, args.warmup, args.timeout)
            results[name] = {
                "launcher": launcher,
                "probe": probe,
                "startup_s": round(stack.startup_s, 1),
                "warmup_errors": warm_errors,
                "memory_mib": {"after_warmup": memory_of(stack)},
                "levels": [],
            }
            warm_memory = results[name]["memory_mib"]["after_warmup"]
            say(f"{name}: warmed up ({warm_errors} errors), memory MiB {warm_memory}")
        for concurrency in args.levels:
            for name, stack in stacks.items():
                say(f"{name}: {args.conversations} conversations, {concurrency} at a time")
                level = run_level(
                    stack.url, plans[name][0], concurrency, args.conversations, name, args.timeout
                )
                say(f"{name} at {concurrency}: {summary(level)}")
                results[name]["levels"].append(level.to_dict())
        for name, stack in stacks.items():
            results[name]["memory_mib"]["after_load"] = memory_of(stack)
            results[name]["memory_mib"]["rasa_processes_after_load"] = rasa_processes_of(stack)
            say(f"{name}: memory after the load {results[name]['memory_mib']['after_load']}")
        say("stopping both stacks")
    return {
        **results,
        "ratios": targets.level_ratios(results["ours"]["levels"], results["baseline"]["levels"]),
        "notes": [
            "Our stack: scripts/serve.py as `make run` starts it (Rasa server with"
            f" {settings().rasa_workers} worker processes, action server, staff"
            " workspace) with a fresh SQLite database (its tracker store and project database) in"
            " build/benchmark/; the baseline: `rasa run` (one process) with its in-memory tracker"
            " and no action server. Memory is that of each server with its worker processes.",
            "Levels ran interleaved (ours, then the baseline, at each level) with both stacks up.",
        ],
    }


def run_quality(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    if not args.model.is_file():
        raise RuntimeError(f"no trained model at {args.model}: run `make train` first")
    test_set = quality.test_set_quality(
        args.model, ROOT / "tests" / "test_nlu.yml", SCRATCH / "test-nlu", args.out
    )
    result.setdefault("quality", {})["test_set"] = test_set
    overall = test_set["overall"]
    say(f"held-out weighted F1 {overall.get('weighted', {}).get('f1')}, accuracy {overall.get('accuracy')}")


def run_cross_validation(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    cv = quality.cross_validation(args.folds, SCRATCH / "cross-validation")
    result.setdefault("quality", {})["cross_validation"] = cv
    say(f"cross-validation: {cv.get('per_fold_mean_std', {}).get('test')}")


def run_blind(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    """The blind set (benchmark/blind/) against a stack of its own; every turn's result goes
    to build/benchmark/blind-results.json, the figures to the report."""
    from benchmark.blind import latest_set
    from benchmark.blind.__main__ import measure, own_stack

    with own_stack(args.model, SCRATCH / "blind-stack") as stack:
        measured = measure(stack, latest_set())
    (SCRATCH / "blind-results.json").write_text(json.dumps(measured, indent=1, ensure_ascii=False) + "\n")
    result.setdefault("quality", {})["blind"] = {"set": measured["set"], "figures": measured["figures"]}
    overall = measured["figures"]["overall"]
    say(f"blind set: {overall['right']} of {overall['turns']} turns right")


def run_training(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    """Ours first, kept even if the baseline's training is then interrupted."""
    timings = result.setdefault("training", {})
    training.time_ours(SCRATCH, timings.setdefault("ours", {}))
    timings["baseline"] = training.time_baseline(SCRATCH)
    timings["retrain"] = retrain.measure(SCRATCH, args.model)  # a round after a few corrections


def run_languages(_args: argparse.Namespace, result: Dict[str, Any]) -> None:
    result["languages"] = languages.run(SCRATCH)


def run_load_phase(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    result["load"] = run_load(args)


def run_scale_phase(args: argparse.Namespace, result: Dict[str, Any]) -> None:
    """Problems of a configuration go to the report's problems; the others are still kept."""
    figures = scale.run(
        args.model,
        args.replicas,
        args.scale_concurrency,
        args.scale_conversations,
        args.warmup,
        args.timeout,
        args.redis_url,
        args.postgres_server,
    )
    result["problems"] += [f"scale: {problem}" for problem in figures.pop("problems", [])]
    result["scale"] = figures


STEPS: Dict[str, Callable[[argparse.Namespace, Dict[str, Any]], None]] = {
    "load": run_load_phase,
    "scale": run_scale_phase,
    "quality": run_quality,
    "cross-validation": run_cross_validation,
    "blind": run_blind,
    "training": run_training,
    "languages": run_languages,
}


def steps_for(only: Optional[List[str]], quick: bool) -> List[str]:
    """The steps to run: --only picks phases (quality includes cross-validation and the blind
    set); --quick drops the slow ones: scale, cross-validation, training and languages."""
    chosen = [
        step
        for step in STEPS
        if not only or step in only or (step in ("cross-validation", "blind") and "quality" in only)
    ]
    if quick:
        slow = ("scale", "cross-validation", "training", "languages")
        chosen = [step for step in chosen if step not in slow]
    return chosen


def previous_report(args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    """The report a partial run (--only) updates, if there is one."""
    path = args.out / "benchmark.json"
    if not args.only or not path.is_file():
        return None
    return json.loads(path.read_text())


def finish(
    result: Dict[str, Any], started: float, out: Path, previous: Optional[Dict[str, Any]], steps: List[str]
) -> Dict[str, Any]:
    """Evaluate the targets on what was measured so far and write both reports; returns
    what was written."""
    result["duration_s"] = round(time.monotonic() - started, 1)
    written = merge.merge(previous, result, steps) if previous else result
    written["targets"] = targets.evaluate(written)
    report.write(written, out)
    return written


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    on_termination()
    chosen = steps_for(args.only, args.quick)
    per_level = args.conversations * conversations.messages_per_conversation(conversations.OURS)
    conversations.messages_per_conversation([*conversations.OURS, *conversations.BASELINE])  # same length
    started = time.monotonic()
    result: Dict[str, Any] = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python -m benchmark", *argv]),
        "machine": machine.describe(),
        "settings": {
            "phases": chosen,
            "levels": args.levels,
            "conversations_per_level": args.conversations,
            "messages_per_conversation": conversations.messages_per_conversation(conversations.OURS),
            "messages_per_level": per_level,
            "warmup_conversations": args.warmup,
            "timeout_s": args.timeout,
            "folds": None if args.quick else args.folds,
        },
        "tuning": report.load_tuning(Path(__file__).parent / "tuning.yml"),
        "problems": [],
    }
    previous = previous_report(args)
    done: List[str] = []
    try:
        for name in chosen:
            with phase(name):
                try:
                    STEPS[name](args, result)
                except Exception as failure:  # noqa: BLE001 - one failed phase must not lose the others
                    say(f"{name} failed: {failure}")
                    result["problems"].append(f"{name}: {failure}")
            done.append(name)
            result.setdefault("load_average_after", {})[name] = [round(v, 2) for v in os.getloadavg()]
            finish(result, started, args.out, previous, done)  # a run cut short keeps what it measured
    except KeyboardInterrupt:
        say("interrupted: stopping every server started, writing what was measured")
        missing = [name for name in chosen if name not in done]
        result["problems"].append(f"interrupted before the end; not measured: {', '.join(missing)}")
    finally:
        stop_all()
    measured = [name for name in chosen if name in done or name in merge.measured_steps(result)]
    written = finish(result, started, args.out, previous, measured)
    say(f"report written: {args.out / 'benchmark.md'} and benchmark.json")
    for target in written["targets"]:
        say(f"target {target['what']}: measured {target['measured']}, met {target['met']}")
    return 1 if written["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
