"""``rasa train`` with the project's training adjustments: ``scripts/train.py [rasa train options]``.

Training runs through Rasa's own command, after :func:`server.patches.install_for_training` (the
version check, then DIET's batches built without a Python loop per example:
server/patches/fast_batches.py). The model is the one ``rasa train`` writes, only sooner.
``make train``, the tests' shared model and the benchmark's training all start here.

With ``--fixed-model-name``, a model already at that path and trained from the same inputs
is kept and "nothing changed" said, before Rasa or TensorFlow is even imported
(training/inputs.py); ``--force`` trains anyway.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from training import inputs


def planned(argv: List[str]) -> Tuple[Optional[inputs.Training], Optional[Path], bool]:
    """(the training's inputs, the model it writes, --force) for the options Rasa is given;
    no inputs where the model's name is not fixed or a model is fine-tuned."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config", default="config.yml")
    parser.add_argument("-d", "--domain", default="domain.yml")
    parser.add_argument("--data", nargs="+", default=["data"])
    parser.add_argument("--out", default="models")
    parser.add_argument("--fixed-model-name")
    parser.add_argument("--finetune", nargs="?", const="")
    parser.add_argument("--force", action="store_true")
    known, _ = parser.parse_known_args(argv)
    if not known.fixed_model_name or known.finetune is not None or "--dry-run" in argv:
        return None, None, known.force
    name = known.fixed_model_name
    model = Path.cwd() / known.out / (name if name.endswith(".tar.gz") else f"{name}.tar.gz")
    options = [arg for arg in argv if arg != "--force"]
    training = inputs.Training(Path.cwd(), known.config, known.domain, known.data, options)
    return training, model, known.force


def main(argv: List[str]) -> None:
    training, model, force = planned(argv)
    digest = inputs.digest(training) if training is not None else None
    if digest is not None and model is not None:
        if not force and inputs.unchanged(digest, model):
            shown = model.relative_to(Path.cwd())
            print(f"Nothing changed since {shown} was trained: it is kept (--force trains).")
            return
        inputs.forget(model)

    from server.patches.lean_imports import skip_unused

    skip_unused()  # before TensorFlow is imported (server/patches/lean_imports.py)

    from rasa.__main__ import main as rasa_main

    import rasa_versions
    from server import patches

    try:
        patches.install_for_training()
    except rasa_versions.UnsupportedVersion as error:
        sys.exit(f"error: {error}")
    sys.argv = ["rasa", "train", *argv]
    try:
        rasa_main()
    except SystemExit as ended:
        if ended.code not in (0, None):
            raise
    if digest is not None and model is not None and model.is_file():
        inputs.remember(digest, model)


if __name__ == "__main__":
    main(sys.argv[1:])
