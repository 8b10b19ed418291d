"""Start the stack under a supervisor, wait until every server answers, print "ready", and
keep it running until Ctrl-C.

Used by `make run` and `make run-scale` (and `make shell`, which talks in the terminal
instead), and by the end-to-end tests, so that the tests exercise the same start-up.
Settings come from apt_settings.py (``python -m apt_settings`` shows them). This script
checks that the stack can start (knowledge base, model, database at the newest revision;
for the scale profile PostgreSQL, Redis and nginx), writes the supervisor's configuration
(supervision/), and runs supervisord in the foreground: it restarts any server that dies or
hangs while the others keep serving. The script reports a server the supervisor gave up on,
and stops everything when it is stopped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Set

import psutil

from apt_settings import ROOT, Settings, SettingsError, settings  # noqa: E402
from content.knowledge import KnowledgeBaseError, load_knowledge_base  # noqa: E402
from server.patches import shared_port  # noqa: E402
from storage.database import check_connection, is_sqlite  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from supervision import control, nginx_conf, supervisor_conf  # noqa: E402
from supervision.programs import NGINX, Program, base_environment, programs, replica_ports  # noqa: E402

BIN = Path(sys.executable).parent


def check_ready_to_start(conf: Settings) -> None:
    """SystemExit with the reason if the stack cannot start; brings the database up to date
    (before any server starts, so that no two processes migrate it at once)."""
    try:
        load_knowledge_base()
    except KnowledgeBaseError as error:
        raise SystemExit(f"error: {error}") from None
    try:
        for secret in ("actions_secret", "session_secret", "review_secret_key"):
            conf.secret(secret)  # generated here once, before the processes that read it start
    except (SettingsError, OSError) as error:
        raise SystemExit(f"error: cannot keep the secrets in var/: {error}") from None
    if not conf.model.is_file():
        raise SystemExit(f"error: no trained model at {conf.model}: run `make train` first")
    if conf.profile == "scale":
        check_scale_services(conf)
    try:
        # Rasa would otherwise retry an unreachable database in silence.
        check_connection(conf.database_url)
        upgrade()
    except RuntimeError as error:
        raise SystemExit(f"error: {error}") from None


def check_scale_services(conf: Settings) -> None:
    """The scale profile's replicas share PostgreSQL, Redis and nginx's address."""
    if is_sqlite(conf.database_url):
        raise SystemExit(
            "error: the scale profile keeps conversations in PostgreSQL: set APT_DATABASE_URL, "
            "e.g. postgresql://postgres@127.0.0.1:5432/apt"
        )
    if not os.access(NGINX, os.X_OK):
        raise SystemExit("error: the scale profile needs nginx (make run-scale installs it)")
    import redis

    try:
        redis.Redis.from_url(conf.redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise SystemExit(f"error: cannot reach Redis at APT_REDIS_URL: {error}") from None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(
    supervisord: subprocess.Popen,
    directory: Path,
    listed: List[Program],
    labels: Dict[str, str],
    timeout: float,
) -> None:
    """Return once every program answers; SystemExit if one is given up or time runs out."""
    deadline = time.monotonic() + timeout
    pending = list(listed)
    while pending:
        if supervisord.poll() is not None:
            code = supervisord.returncode
            raise SystemExit(f"error: the supervisor exited with code {code} (its log is above)")
        given_up = _given_up(directory, labels)
        if given_up:
            raise SystemExit(f"error: the {', '.join(given_up)} could not start (its log is above)")
        if time.monotonic() > deadline:
            names = ", ".join(program.label for program in pending)
            raise SystemExit(f"error: not ready after {timeout:.0f} s: {names} did not answer")
        pending = [program for program in pending if not ready(program, directory)]
        if pending:
            time.sleep(1)


def ready(program: Program, directory: Path) -> bool:
    """The program serves: its URL answers, and a process on the shared socket has marked
    itself ready (its model loaded: any of them answers the URL)."""
    if not answers(program.ready_url):
        return False
    if program.ready_directory is None:
        return True
    try:
        pid = {info["name"]: info["pid"] for info in control.processes(directory)}.get(program.name)
    except OSError:
        return False
    return bool(pid) and shared_port.is_ready(program.ready_directory, pid)


def start_shared_socket_programs(
    supervisord: subprocess.Popen, directory: Path, listed: List[Program]
) -> None:
    """Start the Rasa processes on the shared socket that are not spares (supervisord does
    not start a group's processes itself: supervision/supervisor_conf.py)."""
    wanted = [program.name for program in listed if program.group is not None and not program.spare]
    deadline = time.monotonic() + 30
    while wanted:
        if supervisord.poll() is not None:
            raise SystemExit(f"error: the supervisor exited with code {supervisord.returncode}")
        try:
            control.start(directory, wanted[0])
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("error: the supervisor did not answer on its socket") from None
            time.sleep(0.2)  # still starting
            continue
        wanted.pop(0)


def _given_up(directory: Path, labels: Dict[str, str]) -> List[str]:
    """The programs the supervisor stopped restarting (they failed to start again and again)."""
    try:
        current = control.states(directory)
    except OSError:
        return []  # the supervisor is still starting
    return [labels.get(name, name) for name, state in current.items() if state in control.GIVEN_UP]


def prepare(conf: Settings, listed: List[Program]) -> Path:
    """The run folder with the supervisor's (and nginx's) configuration; SystemExit if a stack
    already serves there."""
    directory = control.run_directory(conf)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (directory / "supervisor.sock").exists():
        try:
            control.states(directory)
        except OSError:
            (directory / "supervisor.sock").unlink()  # left by a stack that was killed
        else:
            raise SystemExit(
                f"error: a stack already runs on port {conf.rasa_port} (python -m supervision status)"
            )
    _write_private(directory / "supervisord.conf", supervisor_conf.render(listed, directory))
    if conf.profile == "scale":
        _write_private(directory / "nginx.conf", nginx_conf.render(conf, replica_ports(conf), directory))
    return directory


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text)


