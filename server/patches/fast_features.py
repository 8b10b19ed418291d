"""Two costs of a training before DIET's first step, removed without changing its input.

Profiled on the full training (7,860 examples, 2026-12-06), two private functions of Rasa 3.6
took about two thirds of the time between reading the data and DIET's first epoch:

- **Fingerprints for the training cache.** After each component, Rasa fingerprints its output to
  cache it: ``Features.fingerprint`` writes every sparse feature matrix out as text, one line
  per value, and hashes the text (37 % of that phase). :func:`fingerprint` hashes the matrix's
  own arrays (coordinates, values, shape, types) instead: as stable, and a different matrix
  still gives a different fingerprint. Fingerprints are cache keys only, so a cache written
  before this change is simply not reused once.
- **Combining featurizers' outputs.** DIET joins each message's word, character, lexical and
  regex features with ``scipy.sparse.hstack``, whose generic block code costs about 400 µs per
  call (31 %). :func:`combine_sparse` joins two COO matrices directly, into the very matrix
  ``hstack`` returns (same coordinates, values, types and format:
  ``tests/unit/server/test_fast_features.py``), in about a third of the time; other formats
  still go through ``hstack``.

Installed with :mod:`server.patches.fast_batches` by :func:`server.patches.install_for_training` and
:func:`server.patches.install`, after the version check.
"""

from __future__ import annotations

from hashlib import md5
from typing import Any

import numpy as np
import scipy.sparse
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.utils.io import deep_container_fingerprint
from scipy.sparse._sputils import get_index_dtype, upcast

_RASA_FINGERPRINT = Features.fingerprint
_RASA_COMBINE_SPARSE = Features._combine_sparse_features


def matrix_digest(matrix: Any) -> str:
    """The MD5 of a sparse matrix's content: shape, value type and its coordinates and values."""
    coo = matrix.tocoo()
    digest = md5(str((coo.shape, coo.data.dtype.str)).encode())  # nosec: a cache key, not security
    for part in (coo.row, coo.col, coo.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def fingerprint(self: Features) -> str:
    """Drop-in for ``Features.fingerprint``: sparse matrices hashed by their arrays."""
    if self._cached_fingerprint is None:
        if self.is_dense():
            return _RASA_FINGERPRINT(self)
        self._cached_fingerprint = deep_container_fingerprint(
            [self.type, self.origin, self.attribute, matrix_digest(self.features)]
        )
    return self._cached_fingerprint


def hstack_coo(left: scipy.sparse.coo_matrix, right: scipy.sparse.coo_matrix) -> scipy.sparse.coo_matrix:
    """``scipy.sparse.hstack([left, right])`` for two COO matrices with as many rows."""
    shape = (left.shape[0], left.shape[1] + right.shape[1])
    index_type = get_index_dtype(maxval=max(shape))
    data = np.concatenate([left.data, right.data]).astype(upcast(left.dtype, right.dtype), copy=False)
    rows = np.concatenate([left.row, right.row]).astype(index_type, copy=False)
    columns = np.concatenate([left.col, right.col + left.shape[1]]).astype(index_type, copy=False)
    return scipy.sparse.coo_matrix((data, (rows, columns)), shape=shape)


def combine_sparse(self: Features, additional_features: Features) -> None:
    """Drop-in for ``Features._combine_sparse_features`` (same checks, same result)."""
    left, right = self.features, additional_features.features
    if not (isinstance(left, scipy.sparse.coo_matrix) and isinstance(right, scipy.sparse.coo_matrix)):
        return _RASA_COMBINE_SPARSE(self, additional_features)
    if left.shape[0] != right.shape[0]:
        raise ValueError(
            f"Cannot combine sparse features as sequence dimensions do not "
            f"match: {left.shape[0]} != {right.shape[0]}."
        )
    self.features = hstack_coo(left, right)
    self._cached_fingerprint = None


def install() -> None:
    Features.fingerprint = fingerprint
    Features._combine_sparse_features = combine_sparse


def uninstall() -> None:
    Features.fingerprint = _RASA_FINGERPRINT
    Features._combine_sparse_features = _RASA_COMBINE_SPARSE


def installed() -> bool:
    return Features.fingerprint is fingerprint and Features._combine_sparse_features is combine_sparse
