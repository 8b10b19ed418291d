"""``python -m training.retrain`` (``make retrain``): one round of retraining from corrections.

    python -m training.retrain               # write the corrections, validate, fine-tune, test, put live
    python -m training.retrain --full        # a full training instead of fine-tuning
    python -m training.retrain --rollback    # put the previous model back
    python -m training.retrain --help        # every option

Stages, printed as they come and kept in ``var/retrain/status.json`` for the workspace:

1. **writing**: the corrections no live model has learnt yet go into the topic files of
   ``data/nlu/`` (:mod:`training.corrections`);
2. **validating**: Rasa's validator (the checks of ``rasa data validate``) on the project; a
   problem caused by a written example stops the round;
3. **training**: ``rasa train --finetune <live model> --epoch-fraction <x>`` through Rasa's
   Python API, in this process; where Rasa refuses to fine-tune (the configuration, the domain
   or the set of intents changed since the live model was trained, or there is no live model)
   a full training, and the record says why. Rasa's own progress (components, epochs) is
   printed;
4. **evaluating**: the new model, and the live one unless its figures are known, on the
   held-out sets and the corrected messages (:mod:`training.evaluate`);
5. **live** or **kept**: the new model replaces the live one only if it is not worse
   (:func:`training.evaluate.verdict`); running Rasa servers are restarted one by one to load
   it (:mod:`supervision.live`). Otherwise the live model stays and the training data are put
   back as they were, so that data and live model agree.

On any failure, or Ctrl-C, the training data are put back too. Each round leaves its record
(before/after figures, times, what was written or skipped and why) in
``var/retrain/runs/``. Exit status: 0 put live (or nothing to do), 1 failed, 3 another round
is running, 4 the new model was not better and was not put live.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import Any, Dict, List, Optional, Sequence, TextIO

from supervision import live
from training import ROOT, corrections, evaluate, status
from training.corrections import Correction, Plan, Written

# Fine-tuning trains this fraction of DIET's configured epochs (config.yml: 20, so 8, as many as
# before the full training went from 40 epochs to 20). Fewer epochs taught the corrected
# messages as well but moved the held-out scores more (docs/retraining.md).
EPOCH_FRACTION = 0.4
EXIT_LIVE, EXIT_FAILED, EXIT_BUSY, EXIT_KEPT = 0, 1, 3, 4
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")


class RoundFailed(RuntimeError):
    """A stage could not be done; the message says why."""


class Stopped(BaseException):
    """SIGTERM or SIGHUP: stop, putting the training data back."""


def default_model(project: Path) -> Path:
    """The project's live model: ``APT_MODEL`` for this project, ``models/apt.tar.gz`` of
    another (a copy the tests work on)."""
    if project.resolve() == ROOT.resolve():
        from apt_settings import settings

        return settings().model
    return project / "models" / "apt.tar.gz"


def database_url() -> str:
    from apt_settings import settings

    return settings().database_url


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--project", type=Path, default=ROOT, help="the project folder (default: this one)")
    parser.add_argument("--model", type=Path, help="the live model (default: APT_MODEL, models/apt.tar.gz)")
    parser.add_argument("--full", action="store_true", help="train from scratch instead of fine-tuning")
    parser.add_argument(
        "--epoch-fraction",
        type=float,
        default=EPOCH_FRACTION,
        help=f"fine-tuning: this fraction of the configured epochs (default {EPOCH_FRACTION})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=evaluate.TOLERANCE,
        help=f"largest drop of a language's held-out F1 allowed (default {evaluate.TOLERANCE})",
    )
    parser.add_argument("--no-reload", action="store_true", help="do not restart running Rasa servers")
    parser.add_argument("--rollback", action="store_true", help="put the previous model back live")
    parser.add_argument("--by", default="command line", help="who started the round (shown in the workspace)")
    parser.add_argument("--run-id", help=argparse.SUPPRESS)  # chosen by the workspace, for its log file
    args = parser.parse_args(argv)
    if not 0 < args.epoch_fraction <= 1:
        parser.error("--epoch-fraction must be above 0 and at most 1")
    if not 0 <= args.tolerance < 1:
        parser.error("--tolerance must be between 0 and 1")
    if args.run_id and not status.valid_run_id(args.run_id):
        parser.error("--run-id: letters, digits and '-' only")
    args.project = args.project.resolve()
    args.model = (args.model or default_model(args.project)).resolve()
    return args


def say(message: str) -> None:
    print(f"[retrain] {message}", flush=True)


class EpochTee:
    """Standard error as it was, with Rasa's epoch progress bar also read into the status."""

    def __init__(self, stream: TextIO, round_status: status.Status) -> None:
        self.stream = stream
        self.status = round_status

    def write(self, text: str) -> int:
        found = _EPOCHS.findall(text)
        if found:
            done, total = found[-1]
            self.status.detail(f"epoch {done} of {total}")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


