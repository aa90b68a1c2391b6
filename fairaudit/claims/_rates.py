"""A group's rate: the exact (Clopper-Pearson) interval, for any slice of any size.

The validity harness (``benchmarks/bench_validity.py``) shows Wilson's interval
dipping to 0.85-0.92 coverage for cells of 5-10 rows at a rate of 0.9, and a
percentile bootstrap to 0.5-0.6; the exact interval never covers less than its
level. Every per-group rate a report, a table or a chart shows takes its interval
from :func:`rate_interval`.
"""

from __future__ import annotations

import numpy as np

from fairaudit.functional._intervals import exact_interval

__all__ = ["RATE_METHOD", "rate_interval"]

#: The ``method`` of rate claims.
RATE_METHOD = "exact (Clopper-Pearson)"


def rate_interval(
    hits: np.ndarray | int, n: np.ndarray | int, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of each rate ``hits / n`` at ``confidence`` (NaN where ``n == 0``).

    Examples
    --------
    >>> low, high = rate_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4439, 0.9748)
    """
    return exact_interval(hits, n, confidence=confidence)
