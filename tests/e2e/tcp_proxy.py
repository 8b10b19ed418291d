"""A small threaded TCP proxy for tests, to make a server unreachable or hang on demand.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
        proxy.set_mode("refuse")   # connections refused, open ones reset
        proxy.set_mode("hang")     # connections accepted and held, open ones frozen
        proxy.set_mode("forward")  # everything flows again

Modes:

- ``forward``: every byte is relayed both ways.
- ``refuse``: the listening socket is closed (a new connection is refused at once) and every
  open connection is reset (RST), as when the server's machine is gone or the server restarted.
- ``hang``: new connections are accepted (the kernel completes the handshake) but nothing is
  read or relayed, and open connections stop relaying too: the server looks alive to TCP and
  never answers, as a stalled server or a network black hole behind a load balancer.

Back to ``forward`` after ``hang``, held connections go on with what was sent meanwhile (a
server that resumes); ``set_mode("forward", reset_held=True)`` resets them instead.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Any, List, Optional, Set, Tuple

MODES = ("forward", "refuse", "hang")
POLL_SECONDS = 0.05


def _reset(sock: Optional[socket.socket]) -> None:
    """Close with RST (SO_LINGER 0) rather than FIN."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Connection:
    """One client connection and, once it is relayed, its connection to the target."""

    def __init__(self, proxy: TcpProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: Optional[socket.socket] = None
        self.reset_requested = False
        self.thread = threading.Thread(target=self._run, name="tcp-proxy-connection", daemon=True)

    def _run(self) -> None:
        try:
            self._relay()
        except OSError:
            pass
        finally:
            for sock in (self.client, self.upstream):
                if self.reset_requested:
                    _reset(sock)
                elif sock is not None:
                    sock.close()
            self.proxy._forget(self)

    def _relay(self) -> None:
        proxy = self.proxy
        while not self.reset_requested and not proxy._stopping:
            if proxy.mode == "hang":
                proxy._wait_for_change()
                continue
            if self.upstream is None:
                self.upstream = socket.create_connection(proxy.target, timeout=5)
                self.upstream.settimeout(None)
            readable, _, _ = select.select([self.client, self.upstream], [], [], POLL_SECONDS)
            if proxy.mode != "forward" or self.reset_requested:
                continue  # data stays in the kernel's buffers until the mode allows it
            for source in readable:
                target = self.upstream if source is self.client else self.client
                data = source.recv(65536)
                if not data:
                    return  # one side closed: close both
                target.sendall(data)


class TcpProxy:
    """Listens on 127.0.0.1:``port`` (a free one by default) and relays to ``target``."""

    def __init__(self, target: Tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.mode = "forward"
        self._changed = threading.Condition()
        self._connections: Set[_Connection] = set()
        self._listener: Optional[socket.socket] = None
        self._stopping = False
        self._threads: List[threading.Thread] = []
        self.port = port
        self.accepted = 0

    # -- control ------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        thread = threading.Thread(target=self._accept_loop, name="tcp-proxy-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def set_mode(self, mode: str, reset_held: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._changed:
            previous, self.mode = self.mode, mode
            if mode == "refuse" or (reset_held and previous == "hang"):
                for connection in self._connections:
                    connection.reset_requested = True
            if mode == "refuse" and self._listener is not None:
                self._listener.close()
                self._listener = None
            elif mode != "refuse" and self._listener is None:
                self._listen()
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            for connection in self._connections:
                connection.reset_requested = True
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._changed.notify_all()
            connections = list(self._connections)
        for connection in connections:
            connection.thread.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def open_connections(self) -> int:
        with self._changed:
            return len(self._connections)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    # -- inside -------------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _wait_for_change(self) -> None:
        with self._changed:
            self._changed.wait(POLL_SECONDS)

    def _forget(self, connection: _Connection) -> None:
        with self._changed:
            self._connections.discard(connection)

    def _accept_loop(self) -> None:
        while not self._stopping:
            with self._changed:
                listener = self._listener
            if listener is None:
                self._wait_for_change()
                continue
            try:
                readable, _, _ = select.select([listener], [], [], POLL_SECONDS)
                if not readable:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):
                continue  # closed by set_mode("refuse") meanwhile
            with self._changed:
                if self._stopping or self.mode == "refuse":
                    _reset(client)
                    continue
                connection = _Connection(self, client)
                self._connections.add(connection)
                self.accepted += 1
            connection.thread.start()