# -- the stages --------------------------------------------------------------------------------


def validate(project: Path, written: Sequence[Written]) -> List[str]:
    """Rasa's validator on the project, as ``rasa data validate`` runs it (domain, NLU data,
    story structure). RoundFailed if the domain is invalid or a warning is about an example
    this round wrote (named by its correction's number, not its text); returns the other
    warnings (there before the round)."""
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        config_path=str(project / "config.yml"),
        domain_path=str(project / "domain.yml"),
        training_data_paths=[str(project / "data")],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator = Validator.from_importer(importer)
        domain_ok = all(
            [
                validator.verify_domain_validity(),
                validator.verify_actions_in_stories_rules(),
                validator.verify_forms_in_stories_rules(),
                validator.verify_form_slots(),
                validator.verify_slot_mappings(),
            ]
        )
        validator.verify_nlu(ignore_warnings=True)
        validator.verify_story_structure(ignore_warnings=True)
    messages = [str(w.message).strip() for w in caught if issubclass(w.category, UserWarning)]
    ours = [
        f"correction #{w.correction.id}: {message.replace(w.example, '…')}"
        for message in messages
        for w in written
        if f"'{w.example}'" in message or f": {w.example}" in message
    ]
    if ours:
        raise RoundFailed("rasa data validate: " + " | ".join(ours))
    if not domain_ok:
        raise RoundFailed("rasa data validate: the domain is not valid: " + " | ".join(messages[:5]))
    return messages


def train(project: Path, live_model: Path, out: Path, full: bool, fraction: float) -> Dict[str, Any]:
    """Fine-tune the live model on the project's data (or train fully); returns ``model``,
    ``mode``, ``full_reason`` and ``seconds``."""
    import rasa.model_training
    from rasa.shared.exceptions import InvalidConfigException

    from server import patches

    # DIET's batches without a loop per example (server/patches/fast_batches.py)
    patches.install_for_training()
    common = dict(
        domain=str(project / "domain.yml"),
        config=str(project / "config.yml"),
        training_files=[str(project / "data")],
        output=str(out),
        fixed_model_name="candidate",
    )
    started = time.monotonic()
    reason = "asked for (--full)" if full else None
    if not full and not live_model.is_file():
        reason = f"no live model at {live_model} to fine-tune"
    if reason is None:
        say(f"fine-tuning {live_model.name} ({fraction:g} of the configured epochs)")
        try:
            result = rasa.model_training.train(
                **common, model_to_finetune=str(live_model), finetuning_epoch_fraction=fraction
            )
        except InvalidConfigException as refusal:
            reason = f"Rasa cannot fine-tune the live model: {refusal}"
            say(reason)
        else:
            if result.code != 0 or not result.model:
                raise RoundFailed(f"fine-tuning failed (code {result.code})")
            return {
                "model": result.model,
                "mode": "finetune",
                "seconds": round(time.monotonic() - started, 1),
            }
    say(f"full training ({reason})")
    result = rasa.model_training.train(**common)
    if result.code != 0 or not result.model:
        raise RoundFailed(f"training failed (code {result.code})")
    return {
        "model": result.model,
        "mode": "full",
        "full_reason": reason,
        "seconds": round(time.monotonic() - started, 1),
    }


# -- one round ---------------------------------------------------------------------------------


