"""Start the action server, the Rasa server, the demo web page and the staff review
workspace; wait until all answer, then print "ready".

Used by `make run` (REST channel in the foreground until Ctrl-C) and `make shell` (talk in
the terminal), and by the end-to-end tests, so that the tests exercise the same start-up.

Settings come from the environment, with defaults for a local machine:
  APT_HOST          interface the Rasa server listens on        (127.0.0.1)
  APT_RASA_PORT     Rasa server port                            (5005)
  APT_ACTIONS_PORT  action server port, always on 127.0.0.1     (5055)
  APT_MODEL         trained model                               (models/apt.tar.gz)
  APT_READY_TIMEOUT seconds to wait for both servers            (300)
  APT_RASA_WORKERS  Rasa server processes sharing the port; each loads the model (~1.3 GB)
                    and uses one core (2; 1 on a machine with one core or little memory)
  APT_DATABASE_URL  the project's database: conversation log, enquiries, staff accounts
                    (sqlite:///var/apt.db; e.g. postgresql://rasa@127.0.0.1:5432/apt)
  APT_RASA_JWT_SECRET  enables Rasa's HTTP API, protected by JWTs signed with this secret
                    (unset: the API is off; only the chat channels are served)
  APT_REVIEW_HOST   interface of the staff review workspace      (127.0.0.1)
  APT_REVIEW_PORT   port of the staff review workspace           (8081)
  APT_WEB_PORT      port of the demo page with the chat widget  (8080)
  APT_ALLOWED_ORIGINS  browser origins the widget may connect from, comma-separated
                    (default: the demo page, http://127.0.0.1:<web port> and http://localhost:<web port>)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # scripts/ is not a package; the knowledge loader lives in actions/

from actions.knowledge import KnowledgeBaseError, load_knowledge_base  # noqa: E402
from storage.database import check_connection, database_url, engine_for  # noqa: E402

BIN = Path(sys.executable).parent


def settings() -> Dict[str, str]:
    env = os.environ
    return {
        "host": env.get("APT_HOST", "127.0.0.1"),
        "rasa_port": env.get("APT_RASA_PORT", "5005"),
        "actions_port": env.get("APT_ACTIONS_PORT", "5055"),
        "model": env.get("APT_MODEL", str(ROOT / "models" / "apt.tar.gz")),
        "timeout": env.get("APT_READY_TIMEOUT", "300"),
        "jwt_secret": env.get("APT_RASA_JWT_SECRET", ""),
        "review_host": env.get("APT_REVIEW_HOST", "127.0.0.1"),
        "review_port": env.get("APT_REVIEW_PORT", "8081"),
        "web_port": env.get("APT_WEB_PORT", "8080"),
        "origins": env.get("APT_ALLOWED_ORIGINS", ""),
        "workers": env.get("APT_RASA_WORKERS", "2"),
    }


def rasa_environment(base: Dict[str, str], workers: int) -> Dict[str, str]:
    """Rasa's own settings for ``workers`` server processes (Sanic workers on one port).

    Rasa starts more than one only with a lock store shared between processes, which
    endpoints.yml configures (storage/lock_store.py). With several workers:

    - each HTTP connection is closed after its answer (runtime/one_request_per_connection.py,
      installed by scripts/rasa_server.py), so that requests spread over the workers;
    - each worker runs TensorFlow on one thread, so that they do not compete for the cores.
    """
    env = {**base, "SANIC_WORKERS": str(workers)}
    if workers > 1:
        env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
        env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    return env


def temporary_yaml(data: object, prefix: str) -> str:
    """Write a derived configuration file for this run; the caller deletes it on exit."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", prefix=prefix, delete=False)
    with handle:
        yaml.safe_dump(data, handle)
    return handle.name


def endpoints_file(actions_port: str) -> str:
    """endpoints.yml with the action server URL pointing at the chosen port."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
    return temporary_yaml(endpoints, "endpoints-")


SOCKET_CHANNEL = "channels.socketio_origins.OriginCheckedSocketIOInput"


def credentials_file(origins: str, web_port: str) -> str:
    """credentials.yml with the widget's allowed origins from the environment."""
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text()) or {}
    allowed = origins or f"http://127.0.0.1:{web_port},http://localhost:{web_port}"
    credentials[SOCKET_CHANNEL]["cors_allowed_origins"] = [o.strip() for o in allowed.split(",") if o.strip()]
    return temporary_yaml(credentials, "credentials-")


