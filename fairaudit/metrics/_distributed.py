"""Audits of prediction logs too large for one machine, with Dask.

Counts add up, so a Dask DataFrame is audited partition by partition (each
partition joined to the labels and turned into an :class:`AuditResult` by the same
code as :func:`audit_table`), and the per-partition results are summed. Only the
small count tensors travel between workers.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from fairaudit.exceptions import DataValidationError
from fairaudit.metrics._accumulator import audit_predictions, resolve_tasks
from fairaudit.metrics._ingest import Mapping_, join_tables, prepare_table
from fairaudit.metrics._result import AuditResult
from fairaudit.vocab import Vocabulary

__all__ = ["audit_dask"]


def _audit_partition(
    frame: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    on: str,
    tasks: dict[str, Vocabulary],
    attributes: dict[str, Vocabulary],
    mappings: Mapping[str, Mapping_] | None,
    missing: str,
    n_bins: int,
    proba_atol: float,
    index: int,
) -> AuditResult:
    source = f"partition {index}"
    metadata: dict[str, Any] = {}
    if labels is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unmatched rows are summed and reported at the end
            frame, report = join_tables(
                frame, labels, on=on, unmatched="report", sources=(source, "labels")
            )
        metadata["join"] = report
    kwargs = prepare_table(
        frame,
        tasks=tasks,
        attributes=list(attributes),
        mappings=mappings,
        proba_atol=proba_atol,
        source=source,
    )
    kwargs.pop("attributes")
    if len(frame) == 0:
        # an empty partition contributes zero counts
        empty = audit_predictions(
            y_true={t: [] for t in tasks},
            y_pred={t: [] for t in tasks},
            sensitive_features={a: [] for a in attributes if a not in tasks} or None,
            tasks=tasks,
            attributes=attributes,
            missing="error",
            n_bins=n_bins,
        )
        return empty
    return audit_predictions(
        tasks=tasks,
        attributes=attributes,
        missing=missing,
        n_bins=n_bins,
        proba_atol=proba_atol,
        metadata=metadata,
        **kwargs,
    )


def audit_dask(
    predictions: Any,
    labels: pd.DataFrame | None = None,
    *,
    on: str = "file",
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    unmatched: str = "error",
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "",
) -> AuditResult:
    """Audit a Dask DataFrame of predictions, partition by partition.

    Parameters
    ----------
    predictions : dask.dataframe.DataFrame
        Predictions in the table convention of :func:`audit_table` (true labels
        included, or joined from ``labels``).
    labels : pandas.DataFrame, optional
        Labels joined to every partition on ``on`` (small enough for memory).
    tasks : mapping, sequence of str or {"fairface", "utkface"}, optional
        Audited tasks (default: gender, age, race with FairFace vocabularies).
    attributes : mapping of str to Vocabulary, optional
        Sensitive attributes with their classes, fixed up front so every
        partition's counts share one shape (default: the tasks' true labels).
        With ``missing="group"``, include the ``"missing"`` class yourself.
    unmatched : {"error", "report"}, default="error"
        Prediction rows without labels (counted over all partitions).
    scheduler : str, optional
        Dask scheduler (``"threads"``, ``"processes"``, ``"sync"``, or a
        distributed client's); default: Dask's default.
    progress : bool, default=True
        Show a tqdm progress bar over partitions.

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the whole table.
    """
    import dask
    import dask.callbacks

    if unmatched not in ("error", "report"):
        raise DataValidationError(f"unmatched must be 'error' or 'report', got {unmatched!r}")
    names = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    vocabularies = resolve_tasks(tasks, names or ["gender", "age", "race"])
    if attributes is None:
        attrs = dict(vocabularies)
    else:
        bad = [a for a, v in attributes.items() if not isinstance(v, Vocabulary)]
        if bad:
            raise DataValidationError(
                f"audit_dask needs a Vocabulary for every attribute, fixed up front; got {bad}"
            )
        attrs = dict(attributes)
    parts = predictions.to_delayed()
    tasks_delayed = [
        dask.delayed(_audit_partition)(
            part,
            labels,
            on=on,
            tasks=vocabularies,
            attributes=attrs,
            mappings=mappings,
            missing=missing,
            n_bins=n_bins,
            proba_atol=proba_atol,
            index=i,
        )
        for i, part in enumerate(parts)
    ]
    bar = tqdm(total=len(tasks_delayed), desc="audit partitions", disable=not progress, leave=False)

    class _Progress(dask.callbacks.Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if isinstance(result, AuditResult):
                bar.update(1)

    with _Progress():
        results = dask.compute(*tasks_delayed, scheduler=scheduler)
    bar.close()
    total = functools.reduce(operator.add, results)
    join = total.metadata.get("join")
    if join and labels is not None:
        # per-partition label counts do not add up: recount against the whole labels table
        join["label_rows"] = len(labels)
        join["labels_without_prediction"] = len(labels) - join.get("matched_rows", 0)
    if unmatched == "error" and join and join.get("unmatched_prediction_rows"):
        raise DataValidationError(
            f"{join['unmatched_prediction_rows']} prediction row(s) have no label row "
            f"(by {on!r}); pass unmatched='report' to audit the rest"
        )
    total.metadata["description"] = description
    total.metadata["data"] = {"predictions": "dask dataframe", "partitions": len(parts)}
    return total
