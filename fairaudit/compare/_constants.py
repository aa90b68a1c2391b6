"""Names and defaults of comparisons: metrics compared, the saved format, table columns."""

from __future__ import annotations

from fairaudit.functional._registry import GAP_METRICS

__all__ = [
    "CHANGE_COLUMNS",
    "COMPARISON_FORMAT",
    "COMPARISON_FORMAT_VERSION",
    "DEFAULT_METRICS",
    "PAIRED_METRICS",
]


#: Metrics compared by default.
DEFAULT_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "recall",
    "precision",
    "f1",
    *GAP_METRICS,
)
#: Metrics whose change uses the paired tables when pairs are given.
PAIRED_METRICS = frozenset({"accuracy", "error_rate", "recall"})

#: Name and version of the saved form of a comparison (``Comparison.save``).
COMPARISON_FORMAT = "fairaudit-comparison"
COMPARISON_FORMAT_VERSION = 1

CHANGE_COLUMNS = [
    "baseline",
    "candidate",
    "task",
    "metric",
    "kind",
    "by",
    "slice",
    "class",
    "where",
    "subject",
    "n",
    "status",
    "value_a",
    "value_b",
    "change",
    "ci_low",
    "ci_high",
    "level",
    "p_value",
    "p_adjusted",
    "test",
    "method",
    "paired",
    "significant",
    "higher_is_better",
    "direction",
]
