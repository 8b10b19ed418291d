"""Replacing the processes on the shared socket one at a time (supervision/swap.py), with a real
supervisord and small servers that take the socket as the Rasa processes do: every request
sent during a swap is answered, each successor is ready before its predecessor stops, and a
successor that cannot start leaves the old process serving. (The same with the real stack and
real Rasa: tests/e2e/test_e2e_swap.py.)"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from supervision import supervisor_conf, swap
from supervision.programs import Program
from tests.support.commands import import_script
from tests.support.stacks import free_port

# Serves the socket on standard input, as a Rasa process does (server/patches/shared_port.py): marks
# itself ready once serving, answers each request after 50 ms with its pid, and on SIGTERM
# stops accepting and finishes the request it has. Refuses to start while BROKEN exists.
SERVER = r"""
import http.server, os, pathlib, signal, socket, sys, threading, time
ready, broken = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
if broken.exists():
    sys.exit(3)
time.sleep(float(sys.argv[3]))  # loading a model
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.05)
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
server.socket.close()
server.socket = socket.socket(fileno=0)
marker = ready / str(os.getpid())
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
ready.mkdir(exist_ok=True)
marker.touch()
server.serve_forever()
marker.unlink()
"""


# Fewer tries than the stack's before supervisord gives a successor up (its backoff waits 1, 2,
# 3 ... s between tries): the test is about what a swap does then, and on a loaded machine
# (this part runs beside a training) five tries took longer than the swap waits.
START_RETRIES = 2


@pytest.fixture()
def group(tmp_path: Path) -> Iterator[Dict[str, object]]:
    """supervisord with a group of 2 small servers on one socket (and 2 spare slots), started
    as the launcher starts the Rasa processes."""
    serve = import_script("serve")
    port = free_port()
    ready = tmp_path / "ready"
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    command = [sys.executable, str(script), str(ready), str(tmp_path / "broken"), "1"]
    listed: List[Program] = [
        Program(f"web_{i}", f"web {i}", command, f"http://127.0.0.1:{port}/", start_seconds=1,
                stop_seconds=10, group="web", socket=f"tcp://127.0.0.1:{port}", ready_directory=ready,
                spare=i >= 2, start_retries=START_RETRIES)
        for i in range(4)
    ]  # fmt: skip
    directory = tmp_path / "run"
    directory.mkdir()
    (directory / "supervisord.conf").write_text(supervisor_conf.render(listed, directory))
    supervisord = serve.start_supervisor(directory, dict(os.environ))
    try:
        serve.start_shared_socket_programs(supervisord, directory, listed)
        serve.wait_until_ready(supervisord, directory, listed[:2], {}, 30)
        yield {"directory": directory, "url": f"http://127.0.0.1:{port}/", "ready": ready, "tmp": tmp_path}
    finally:
        serve.stop(supervisord)


class Traffic:
    """Clients sending requests in a loop, each on a fresh connection, until stopped."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.answered_by: List[int] = []
        self.errors: List[str] = []
        self.running = True
        self.threads = [threading.Thread(target=self._loop) for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def _loop(self) -> None:
        while self.running:
            try:
                response = requests.get(self.url, timeout=10)
                response.raise_for_status()
                self.answered_by.append(int(response.text))
            except (requests.RequestException, ValueError) as error:
                self.errors.append(str(error))

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def test_a_swap_answers_every_request_and_replaces_each_process_once_its_successor_is_ready(
    group: Dict[str, object],
) -> None:
    directory, ready = group["directory"], group["ready"]
    assert isinstance(directory, Path) and isinstance(ready, Path)
    before = {name: info["pid"] for name, info in swap._group(directory, "web").items() if info["pid"]}
    assert sorted(before) == ["web_0", "web_1"]
    said: List[str] = []
    traffic = Traffic(str(group["url"]))
    try:
        time.sleep(0.5)
        done = swap.swap(directory, "web", ready, said.append, timeout=30)
        time.sleep(0.5)
    finally:
        traffic.stop()
    assert not traffic.errors, traffic.errors[:5]
    assert [line.split(" replaced")[0] for line in done] == ["web_0", "web_1"]
    assert swap.serving(directory, "web") == ["web_2", "web_3"]
    after = {name: info["pid"] for name, info in swap._group(directory, "web").items() if info["pid"]}
    assert set(after) == {"web_2", "web_3"} and not set(after.values()) & set(before.values())
    # The old processes answered until they stopped, the new ones after: nothing was refused.
    assert set(traffic.answered_by) >= set(before.values()) | set(after.values())
    assert said[0] == "starting web_2 to replace web_0" and "web_2 (pid" in said[1]
    # A second swap goes back to the first slots.
    assert len(swap.swap(directory, "web", ready, said.append, timeout=30)) == 2
    assert swap.serving(directory, "web") == ["web_0", "web_1"]


def test_a_successor_that_cannot_start_leaves_the_old_process_serving(group: Dict[str, object]) -> None:
    directory, ready, tmp = group["directory"], group["ready"], group["tmp"]
    assert isinstance(directory, Path) and isinstance(ready, Path) and isinstance(tmp, Path)
    (tmp / "broken").touch()
    with pytest.raises(swap.SwapFailed, match="web_2 did not start"):
        swap.swap(directory, "web", ready, lambda _m: None, timeout=60)
    assert swap.serving(directory, "web") == ["web_0", "web_1"]
    assert requests.get(str(group["url"]), timeout=5).status_code == 200


def test_only_processes_older_than_the_model_are_replaced(group: Dict[str, object]) -> None:
    directory, ready = group["directory"], group["ready"]
    assert isinstance(directory, Path) and isinstance(ready, Path)
    before = {name: info["pid"] for name, info in swap._group(directory, "web").items() if info["pid"]}
    long_ago = time.time() - 3600
    assert swap.swap(directory, "web", ready, lambda _m: None, older_than=long_ago, timeout=30) == []
    after = {name: info["pid"] for name, info in swap._group(directory, "web").items() if info["pid"]}
    assert after == before and sorted(after) == ["web_0", "web_1"]
    assert len(swap.swap(directory, "web", ready, lambda _m: None, older_than=time.time(), timeout=30)) == 2
