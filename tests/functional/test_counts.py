"""Group sums: the hierarchical ``group_sums`` against ``group_sum`` and a naive loop."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairaudit.functional._counts import group_sum, group_sums


def _naive(array: np.ndarray, shape: list[int], names: list[str], by: tuple[str, ...]):
    """Sum cells with a Python loop over every cell's attribute values."""
    lead, trailing = array.shape[:1], array.shape[2:]
    out = np.zeros((*lead, *[shape[names.index(b)] for b in by], *trailing), array.dtype)
    for cell, values in enumerate(itertools.product(*(range(s) for s in shape))):
        key = tuple(values[names.index(b)] for b in by)
        out[(slice(None), *key)] += array[:, cell]
    return out


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_group_sums_equal_group_sum_and_a_naive_loop(shape, seed, data):
    names = ["a", "b", "c"][: len(shape)]
    array = np.random.default_rng(seed).integers(0, 50, size=(3, int(np.prod(shape)), 2, 2))
    orders = [p for r in range(len(names) + 1) for p in itertools.permutations(names, r)]
    groupings = data.draw(st.lists(st.sampled_from(orders), min_size=1, max_size=6, unique=True))
    sums = group_sums(array, shape, names, groupings, n_trailing=2)
    assert list(sums) == [tuple(g) for g in groupings]
    for by in groupings:
        expected = group_sum(array, shape, names, by, n_trailing=2)
        np.testing.assert_array_equal(sums[tuple(by)], expected)
        np.testing.assert_array_equal(sums[tuple(by)], _naive(array, shape, names, tuple(by)))
