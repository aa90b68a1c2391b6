"""fairaudit.metrics: the audit engine.

Predictions go into one count tensor per task, ``counts[cell, true, pred]``, built
in a single vectorised pass; every metric, for every slice and every coarser
grouping, derives from these counts. Counts add up across batches, shards and
Dask partitions.

Main entry points
-----------------
- :func:`audit_predictions`: arrays / lists / pandas objects -> :class:`AuditResult`.
- :func:`audit_table`: a predictions table joined to a labels table by file name.
- :class:`AuditAccumulator`: streaming ``update(batch)`` / ``compute()``.
- :func:`audit_dask`: a Dask DataFrame, partition by partition.
- :class:`AuditResult`: metrics, tables, fairness, calibration, bootstrap,
  significance; ``save`` / ``load`` / ``merge``; the detector audit
  (``detection_rates``, ``detection_gaps``, ``with_detection``).
- :func:`audit_detection`: a face detector's per-image results joined to labels.
"""

from fairaudit.metrics._accumulator import (
    AuditAccumulator,
    audit_predictions,
    resolve_tasks,
    validate_proba,
)
from fairaudit.metrics._calibration import calibration_error
from fairaudit.metrics._classification import (
    accuracy,
    averaged_scores,
    balanced_accuracy,
    per_class_scores,
    support,
)
from fairaudit.metrics._counts import MISSING, confusion_counts, group_sum
from fairaudit.metrics._detection import (
    DETECTION_ATTRIBUTES,
    DetectionGap,
    audit_detection,
    detection_counts,
    detection_gap,
    wilson_interval,
)
from fairaudit.metrics._distributed import audit_dask
from fairaudit.metrics._fairness import FAIRNESS_METRICS, fairness_arrays, group_rates
from fairaudit.metrics._ingest import (
    JoinWarning,
    audit_table,
    parse_proba_column,
    prepare_table,
    read_table,
)
from fairaudit.metrics._result import (
    AUDIT_FORMAT,
    AUDIT_FORMAT_VERSION,
    DEFAULT_MIN_SUPPORT,
    AuditResult,
    SmallSliceWarning,
)
from fairaudit.metrics._uncertainty import (
    bootstrap_audit,
    gap_significance,
    holm,
    multinomial_replicates,
)

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "DEFAULT_MIN_SUPPORT",
    "DETECTION_ATTRIBUTES",
    "FAIRNESS_METRICS",
    "MISSING",
    "AuditAccumulator",
    "AuditResult",
    "DetectionGap",
    "JoinWarning",
    "SmallSliceWarning",
    "accuracy",
    "audit_dask",
    "audit_detection",
    "audit_predictions",
    "audit_table",
    "averaged_scores",
    "balanced_accuracy",
    "bootstrap_audit",
    "calibration_error",
    "confusion_counts",
    "detection_counts",
    "detection_gap",
    "fairness_arrays",
    "gap_significance",
    "group_rates",
    "holm",
    "multinomial_replicates",
    "group_sum",
    "parse_proba_column",
    "per_class_scores",
    "prepare_table",
    "read_table",
    "resolve_tasks",
    "support",
    "validate_proba",
    "wilson_interval",
]
