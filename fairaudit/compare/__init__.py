"""fairaudit.compare: model versions side by side, paired where possible.

- :func:`compare_audits`: two or more audits of versions of a model on the same
  data -> :class:`Comparison` (every metric and gap, its change from the baseline
  with an interval and a test, what improved and what regressed, in plain words).
- :func:`paired_counts`: two versions' predictions on the same rows ->
  :class:`PairedCounts` (aggregate 2x2 agreement tables per cell and true class;
  McNemar tests and paired intervals), saved in a small versioned JSON file.
- :func:`detector_pairs`: several face detectors' results on the same images ->
  :class:`DetectorPairs` (rates per group, paired McNemar and Newcombe per pair).

The paired statistics (McNemar exact, Newcombe) and every metric compared come
from :mod:`fairaudit.functional`.
"""

from fairaudit.compare._changes import compare_audits
from fairaudit.compare._detector_pairs import DetectorPairs, detector_pairs
from fairaudit.compare._paired import PairedCounts
from fairaudit.compare._pairing import paired_counts
from fairaudit.compare._result import Comparison

__all__ = [
    "Comparison",
    "DetectorPairs",
    "PairedCounts",
    "compare_audits",
    "detector_pairs",
    "paired_counts",
]
