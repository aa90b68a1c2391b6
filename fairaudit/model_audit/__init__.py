"""fairaudit.model_audit: the audit engine.

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
- :func:`bootstrap_audit`, :func:`gap_significance`: intervals and tests over an audit.

The metrics themselves (accuracy, fairness gaps, intervals, tests) are pure
functions of counts in :mod:`fairaudit.functional`, the one registry every
consumer reads.
"""

from fairaudit.inputs._fairface_format import read_fairface_predictions
from fairaudit.inputs._join import JoinWarning
from fairaudit.inputs._tasks import UnusedColumnWarning
from fairaudit.model_audit._accumulator import AuditAccumulator, audit_predictions
from fairaudit.model_audit._detection import audit_detection
from fairaudit.model_audit._distributed import audit_dask, audit_dask_distributed, audit_parquet
from fairaudit.model_audit._ingest import audit_table
from fairaudit.model_audit._result import AuditResult, SmallSliceWarning
from fairaudit.model_audit._uncertainty import bootstrap_audit, gap_significance

__all__ = [
    "AuditAccumulator",
    "AuditResult",
    "JoinWarning",
    "SmallSliceWarning",
    "UnusedColumnWarning",
    "audit_dask",
    "audit_dask_distributed",
    "audit_detection",
    "audit_parquet",
    "audit_predictions",
    "audit_table",
    "bootstrap_audit",
    "gap_significance",
    "read_fairface_predictions",
]
