"""fairaudit.findings: what the counts support, ranked for a reviewer.

- :func:`rank_disparities`: every gap between the groups of each attribute, over the
  groups with enough rows, ranked by the lower bound of its simultaneous interval
  (the smallest gap the data support), one finding per task, attribute, class and
  pair of groups.
- :func:`class_recall`: per-class recall of a task with exact intervals, "how hard
  each class is", which is what a task grouped by its own true label shows (not a
  disparity between people).

- :func:`worst_slices`: every combination of up to ``max_order`` attribute values
  against the rest of the rows, discoveries controlled by Benjamini-Hochberg, ranked
  by the smallest shortfall the data support, children that add nothing pruned.

- :func:`verdict_sentences`: three to five sentences, the best-supported findings first
  (and, where nothing is supported, what the data could have shown).

Every value comes from :mod:`fairaudit.functional` through an
:class:`~fairaudit.model_audit.AuditResult`; nothing here recomputes a metric.
"""

from fairaudit.findings._disparities import rank_disparities
from fairaudit.findings._slices import worst_slices
from fairaudit.findings._verdict import verdict_sentences

__all__ = [
    "rank_disparities",
    "verdict_sentences",
    "worst_slices",
]
