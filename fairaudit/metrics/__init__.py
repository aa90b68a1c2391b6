"""fairaudit.metrics: the audit engine.

Predictions go into one count tensor per task, ``counts[cell, true, pred]``, built
in a single vectorised pass; every metric, for every slice and every coarser
grouping, derives from these counts. Counts add up across batches, shards and
Dask partitions.

Main entry points
-----------------
- :func:`audit_predictions`: arrays / lists / pandas objects -> :class:`AuditResult`.
- :func:`audit_table`: a predictions table joined to a labels table by file name.
- :func:`read_fairface_predictions`: the FairFace authors' ``predict.py`` output as
  a predictions table.
- :class:`AuditAccumulator`: streaming ``update(batch)`` / ``compute()``.
- :func:`audit_dask`: a Dask DataFrame, partition by partition.
- :class:`AuditResult`: metrics, tables, fairness, calibration, bootstrap,
  significance; ``save`` / ``load`` / ``merge``; the detector audit
  (``detection_rates``, ``detection_gaps``, ``with_detection``).
- :func:`audit_detection`: a face detector's per-image results joined to labels.
- :func:`detector_pairs`: several detectors' results on the same images ->
  :class:`DetectorPairs` (rates per group, paired McNemar and Newcombe per pair).
- :func:`paired_counts`: two models' predictions on the same rows ->
  :class:`PairedCounts` (2x2 agreement tables per cell and true class).
- :func:`bootstrap_audit`, :func:`gap_significance`: intervals and tests over an audit.

The metrics themselves (accuracy, fairness gaps, intervals, tests) are pure
functions of counts in :mod:`fairaudit.functional`, the one registry every
consumer reads.
"""

from fairaudit.metrics._accumulator import AuditAccumulator, audit_predictions
from fairaudit.metrics._detection import audit_detection
from fairaudit.metrics._detector_pairs import (
    DETECTOR_PAIRS_FORMAT,
    DETECTOR_PAIRS_FORMAT_VERSION,
    DetectorPairs,
    detector_pairs,
)
from fairaudit.metrics._distributed import audit_dask, audit_dask_distributed, audit_parquet
from fairaudit.metrics._encoding import MISSING
from fairaudit.metrics._fairface_format import read_fairface_predictions
from fairaudit.metrics._ingest import JoinWarning, UnusedColumnWarning, audit_table
from fairaudit.metrics._paired import PAIRED_FORMAT, PAIRED_FORMAT_VERSION, PairedCounts
from fairaudit.metrics._pairing import paired_counts
from fairaudit.metrics._result import (
    AUDIT_FORMAT,
    AUDIT_FORMAT_VERSION,
    DEFAULT_MIN_SUPPORT,
    AuditResult,
    SmallSliceWarning,
)
from fairaudit.metrics._uncertainty import bootstrap_audit, gap_significance

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "DEFAULT_MIN_SUPPORT",
    "DETECTOR_PAIRS_FORMAT",
    "DETECTOR_PAIRS_FORMAT_VERSION",
    "MISSING",
    "PAIRED_FORMAT",
    "PAIRED_FORMAT_VERSION",
    "AuditAccumulator",
    "AuditResult",
    "DetectorPairs",
    "JoinWarning",
    "PairedCounts",
    "SmallSliceWarning",
    "UnusedColumnWarning",
    "audit_dask",
    "audit_dask_distributed",
    "audit_detection",
    "audit_parquet",
    "audit_predictions",
    "audit_table",
    "bootstrap_audit",
    "detector_pairs",
    "gap_significance",
    "paired_counts",
    "read_fairface_predictions",
]
