"""What the workspace shows of retraining, as files of the project:

- ``var/retrain/status.json``: the round under way or the last one (its stage, what it is
  doing, when it started), rewritten atomically at each step, so a reader never sees half a
  file;
- ``var/retrain/runs/<run id>.json``: one file per finished round, with its before/after
  figures (:mod:`training.retrain` writes them; :func:`runs` lists them newest first), and
  ``var/retrain/runs/<run id>.log``, the output of a round started from the workspace;
- ``var/retrain/lock``: held (``flock``) for the whole of a round, so only one runs at a time,
  whoever started it; the lock goes with the process, also when it is killed;
- ``var/retrain/live-figures.json``: the held-out figures of the live model and of the
  reference, keyed by the digest of the model and of the held-out sets, so a round scores the
  live model only when it changed.

Run records hold ids, intents, languages and figures, not the corrected texts: those stay in
the database, where retention deletes them with their conversation.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

STAGES = ("starting", "writing", "validating", "training", "evaluating", "deciding", "live", "reloading")
FINAL_STATES = ("live", "kept", "nothing", "failed")
RUN_ID_CHARACTERS = set("0123456789abcdefghijklmnopqrstuvwxyz-")


def directory(project: Path) -> Path:
    return project / "var" / "retrain"


def runs_directory(project: Path) -> Path:
    return directory(project) / "runs"


def new_run_id(now: Optional[float] = None) -> str:
    """Sortable by time, unique: ``20261209-101500-a1b2``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(2)}"


def valid_run_id(run_id: str) -> bool:
    return 0 < len(run_id) <= 40 and set(run_id) <= RUN_ID_CHARACTERS and not run_id.startswith("-")


def write_json(path: Path, data: Dict[str, Any]) -> None:
    """Write beside, then rename over: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Busy(RuntimeError):
    """Another round holds the lock."""


@contextmanager
def lock(project: Path) -> Iterator[None]:
    """Hold the project's retrain lock for the block; Busy if another round holds it."""
    path = directory(project) / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("a retrain is already running") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_running(project: Path) -> bool:
    """Whether a round holds the lock now."""
    try:
        with lock(project):
            return False
    except Busy:
        return True


class Status:
    """The round's ``status.json``: :meth:`stage` and :meth:`detail` rewrite it."""

    def __init__(self, project: Path, run_id: str, started_by: str) -> None:
        self.path = directory(project) / "status.json"
        self.data: Dict[str, Any] = {
            "run_id": run_id,
            "started_by": started_by,
            "started_at": time.time(),
            "pid": os.getpid(),
            "state": "running",
            "stage": "starting",
            "detail": "",
            "stages": [],
        }
        self._last_detail = 0.0

    def stage(self, name: str, detail: str = "") -> None:
        now = time.time()
        if self.data["stages"]:
            self.data["stages"][-1]["seconds"] = round(now - self.data["stages"][-1]["at"], 1)
        self.data["stages"].append({"name": name, "at": now})
        self.data.update(stage=name, detail=detail, updated_at=now)
        self._write()

    def detail(self, text: str, every: float = 1.0) -> None:
        """A finer step within the stage (an epoch, a held-out set); at most one write per
        ``every`` seconds."""
        now = time.time()
        self.data.update(detail=text, updated_at=now)
        if now - self._last_detail >= every:
            self._last_detail = now
            self._write()

    def finish(self, state: str, detail: str) -> None:
        now = time.time()
        if self.data["stages"] and "seconds" not in self.data["stages"][-1]:
            self.data["stages"][-1]["seconds"] = round(now - self.data["stages"][-1]["at"], 1)
        self.data.update(state=state, detail=detail, updated_at=now, finished_at=now)
        self._write()

    def _write(self) -> None:
        write_json(self.path, self.data)


def current(project: Path) -> Optional[Dict[str, Any]]:
    """The status file, with ``state`` corrected to ``failed`` if it says running but no
    round holds the lock (its process was killed)."""
    data = read_json(directory(project) / "status.json")
    if data and data.get("state") == "running" and not is_running(project):
        started = data.get("started_at") or 0
        if time.time() - float(started) > 30:  # a round just started may not hold the lock yet
            data = {**data, "state": "failed", "detail": "the retrain process ended without finishing"}
    return data


def save_run(project: Path, record: Dict[str, Any]) -> Path:
    path = runs_directory(project) / f"{record['run_id']}.json"
    write_json(path, record)
    return path


def runs(project: Path, limit: int = 20) -> List[Dict[str, Any]]:
    """The finished rounds' records, newest first."""
    folder = runs_directory(project)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:limit]:
        record = read_json(path)
        if record:
            found.append(record)
    return found


def log_path(project: Path, run_id: str) -> Path:
    return runs_directory(project) / f"{run_id}.log"
