"""fairaudit.compare: model versions side by side, paired where possible.

- :func:`compare_audits`: two or more audits of versions of a model on the same
  data -> :class:`Comparison` (every metric and gap, its change from the baseline
  with an interval and a test, what improved and what regressed, in plain words).
- :func:`paired_counts`: two versions' predictions on the same rows ->
  :class:`PairedCounts` (aggregate 2x2 agreement tables per cell and true class;
  McNemar tests and paired intervals), saved in a small versioned JSON file.
- :func:`mcnemar_exact`, :func:`paired_difference_interval`: the paired statistics.
"""

from fairaudit.compare._compare import (
    CLASS_METRICS,
    COMPARISON_FORMAT,
    COMPARISON_FORMAT_VERSION,
    DEFAULT_METRICS,
    GAP_METRICS,
    SLICE_METRICS,
    Comparison,
    compare_audits,
)
from fairaudit.compare._paired import PAIRED_FORMAT, PAIRED_FORMAT_VERSION, PairedCounts
from fairaudit.compare._pairing import paired_counts
from fairaudit.compare._stats import mcnemar_exact, paired_difference_interval, wilson_interval

__all__ = [
    "CLASS_METRICS",
    "COMPARISON_FORMAT",
    "COMPARISON_FORMAT_VERSION",
    "DEFAULT_METRICS",
    "GAP_METRICS",
    "PAIRED_FORMAT",
    "PAIRED_FORMAT_VERSION",
    "SLICE_METRICS",
    "Comparison",
    "PairedCounts",
    "compare_audits",
    "mcnemar_exact",
    "paired_counts",
    "paired_difference_interval",
    "wilson_interval",
]
