"""Training's features combined and fingerprinted the fast way (server/patches/fast_features.py):
combined into exactly scipy's matrix, fingerprinted as stably as Rasa's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.training_data.features import Features

from server.patches import fast_features


def coo(
    rows: int, columns: int, density: float, seed: int, dtype: type = np.float64
) -> scipy.sparse.coo_matrix:
    return scipy.sparse.random(rows, columns, density=density, format="coo", dtype=dtype, random_state=seed)


def features(matrix: object, origin: str = "CountVectorsFeaturizer") -> Features:
    return Features(matrix, "sequence", "text", origin)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (coo(8, 18_000, 0.003, 1), coo(8, 4_947, 0.002, 2)),  # characters, then words
        (coo(1, 300, 0.1, 3, np.int64), coo(1, 40, 0.2, 4)),  # counts joined to floats: upcast
        (coo(5, 30, 0.0, 5), coo(5, 12, 0.3, 6)),  # nothing on one side
        (coo(3, 10, 0.0, 7), coo(3, 10, 0.0, 8)),  # nothing at all
    ],
)
def test_combined_into_the_matrix_scipy_builds(
    left: scipy.sparse.coo_matrix, right: scipy.sparse.coo_matrix
) -> None:
    expected = scipy.sparse.hstack([left, right])
    combined = features(left.copy())
    fast_features.combine_sparse(combined, features(right.copy()))
    got = combined.features
    assert got.format == expected.format == "coo"
    assert got.shape == expected.shape and got.dtype == expected.dtype
    for mine, theirs in ((got.row, expected.row), (got.col, expected.col), (got.data, expected.data)):
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)


def test_other_formats_and_mismatched_rows_go_rasas_way() -> None:
    left, right = coo(4, 20, 0.2, 1).tocsr(), coo(4, 10, 0.2, 2)
    combined = features(left)
    fast_features.combine_sparse(combined, features(right))
    assert (combined.features != scipy.sparse.hstack([left, right])).nnz == 0
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        fast_features.combine_sparse(features(coo(4, 20, 0.2, 1)), features(coo(3, 10, 0.2, 2)))


def test_fingerprints_are_stable_and_tell_matrices_apart() -> None:
    matrix = coo(6, 500, 0.05, 11)
    first = fast_features.fingerprint(features(matrix.copy()))
    assert fast_features.fingerprint(features(matrix.copy())) == first  # the same content
    changed = matrix.copy()
    changed.data[0] += 1.0
    assert fast_features.fingerprint(features(changed)) != first  # one value
    assert fast_features.fingerprint(features(matrix.astype(np.float32))) != first  # its type
    assert fast_features.fingerprint(features(matrix.copy(), origin="LexicalSyntacticFeaturizer")) != first
    dense = Features(np.ones((2, 3)), "sentence", "text", "SpacyFeaturizer")
    assert fast_features.fingerprint(dense) == fast_features._RASA_FINGERPRINT(dense)


def test_installed_in_place_of_rasas_and_removed() -> None:
    fast_features.install()
    try:
        assert fast_features.installed()
    finally:
        fast_features.uninstall()
    assert not fast_features.installed()
