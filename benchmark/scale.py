"""The scale phase: throughput, latency and memory with 1, 2 and 4 Rasa replicas (the scale
profile: replicas behind nginx, PostgreSQL, locks in Redis), the embedded profile with 2
processes on SQLite as the same session's baseline, what one Rasa process holds, and the lock
stores' overhead (benchmark/lock_race.py).

Each configuration is started on its own (scripts/serve.py, as `make run` and `make
run-scale` start it) on free ports of 127.0.0.1; the scale profile's on a temporary
PostgreSQL database created here and dropped afterwards, its locks under Redis keys of their
own (every conversation of the run has a new id). Warm-up, then one closed-loop level at a
concurrency that keeps every replica busy; memory of every process of the stack after start
and after the load; then the stack is stopped before the next one starts.

The arithmetic of the report (per-replica figures, what a deployment of N replicas needs) is
pure and unit-tested: :func:`replica_figures`, :func:`sizing`, :func:`estimate`.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tarfile
import time
from pathlib import Path
from typing import Any, ContextManager, Dict, List, Optional, Sequence

from benchmark import ROOT, SCRATCH, conversations, lock_race
from benchmark.load import run_level, warm_up
from benchmark.memory import descendants, full_info, smaps_regions, summed
from benchmark.processes import BIN, environment, run_timed, tail
from benchmark.progress import say
from benchmark.servers import RunningStack, main_processes, our_stack, parents

NGINX = "/usr/sbin/nginx"  # as supervision/programs.py
LEVEL_MAX_SECONDS = 90.0  # no new conversation after this long (each level normally takes < 60 s)
LOCK_RACE = {"processes": 4, "iterations": 50, "samples": 200, "hold_ms": 2.0, "seconds": 5.0}
STAGES_TIMEOUT = 300.0
STORAGE = {"embedded": "SQLite, lock files", "scale": "PostgreSQL, Redis locks"}


# -- pure arithmetic --------------------------------------------------------------------------


def mean(values: Sequence[float]) -> Optional[float]:
    return round(sum(values) / len(values), 1) if values else None


def replica_figures(memory: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """Mean RSS, USS and PSS of one Rasa process, from a configuration's memory snapshot
    ({"replicas": [{rss, uss, pss}, ...], "others": {role: {rss, uss, pss}}})."""
    replicas = memory.get("replicas") or []
    return {key: mean([replica[key] for replica in replicas]) for key in ("rss", "uss", "pss")}


def sizing(memory: Dict[str, Any]) -> Dict[str, Any]:
    """What the stack of a snapshot needs, and how it splits into a part each replica adds
    (its USS: pages no other process maps) and a fixed part (the other servers, and the
    libraries the replicas share, counted once).

    The stack's memory is each process's own pages (USS) plus the shared pages counted once,
    taken as the largest set one process maps (RSS - USS of a replica: the libraries, which
    the other servers map a part of). PSS, which adds up to the memory really used, would do
    as well, but it is lowered by processes outside the stack that map the same libraries
    (another Rasa server on the machine); RSS counts each shared page once per process."""
    replicas = memory.get("replicas") or []
    others = memory.get("others") or {}
    entries = [*replicas, *others.values()]
    own = sum(entry["uss"] for entry in entries)
    shared_once = max((entry["rss"] - entry["uss"] for entry in entries), default=0.0)
    total = round(own + shared_once, 1)
    per_replica = replica_figures(memory)["uss"]
    count = len(replicas)
    return {
        "replicas": count,
        "total_mib": total,
        "shared_once_mib": round(shared_once, 1),
        "total_pss_mib": round(sum(entry["pss"] for entry in entries), 1),
        "total_rss_mib": round(sum(entry["rss"] for entry in entries), 1),
        "per_replica_mib": per_replica,
        "fixed_mib": round(total - count * per_replica, 1) if per_replica is not None else None,
    }


def estimate(split: Dict[str, Any], replicas: int) -> Optional[float]:
    """Memory for `replicas` replicas on one machine, from a :func:`sizing` split."""
    if split.get("fixed_mib") is None or split.get("per_replica_mib") is None:
        return None
    return round(split["fixed_mib"] + replicas * split["per_replica_mib"], 1)


def speedup(configurations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Throughput of each scale configuration relative to one replica."""
    scale = [c for c in configurations if c.get("profile") == "scale" and c.get("level")]
    one = next((c for c in scale if c["replicas"] == 1), None)
    if one is None or not one["level"]["throughput_msg_s"]:
        return []
    base = one["level"]["throughput_msg_s"]
    return [
        {"replicas": c["replicas"], "ratio": round(c["level"]["throughput_msg_s"] / base, 2)} for c in scale
    ]