def create_tables(url: str) -> None:
    """Every table of the project, before the servers start: otherwise the workspace and Rasa
    would both create them at the same moment on a fresh database."""
    from actions.enquiries import metadata as enquiry_tables
    from review.db import create_tables as create_log_and_review_tables

    engine = engine_for(url)
    create_log_and_review_tables(engine)
    enquiry_tables.create_all(engine)


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


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
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shell", action="store_true", help="talk to the assistant in the terminal")
    args = parser.parse_args()
    conf = settings()

    try:
        load_knowledge_base()
    except KnowledgeBaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not Path(conf["model"]).is_file():
        print(f"error: no trained model at {conf['model']}: run `make train` first", file=sys.stderr)
        return 1

    if not conf["workers"].isdigit() or not 1 <= int(conf["workers"]) <= 16:
        print(f"error: APT_RASA_WORKERS must be from 1 to 16, not {conf['workers']!r}", file=sys.stderr)
        return 1
    if conf["jwt_secret"] and len(conf["jwt_secret"]) < 32:
        print("error: APT_RASA_JWT_SECRET must have at least 32 characters", file=sys.stderr)
        return 1
    try:
        # Rasa would otherwise retry an unreachable database in silence, or fall back to
        # keeping conversations in memory.
        check_connection(database_url())
        create_tables(database_url())
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "RASA_TELEMETRY_ENABLED": "false"}
    endpoints = endpoints_file(conf["actions_port"])
    credentials = credentials_file(conf["origins"], conf["web_port"])
    processes: Dict[str, subprocess.Popen] = {}

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes["action server"] = subprocess.Popen(
            [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", conf["actions_port"]],
            cwd=ROOT,
            env=env,
        )
        rasa_args = [
            "--model",
            conf["model"],
            "--endpoints",
            endpoints,
            "--credentials",
            credentials,
        ]
        if args.shell:
            wait_until_ready(
                processes, [f"http://127.0.0.1:{conf['actions_port']}/health"], float(conf["timeout"])
            )
            return subprocess.call([str(BIN / "rasa"), "shell", *rasa_args], cwd=ROOT, env=env)
        processes["Rasa server"] = subprocess.Popen(
            [str(BIN / "python"), str(ROOT / "scripts" / "rasa_server.py"), *rasa_args,
             "--interface", conf["host"], "--port", conf["rasa_port"]],
            cwd=ROOT,
            env=rasa_environment(env, int(conf["workers"])),
        )  # fmt: skip
        processes["review workspace"] = subprocess.Popen(
            [str(BIN / "python"), "-m", "waitress", "--host", conf["review_host"],
             "--port", conf["review_port"], "--threads", "4", "--call", "review:create_app"],
            cwd=ROOT,
            env={**env, "APT_REVIEW_SECURE_COOKIE": "0" if is_loopback(conf["review_host"]) else "1"},
        )  # fmt: skip
        processes["demo page server"] = subprocess.Popen(
            [str(BIN / "python"), "-m", "http.server", "--bind", conf["host"],
             "--directory", str(ROOT / "web"), conf["web_port"]],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        rasa_url = f"http://{conf['host']}:{conf['rasa_port']}"
        web_url = f"http://{conf['host']}:{conf['web_port']}/"
        review_url = f"http://{conf['review_host']}:{conf['review_port']}/"
        wait_until_ready(
            processes,
            [
                f"http://127.0.0.1:{conf['actions_port']}/health",
                f"{rasa_url}/",
                web_url,
                f"{review_url}login",
            ],
            float(conf["timeout"]),
        )
        if conf["rasa_port"] != "5005":
            web_url += f"?socketUrl={rasa_url}"
        print(f"Demo page with the chat widget: {web_url}", flush=True)
        print(f"Staff review workspace: {review_url} (accounts: make staff-user NAME=<name>)", flush=True)
        if conf["jwt_secret"]:
            print(f"Rasa HTTP API enabled at {rasa_url} (JWT required: make api-token)", flush=True)
        print(
            f"APT assistant ready: POST {rasa_url}/webhooks/rest/webhook "
            '{"sender": "<id>", "message": "<text>"} (Ctrl-C stops)',
            flush=True,
        )
        while all(process.poll() is None for process in processes.values()):
            time.sleep(1)
        exited = [name for name, process in processes.items() if process.poll() is not None]
        print(f"error: the {', '.join(exited)} stopped unexpectedly", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)
        os.unlink(endpoints)
        os.unlink(credentials)


if __name__ == "__main__":
    sys.exit(main())
