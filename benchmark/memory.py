"""Resident memory of a server, counted with its descendant processes: Rasa and the action
server may fork workers, and what the machine must provide is the sum.

Read from /proc (Linux), because psutil is not among the project's dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

PROC = Path("/proc")


def parent_of(stat_line: str) -> int:
    """The parent pid from a /proc/<pid>/stat line (the command name may contain spaces
    and parentheses, so the fields are read after its closing parenthesis)."""
    fields = stat_line[stat_line.rindex(")") + 2 :].split()
    return int(fields[1])


def parents() -> Dict[int, int]:
    """pid -> parent pid of every process visible now."""
    table: Dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            table[int(entry.name)] = parent_of((entry / "stat").read_text())
        except (OSError, ValueError):
            continue
    return table


def descendants(pid: int) -> List[int]:
    table = parents()
    found: List[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in table.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_of(pid: int) -> Optional[int]:
    """VmRSS of one process in bytes; None if it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return 0  # a zombie has no VmRSS line


def rss_bytes(pid: int) -> Optional[int]:
    """RSS of `pid` plus all its descendants; None if the process is gone."""
    own = rss_of(pid)
    if own is None:
        return None
    return own + sum(rss_of(child) or 0 for child in descendants(pid))


def mib(value: Optional[int]) -> Optional[float]:
    return None if value is None else round(value / 2**20, 1)
