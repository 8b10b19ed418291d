"""What runs, as data: one :class:`Program` per server process, for either profile.

``embedded`` (the default, ``make run``): the action server, ``APT_RASA_WORKERS`` Rasa
processes on one listening socket of ``APT_RASA_PORT`` that the supervisor holds
(server/patches/shared_port.py), as many spare slots for their successors when a new model goes live
(supervision/swap.py), the staff workspace and the demo page, on SQLite and file locks.
``scale`` (``make run-scale``): the same, but the Rasa processes are replicas on ports of
their own (``APT_REPLICA_PORT`` + i) behind nginx on ``APT_RASA_PORT``, with the locks in
Redis (``endpoints-scale.yml``) and the database on PostgreSQL.
:mod:`supervision.supervisor_conf` turns the list into a supervisord file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from apt_settings import LOOPBACK_HOSTS, ROOT, Settings

BIN = Path(sys.executable).parent
PYTHON = str(BIN / "python")
NGINX = "/usr/sbin/nginx"
SCALE_ENDPOINTS = ROOT / "endpoints-scale.yml"

# Seconds a process must stay up to count as started; dying sooner is a failed start,
# retried after 1, 2, 3 ... s, and given up (FATAL) after START_RETRIES in a row. Liveness
# checks ask only started processes: a process still importing its libraries or loading its
# model on a busy machine must not be restarted for being slow to answer, so these are the
# longest start-ups seen on 2 saturated cores, with room to spare.
START_RETRIES = 5
RASA_GROUP = "rasa"  # the supervisor's group of the Rasa processes on the shared socket
ACTION_SERVER_START_SECONDS = 60
RASA_START_SECONDS = 300


@dataclass(frozen=True)
class LivenessCheck:
    """A URL that must answer 200 within ``timeout`` seconds, asked every ``every`` seconds
    (5 or 60: supervisor's TICK events); otherwise the process is restarted (superlance's
    httpok). It catches what a process exit does not: a process that hangs (SIGSTOP, a
    deadlock)."""

    url: str
    timeout: int
    every: int = 5


@dataclass(frozen=True)
class Program:
    name: str  # supervisor's name for it: letters, digits, underscores
    label: str  # what people call it, in messages
    command: List[str]
    ready_url: str  # answers 200 once the process serves
    environment: Dict[str, str] = field(default_factory=dict)  # on top of the launcher's
    liveness: Optional[LivenessCheck] = None
    start_seconds: int = 5
    start_retries: int = START_RETRIES
    stop_seconds: int = 20  # from SIGTERM to SIGKILL: a Rasa process finishes its answers
    quiet: bool = False  # output discarded (the demo page's access log)
    # Processes on one listening socket that the supervisor opens and hands to each as its
    # standard input (one fcgi-program group of that name; address "tcp://host:port"). Any of
    # them answers ready_url, so each is ready only once it marks itself ready in
    # ready_directory (after loading its model). A spare is not started with the stack: it is
    # the slot of a successor when a new model goes live (supervision/swap.py).
    group: Optional[str] = None
    socket: Optional[str] = None
    ready_directory: Optional[Path] = None
    spare: bool = False


def base_environment(conf: Settings) -> Dict[str, str]:
    """The environment of every process: the settings Rasa expands in the endpoints and
    credentials files, and switches of Rasa's and Sanic's own."""
    env = {
        **os.environ,
        **conf.rasa_environment(),
        "SANIC_HOST": "127.0.0.1",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    if conf.review_secure_cookie is None and conf.review_host in LOOPBACK_HOSTS:
        env["APT_REVIEW_SECURE_COOKIE"] = "0"  # served here over plain HTTP
    return env


# Debian's jemalloc (package libjemalloc2, which Debian's Redis depends on). Measured on the
# running stack after 8 conversations at once for 40 s, in one sitting: the two Rasa processes
# held 797 and 795, then 796 and 824 MiB with glibc's allocator; 785 and 786, then 783 and
# 782 MiB with jemalloc, which returns freed memory where glibc's arenas keep it
# (docs/model-loading.md).
JEMALLOC_PATHS = (
    Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
    Path("/usr/lib/aarch64-linux-gnu/libjemalloc.so.2"),
    Path("/usr/lib/libjemalloc.so.2"),
)


def jemalloc_library() -> Optional[Path]:
    """The jemalloc library this machine has, if any."""
    return next((path for path in JEMALLOC_PATHS if path.is_file()), None)


def _rasa_environment(conf: Settings) -> Dict[str, str]:
    """One Sanic worker per process; with several processes, TensorFlow on one thread each so
    that they do not compete for the cores; jemalloc as the allocator where the machine has
    it (``APT_ALLOCATOR``)."""
    env = {"SANIC_WORKERS": "1"}
    library = jemalloc_library() if conf.allocator == "jemalloc" else None
    if library is not None and not os.environ.get("LD_PRELOAD"):
        env["LD_PRELOAD"] = str(library)
    if conf.rasa_workers > 1:
        env["TF_INTRA_OP_PARALLELISM_THREADS"] = "1"
        env["TF_INTER_OP_PARALLELISM_THREADS"] = "1"
    if conf.profile == "scale":
        # Replicas are reached through nginx only (they listen on 127.0.0.1): the visitor's
        # address is the one nginx puts in X-Real-IP (server/channels/edge.py: client_address).
        env["SANIC_PROXIES_COUNT"] = "1"
        env["SANIC_REAL_IP_HEADER"] = "x-real-ip"
    return env


def replica_ports(conf: Settings) -> List[int]:
    return [conf.replica_port + i for i in range(conf.rasa_workers)]


def _rasa_programs(conf: Settings, run_directory: Path) -> List[Program]:
    rasa = [PYTHON, str(ROOT / "scripts" / "rasa_server.py"), "--model", str(conf.model)]
    env = _rasa_environment(conf)
    if conf.profile == "scale":
        return [
            Program(
                name=f"rasa_{i}",
                label=f"Rasa replica {i}",
                command=[
                    *rasa,
                    "--endpoints",
                    str(SCALE_ENDPOINTS),
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                ready_url=f"http://127.0.0.1:{port}/",
                environment=env,
                liveness=LivenessCheck(f"http://127.0.0.1:{port}/", timeout=30, every=60),
                start_seconds=RASA_START_SECONDS,
            )  # fmt: skip
            for i, port in enumerate(replica_ports(conf))
        ]
    if ":" in conf.host:
        raise ValueError(
            f"APT_HOST={conf.host}: the embedded profile's Rasa processes share an IPv4 socket "
            "(supervisor's); use 0.0.0.0 or an IPv4 address, or the scale profile"
        )
    ready = ready_directory(run_directory)
    shared = [*rasa, "--interface", conf.host, "--port", str(conf.rasa_port), "--shared-socket", str(ready)]
    return [
        Program(
            name=f"rasa_{i}",
            label=f"Rasa server process {i}",
            command=shared,
            ready_url=f"http://{_reachable(conf.host)}:{conf.rasa_port}/",
            environment=env,
            start_seconds=RASA_START_SECONDS,
            group=RASA_GROUP,
            socket=f"tcp://{conf.host}:{conf.rasa_port}",
            ready_directory=ready,
            spare=i >= conf.rasa_workers,
        )
        for i in range(2 * conf.rasa_workers)
    ]


def ready_directory(run_directory: Path) -> Path:
    """Where the Rasa processes on the shared socket mark themselves ready (by pid)."""
    return run_directory / "ready"


def _reachable(host: str) -> str:
    """An address of this machine where a server listening on ``host`` answers."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def programs(conf: Settings, run_directory: Path) -> List[Program]:
    """Every process of the stack, in start order."""
    actions = f"http://127.0.0.1:{conf.actions_port}/health"
    listed = [
        Program(
            name="action_server",
            label="action server",
            command=[PYTHON, str(ROOT / "scripts" / "action_server.py"), "--port", str(conf.actions_port)],
            ready_url=actions,
            liveness=LivenessCheck(actions, timeout=15, every=5),
            start_seconds=ACTION_SERVER_START_SECONDS,
            stop_seconds=5,  # holds no state; a hung one ignores SIGTERM until SIGKILL
        ),
        *_rasa_programs(conf, run_directory),
    ]
    if conf.profile == "scale":
        listed.append(
            Program(
                name="nginx",
                label="nginx",
                command=[NGINX, "-p", str(run_directory), "-c", str(run_directory / "nginx.conf")],
                ready_url=f"http://{_reachable(conf.host)}:{conf.rasa_port}/nginx-health",
            )
        )
    review = f"http://{_reachable(conf.review_host)}:{conf.review_port}/login"
    listed += [
        Program(
            name="staff_workspace",
            label="staff workspace",
            command=[PYTHON, "-m", "waitress", "--host", conf.review_host, "--port", str(conf.review_port),
                     "--threads", "4", "--ident=", "--call", "review:create_app"],
            ready_url=review,
            liveness=LivenessCheck(review, timeout=10, every=60),
        ),
        # Only the page's own files; --ident= sends no Server header (web/__init__.py).
        Program(
            name="demo_page",
            label="demo page server",
            command=[PYTHON, "-m", "waitress", "--host", conf.host, "--port", str(conf.web_port),
                     "--ident=", "--call", "web:create_app"],
            ready_url=f"http://{_reachable(conf.host)}:{conf.web_port}/",
            quiet=True,
        ),
    ]  # fmt: skip
    return listed
