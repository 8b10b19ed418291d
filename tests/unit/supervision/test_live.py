"""Swapping the Rasa processes of running stacks, when a stack is stopping."""

from __future__ import annotations

import socketserver
import threading
import xmlrpc.client
from pathlib import Path
from typing import Iterator, List
from xmlrpc.server import SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

import pytest

from supervision import live


class _UnixXMLRPCServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
    """An XML-RPC server on a Unix socket, as supervisord serves its control interface."""

    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.logRequests = False
        SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None)
        socketserver.UnixStreamServer.__init__(self, path, _Handler)


class _Handler(SimpleXMLRPCRequestHandler):
    disable_nagle_algorithm = False  # a TCP option: a Unix socket has none

    def address_string(self) -> str:  # a Unix socket's peer has no address
        return "unix"


def _shutting_down() -> None:
    raise xmlrpc.client.Fault(6, "SHUTDOWN_STATE")  # what supervisord answers while it stops


@pytest.fixture
def stopping_stack(tmp_path: Path) -> Iterator[Path]:
    runs = tmp_path / "run"
    (runs / "5005").mkdir(parents=True)
    server = _UnixXMLRPCServer(str(runs / "5005" / "supervisor.sock"))
    server.register_function(_shutting_down, "supervisor.getAllProcessInfo")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield runs
    finally:
        server.shutdown()
        server.server_close()


def test_a_stack_that_is_stopping_is_left_alone(stopping_stack: Path, tmp_path: Path) -> None:
    """`make train` swaps the Rasa processes of running stacks: one stopping at that moment
    answers every call with a fault, and was a traceback and a failed `make train`."""
    said: List[str] = []
    assert live.reload_servers(tmp_path / "apt.tar.gz", said.append, runs=stopping_stack) == []
    assert said == ["the stack on port 5005 is stopping (SHUTDOWN_STATE): left alone"]
