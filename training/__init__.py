"""Retraining from staff corrections (docs/retraining.md).

One round, ``python -m training.retrain`` (``make retrain``) or the workspace's button:

1. :mod:`training.corrections` writes the corrections no live model has learnt yet into the
   topic file of their intent and language under ``data/nlu/``;
2. :mod:`training.retrain` checks the data with Rasa's validator, fine-tunes the live model on
   them (``rasa train --finetune``; a full training where Rasa cannot fine-tune);
3. :mod:`training.evaluate` scores the new model and the live one on the held-out sets and on
   the corrected messages, and decides;
4. :mod:`supervision.live` puts the new model live only if it is not worse, keeping the previous
   one, and has the running Rasa servers load it.

:mod:`training.status` keeps what the workspace shows: the stage of the round under way and
the results of the finished ones (JSON files under ``var/retrain/``), and the lock that allows
one round at a time. Nothing here runs at import time.
"""

from __future__ import annotations

from apt_settings import ROOT as ROOT  # the one ROOT, re-exported
