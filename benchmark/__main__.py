"""`python -m benchmark`: measure the running stack against Rasa's default assistant and
write reports/benchmark.md and reports/benchmark.json.

Phases: load (start-up, latency, throughput, memory, both stacks), quality (`rasa test nlu`
on the held-out set, cross-validation), training (full, incremental, baseline). A phase
that fails is reported as a problem and the others still run; every server started is
stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmark import REPORTS, ROOT, SCRATCH, conversations, machine, quality, report, targets, training
from benchmark.load import LevelResult, run_level, warm_up
from benchmark.memory import mib, rss_bytes
from benchmark.processes import on_termination, stop_all
from benchmark.progress import phase, say
from benchmark.servers import RunningStack, baseline_stack, our_stack

PHASES = ("load", "quality", "training")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="skip cross-validation and the training timings")
    parser.add_argument("--only", action="append", choices=PHASES, help="run only this phase (repeatable)")
    parser.add_argument(
        "--levels", default="1,8,32", help="concurrent conversations per level (default 1,8,32)"
    )
    parser.add_argument("--conversations", type=int, default=64, help="conversations per level (default 64)")
    parser.add_argument("--warmup", type=int, default=8, help="warm-up conversations per stack (default 8)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a request is an error")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "apt.tar.gz", help="our trained model"
    )
    parser.add_argument("--out", type=Path, default=REPORTS, help="where the report goes (default reports/)")
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",") if level.strip()]
    if not args.levels or min(args.levels) < 1 or args.conversations < 1:
        parser.error("levels and conversations must be positive")
    return args


def memory_of(stack: RunningStack) -> Dict[str, Optional[float]]:
    return {role: mib(rss_bytes(pid)) for role, pid in stack.pids.items()}


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
            say(f"{name}: memory after the load {results[name]['memory_mib']['after_load']}")
        say("stopping both stacks")
    return {
        **results,
        "ratios": targets.level_ratios(results["ours"]["levels"], results["baseline"]["levels"]),
        "notes": [
            "Our stack: scripts/serve.py with a fresh SQLite database (its tracker store and"
            " project database) in build/benchmark/; the baseline: `rasa run` with its in-memory"
            " tracker and no action server.",
            "Levels ran interleaved (ours, then the baseline, at each level) with both stacks up.",
        ],
    }


def run_quality(args: argparse.Namespace) -> Dict[str, Any]:
    if not args.model.is_file():
        raise RuntimeError(f"no trained model at {args.model}: run `make train` first")
    result: Dict[str, Any] = {
        "test_set": quality.test_set_quality(
            args.model, ROOT / "tests" / "test_nlu.yml", SCRATCH / "test-nlu", args.out
        )
    }
    overall = result["test_set"]["overall"]
    say(f"held-out weighted F1 {overall.get('weighted', {}).get('f1')}, accuracy {overall.get('accuracy')}")
    if not args.quick:
        result["cross_validation"] = quality.cross_validation(args.folds, SCRATCH / "cross-validation")
        say(f"cross-validation: {result['cross_validation'].get('per_fold_mean_std', {}).get('test')}")
    return result


def run_training(_args: argparse.Namespace) -> Dict[str, Any]:
    return {"ours": training.time_ours(SCRATCH), "baseline": training.time_baseline(SCRATCH)}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    on_termination()
    chosen = [p for p in PHASES if (not args.only or p in args.only)]
    if args.quick:
        chosen = [p for p in chosen if p != "training"]
    per_level = args.conversations * conversations.messages_per_conversation(conversations.OURS)
    conversations.messages_per_conversation([*conversations.OURS, *conversations.BASELINE])  # same length
    started = time.monotonic()
    result: Dict[str, Any] = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python -m benchmark", *argv]),
        "machine": machine.describe(),
        "settings": {
            "phases": chosen + (["cross-validation"] if "quality" in chosen and not args.quick else []),
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
    runners = {"load": run_load, "quality": run_quality, "training": run_training}
    try:
        for name in chosen:
            with phase(name):
                try:
                    result[name] = runners[name](args)
                except Exception as failure:  # noqa: BLE001 - one failed phase must not lose the others
                    say(f"{name} failed: {failure}")
                    result["problems"].append(f"{name}: {failure}")
    except KeyboardInterrupt:
        say("interrupted: stopping every server started, writing what was measured")
        result["problems"].append("interrupted before the end")
    finally:
        stop_all()
    result["targets"] = targets.evaluate(result)
    result["duration_s"] = round(time.monotonic() - started, 1)
    paths = report.write(result, args.out)
    say(f"report written: {paths['markdown']} and {paths['json'].name}")
    for target in result["targets"]:
        say(f"target {target['what']}: measured {target['measured']}, met {target['met']}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
