"""Retraining from corrections (training/, docs/retraining.md), timed: one round of
``python -m training.retrain`` after a handful of staff corrections in the three languages.

It runs on a scratch copy of the project under build/benchmark/retrain/ (training data, domain,
configuration, held-out sets, a copy of the trained model as the live one, its own SQLite
database, and a copy of the project's Rasa training cache, which a round on the project itself
finds as `make train` left it), so the project's data, model, database and cache are never
touched.
The round's own record (var/retrain/runs/ of the copy) gives the time of each stage and the
before/after figures; the round is the first on that copy, so it also scores the live model,
which later rounds find in their cache: the report gives the time with and without it.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from benchmark import ROOT, training
from benchmark.processes import environment, run_timed
from benchmark.progress import say
from benchmark.tables import fmt, table

TARGET_S = 60.0  # issue #16: a retrain after a handful of corrections in under a minute
# (text, intent staff chose, language, what the live model said): messages the model trained
# on the project's data of 2026-12-02 did not understand (it answered each with the fallback,
# as it should when unsure), in words its training data do not have.
CORRECTIONS = [
    ("would you chip in for our prison monitoring training", "ask_funding", "en", "nlu_fallback"),
    ("how do you pick the groups you team up with", "ask_partner_selection", "en", "nlu_fallback"),
    ("righto, cheers, that's all", "goodbye", "en", "nlu_fallback"),
    ("est-ce que l'APT mettrait des sous dans notre petit atelier", "ask_funding", "fr", "nlu_fallback"),
    ("¿nos podrían echar una mano con plata para un taller?", "ask_funding", "es", "nlu_fallback"),
]


def copy_project(destination: Path, model: Path) -> Path:
    """What a round reads and writes: what training reads (benchmark.training.copy_project),
    the held-out sets and a copy of the model as the live one."""
    training.copy_project(destination)
    (destination / "tests").mkdir()
    for path in sorted((ROOT / "tests").glob("test_nlu*.yml")):
        shutil.copy2(path, destination / "tests" / path.name)
    (destination / "models").mkdir()
    shutil.copy2(model, destination / "models" / "apt.tar.gz")
    cache = ROOT / ".rasa" / "cache"
    if cache.is_dir():  # what `make train` cached: the parts of the graph a round does not change
        shutil.copytree(cache, destination / ".rasa" / "cache")
    return destination


def add_corrections(database_url: str) -> None:
    from storage import corrections
    from storage.database import engine_for
    from storage.migrate import upgrade

    engine = engine_for(database_url)
    upgrade(engine)
    corrections.add_all(
        engine,
        (
            {
                "event_id": number, "sender_id": f"benchmark-{number}", "text": text,
                "predicted_intent": predicted, "intent": intent, "created_by": "benchmark",
                "created_at": time.time(), "language": language,
            }
            for number, (text, intent, language, predicted) in enumerate(CORRECTIONS, start=1)
        ),
    )  # fmt: skip


def measure(scratch: Path, model: Path) -> Dict[str, Any]:
    """One round on a fresh copy; its record, with the command's wall-clock time."""
    if not model.is_file():
        raise RuntimeError(f"no trained model at {model}: run `make train` first")
    from training import status
    from training.retrain import EXIT_KEPT, EXIT_LIVE

    base = scratch / "retrain"
    project = copy_project(base / "project", model)
    database = base / "apt.db"
    database.unlink(missing_ok=True)
    add_corrections(f"sqlite:///{database}")
    say(f"retraining from {len(CORRECTIONS)} corrections (python -m training.retrain, on a copy)")
    seconds = run_timed(
        [sys.executable, "-m", "training.retrain", "--project", str(project), "--no-reload"],
        ROOT,
        base / "retrain.log",
        env=environment(
            {
                "APT_DATABASE_URL": f"sqlite:///{database}",
                "RASA_CACHE_DIRECTORY": str(project / ".rasa" / "cache"),
            }
        ),
        succeeded=(EXIT_LIVE, EXIT_KEPT),  # a model the gate keeps out is a round measured all the same
    )
    [record] = status.runs(project)
    figures = {
        "corrections": len(CORRECTIONS),
        "command_s": round(seconds, 1),
        "outcome": record.get("outcome"),
        "mode": record.get("mode"),
        "epoch_fraction": record.get("epoch_fraction"),
        "seconds": record.get("seconds"),
        "live_model_scored_s": record.get("live_model_scored_s"),
        "retrain_s": record.get("retrain_s"),
        "before": record.get("before"),
        "after": record.get("after"),
        "reasons": record.get("reasons"),
    }
    say(f"retrain round: {figures['outcome']} after {seconds:.0f} s ({figures['seconds']})")
    return figures


def _understood(record: Dict[str, Any], side: str) -> int:
    from training.evaluate import understood

    said = (record.get(side) or {}).get("corrections") or {}
    intents = enumerate((intent for _, intent, _, _ in CORRECTIONS), start=1)
    return sum(1 for number, intent in intents if understood(intent, said.get(str(number))))


def report_lines(result: Dict[str, Any]) -> List[str]:
    """The report's section (benchmark/report.py calls it)."""
    figures = (result.get("training") or {}).get("retrain")
    if not figures:
        return []
    seconds = figures.get("seconds") or {}
    scored = figures.get("live_model_scored_s") or 0.0
    total = figures.get("retrain_s") or seconds.get("total")
    steady = round(total - scored, 1) if total is not None else None
    met = steady is not None and steady <= TARGET_S
    stages = ("writing", "validating", "training", "evaluating", "live")
    rows = [[stage, fmt(seconds.get(stage))] for stage in stages]
    languages = {"en": "English", "fr": "French", "es": "Spanish"}
    before = ((figures.get("before") or {}).get("held_out")) or {}
    after = ((figures.get("after") or {}).get("held_out")) or {}
    quality = [
        [label, fmt((before.get(code) or {}).get("f1"), 3), fmt((after.get(code) or {}).get("f1"), 3)]
        for code, label in languages.items()
    ]
    quality.append(
        [
            f"corrected messages understood (of {figures.get('corrections')})",
            str(_understood(figures, "before")),
            str(_understood(figures, "after")),
        ]
    )
    return [
        "## Retraining from corrections",
        "",
        f"`python -m training.retrain` (`make retrain`) after {figures.get('corrections')} staff"
        f" corrections (English, French, Spanish) on a copy of the project: {figures.get('mode')}"
        f" ({fmt(figures.get('epoch_fraction'), 2)} of the configured epochs), outcome"
        f" **{figures.get('outcome')}**. The whole command took {fmt(figures.get('command_s'))} s, of which"
        f" {fmt(scored)} s scored the live model, which only the first round on a model does; a round"
        f" after that: **{fmt(steady)} s** against a target of {TARGET_S:.0f} s"
        f" ({'met' if met else 'not met'}). Full training: see above.",
        "",
        *table(["stage", "seconds"], rows),
        *table(["held-out intent F1", "live model", "new model"], quality),
    ]
