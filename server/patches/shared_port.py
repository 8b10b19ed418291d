"""Several independent Rasa processes answering on one listening socket (the embedded profile).

Sanic 21.12 can fork workers itself, but its main process does not replace a worker that
dies (killed for memory, say). Instead, the launcher runs ``APT_RASA_WORKERS`` separate Rasa
processes under the supervisor (:mod:`supervision`), which opens the listening socket itself
(a supervisor ``fcgi-program``) and hands it to each of them as standard input: one socket,
one queue of waiting connections, whichever process is free accepts the next one.

The socket outlives every Rasa process. That is what lets a new model go live without losing
a message (:mod:`supervision.swap`): a successor starts on the same socket, and its
predecessor, told to stop, stops accepting and finishes the requests it has, while the
connections still waiting in the queue go to the processes that remain. (With a socket of
its own per process and ``SO_REUSEPORT``, the connections waiting in a closing socket's queue
would be reset.) A process loading its model does not accept yet: connections wait for the
others, or for it.

Since every process holds the socket from its start, "listening" says nothing about being
ready: each process marks itself ready with a file named by its pid in a directory the
launcher chooses, once Sanic serves (after Rasa's ``before_server_start`` listener has loaded
the model), and removes it when it stops. It loads at a low CPU priority, so as not to slow
the processes answering meanwhile, and serves at its usual one (:mod:`server.patches.loading_priority`).

Rasa calls ``app.run(host=..., port=..., workers=...)`` itself; :func:`install` makes that
call serve on the inherited socket (``Sanic.run`` takes a ``sock``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Optional

from server.patches.loading_priority import LoadingPriority

STANDARD_INPUT = 0
_original_run: Optional[Any] = None  # Sanic.run, kept when installing (Sanic imported then only:
# the launcher reads the ready files without importing it)


def inherited_socket(descriptor: int = STANDARD_INPUT) -> socket.socket:
    """The listening socket the supervisor passed as ``descriptor``; ValueError if it is none."""
    sock = socket.socket(fileno=descriptor)
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise ValueError(f"file descriptor {descriptor} is not a listening TCP socket")
    return sock


def ready_file(directory: Path, pid: int) -> Path:
    return directory / str(pid)


def is_ready(directory: Path, pid: int) -> bool:
    """Whether the Rasa process ``pid`` has loaded its model and serves."""
    return ready_file(directory, pid).is_file()


def install(sock: socket.socket, ready_directory: Path) -> None:
    """Make the next ``Sanic.run`` in this process serve on ``sock``, marking this process
    ready in ``ready_directory`` while it serves."""
    from sanic import Sanic

    global _original_run
    if _original_run is None:
        _original_run = Sanic.run
    marker = ready_file(ready_directory, os.getpid())
    priority = LoadingPriority()

    async def mark_ready(_app: Any, _loop: Any) -> None:
        priority.restore()
        ready_directory.mkdir(parents=True, exist_ok=True)
        marker.touch()

    async def unmark(_app: Any, _loop: Any) -> None:
        marker.unlink(missing_ok=True)

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("workers", 1) != 1:
            raise RuntimeError("a Rasa process on a shared socket runs one Sanic worker (SANIC_WORKERS=1)")
        kwargs["sock"] = sock
        self.register_listener(mark_ready, "after_server_start")
        self.register_listener(unmark, "before_server_stop")
        return _original_run(self, *args, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def uninstall() -> None:
    from sanic import Sanic

    if _original_run is not None:
        Sanic.run = _original_run  # type: ignore[method-assign]
