"""fairaudit.functional: the metric core, pure functions of count arrays.

Every metric, gap, interval and test of fairaudit is defined here once, as a
function of numpy count arrays that keeps leading axes (slices, bootstrap
replicates); no result objects, no I/O. Every consumer (``AuditResult``, the
bootstrap, reports, comparisons, the gate) reads the one registry and calls these
functions.

- Counts: :func:`confusion_counts`, :func:`cell_index`, :func:`group_sum`, :func:`group_sums`,
  :func:`normalize_by`.
- Registry: :data:`METRICS` (= :data:`SLICE_METRICS` + :data:`CLASS_METRICS` +
  :data:`GAP_METRICS`), :class:`MetricSpec`, :func:`slice_metric_values`,
  :func:`class_metric_values`, :func:`gap_values`.
- Classification: :func:`support`, :func:`accuracy`, :func:`balanced_accuracy`,
  :func:`per_class_scores`, :func:`averaged_scores`.
- Fairness: :func:`group_rates`, :func:`gap_statistics`, :func:`fairness_arrays`,
  :func:`gap_intervals` (simultaneous intervals), :data:`FAIRNESS_METRICS`.
- Detection: :func:`detection_counts`, :func:`detection_gap` (:class:`DetectionGap`).
- Calibration: :func:`calibration_counts`, :func:`calibration_error`.
- Intervals: :func:`wilson_interval`, :func:`difference_interval` (Newcombe,
  independent), :func:`mcnemar_exact`, :func:`paired_difference_interval` (Newcombe);
  their forms for a critical value ``z`` (:func:`wilson_bounds`, :func:`newcombe_bounds`,
  :func:`paired_newcombe_bounds`), which :mod:`fairaudit.claims` inverts into p-values.
- Distributions (without scipy): :func:`normal_cdf`, :func:`normal_sf`,
  :func:`normal_ppf`, :func:`chi2_sf`.
- Tests: :func:`chi2_homogeneity`, :func:`two_proportion_z_test(s)`, :func:`holm`,
  :func:`benjamini_hochberg`.
- Resampling: :func:`multinomial_replicates`, :func:`percentile_interval`.
"""

from fairaudit.functional._counts import confusion_counts
from fairaudit.functional._fairness import fairness_arrays
from fairaudit.functional._intervals import newcombe_bounds, wilson_interval
from fairaudit.functional._registry import (
    METRICS,
    MetricSpec,
    class_metric_values,
    gap_values,
    slice_metric_values,
)
from fairaudit.functional._significance import benjamini_hochberg

__all__ = [
    "METRICS",
    "MetricSpec",
    "benjamini_hochberg",
    "class_metric_values",
    "confusion_counts",
    "fairness_arrays",
    "gap_values",
    "newcombe_bounds",
    "slice_metric_values",
    "wilson_interval",
]
