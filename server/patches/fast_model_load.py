"""Load DIET for prediction only: restore its trained weights into a model that never trains.

Rasa 3.6's ``RasaModel.load`` builds the network by compiling it with an Adam optimizer and
running ``fit`` on one example (tracing the whole training graph, with gradients and the
optimizer's slots), then reads the trained weights over what that step produced, then
predicts once. The training step is most of a Rasa process's start-up and memory (about
35 s and 580 MiB here, docs/model-loading.md): nothing of it is used to answer a message.

TensorFlow restores a checkpoint written in its own format lazily: ``load_weights`` on a
model whose variables do not exist yet remembers the values, and each variable takes its
value when a layer creates it ("restore on create"). So :func:`load_for_prediction` builds
the empty model, reads the checkpoint, says that the optimizer's saved slots are not wanted
(``expect_partial``), and runs the same one-example prediction Rasa runs to warm up: that
creates exactly the prediction path's variables, each restored as it is created. Then it
checks that every variable the model now has was in the checkpoint
(``assert_existing_objects_matched``): a variable made up at random would change answers.

Whatever the fast path cannot do, Rasa's own load does, with a warning naming the reason:
a model with no example to warm up on, a checkpoint that is not in TensorFlow's format, a
variable missing or of another shape. Fine-tuning (``rasa train --finetune``) needs the
optimizer and the training graph, so it always takes Rasa's path, and so does any other
TensorFlow model than DIET (TED, which config.yml does not use): the fast path was checked
against Rasa's on DIET only (tests/rasa/test_fast_model_load.py compares every held-out message).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import tensorflow as tf
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel
from rasa.utils.train_utils import create_data_generators

logger = logging.getLogger(__name__)

_RASA_LOAD: Any = RasaModel.load.__func__


class CannotLoadFast(Exception):
    """The model lacks what prediction-only loading needs; the message says what."""


def load_for_prediction(
    cls: Any, model_file_name: str, predict_data_example: Optional[RasaModelData], *args: Any, **kwargs: Any
) -> RasaModel:
    """``cls`` built for prediction, with the weights of ``model_file_name``; CannotLoadFast
    when the checkpoint does not hold every variable the prediction path creates."""
    if predict_data_example is None or predict_data_example.is_empty():
        raise CannotLoadFast("the model has no example to build its prediction path on")
    if not _readable(model_file_name):
        raise CannotLoadFast(f"{model_file_name} is not a TensorFlow checkpoint")
    model = cls(*args, **kwargs)
    model._run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)  # what compile() would set
    try:
        status = model.load_weights(model_file_name)
        status.expect_partial()  # the optimizer's slots and step count: saved, not wanted
        if not model._run_eagerly:
            model._tf_predict_step = prediction_function(model, predict_data_example)
        model.run_inference(predict_data_example)  # the warm-up Rasa runs: traces the function
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, TypeError, tf.errors.OpError) as problem:
        raise CannotLoadFast(
            str(problem).splitlines()[0] if str(problem) else type(problem).__name__
        ) from None
    return model


def prediction_function(model: RasaModel, example: RasaModelData) -> Any:
    """The ``tf.function`` Rasa's ``_rasa_predict`` builds on the first prediction (the same
    input signature), with the prediction path's variables created (and restored) first.

    - The variables: Rasa's ``_rasa_predict`` prepares the labels' embeddings eagerly, then
      calls the function; one eager prediction here creates the rest, so that the function
      is traced once (a function that creates variables is traced twice).
    - Traced without AutoGraph: rewriting the Python source of every layer into graph code is
      three quarters of the warm-up, and DIET's prediction path has no Python ``if``, ``for``
      or ``while`` on a tensor for it to rewrite (one would fail the trace, loudly: then
      Rasa's load runs instead).
    """
    batch = next(iter(create_data_generators(model_data=example, batch_sizes=1, epochs=1, shuffle=False)[0]))[
        0
    ]
    model._training = False
    model.prepare_for_predict()  # as _rasa_predict does, eagerly
    model.prepared_for_prediction = True
    model.batch_predict(batch)  # eagerly: the text's side of the network, restored on creation
    return tf.function(model.predict_step, input_signature=model._dynamic_signature(batch), autograph=False)


def _readable(model_file_name: str) -> bool:
    try:
        tf.train.load_checkpoint(str(model_file_name))
    except (ValueError, tf.errors.OpError):
        return False
    return True


def load(
    cls: Any,
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """Drop-in for ``RasaModel.load``: DIET for prediction loads fast, everything else (and
    anything the fast path refuses) as Rasa loads it."""
    if not finetune_mode and isinstance(cls, type) and issubclass(cls, DIET):
        try:
            return load_for_prediction(cls, model_file_name, predict_data_example, *args, **kwargs)
        except CannotLoadFast as reason:
            logger.warning(
                "Loading %s for prediction only failed (%s): loading it with Rasa's own, slower"
                " path instead (a training step before reading the weights).",
                cls.__name__,
                reason,
            )
    return _RASA_LOAD(
        cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
    )


def install() -> None:
    RasaModel.load = classmethod(load)


def uninstall() -> None:
    RasaModel.load = classmethod(_RASA_LOAD)


def installed() -> bool:
    return RasaModel.load.__func__ is load
