"""A model's figures, and the decision whether a new one may replace the live one.

:func:`figures` loads a model once (Rasa's ``Agent.load``, with DIET loaded for prediction
only, as the Rasa servers load it: server/patches/fast_model_load.py) and scores it the way
``rasa test nlu`` does, with Rasa's own functions (``rasa.nlu.test.get_eval_data`` and
``evaluate_intents``): the weighted intent F1 and the accuracy on each language's held-out set
(``tests/test_nlu.yml``, ``tests/test_nlu_fr.yml``, ``tests/test_nlu_es.yml``), the intent
the fallback would have hidden counted as the prediction (as ``rasa test nlu`` counts it). On
the corrected messages it records what a visitor would now get: the intent after the
FallbackClassifier.

:func:`verdict` is the gate (pure, so it is unit-tested): the new model goes live only if no
language's F1 is lower by more than ``tolerance`` than the live model's, nor than the
reference's (the figures of the model a chain of fine-tunings started from, so that rounds
cannot each lose a little), and every corrected message of the round is understood.
"Understood" is the corrected intent; for ``out_of_scope`` also ``nlu_fallback``, since both
end in the assistant's honest "I can't help with that / I'm not sure I understood".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from training.corrections import Correction, held_out_files

# The largest drop of a language's held-out weighted F1 a new model may have: about 4 of the
# 391 French or Spanish test messages, 5 of the 519 English ones. Fine-tuning the same model on
# the same corrections moved a language's F1 by up to 0.008 with the default epochs, and by up
# to 0.020 with fewer (docs/retraining.md): 0.005 would refuse most rounds for noise.
TOLERANCE = 0.01
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"

Progress = Callable[[str], None]


@dataclass
class Figures:
    """A model's scores: per language ``{"f1", "accuracy", "examples", "errors"}``, and per
    correction id the intent the model gives the message (after the fallback)."""

    held_out: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    corrections: Dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "held_out": self.held_out,
            "corrections": {str(k): v for k, v in self.corrections.items()},
            "seconds": self.seconds,
        }


def understood(intent: str, predicted: Optional[str]) -> bool:
    return predicted == intent or (intent == OUT_OF_SCOPE and predicted == FALLBACK_INTENT)


def verdict(
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, float]],
    corrections: Sequence[Correction],
    predicted_after: Mapping[int, str],
    tolerance: float = TOLERANCE,
    reference: Optional[Mapping[str, Mapping[str, float]]] = None,
) -> Tuple[bool, List[str]]:
    """(put live?, the reasons against it): no language's F1 lower by more than
    ``tolerance`` than the live model's (``before``) or the reference's, every correction
    understood. A language the live model was not scored on (a new held-out set) only needs a
    score."""
    reasons = []
    for language, new in sorted(after.items()):
        for name, figures in (("now", before), ("at the reference", reference or {})):
            old = figures.get(language)
            if old is not None and new["f1"] < old["f1"] - tolerance:
                reasons.append(
                    f"{language}: held-out intent F1 {new['f1']:.3f} against {old['f1']:.3f} {name}"
                    f" (more than {tolerance:g} lower)"
                )
                break
    for language in sorted(set(before) - set(after)):
        reasons.append(f"{language}: the new model was not scored on the held-out set")
    missed = [c for c in corrections if not understood(c.intent, predicted_after.get(c.id))]
    for correction in missed:
        reasons.append(
            f"correction #{correction.id} ({correction.language}) still read as"
            f" {predicted_after.get(correction.id) or 'nothing'}, not {correction.intent}"
        )
    return not reasons, reasons


def file_digest(paths: Sequence[Path]) -> str:
    """One SHA-256 over the files' contents (a model, or the held-out sets): what the cached
    figures of the live model are keyed by."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def figures(
    model: Path,
    held_out: Mapping[str, Path],
    corrections: Sequence[Correction],
    progress: Optional[Progress] = None,
    misses: bool = False,
) -> Figures:
    """Load ``model`` once and score it (see the module's docstring); with ``misses``, each
    language's figures also list the held-out messages read wrong (``text``, ``intent``,
    ``predicted``)."""
    from rasa.core.agent import Agent

    from server.patches import fast_model_load

    fast_model_load.install()  # the servers' load: seconds, not Rasa's training step
    say = progress or (lambda _message: None)
    started = time.monotonic()
    say(f"loading {model.name}")
    agent = Agent.load(str(model))
    result = Figures()
    for language, path in held_out.items():
        if path.is_file():
            say(f"held-out set {language} ({path.name})")
            result.held_out[language] = asyncio.run(_score(agent, path, misses))
    if corrections:
        say(f"{len(corrections)} corrected messages")
        result.corrections = asyncio.run(
            _intents(agent, [c.text for c in corrections], [c.id for c in corrections])
        )
    result.seconds = round(time.monotonic() - started, 1)
    return result


async def _score(agent: Any, path: Path, misses: bool = False) -> Dict[str, Any]:
    from rasa.nlu.test import evaluate_intents, get_eval_data
    from rasa.shared.nlu.training_data.loading import load_data

    test_data = load_data(str(path))
    intent_results, _, _ = await get_eval_data(agent.processor, test_data)
    report = evaluate_intents(
        intent_results, None, successes=False, errors=False, disable_plotting=True, report_as_dict=True
    )
    predictions = report["predictions"]
    wrong = [p for p in predictions if p["intent"] != p["predicted"]]
    scores: Dict[str, Any] = {
        "f1": round(float(report["f1_score"]), 4),
        "accuracy": round(float(report["accuracy"]), 4),
        "examples": len(predictions),
        "errors": len(wrong),
    }
    if misses:
        scores["misses"] = [{k: p[k] for k in ("text", "intent", "predicted")} for p in wrong]
    return scores


async def _intents(agent: Any, texts: Sequence[str], ids: Sequence[int]) -> Dict[int, str]:
    from rasa.core.channels.channel import UserMessage

    found: Dict[int, str] = {}
    for correction_id, text in zip(ids, texts, strict=True):
        parsed = await agent.processor.parse_message(UserMessage(text=text))
        found[correction_id] = str((parsed.get("intent") or {}).get("name") or "")
    return found


def quiet_rasa() -> None:
    """Rasa's logging as ``rasa train`` sets it (INFO: its training steps), without the
    per-message debug lines of its processor, which would print every test message."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(format="%(asctime)s %(levelname)-8s %(name)s - %(message)s", level=logging.WARNING)
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.WARNING)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m training.evaluate [--model PATH] [--json]``: a model's held-out scores per
    language, as the retraining gate reads them, in one load of the model."""
    import argparse
    import json

    from training import ROOT

    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=main.__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "apt.tar.gz")
    parser.add_argument("--json", action="store_true", help="print the figures and misses as JSON")
    options = parser.parse_args(argv)
    if not options.model.is_file():
        parser.error(f"no model at {options.model}: train one first (make train)")
    quiet_rasa()  # not a debug line per test message
    quiet = options.json
    result = figures(
        options.model,
        held_out_files(ROOT),
        [],
        progress=None if quiet else (lambda message: print(f"[evaluate] {message}", flush=True)),
        misses=True,
    )
    if quiet:
        print(json.dumps(result.held_out, ensure_ascii=False))
        return 0
    for language, scores in result.held_out.items():
        print(
            f"{language}: intent F1 (weighted) {scores['f1']:.3f}, accuracy {scores['accuracy']:.3f},"
            f" {scores['errors']} of {scores['examples']} read wrong"
        )
        for miss in scores["misses"]:
            print(f"    {miss['text']!r}: {miss['intent']} -> {miss['predicted']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
