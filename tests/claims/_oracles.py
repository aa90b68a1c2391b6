"""Independent constructions the inference layer is checked against (from statsmodels)."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint


def exact_square_and_add(x1, n1, x2, n2, alpha):
    """MOVER interval of x1/n1 - x2/n2 from statsmodels' Clopper-Pearson limits."""
    l1, u1 = proportion_confint(x1, n1, alpha=alpha, method="beta")
    l2, u2 = proportion_confint(x2, n2, alpha=alpha, method="beta")
    l1, u1, l2, u2 = (
        float(np.nan_to_num(v, nan=d)) for v, d in ((l1, 0), (u1, 1), (l2, 0), (u2, 1))
    )
    p1, p2 = x1 / n1, x2 / n2
    return (
        p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        p1 - p2 + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )
