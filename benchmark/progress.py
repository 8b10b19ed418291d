"""Progress lines with the elapsed time: a full run takes a long while, and whoever runs it
should see which phase it is in and how long each one took."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

_START = time.monotonic()


def elapsed() -> str:
    seconds = int(time.monotonic() - _START)
    return f"{seconds // 60:3d}:{seconds % 60:02d}"


def say(message: str) -> None:
    """One progress line, prefixed with the time since the benchmark started."""
    print(f"[benchmark {elapsed()}] {message}", file=sys.stderr, flush=True)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Announce a phase and, at its end, how long it took."""
    say(f"== {name} ...")
    started = time.monotonic()
    try:
        yield
    finally:
        say(f"== {name}: done in {time.monotonic() - started:.0f} s")
