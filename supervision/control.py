"""Talking to the running supervisord over its private socket (XML-RPC, supervisor's own)."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any, Dict, List

from supervisor.xmlrpc import SupervisorTransport

from apt_settings import ROOT, Settings

# States in which a program will not come back by itself (supervisor's names).
GIVEN_UP = {"FATAL"}


def run_directory(conf: Settings) -> Path:
    """Where the launcher keeps the files of the stack serving on ``APT_RASA_PORT``: one
    folder per port, so that two stacks on one machine (the tests) stay apart."""
    return ROOT / "var" / "run" / str(conf.rasa_port)


def _proxy(directory: Path) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{directory / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def processes(directory: Path) -> List[Dict[str, Any]]:
    """Supervisor's record of each process: ``name``, ``statename``, ``pid``, ``description``."""
    return list(_proxy(directory).supervisor.getAllProcessInfo())


def states(directory: Path) -> Dict[str, str]:
    return {info["name"]: info["statename"] for info in processes(directory)}


def restart(directory: Path, name: str) -> None:
    proxy = _proxy(directory)
    proxy.supervisor.stopProcess(name, True)
    proxy.supervisor.startProcess(name, False)