class Round:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.project: Path = args.project
        self.run_id: str = args.run_id or status.new_run_id()
        self.status = status.Status(self.project, self.run_id, args.by)
        self.started = time.monotonic()
        self.record: Dict[str, Any] = {
            "run_id": self.run_id,
            "started_by": args.by,
            "started_at": time.time(),
            "model": corrections.relative(args.model, self.project),
            "epoch_fraction": args.epoch_fraction,
            "tolerance": args.tolerance,
            "seconds": {},
        }
        self.backup: Dict[Path, str] = {}

    # helpers

    def stage(self, name: str, detail: str = "") -> None:
        self.status.stage(name, detail)
        say(f"{name}{': ' + detail if detail else ''}")

    def timed(self, name: str, since: float) -> None:
        self.record["seconds"][name] = round(time.monotonic() - since, 1)

    def end(self, outcome: str, detail: str) -> int:
        self.record.update(outcome=outcome, detail=detail, finished_at=time.time())
        self.record["seconds"]["total"] = round(time.monotonic() - self.started, 1)
        status.save_run(self.project, self.record)
        self.status.finish(outcome, detail)
        say(f"{outcome}: {detail}")
        return {"live": EXIT_LIVE, "nothing": EXIT_LIVE, "kept": EXIT_KEPT}.get(outcome, EXIT_FAILED)

    # the round

    def run(self) -> int:
        from storage.database import engine_for
        from storage.migrate import upgrade

        self.stage("writing")
        at = time.monotonic()
        engine = engine_for(database_url())
        upgrade(engine)
        pending = corrections.pending(engine)
        plan = corrections.plan(pending, self.project)
        self.record["corrections"] = describe(plan, self.project)
        for written in plan.written:
            say(
                f"correction #{written.correction.id} ({written.correction.language}) -> "
                f"{corrections.relative(written.file, self.project)}, {written.correction.intent}"
            )
        for correction in plan.present:
            say(f"correction #{correction.id}: already an example of {correction.intent}")
        for correction, reason in plan.skipped:
            say(f"correction #{correction.id} not used: {reason}")
        if not plan.learnt_if_live and not self.args.full:
            self.timed("writing", at)
            if not pending:
                return self.end("nothing", "no corrections waiting")
            if len(pending) == 1:
                return self.end("nothing", "the correction waiting cannot be used")
            return self.end("nothing", f"none of the {len(pending)} corrections waiting can be used")
        self.backup = corrections.apply(plan)
        self.timed("writing", at)
        try:
            return self._train_and_decide(engine, plan)
        finally:
            if self.backup:  # not put live: data and live model must agree
                corrections.restore(self.backup)
                say("training data put back as they were")

    def _train_and_decide(self, engine: Any, plan: Plan) -> int:
        evaluate.quiet_rasa()
        os.chdir(self.project)  # config.yml names the spaCy pipeline relative to the project
        self.stage("validating", "rasa data validate")
        at = time.monotonic()
        other_warnings = validate(self.project, plan.written)
        self.record["validator_warnings"] = len(other_warnings)
        self.timed("validating", at)

        self.stage("training")
        out = status.directory(self.project) / "candidate"
        at = time.monotonic()
        original_stderr = sys.stderr
        sys.stderr = EpochTee(original_stderr, self.status)
        try:
            trained = train(self.project, self.args.model, out, self.args.full, self.args.epoch_fraction)
        finally:
            sys.stderr = original_stderr
        self.timed("training", at)
        self.record.update(mode=trained["mode"], full_reason=trained.get("full_reason"))
        candidate = Path(trained["model"])

        self.stage("evaluating")
        at = time.monotonic()
        learnt = plan.learnt_if_live
        held_out = {k: v for k, v in corrections.held_out_files(self.project).items() if v.is_file()}
        known = self.live_figures(held_out, learnt)
        before = known["held_out"]
        after = evaluate.figures(
            candidate, held_out, learnt, progress=lambda m: self.status.detail(m, every=0)
        )
        # What visitors got: the live model's reading if it was scored now, else the stored one.
        said = known.get("corrections") or {}
        self.record["before"] = {
            "held_out": before,
            "reference": known.get("reference"),
            "corrections": {str(c.id): said.get(c.id, c.predicted_intent) for c in learnt},
        }
        self.record["after"] = after.to_dict()
        self.timed("evaluating", at)
        for language in held_out:
            old, new = before.get(language), after.held_out.get(language)
            say(
                f"{language}: held-out intent F1 {fmt(old)} -> {fmt(new)}"
                f" ({(new or {}).get('examples', 0)} messages)"
            )
        understood = [c for c in learnt if evaluate.understood(c.intent, after.corrections.get(c.id))]
        say(f"corrected messages understood: {len(understood)} of {len(learnt)}")

        self.stage("deciding")
        ok, reasons = evaluate.verdict(
            before, after.held_out, learnt, after.corrections, self.args.tolerance, known.get("reference")
        )
        self.record["reasons"] = reasons
        self.record["retrain_s"] = round(time.monotonic() - self.started, 1)
        if not ok:
            candidate.unlink(missing_ok=True)
            return self.end("kept", "the live model stays: " + "; ".join(reasons))

        self.stage("live", f"replacing {self.args.model.name}")
        at = time.monotonic()
        previous = live.put_live(candidate, self.args.model)
        candidate.unlink(missing_ok=True)
        self.backup = {}  # the data now belong to the live model
        marked = corrections.mark_trained(engine, [c.id for c in learnt], time.time())
        self.record["previous"] = corrections.relative(previous, self.project) if previous else None
        self.record["marked_trained"] = marked
        # After a full training the new model starts a chain of fine-tunings: it is the reference.
        reference = after.held_out if trained["mode"] == "full" else known.get("reference") or before
        self.remember_live_figures(after.held_out, reference, held_out)
        self.timed("live", at)
        self.record["retrain_s"] = round(time.monotonic() - self.started, 1)

        detail = f"new model live after {self.record['retrain_s']:.0f} s"
        if not self.args.no_reload:
            self.stage("reloading", "restarting running Rasa servers")
            at = time.monotonic()
            try:
                done = live.reload_servers(self.args.model, say)
            except (RuntimeError, OSError) as problem:
                self.record["reload_problem"] = str(problem)
                detail += f"; restarting the Rasa servers failed: {problem} (make run loads it)"
            else:
                self.record["reloaded"] = done
                detail += "; " + (
                    f"{len(done)} Rasa processes restarted" if done else "no running Rasa server"
                )
            self.timed("reload", at)
        return self.end("live", detail)

    # the live model's figures, scored once per model and held-out sets

    def live_figures(self, held_out: Dict[str, Path], learnt: List[Correction]) -> Dict[str, Any]:
        """The live model's held-out figures and the reference (``live-figures.json``), scored
        now if the model or the held-out sets changed since (then with its reading of the
        corrected messages, and as the reference: a model the rounds did not make)."""
        model = self.args.model
        if not model.is_file():
            return {"held_out": {}}
        key = evaluate.file_digest([model, *held_out.values()])
        known = status.read_json(status.directory(self.project) / "live-figures.json") or {}
        if known.get("key") == key:
            say("live model's held-out figures: known")
            return known
        say("scoring the live model on the held-out sets")
        scored = evaluate.figures(
            model, held_out, learnt, progress=lambda m: self.status.detail(f"live model: {m}", every=0)
        )
        self.record["live_model_scored_s"] = scored.seconds
        known = {"key": key, "held_out": scored.held_out, "reference": scored.held_out}
        status.write_json(status.directory(self.project) / "live-figures.json", known)
        return {**known, "corrections": scored.corrections}

    def remember_live_figures(
        self, figures: Dict[str, Dict[str, float]], reference: Dict[str, Any], held_out: Dict[str, Path]
    ) -> None:
        key = evaluate.file_digest([self.args.model, *held_out.values()])
        status.write_json(
            status.directory(self.project) / "live-figures.json",
            {"key": key, "held_out": figures, "reference": reference},
        )


