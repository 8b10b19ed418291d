"""What the three languages cost: the same configuration trained on the English data alone
("one language", the assistant before French and Spanish) and on all of it, in the same run.

For each model: the full training time (`rasa train --force` in a scratch copy), then, in a
fresh Python process, the model loaded with Rasa's ``Agent`` and every held-out message of the
three languages parsed one at a time: the time per message (the NLU, which is what the
languages change; the dialogue policies and actions are the same) and the process's resident
memory after loading and after parsing, which is what a Rasa worker holds for its model.

`python -m benchmark --only languages`; ``python -m benchmark.languages probe MODEL`` is the
measuring process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from benchmark import ROOT
from benchmark.memory import mib, rss_of
from benchmark.processes import environment
from benchmark.progress import say
from benchmark.servers import latest_model
from benchmark.training import copy_project, train

HELD_OUT = [ROOT / "tests" / name for name in ("test_nlu.yml", "test_nlu_fr.yml", "test_nlu_es.yml")]
TRANSLATED_DATA = ("fr", "es")  # folders of data/nlu/ left out of the one-language copy


def held_out_texts() -> List[str]:
    """Every held-out example of the three languages, entity markup removed."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts: List[str] = []
    for path in HELD_OUT:
        texts += [m.get("text") for m in load_data(str(path)).intent_examples]
    return [t for t in texts if t]


def probe(model: Path) -> Dict[str, Any]:
    """Runs in its own process: load the model, parse every held-out text, measure."""
    from rasa.core.agent import Agent

    texts = held_out_texts()
    agent = Agent.load(str(model))
    loaded = rss_of(os.getpid())

    async def parse_all() -> List[float]:
        await agent.parse_message(texts[0])  # the first parse builds TensorFlow's graph
        seconds = []
        for text in texts:
            started = time.perf_counter()
            await agent.parse_message(text)
            seconds.append(time.perf_counter() - started)
        return seconds

    seconds = asyncio.run(parse_all())
    ordered = sorted(seconds)
    return {
        "messages": len(seconds),
        "parse_ms_median": round(statistics.median(seconds) * 1000, 1),
        "parse_ms_p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "rss_mib_loaded": mib(loaded),
        "rss_mib_after": mib(rss_of(os.getpid())),
    }


def _measure(model: Path, log: Path) -> Dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmark.languages", "probe", str(model)],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {model.name} failed; see {log}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def run(scratch: Path) -> Dict[str, Any]:
    """Both models trained and measured, one language first."""
    figures: Dict[str, Any] = {}
    for name in ("one_language", "three_languages"):
        project = scratch / f"languages-{name}"
        copy_project(project)
        if name == "one_language":
            for folder in TRANSLATED_DATA:
                shutil.rmtree(project / "data" / "nlu" / folder)
        say(f"{name}: full training")
        seconds = train(project, "train.log", force=True)
        model = latest_model(project / "models")
        if model is None:
            raise RuntimeError(f"{name}: no model; see {project / 'train.log'}")
        say(f"{name}: trained in {seconds:.0f} s; parsing the held-out messages")
        figures[name] = {"training_s": round(seconds, 1), **_measure(model, project / "probe.log")}
        say(f"{name}: {figures[name]}")
    one, three = figures["one_language"], figures["three_languages"]
    figures["ratios"] = {
        key: round(three[key] / one[key], 2) if one.get(key) else None
        for key in ("training_s", "parse_ms_median", "parse_ms_p95", "rss_mib_after")
    }
    return figures


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        print(json.dumps(probe(Path(sys.argv[2]))))
        return
    raise SystemExit("usage: python -m benchmark.languages probe MODEL")


if __name__ == "__main__":
    main()
