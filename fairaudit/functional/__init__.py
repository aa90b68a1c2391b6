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

from fairaudit.functional._calibration import calibration_counts, calibration_error
from fairaudit.functional._classification import (
    accuracy,
    averaged_scores,
    balanced_accuracy,
    per_class_scores,
    support,
)
from fairaudit.functional._counts import (
    cell_index,
    confusion_counts,
    group_sum,
    group_sums,
    normalize_by,
)
from fairaudit.functional._detection import DetectionGap, detection_counts, detection_gap
from fairaudit.functional._fairness import (
    FAIRNESS_METRICS,
    fairness_arrays,
    gap_intervals,
    gap_statistics,
    group_rates,
    rate_counts,
)
from fairaudit.functional._intervals import (
    difference_interval,
    exact_bounds,
    exact_difference_bounds,
    exact_interval,
    exact_lower,
    exact_upper,
    mcnemar_exact,
    newcombe_bounds,
    paired_difference_interval,
    paired_newcombe_bounds,
    wilson_bounds,
    wilson_interval,
)
from fairaudit.functional._normal import normal_cdf, normal_ppf, normal_sf
from fairaudit.functional._registry import (
    CLASS_METRICS,
    GAP_METRICS,
    METRICS,
    SLICE_METRICS,
    MetricSpec,
    class_metric_values,
    gap_values,
    slice_metric_values,
)
from fairaudit.functional._resampling import multinomial_replicates, percentile_interval
from fairaudit.functional._significance import (
    benjamini_hochberg,
    chi2_homogeneity,
    chi2_sf,
    holm,
    two_proportion_z_test,
    two_proportion_z_tests,
)

__all__ = [
    "CLASS_METRICS",
    "DetectionGap",
    "detection_counts",
    "difference_interval",
    "exact_bounds",
    "exact_difference_bounds",
    "exact_interval",
    "exact_lower",
    "exact_upper",
    "detection_gap",
    "FAIRNESS_METRICS",
    "GAP_METRICS",
    "METRICS",
    "SLICE_METRICS",
    "MetricSpec",
    "accuracy",
    "averaged_scores",
    "balanced_accuracy",
    "benjamini_hochberg",
    "calibration_counts",
    "calibration_error",
    "cell_index",
    "chi2_homogeneity",
    "chi2_sf",
    "class_metric_values",
    "confusion_counts",
    "fairness_arrays",
    "gap_intervals",
    "gap_statistics",
    "gap_values",
    "group_rates",
    "group_sum",
    "group_sums",
    "holm",
    "mcnemar_exact",
    "newcombe_bounds",
    "multinomial_replicates",
    "normal_cdf",
    "normal_ppf",
    "normal_sf",
    "normalize_by",
    "paired_difference_interval",
    "paired_newcombe_bounds",
    "per_class_scores",
    "percentile_interval",
    "rate_counts",
    "slice_metric_values",
    "support",
    "two_proportion_z_test",
    "two_proportion_z_tests",
    "wilson_bounds",
    "wilson_interval",
]
