"""``python -m supervision status|restart NAME``: the processes of the stack started by
``make run`` (or ``make run-scale``) with the same settings."""

from __future__ import annotations

import sys
from typing import List, Optional

from apt_settings import SettingsError, settings
from supervision import control


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        directory = control.run_directory(settings())
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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
    print("usage: python -m supervision status | restart NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
