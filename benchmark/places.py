"""What recognising places costs the action server: its memory and the time per message.

In a fresh Python process set up as the action server is (no TensorFlow, rasa-sdk's app for
the ``actions`` package, so every action is built and the place resolver with them), this
prints the process's resident memory, the time to build every action, and the median and
95th percentile CPU time to resolve the countries and the region of one message, over a fixed set
of messages in English, French and Spanish (countries, cities, former names, regions, and
sentences naming no place at all).

    python -m benchmark.places [--rounds N]

No timed assertion anywhere: the figures are for docs/languages.md and the benchmark report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any, Dict, List

MESSAGES = [
    "Do you work in Kenya?",
    "is the APT active in viet nam",
    "We are a small NGO from Lagos, can you help?",
    "what about Kathmandu",
    "Travaillez-vous au Sénégal ?",
    "Et à Rangoun ?",
    "¿Trabajan en el Congo?",
    "¿Qué países en Asia Meridional?",
    "Quels pays en Afrique de l'Ouest ?",
    "do you have projects in Ceylon or Burma",
    "Which countries in the Caribbean?",
    "what do you do for victims of torture and how can I contact you",
    "¿Cuál es el presupuesto de la APT?",
    "Pouvez-vous financer notre projet de monitoring des prisons ?",
    "Thanks, that's all",
]


def probe(rounds: int) -> Dict[str, Any]:
    """Runs inside the measured process (see ``main``)."""
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # as scripts/action_server.py
    import psutil
    from rasa_sdk.endpoint import create_app

    started = time.perf_counter()
    create_app("actions", cors_origins=None)  # imports and builds every action, as the server does
    from actions.countries import resolver_for
    from content.knowledge import load_knowledge_base

    places = resolver_for(load_knowledge_base())
    built = time.perf_counter() - started
    timings: List[float] = []
    for _ in range(rounds):
        for message in MESSAGES:
            start = time.process_time()  # CPU time: other work on a busy machine does not count
            places.countries(message)
            places.place(message)
            timings.append(time.process_time() - start)
    timings.sort()
    return {
        "rss_mib": round(psutil.Process().memory_info().rss / 2**20, 1),
        "startup_s": round(built, 2),
        "median_ms": round(statistics.median(timings) * 1000, 3),
        "p95_ms": round(timings[int(len(timings) * 0.95)] * 1000, 3),
        "messages": len(timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark.places", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="times each message is resolved (default 20)")
    args = parser.parse_args()
    print(json.dumps(probe(args.rounds)))


if __name__ == "__main__":
    main()
