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

from __future__ import annotations

from fairaudit._lazy import lazy_attributes

#: Each public name and the module defining it, imported on first use: the builders
#: need pandas (and the inputs layer), while reading a saved audit (the gate) needs
#: only :class:`AuditResult` and its counts.
_MODULES = {
    "AuditAccumulator": "fairaudit.model_audit._accumulator",
    "AuditResult": "fairaudit.model_audit._result",
    "JoinWarning": "fairaudit.inputs._join",
    "SmallSliceWarning": "fairaudit.model_audit._support",
    "UnusedColumnWarning": "fairaudit.inputs._tasks",
    "audit_dask": "fairaudit.model_audit._distributed",
    "audit_dask_distributed": "fairaudit.model_audit._distributed",
    "audit_detection": "fairaudit.model_audit._detection",
    "audit_parquet": "fairaudit.model_audit._distributed",
    "audit_predictions": "fairaudit.model_audit._accumulator",
    "audit_table": "fairaudit.model_audit._ingest",
    "bootstrap_audit": "fairaudit.model_audit._uncertainty",
    "gap_significance": "fairaudit.model_audit._uncertainty",
    "read_fairface_predictions": "fairaudit.inputs._fairface_format",
}

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


__getattr__, __dir__ = lazy_attributes(__name__, _MODULES, globals())
