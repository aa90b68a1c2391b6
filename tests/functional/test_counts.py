"""Group sums: the hierarchical ``group_sums`` against ``group_sum`` and a naive loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairaudit.functional._arrays import predicted_counts, shared_marginals, true_counts
from fairaudit.functional._counts import (
    confusion_counts,
    group_sum,
    group_sums,
    mixed_radix_index,
)


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


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 120), min_size=1, max_size=4),  # products beyond int8
    n_rows=st.integers(0, 50),
    seed=st.integers(0, 10_000),
    dtype=st.sampled_from([np.int8, np.int16, np.int64, np.uint8]),
)
def test_mixed_radix_index_is_ravel_multi_index(shape, n_rows, seed, dtype):
    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, s, n_rows).astype(dtype) for s in shape]
    expected = np.ravel_multi_index(tuple(codes), tuple(shape)) if n_rows else np.zeros(0)
    got = mixed_radix_index(codes, shape)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    buffer = np.full(n_rows, -7, dtype=np.int64)  # stale content is overwritten
    assert mixed_radix_index(codes, shape, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, expected)


def test_confusion_counts_of_int8_codes_equal_a_loop():
    rng = np.random.default_rng(0)
    n_cells, n_classes, n = 126, 9, 2_000  # joint codes up to 10,205: beyond int8
    cell = rng.integers(0, n_cells, n)
    true = rng.integers(0, n_classes, n).astype(np.int8)
    pred = rng.integers(0, n_classes, n).astype(np.int8)
    expected = np.zeros((n_cells, n_classes, n_classes), dtype=np.int64)
    for c, t, p in zip(cell, true, pred, strict=True):
        expected[c, t, p] += 1
    counts = confusion_counts(cell, true, pred, n_cells=n_cells, n_classes=n_classes)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
@pytest.mark.parametrize("shape", [(1, 2, 2), (126, 9, 9), (5, 14, 7, 7)])
def test_class_marginals_equal_the_sums_over_axes(dtype, shape):
    cm = np.random.default_rng(1).integers(0, 1_000, shape).astype(dtype)
    for got, expected in (
        (true_counts(cm), cm.sum(axis=-1)),
        (predicted_counts(cm), cm.sum(axis=-2)),
    ):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_shared_marginals_are_per_array_and_end_with_the_context():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 100, (2, 4, 3, 3)), rng.integers(0, 100, (2, 4, 3, 3))
    with shared_marginals():
        first = true_counts(a)
        assert true_counts(a) is first  # computed once inside
        np.testing.assert_array_equal(true_counts(b), b.sum(axis=-1))
        np.testing.assert_array_equal(predicted_counts(a), a.sum(axis=-2))
    a[...] = 0  # outside, nothing is remembered
    np.testing.assert_array_equal(true_counts(a), np.zeros((2, 4, 3), dtype=np.int64))
