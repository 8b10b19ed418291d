"""`python -m benchmark.memory_stages MODEL [OUT] [--rasa-load]`: what one Rasa process holds,
stage by stage.

Runs in a process of its own (started by the scale phase, benchmark/scale.py) the steps a
Rasa replica goes through, and measures this process after each: the bare interpreter; Rasa's
server modules and the project's adjustments imported (what scripts/rasa_server.py imports
before it loads the model); TensorFlow imported; the model loaded (``Agent.load``, which
builds the pipeline: spaCy, the featurizers, DIET's TensorFlow graph, the policies); and a
few messages parsed (TensorFlow traces its functions at the first prediction). Each stage:
RSS, USS and PSS (benchmark/memory.py), and from /proc/self/smaps how much of the RSS is
TensorFlow's libraries and how much anonymous memory. While the model loads, what each of
its components added (RSS and seconds, around Rasa's ``GraphNode._load_component``). Prints
one JSON document, or writes it to OUT.

No server, no network, no database: the agent has Rasa's in-memory tracker store and only
parses messages (NLU), so the action server is not needed.

The model loads as a Rasa process of the project loads it, DIET for prediction only
(server/patches/fast_model_load.py); ``--rasa-load`` loads it with Rasa's own ``RasaModel.load``
instead (a training step first), to compare the two in one session.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

MESSAGES = ["hello", "do you work in Viet Nam?", "what is the OPCAT?", "thanks, bye"]


def snapshot(stage: str, started: float) -> Dict[str, Any]:
    from benchmark.memory import full_info, smaps_regions

    pid = os.getpid()
    regions = smaps_regions(pid) or {}
    return {
        "stage": stage,
        "seconds": round(time.monotonic() - started, 1),
        **(full_info(pid) or {}),
        "tensorflow_libraries_rss": (regions.get("tensorflow libraries") or {}).get("rss"),
        "other_libraries_rss": (regions.get("other shared libraries") or {}).get("rss"),
        "anonymous_rss": (regions.get("anonymous") or {}).get("rss"),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def watch_components(loaded: Dict[str, Dict[str, float]]) -> None:
    """Note, per component class, the RSS and the time its loading added."""
    from rasa.engine.graph import GraphNode

    original = GraphNode._load_component

    def load_component(node: Any, **kwargs: Any) -> None:
        before, started = rss_mib(), time.monotonic()
        try:
            original(node, **kwargs)
        finally:
            name = node._component_class.__name__
            entry = loaded.setdefault(name, {"rss_added": 0.0, "seconds": 0.0, "nodes": 0})
            entry["rss_added"] = round(entry["rss_added"] + rss_mib() - before, 1)
            entry["seconds"] = round(entry["seconds"] + time.monotonic() - started, 1)
            entry["nodes"] += 1

    GraphNode._load_component = load_component


def watch_model_steps(steps: Dict[str, Dict[str, float]]) -> None:
    """Note what the steps of Rasa's ``RasaModel.load`` (DIET's) added: Rasa builds the
    network by training it on one example (``fit``: the training graph and the optimizer's
    state), then reads the trained weights, then predicts once to trace the inference graph."""
    from rasa.utils.tensorflow.models import RasaModel

    for method in ("fit", "load_weights", "run_inference"):
        original = getattr(RasaModel, method)

        def timed(self: Any, *args: Any, _original: Any = original, _method: str = method, **kw: Any) -> Any:
            before, started = rss_mib(), time.monotonic()
            try:
                return _original(self, *args, **kw)
            finally:
                entry = steps.setdefault(_method, {"rss_added": 0.0, "seconds": 0.0, "calls": 0})
                entry["rss_added"] = round(entry["rss_added"] + rss_mib() - before, 1)
                entry["seconds"] = round(entry["seconds"] + time.monotonic() - started, 1)
                entry["calls"] += 1

        setattr(RasaModel, method, timed)


def checkpoints(model: Path) -> Dict[str, Dict[str, float]]:
    """Per TensorFlow checkpoint in the model (DIET's): MiB of the network's weights and of
    the optimizer's state saved with them (Keras saves both)."""
    import math
    import tarfile
    import tempfile

    import tensorflow as tf

    found: Dict[str, Dict[str, float]] = {}
    with tarfile.open(model) as archive, tempfile.TemporaryDirectory() as directory:
        members = [m for m in archive.getmembers() if m.isfile() and ".tf_model." in m.name]
        archive.extractall(directory, members=members)  # the project's own model
        for prefix in sorted({m.name.split(".tf_model.")[0] + ".tf_model" for m in members}):
            reader = tf.train.load_checkpoint(str(Path(directory) / prefix))
            dtypes = reader.get_variable_to_dtype_map()
            sizes = {"weights_mib": 0.0, "optimizer_mib": 0.0}
            for name, shape in reader.get_variable_to_shape_map().items():
                if dtypes[name] == tf.string:
                    continue
                key = "optimizer_mib" if "/optimizer/" in f"/{name}" else "weights_mib"
                sizes[key] += math.prod(shape) * dtypes[name].size / 2**20
            found[prefix.rsplit("/", 1)[-1]] = {key: round(value, 1) for key, value in sizes.items()}
    return found


def stages(model: Path, rasa_load: bool = False) -> Dict[str, Any]:
    started = time.monotonic()
    found = [snapshot("Python interpreter", started)]

    from server.patches.lean_imports import skip_unused

    skip_unused()  # as scripts/rasa_server.py does first
    import rasa.__main__  # noqa: F401 - what scripts/rasa_server.py imports
    import rasa.core.agent
    import rasa.core.run  # noqa: F401

    from server import patches

    patches.install()
    if rasa_load:
        from server.patches import fast_model_load

        fast_model_load.uninstall()
    found.append(snapshot("Rasa's server modules imported", started))

    import tensorflow  # noqa: F401

    found.append(snapshot("TensorFlow imported", started))
    components: Dict[str, Dict[str, float]] = {}
    model_steps: Dict[str, Dict[str, float]] = {}
    watch_components(components)
    watch_model_steps(model_steps)
    agent = rasa.core.agent.Agent.load(model_path=str(model))
    found.append(snapshot("model loaded", started))

    async def parse() -> None:
        for text in MESSAGES:
            await agent.parse_message(text)

    asyncio.run(parse())
    found.append(snapshot(f"{len(MESSAGES)} messages parsed", started))
    ranked = dict(sorted(components.items(), key=lambda item: -item[1]["rss_added"]))
    return {
        "loader": "rasa" if rasa_load else "prediction only",
        "stages": found,
        "components": ranked,
        "model_load_steps": model_steps,
        "checkpoints": checkpoints(model),
    }


def main(argv: List[str]) -> int:
    rasa_load = "--rasa-load" in argv
    argv = [arg for arg in argv if arg != "--rasa-load"]
    if len(argv) not in (1, 2):
        print("usage: python -m benchmark.memory_stages MODEL [OUT] [--rasa-load]", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    text = json.dumps(stages(Path(argv[0]), rasa_load))
    if len(argv) == 2:
        Path(argv[1]).write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
