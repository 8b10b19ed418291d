"""Memory of the servers under test.

- Resident memory (RSS) of a server counted with its descendant processes: Rasa and the action
  server may fork workers, and what the machine must provide is the sum.
- For each process, what it holds alone and what it shares (psutil's ``memory_full_info``):
  USS, the pages only this process maps (what stopping it would free); PSS, its RSS with each
  shared page divided among the processes that map it (the PSS of all processes adds up to
  the memory really used); RSS counts every shared page in full in each process.
- Where a process's memory is, from ``/proc/<pid>/smaps``: TensorFlow's libraries, other
  shared libraries, other mapped files, and anonymous memory (Python objects, the model's
  weights, TensorFlow's tensors and its allocator's arenas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional

import psutil

PROC = Path("/proc")
KIB = 1024


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


def descendants(pid: int, table: Optional[Dict[int, int]] = None) -> List[int]:
    """Every process below `pid`, parents before their children."""
    table = parents() if table is None else table
    found: List[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop(0)
        children = sorted(child for child, parent in table.items() if parent == current)
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
                return int(line.split()[1]) * KIB
    except OSError:
        return None
    return 0  # a zombie has no VmRSS line


def mib(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value / 2**20, 1)


def full_info(pid: int) -> Optional[Dict[str, float]]:
    """RSS, USS, PSS and swap of one process in MiB; None if it is gone or not readable."""
    try:
        info = psutil.Process(pid).memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return {
        "rss": mib(info.rss) or 0.0,
        "uss": mib(info.uss) or 0.0,
        "pss": mib(info.pss) or 0.0,
        "swap": mib(info.swap) or 0.0,
    }


def summed(infos: Iterable[Optional[Dict[str, float]]]) -> Dict[str, float]:
    """The figures of several processes added up (those gone are left out)."""
    total = {"rss": 0.0, "uss": 0.0, "pss": 0.0, "swap": 0.0}
    for info in infos:
        for key in total:
            total[key] += (info or {}).get(key, 0.0)
    return {key: round(value, 1) for key, value in total.items()}


# -- /proc/<pid>/smaps: where the memory is ---------------------------------------------------

REGIONS = ("tensorflow libraries", "other shared libraries", "other mapped files", "anonymous")
SMAPS_FIELDS = {
    "Rss": "rss",
    "Pss": "pss",
    "Shared_Clean": "shared",
    "Shared_Dirty": "shared",
    "Private_Clean": "private",
    "Private_Dirty": "private",
}


def region_of(pathname: str) -> str:
    """The region a mapping belongs to, from the path in its smaps header ('' for anonymous
    memory; '[heap]', '[stack]' and the like count as anonymous too)."""
    if not pathname or pathname.startswith("["):
        return "anonymous"
    name = pathname.rsplit("/", 1)[-1]
    if "tensorflow" in pathname and ".so" in name:
        return "tensorflow libraries"
    if ".so" in name:
        return "other shared libraries"
    return "other mapped files"


def parse_smaps(text: str) -> Dict[str, Dict[str, float]]:
    """Per region: rss, pss, shared and private, in MiB, from the text of a smaps file."""
    kib: Dict[str, Dict[str, int]] = {
        region: {"rss": 0, "pss": 0, "shared": 0, "private": 0} for region in REGIONS
    }
    region = "anonymous"
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if "-" in words[0] and not words[0].endswith(":"):  # a mapping's header line
            region = region_of(" ".join(words[5:]) if len(words) > 5 else "")
            continue
        field = SMAPS_FIELDS.get(words[0].rstrip(":"))
        if field and len(words) >= 2 and words[1].isdigit():
            kib[region][field] += int(words[1])
    return {
        region: {key: round(value / KIB, 1) for key, value in figures.items()}
        for region, figures in kib.items()
    }


def smaps_regions(pid: int) -> Optional[Dict[str, Dict[str, float]]]:
    try:
        return parse_smaps((PROC / str(pid) / "smaps").read_text())
    except OSError:
        return None
