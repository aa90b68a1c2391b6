"""fairaudit.compare: model versions side by side, paired where possible.

- :func:`compare_audits`: two or more audits of versions of a model on the same
  data -> :class:`Comparison` (every metric and gap, its change from the baseline
  with an interval and a test, what improved and what regressed, in plain words).
- :func:`paired_counts`: two versions' predictions on the same rows ->
  :class:`PairedCounts` (aggregate 2x2 agreement tables per cell and true class;
  McNemar tests and paired intervals), saved in a small versioned JSON file.

The paired statistics (McNemar exact, Newcombe) and every metric compared come
from :mod:`fairaudit.functional`.
"""

from fairaudit.compare._compare import compare_audits
from fairaudit.compare._comparison import Comparison
from fairaudit.compare._constants import (
    COMPARISON_FORMAT,
    COMPARISON_FORMAT_VERSION,
    DEFAULT_METRICS,
)
from fairaudit.metrics import PAIRED_FORMAT, PAIRED_FORMAT_VERSION, PairedCounts, paired_counts

__all__ = [
    "COMPARISON_FORMAT",
    "COMPARISON_FORMAT_VERSION",
    "DEFAULT_METRICS",
    "PAIRED_FORMAT",
    "PAIRED_FORMAT_VERSION",
    "Comparison",
    "PairedCounts",
    "compare_audits",
    "paired_counts",
]