# -- services ---------------------------------------------------------------------------------


def check_services(redis_url: str, postgres_server: str) -> None:
    """RuntimeError naming what the scale profile lacks here."""
    if not os.access(NGINX, os.X_OK):
        raise RuntimeError(f"the scale profile needs nginx at {NGINX}")
    import redis

    from storage.database import server_error

    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RuntimeError(f"no Redis server at {redis_url}: {error}") from None
    finally:
        client.close()
    problem = server_error(postgres_server, connect_timeout=5)
    if problem is not None:
        raise RuntimeError(f"no PostgreSQL server at {postgres_server}: {problem}")


def temporary_database(postgres_server: str) -> ContextManager[str]:
    """A new empty PostgreSQL database on `postgres_server` (a URL of a database there to
    connect to); its URL. Dropped at the end, with any connection still open to it."""
    from storage.database import scratch_database

    return scratch_database(postgres_server, "apt_benchmark_")


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1 (the replicas' ports)."""
    for _ in range(100):
        first = 20000 + secrets.randbelow(20000)
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free ports")


# -- measuring a running stack ----------------------------------------------------------------


def stack_memory(stack: RunningStack) -> Dict[str, Any]:
    """Each Rasa process (with any process it started) and each other role, summed: RSS, USS
    and PSS in MiB."""
    roles = stack.processes()
    mains = main_processes(roles, parents())
    replicas = []
    for pid in sorted(mains.get("rasa", [])):
        figures = summed(full_info(member) for member in [pid, *descendants(pid)])
        replicas.append({"pid": pid, **figures})
    others = {
        role: {"processes": len(pids), **summed(full_info(pid) for pid in pids)}
        for role, pids in sorted(roles.items())
        if role != "rasa"
    }
    return {"replicas": replicas, "others": others}


def measure_configuration(
    name: str, settings: Dict[str, str], model: Path, options: Dict[str, Any]
) -> Dict[str, Any]:
    """Start one configuration, warm it up, load it, measure it, stop it."""
    workdir = SCRATCH / "scale" / name.replace(" ", "-").replace(",", "")
    scripts, probe = conversations.OURS, conversations.OURS_PROBE
    label = f"scale-{settings.get('APT_PROFILE')}-{settings.get('APT_RASA_WORKERS')}"
    say(f"{name}: starting")
    with our_stack(model, workdir, probe, settings, wait_for_every_server=True) as stack:
        say(f"{name}: every server answered after {stack.startup_s:.1f} s")
        after_start = stack_memory(stack)
        warm_errors = warm_up(stack.url, scripts, label, options["warmup"], options["timeout"])
        level = run_level(
            stack.url,
            scripts,
            options["concurrency"],
            options["conversations"],
            label,
            options["timeout"],
            max_seconds=LEVEL_MAX_SECONDS,
        )
        after_load = stack_memory(stack)
        first = (after_load["replicas"] or [{}])[0].get("pid")
        regions = smaps_regions(first) if first else None
        say(
            f"{name}: {level.throughput_msg_s:.1f} msg/s, p50 {level.p50_ms:.0f} ms,"
            f" p95 {level.p95_ms:.0f} ms, {level.errors} errors;"
            f" per replica {replica_figures(after_load)}"
        )
    return {
        "name": name,
        "profile": settings["APT_PROFILE"],
        "replicas": int(settings["APT_RASA_WORKERS"]),
        "storage": STORAGE[settings["APT_PROFILE"]],
        "startup_s": round(stack.startup_s, 1),
        "warmup_errors": warm_errors,
        "level": level.to_dict(),
        "memory_mib": {"after_start": after_start, "after_load": after_load},
        "replica_regions_mib": regions,
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def memory_stages(model: Path) -> Dict[str, Any]:
    """benchmark/memory_stages.py in a process of its own, set up as a replica among several
    (one TensorFlow thread)."""
    log = SCRATCH / "scale" / "memory-stages.log"
    out = SCRATCH / "scale" / "memory-stages.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    env = environment(
        {
            "SANIC_WORKERS": "1",
            "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
        }
    )
    command = [str(BIN / "python"), "-m", "benchmark.memory_stages", str(model), str(out)]
    run_timed(command, ROOT, log, timeout=STAGES_TIMEOUT, env=env)
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError) as error:
        raise RuntimeError(f"memory stages: no figures ({error}); end of {log}:\n{tail(log)}") from None


