"""A Rasa process loads its model at a low CPU priority and serves at its usual one.

On two cores, a successor loading its model during a swap (:mod:`supervision.swap`: importing
TensorFlow, reading the weights, the first predictions) took CPU from the processes answering
visitors: replies of up to 2.75 s instead of under 0.5 s while the swap ran. Loading is not in a
hurry; answering is. So the process lowers its priority (``nice``) before TensorFlow starts its
threads, which inherit it, and restores it, thread by thread (Linux keeps a nice value per
thread), once it serves.

Restoring a priority needs the right to raise one (root, or ``CAP_SYS_NICE`` or ``RLIMIT_NICE``
in containers that drop it): without it, the process keeps serving at the lower priority, the
same as its peers after a swap, and says so once in its log.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Optional

LOADING_NICENESS = 10  # out of 19: the serving processes get about ten times its CPU share
TASKS = Path("/proc/self/task")

logger = logging.getLogger(__name__)


class LoadingPriority:
    """Lower this process's priority now; :meth:`restore` puts it back for all its threads."""

    def __init__(self, niceness: int = LOADING_NICENESS) -> None:
        self.serving: Optional[int] = None
        try:
            self.serving = os.getpriority(os.PRIO_PROCESS, 0)
            os.nice(niceness)
        except OSError as error:  # a platform without nice: load at the usual priority
            logger.warning("could not lower the priority of the model's loading: %s", error)
            self.serving = None

    def restore(self) -> bool:
        """Every thread back to the priority the process started with; False (and a warning)
        if the process may not raise its priority."""
        if self.serving is None:
            return True
        try:
            for thread in _threads():
                try:
                    os.setpriority(os.PRIO_PROCESS, thread, self.serving)
                except ProcessLookupError:  # a thread that ended meanwhile
                    continue
        except PermissionError:
            logger.warning(
                "serving at the loading priority (nice %s): this process may not raise its priority",
                os.getpriority(os.PRIO_PROCESS, 0),
            )
            return False
        return True


def _threads() -> Iterator[int]:
    """The ids of this process's threads (on Linux; the process alone elsewhere)."""
    if not TASKS.is_dir():
        yield 0
        return
    for entry in TASKS.iterdir():
        yield int(entry.name)
