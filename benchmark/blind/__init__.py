"""The blind evaluation set, played against a running stack: `make blind`.

A blind set (``tests/blind/<date>/``) was written apart from the repository, from the APT's
source texts and a description of the widget only. It measures how visitors who never saw
the training data are answered. This package plays it as the widget would, over the REST
channel, reads what the assistant did from the stored conversation, judges every turn
against the set's labels and prints the share right per language and per kind.

- :mod:`benchmark.blind.blindset`: the set's files, as conversations and turns;
- :mod:`benchmark.blind.labels`: which response shows which label (the mapping, as data);
- :mod:`benchmark.blind.replies`: a stored bot message as a reply with its language;
- :mod:`benchmark.blind.judge`: one turn right or wrong, and why;
- :mod:`benchmark.blind.player`: conversations over HTTP, events from the database;
- :mod:`benchmark.blind.figures`: shares per language and kind, second chances, misses;
- ``python -m benchmark.blind``: the command (``--help``).

The set is a measure only: nothing here, nor its results, may choose training data, wording
or behaviour (its README's rule of use).
"""

from __future__ import annotations

from pathlib import Path

from benchmark import ROOT

SETS = ROOT / "tests" / "blind"
OUT = ROOT / "build" / "blind"  # gitignored: the stack's scratch files, the JSON results


def latest_set() -> Path:
    """The newest blind set: each round of changes is measured on a new, dated set."""
    dated = sorted(path for path in SETS.iterdir() if path.is_dir() and (path / "en.yml").is_file())
    if not dated:
        raise FileNotFoundError(f"no blind set under {SETS}")
    return dated[-1]
