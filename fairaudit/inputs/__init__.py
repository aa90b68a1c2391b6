"""fairaudit.inputs: the one input stage, where a table becomes audit-ready.

Reading files (CSV, Parquet, the FairFace authors' format), the ``status`` of each
prediction row, explicit label repairs, integer codings, probabilities, the
vocabularies, the join to the labels and the report of what was left out: one
module per concern, described by one :class:`~fairaudit.inputs._spec.InputSpec`
and run by :mod:`fairaudit.inputs._prepare`. The in-memory audit, the Dask
partitions, the pairing of two versions and the detector audit all call it.

No public name: the library imports its private modules directly (layering, not
privacy); users call the audits (:func:`fairaudit.model_audit.audit_table` ...).
"""

__all__: list[str] = []
