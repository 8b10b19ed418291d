"""Leave out of a Rasa process a library that TensorFlow imports and Rasa never uses.

TensorFlow 2.12's TFLite converter imports JAX if it is installed (``tensorflow/lite/python/
util.py``: ``from jax import xla_computation``, in a ``try`` that accepts its absence), and
``tensorflow`` requires ``jax``, so it is installed. Rasa never converts a JAX function to
TFLite. Importing it costs each Rasa process about 65 MiB of memory (27 MiB of its own) and
a fraction of a second (docs/model-loading.md); marking it absent before TensorFlow is
imported makes that ``try`` take its ``ImportError`` branch, as on a machine without JAX.
Call :func:`skip_unused` before anything imports TensorFlow (``scripts/rasa_server.py`` does,
first thing).
"""

from __future__ import annotations

import sys

UNUSED = ("jax",)


def skip_unused() -> None:
    """Make ``import jax`` fail in this process (ImportError), unless it was imported already."""
    for name in UNUSED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
