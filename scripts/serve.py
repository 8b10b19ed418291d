"""Start the action server, the Rasa server, the demo page and the staff workspace; wait
until all answer, print "ready", and keep them running until Ctrl-C.

Used by `make run` (and `make shell`, which talks in the terminal instead), and by the
end-to-end tests, so that the tests exercise the same start-up. Settings come from
apt_settings.py (``python -m apt_settings`` shows them); this script only checks that the
stack can start (knowledge base, model, database at the newest revision) and launches it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # scripts/ is not a package

from actions.knowledge import KnowledgeBaseError, load_knowledge_base  # noqa: E402
from apt_settings import LOOPBACK_HOSTS, Settings, SettingsError, settings  # noqa: E402
from storage.database import check_connection  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

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
    try:
        # Rasa would otherwise retry an unreachable database in silence.
        check_connection(conf.database_url)
        upgrade()
    except RuntimeError as error:
        raise SystemExit(f"error: {error}") from None


def environment(conf: Settings) -> Dict[str, str]:
    """The environment of every process: the settings Rasa expands in endpoints.yml and
    credentials.yml, and switches of Rasa's and Sanic's own."""
    env = {
        **os.environ,
        **conf.rasa_environment(),
        "SANIC_HOST": "127.0.0.1",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    if conf.review_secure_cookie is None and conf.review_host in LOOPBACK_HOSTS:
        env["APT_REVIEW_SECURE_COOKIE"] = "0"  # served here over plain HTTP
    return env


def rasa_server_environment(conf: Settings, env: Dict[str, str]) -> Dict[str, str]:
    """``APT_RASA_WORKERS`` Sanic workers on one port (Rasa allows more than one with a lock
    store shared between processes, which endpoints.yml configures), each running TensorFlow
    on one thread so that they do not compete for the cores."""
    rasa_env = {**env, "SANIC_WORKERS": str(conf.rasa_workers)}
    if conf.rasa_workers > 1:
        rasa_env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
        rasa_env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    return rasa_env


def commands(conf: Settings) -> Dict[str, List[str]]:
    python = str(BIN / "python")
    return {
        "action server": [python, str(ROOT / "scripts" / "action_server.py"),
                          "--port", str(conf.actions_port)],
        "Rasa server": [python, str(ROOT / "scripts" / "rasa_server.py"), "--model", str(conf.model),
                        "--interface", conf.host, "--port", str(conf.rasa_port)],
        "review workspace": [python, "-m", "waitress", "--host", conf.review_host, "--port",
                             str(conf.review_port), "--threads", "4", "--ident=",
                             "--call", "review:create_app"],
        # Only the page's own files; --ident= sends no Server header (website/__init__.py).
        "demo page server": [python, "-m", "waitress", "--host", conf.host, "--port", str(conf.web_port),
                             "--ident=", "--call", "website:create_app"],
    }  # fmt: skip


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(processes: Dict[str, subprocess.Popen], urls: List[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(
                    f"error: the {name} exited with code {process.returncode} during start-up "
                    "(its log is above)"
                )
        if time.monotonic() > deadline:
            raise SystemExit(f"error: not ready after {timeout:.0f} s: {', '.join(pending)} did not answer")
        pending = [url for url in pending if not answers(url)]
        if pending:
            time.sleep(1)


def stop(processes: Dict[str, subprocess.Popen]) -> None:
    """Stop every process started here and everything they started (the Rasa server's
    workers): a worker whose main process died would otherwise live on, holding its memory."""
    descendants: List[psutil.Process] = []
    for process in processes.values():
        try:
            descendants += psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for leftover in alive:
        leftover.kill()


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

    env = environment(conf)
    command_lines = commands(conf)
    processes: Dict[str, subprocess.Popen] = {}

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes["action server"] = subprocess.Popen(command_lines["action server"], cwd=ROOT, env=env)
        if args.shell:
            wait_until_ready(processes, [f"http://127.0.0.1:{conf.actions_port}/health"], conf.ready_timeout)
            return subprocess.call(
                [str(BIN / "rasa"), "shell", "--model", str(conf.model)], cwd=ROOT, env=env
            )
        processes["Rasa server"] = subprocess.Popen(
            command_lines["Rasa server"], cwd=ROOT, env=rasa_server_environment(conf, env)
        )
        processes["review workspace"] = subprocess.Popen(command_lines["review workspace"], cwd=ROOT, env=env)
        processes["demo page server"] = subprocess.Popen(
            command_lines["demo page server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_ready(
            processes,
            [
                f"http://127.0.0.1:{conf.actions_port}/health",
                f"http://{conf.host}:{conf.rasa_port}/",
                f"http://{conf.host}:{conf.web_port}/",
                f"http://{conf.review_host}:{conf.review_port}/login",
            ],
            conf.ready_timeout,
        )
        print_ready(conf)
        while all(process.poll() is None for process in processes.values()):
            time.sleep(1)
        exited = [name for name, process in processes.items() if process.poll() is not None]
        print(f"error: the {', '.join(exited)} stopped unexpectedly", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