def model_on_disk(model: Path) -> Dict[str, Any]:
    """The model archive's size, unpacked size, and its largest parts."""
    parts: Dict[str, int] = {}
    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            if member.isfile():
                words = member.name.split("/")
                part = words[1] if words[0] == "components" and len(words) > 2 else words[0]
                parts[part] = parts.get(part, 0) + member.size
    largest = sorted(parts.items(), key=lambda item: -item[1])[:3]
    return {
        "archive_mib": round(model.stat().st_size / 2**20, 1),
        "unpacked_mib": round(sum(parts.values()) / 2**20, 1),
        "largest": [{"part": part, "mib": round(size / 2**20, 1)} for part, size in largest],
    }


# -- the phase --------------------------------------------------------------------------------


def run(
    model: Path,
    replicas: Sequence[int],
    concurrency: int,
    conversations_per_level: int,
    warmup: int,
    timeout: float,
    redis_url: str,
    postgres_server: str,
) -> Dict[str, Any]:
    if not model.is_file():
        raise RuntimeError(f"no trained model at {model}: run `make train` first")
    check_services(redis_url, postgres_server)
    started = time.monotonic()
    options = {
        "concurrency": concurrency,
        "conversations": conversations_per_level,
        "warmup": warmup,
        "timeout": timeout,
    }
    per_conversation = conversations.messages_per_conversation(conversations.OURS)
    result: Dict[str, Any] = {
        "settings": {
            "replicas": list(replicas),
            "concurrency": concurrency,
            "conversations": conversations_per_level,
            "messages": conversations_per_level * per_conversation,
            "warmup_conversations": warmup,
            "level_max_s": LEVEL_MAX_SECONDS,
            "cores": os.cpu_count(),
        },
        "configurations": [],
        "problems": [],
    }
    say("memory of one Rasa process, stage by stage (a process of its own)")
    try:
        result["memory_stages"] = memory_stages(model)
    except Exception as error:  # noqa: BLE001 - the other measurements still run
        result["problems"].append(f"memory stages: {error}")
    result["model_on_disk"] = model_on_disk(model)
    plans = [("embedded, 2 processes", {"APT_PROFILE": "embedded", "APT_RASA_WORKERS": "2"}, None)]
    plans += [(f"scale, {n} replica{'s' if n > 1 else ''}", {"APT_PROFILE": "scale"}, n) for n in replicas]
    for name, settings, count in plans:
        try:
            if count is None:
                result["configurations"].append(measure_configuration(name, settings, model, options))
                continue
            with temporary_database(postgres_server) as database_url:
                scale_settings = {
                    **settings,
                    "APT_RASA_WORKERS": str(count),
                    "APT_REPLICA_PORT": str(consecutive_free_ports(count)),
                    "APT_DATABASE_URL": database_url,
                    "APT_REDIS_URL": redis_url,
                }
                result["configurations"].append(measure_configuration(name, scale_settings, model, options))
        except Exception as error:  # noqa: BLE001 - one configuration failing keeps the others
            say(f"{name} failed: {error}")
            result["problems"].append(f"{name}: {error}")
    say("lock stores: contention and overhead (benchmark/lock_race.py)")
    try:
        result["locks"] = lock_race.measure(**LOCK_RACE, redis_url=redis_url)
    except Exception as error:  # noqa: BLE001
        result["problems"].append(f"lock stores: {error}")
    largest = max(
        (c for c in result["configurations"] if c["profile"] == "scale"),
        key=lambda c: c["replicas"],
        default=None,
    )
    if largest:
        result["sizing"] = {"from": largest["name"], **sizing(largest["memory_mib"]["after_load"])}
    result["speedup"] = speedup(result["configurations"])
    result["duration_s"] = round(time.monotonic() - started, 1)
    return result
