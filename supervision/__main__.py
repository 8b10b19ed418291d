"""``python -m supervision status|restart NAME|swap [--changed]``: the processes of the stack
started by ``make run`` (or ``make run-scale``) with the same settings.

``swap`` has every running stack that loads the model (``APT_MODEL``) load it again, losing no
message (supervision/swap.py, supervision/live.py); with ``--changed`` only the Rasa processes
started before the model file last changed (what ``make train`` runs: nothing when training
was skipped)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

from apt_settings import SettingsError, settings
from supervision import control


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        conf = settings()
        directory = control.run_directory(conf)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args[:1] == ["swap"] and set(args[1:]) <= {"--changed"}:
        return swap(conf.model, changed_only="--changed" in args)
    if not (directory / "supervisor.sock").exists():
        print("error: the stack is not running (start it with make run)", file=sys.stderr)
        return 1
    try:
        if args == ["status"]:
            for info in control.processes(directory):
                print(f"{info['name']:20} {info['statename']:9} {info['description']}")
            return 0
        if len(args) == 2 and args[0] == "restart":
            control.restart(directory, args[1])
            print(f"restarted {args[1]}")
            return 0
    except OSError as error:
        print(f"error: cannot reach the supervisor: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 (xmlrpc faults: an unknown name, say)
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("usage: python -m supervision status | restart NAME | swap [--changed]", file=sys.stderr)
    return 2


def swap(model: Path, changed_only: bool) -> int:
    from supervision.live import reload_servers
    from supervision.swap import SwapFailed

    if not model.is_file():
        print(f"error: no model at {model}", file=sys.stderr)
        return 1
    older_than = model.stat().st_mtime if changed_only else None
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {message}", flush=True)

    try:
        done = reload_servers(model, say, older_than=older_than)
    except (SwapFailed, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(done)} Rasa processes now load {model.name}" if done else "no Rasa process to replace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
