"""Several independent Rasa server processes on one port (the embedded profile).

Sanic 21.12 can fork workers itself, but its main process does not replace a worker that
dies (killed for memory, say): that worker's share of the traffic is lost until someone
restarts the whole server. Instead, the launcher starts ``APT_RASA_WORKERS`` separate Rasa
processes under the supervisor (:mod:`supervision`), each binding the same address with
``SO_REUSEPORT``: the kernel spreads new connections over the processes that are listening,
stops sending any to a process as soon as it dies, and the supervisor starts a new one,
which joins in when its model is loaded. The conversation locks are shared between them
(``storage/lock_store.py``).

Rasa calls ``app.run(host=..., port=..., workers=...)`` itself; :func:`install` makes that
call serve on a socket bound here with ``SO_REUSEPORT`` (``Sanic.run`` takes a ``sock``).
"""

from __future__ import annotations

import socket
from typing import Any

from sanic import Sanic

_original_run: Any = Sanic.run


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def install(host: str, port: int) -> None:
    """Make the next ``Sanic.run`` in this process serve on a shared ``host:port`` socket."""
    shared = bound_socket(host, port)

    def run(self: Sanic, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("workers", 1) != 1:
            raise RuntimeError("a Rasa process on a shared port runs one Sanic worker (SANIC_WORKERS=1)")
        kwargs["sock"] = shared
        return _original_run(self, *args, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def uninstall() -> None:
    Sanic.run = _original_run  # type: ignore[method-assign]
