"""Training times: ours from scratch, ours after a one-line NLU change (Rasa's training
cache reused), and the baseline's.

Everything runs in scratch copies under build/benchmark/, each with its own Rasa cache, so
neither the project's models/ nor its .rasa/cache are touched (another run may be using them).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Dict, Optional

from benchmark import ROOT
from benchmark.processes import BIN, environment, run_timed
from benchmark.progress import say
from benchmark.servers import latest_model

SPACY_MODEL = Path("build") / "spacy-en-blank"  # config.yml names it relative to the project
CHANGED_INTENT = "greet"
ADDED_EXAMPLE = "hello, I am writing from a small NGO in Geneva"


def append_nlu_example(nlu_text: str, intent: str, example: str) -> str:
    """`nlu_text` with `example` added as the first example of `intent`: the one-line change
    a content editor makes most often."""
    pattern = re.compile(
        rf"^(?P<indent>\s*)- intent: {re.escape(intent)}\s*\n(?P<head>\s*examples: \|\s*\n)", re.M
    )
    match = pattern.search(nlu_text)
    if match is None:
        raise ValueError(f"intent {intent!r} not found in the NLU data")
    following = nlu_text[match.end() :].splitlines()[0] if nlu_text[match.end() :] else ""
    indent = following[: len(following) - len(following.lstrip())] or match.group("indent") + "    "
    return nlu_text[: match.end()] + f"{indent}- {example}\n" + nlu_text[match.end() :]


def nlu_file_of(intent: str, data: Path) -> Path:
    """The file under `data` (data/nlu/ holds one file per topic) whose examples of `intent`
    are to be edited."""
    pattern = re.compile(rf"^\s*- intent: {re.escape(intent)}\s*$", re.M)
    for path in sorted(p for p in data.rglob("*") if p.suffix in (".yml", ".yaml")):
        if pattern.search(path.read_text(encoding="utf-8")):
            return path
    raise ValueError(f"intent {intent!r} not found in the NLU data under {data}")


def _env(project: Path) -> Dict[str, str]:
    """Each scratch project its own training cache (the project's custom components are
    importable from anywhere: it is installed)."""
    return environment({"RASA_CACHE_DIRECTORY": str(project / ".rasa" / "cache")})


def copy_project(destination: Path) -> None:
    """A fresh copy of what training reads: data/, domain.yml, config.yml, and a link to the
    blank spaCy pipeline that config.yml names by a relative path."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copytree(ROOT / "data", destination / "data")
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(ROOT / name, destination / name)
    (destination / SPACY_MODEL).parent.mkdir(parents=True)
    (destination / SPACY_MODEL).symlink_to(ROOT / SPACY_MODEL, target_is_directory=True)


def train(project: Path, log_name: str, force: bool, ours: bool = True) -> float:
    """Seconds to train ``project``: ours as the project trains (``scripts/train.py``, Rasa's
    command with the project's training adjustments), the baseline with ``rasa train``."""
    command = (
        [str(BIN / "python"), str(ROOT / "scripts" / "train.py")] if ours else [str(BIN / "rasa"), "train"]
    )
    args = [*command, "--out", "models"]
    if force:
        args.append("--force")
    return run_timed(args, project, project / log_name, env=_env(project))


def time_ours(scratch: Path, into: Dict[str, float]) -> None:
    """Full training of a fresh copy, then retraining after one added NLU example. Figures
    go into `into` as they come, so an interrupted run keeps the first."""
    project = scratch / "ours-training"
    copy_project(project)
    say("training our assistant from scratch (rasa train --force)")
    into["full_s"] = round(train(project, "train-full.log", force=True), 1)
    say(f"full training: {into['full_s']:.0f} s; adding one NLU example and retraining")
    nlu = nlu_file_of(CHANGED_INTENT, project / "data" / "nlu")
    nlu.write_text(append_nlu_example(nlu.read_text(), CHANGED_INTENT, ADDED_EXAMPLE))
    into["after_one_nlu_line_s"] = round(train(project, "train-incremental.log", force=False), 1)
    say(f"retraining after a one-line change: {into['after_one_nlu_line_s']:.0f} s")


def baseline_project(scratch: Path) -> Path:
    return scratch / "baseline"


def ensure_baseline(scratch: Path) -> Path:
    """The default assistant (`rasa init --no-prompt`, which also trains it); reused when
    it is already there. Returns its newest model."""
    project = baseline_project(scratch)
    model: Optional[Path] = latest_model(project / "models") if project.exists() else None
    if model is not None:
        return model
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    say("creating the baseline: rasa init --no-prompt (trains the default assistant)")
    log = scratch / "baseline-init.log"
    seconds = run_timed(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        project,
        log,
        env=_env(project),
    )
    say(f"baseline created in {seconds:.0f} s")
    model = latest_model(project / "models")
    if model is None:
        raise RuntimeError(f"rasa init trained no model; see {log}")
    return model


def time_baseline(scratch: Path) -> Dict[str, float]:
    """Full training of the default assistant with its default config."""
    project = baseline_project(scratch)
    ensure_baseline(scratch)
    say("training the baseline from scratch (rasa train --force)")
    full = train(project, "train-full.log", force=True, ours=False)
    say(f"baseline full training: {full:.0f} s")
    return {"full_s": round(full, 1)}
