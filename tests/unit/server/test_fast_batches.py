"""DIET's sparse batches built the fast way are Rasa's, element for element
(server/patches/fast_batches.py)."""

from __future__ import annotations

from typing import List

import numpy as np
import pytest
import scipy.sparse
from rasa.utils.tensorflow.data_generator import RasaDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray

from server.patches import fast_batches


def batch(shapes: List[int], features: int, density: float, fmt: str, seed: int) -> FeatureArray:
    """Examples of ``shapes`` tokens (1 for sentence features), as the featurizers store them."""
    rng = np.random.default_rng(seed)
    matrices = np.empty(len(shapes), dtype=object)
    for i, tokens in enumerate(shapes):
        dense = (rng.random((tokens, features)) < density) * rng.integers(1, 4, (tokens, features))
        matrices[i] = scipy.sparse.csr_matrix(dense).asformat(fmt)
    return FeatureArray(matrices, number_of_dimensions=3)


CASES = [
    ([7, 3, 12, 1, 9], 300, 0.05, "csr"),  # sequence features, stored as CSR
    ([1, 1, 1, 1], 50, 0.2, "coo"),  # sentence features, already COO
    ([4, 2, 6], 40, 0.0, "csr"),  # nothing set at all
    ([5, 8], 40, 0.0001, "coo"),  # one example without a value
    ([31], 18_000, 0.001, "csr"),  # one long example, a character n-gram vocabulary
]


@pytest.mark.parametrize(("shapes", "features", "density", "fmt"), CASES)
def test_the_same_indices_values_and_shape_as_rasa(
    shapes: List[int], features: int, density: float, fmt: str
) -> None:
    for seed in range(3):
        rasa = fast_batches._RASA_TO_VALUES(batch(shapes, features, density, fmt, seed))
        ours = fast_batches.sparse_to_values(batch(shapes, features, density, fmt, seed))
        assert len(ours) == len(rasa) == 3
        for mine, theirs in zip(ours, rasa, strict=False):
            assert mine.dtype == theirs.dtype
            assert mine.shape == theirs.shape
            assert np.array_equal(mine, theirs)


def test_installed_in_place_of_rasas_and_removed() -> None:
    fast_batches.install()
    try:
        assert fast_batches.installed()
        assert RasaDataGenerator._scipy_matrix_to_values is fast_batches.sparse_to_values
    finally:
        fast_batches.uninstall()
    assert not fast_batches.installed()