def describe(plan: Plan, project: Path) -> Dict[str, Any]:
    """The plan for the record: ids, intents, languages and files, never the texts."""

    def entry(correction: Correction) -> Dict[str, Any]:
        return {"id": correction.id, "intent": correction.intent, "language": correction.language}

    return {
        "written": [
            {**entry(w.correction), "file": corrections.relative(w.file, project)} for w in plan.written
        ],
        "present": [entry(c) for c in plan.present],
        "skipped": [{**entry(c), "reason": reason} for c, reason in plan.skipped],
    }


def fmt(figures: Optional[Dict[str, float]]) -> str:
    return f"{figures['f1']:.3f}" if figures else "-"


def rollback(args: argparse.Namespace) -> int:
    try:
        previous = live.roll_back(args.model)
    except FileNotFoundError as missing:
        say(f"error: {missing}")
        return EXIT_FAILED
    say(f"{args.model.name} is the previous model again; the one it replaced is now {previous.name}")
    if not args.no_reload:
        for done in live.reload_servers(args.model, say):
            say(done)
    return EXIT_LIVE


def _stop(signum: int, _frame: Optional[FrameType]) -> None:
    raise Stopped(f"signal {signum}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    from server.patches.lean_imports import skip_unused

    skip_unused()  # before Rasa imports TensorFlow (server/patches/lean_imports.py)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    try:
        with status.lock(args.project):
            if args.rollback:
                return rollback(args)
            round_ = Round(args)
            try:
                return round_.run()
            except Exception as failure:  # noqa: BLE001 - every failure is recorded
                return round_.end("failed", str(failure) or type(failure).__name__)
            except (KeyboardInterrupt, Stopped) as stop:
                return round_.end("failed", f"interrupted ({stop or 'Ctrl-C'})")
    except status.Busy as busy:
        say(f"error: {busy}; wait for it to finish (the workspace's Retrain page shows it)")
        return EXIT_BUSY


if __name__ == "__main__":
    sys.exit(main())
