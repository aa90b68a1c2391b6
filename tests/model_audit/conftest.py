"""Random multitask predictions with unequal group sizes, shared by the metrics tests."""

from __future__ import annotations

import numpy as np
import pytest

SIZES = {"gender": 2, "age": 9, "race": 7}


def make_data(n: int, seed: int, *, accuracy: float = 0.7) -> tuple[dict, dict]:
    """Codes of true and predicted labels; group sizes and error rates differ by group."""
    rng = np.random.default_rng(seed)
    y_true = {}
    for task, c in SIZES.items():
        p = rng.dirichlet(np.ones(c) * 2)
        y_true[task] = rng.choice(c, size=n, p=p)
    y_pred = {}
    for task, c in SIZES.items():
        # error rate depends on race, so fairness gaps are real
        acc = accuracy - 0.05 * (y_true["race"] % 3)
        keep = rng.random(n) < acc
        y_pred[task] = np.where(keep, y_true[task], rng.integers(0, c, n))
    return y_true, y_pred


@pytest.fixture(scope="module")
def data() -> tuple[dict, dict]:
    return make_data(3000, 0)