def start_supervisor(directory: Path, env: Dict[str, str]) -> subprocess.Popen:
    """supervisord in the foreground; its output, and every program's, copied to ours."""
    supervisord = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(directory / "supervisord.conf")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    threading.Thread(target=_copy_output, args=(supervisord,), daemon=True).start()
    return supervisord


def _copy_output(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


def stop(supervisord: subprocess.Popen) -> None:
    """Stop the supervisor, which stops every program; then end anything left over (a
    program's children), so that no 1 GB Rasa process outlives the stack."""
    try:
        descendants = psutil.Process(supervisord.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if supervisord.poll() is None:
        supervisord.terminate()
    try:
        supervisord.wait(timeout=supervisor_conf.STOP_WAIT_SECONDS + 15)
    except subprocess.TimeoutExpired:
        supervisord.kill()
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for leftover in alive:
        leftover.kill()


def watch(supervisord: subprocess.Popen, directory: Path, labels: Dict[str, str]) -> int:
    """Until the supervisor exits: report, once each, the programs it has given up on (the
    others keep serving)."""
    reported: Set[str] = set()
    while supervisord.poll() is None:
        for label in _given_up(directory, labels):
            if label not in reported:
                print(
                    f"error: the {label} keeps failing to start; the supervisor gave up on it "
                    "(python -m supervision restart NAME tries again)",
                    file=sys.stderr,
                    flush=True,
                )
                reported.add(label)
        time.sleep(2)
    print(f"error: the supervisor exited with code {supervisord.returncode}", file=sys.stderr)
    return 1


def print_ready(conf: Settings) -> None:
    rasa_url = f"http://{conf.host}:{conf.rasa_port}"
    web_url = f"http://{conf.host}:{conf.web_port}/"
    print(f"Demo page with the chat widget: {web_url}")
    print(f"Staff review workspace: http://{conf.review_host}:{conf.review_port}/ "
          "(accounts: make staff-user NAME=<name>)")  # fmt: skip
    if conf.jwt_secret():
        print(f"Rasa HTTP API enabled at {rasa_url} (JWT required: make api-token)")
    print(
        f"APT assistant ready: POST {rasa_url}/webhooks/rest/webhook "
        '{"sender": "<id>", "message": "<text>"} (Ctrl-C stops)',
        flush=True,
    )


def run_shell(conf: Settings, env: Dict[str, str], action_server: Program) -> int:
    """``make shell``: the action server and Rasa's terminal chat, no supervisor needed."""
    process = subprocess.Popen(action_server.command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + conf.ready_timeout
        while not answers(action_server.ready_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("error: the action server did not start (its log is above)")
            time.sleep(1)
        return subprocess.call(
            [
                str(BIN / "python"),
                str(ROOT / "scripts" / "rasa_server.py"),
                "shell",
                "--model",
                str(conf.model),
            ],
            cwd=ROOT,
            env=env,
        )
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shell", action="store_true", help="talk to the assistant in the terminal")
    args = parser.parse_args()
    try:
        conf = settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    check_ready_to_start(conf)
    env = base_environment(conf)
    directory = control.run_directory(conf)
    try:
        listed = programs(conf, directory)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.shell:
        return run_shell(conf, env, listed[0])

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    prepare(conf, listed)
    supervisord = start_supervisor(directory, env)
    labels = {program.name: program.label for program in listed}
    try:
        start_shared_socket_programs(supervisord, directory, listed)
        serving = [program for program in listed if not program.spare]
        wait_until_ready(supervisord, directory, serving, labels, conf.ready_timeout)
        print_ready(conf)
        return watch(supervisord, directory, labels)
    except KeyboardInterrupt:
        return 0
    finally:
        stop(supervisord)
        shutil.rmtree(directory, ignore_errors=True)  # its configuration and sockets


if __name__ == "__main__":
    sys.exit(main())
