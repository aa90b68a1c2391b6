"""Audits of prediction logs too large for one machine, with Dask.

Counts add up, so a Dask DataFrame is audited partition by partition (each
partition joined to the labels and turned into an :class:`AuditResult` by the same
code as :func:`audit_table`), and the per-partition results are summed. Only the
small count tensors travel between workers.

On a ``dask.distributed`` cluster (:func:`audit_dask_distributed`, and
:func:`audit_parquet` for a glob of Parquet files, behind ``fairaudit audit
--predictions 'logs/*.parquet'``) each worker reads its own partitions from the
files, joins them to the labels table (scattered once to every worker) and sends
back one :class:`AuditResult`; the client adds them up as they arrive.
"""

from __future__ import annotations

import functools
import operator
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._join import JoinWarning, warn_left_out
from fairaudit.inputs._prepare import (
    Decisions,
    coding_record,
    decide,
    finish,
    inferred_classes,
    input_metadata,
    read_and_join,
    warn_unused_columns,
)
from fairaudit.inputs._read import check_parquet_files, first_line, parquet_files, read_table
from fairaudit.inputs._repairs import summed_repairs
from fairaudit.inputs._spec import InputSpec, Mapping_
from fairaudit.inputs._status import readable_rows
from fairaudit.model_audit._accumulator import audit_predictions
from fairaudit.model_audit._result import AuditResult
from fairaudit.vocab import Vocabulary

__all__ = ["audit_dask", "audit_parquet", "audit_dask_distributed"]

#: How the predictions of a Dask audit are named in its messages and metadata.
_DASK_SOURCE = "dask dataframe"


def _audit_partition(
    frame: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    spec: InputSpec,
    decisions: Decisions,
    inferred: Mapping[str, Vocabulary],
    n_bins: int,
    index: int,
    label_source: str | None = None,
) -> AuditResult:
    """One partition through the input stage (with the decisions made up front), counted."""
    with warnings.catch_warnings():
        # rows left out are summed over the partitions and reported once, at the end
        warnings.simplefilter("ignore", JoinWarning)
        joined = read_and_join(
            frame,
            labels,
            spec,
            pred_source=f"partition {index}",
            label_source=label_source,
            unmatched="report",
        )
    prepared = finish(joined, decisions, spec, inferred=inferred, warn_unused=False)
    metadata = input_metadata(joined, spec)
    del metadata["data"]
    if joined.join is not None:
        # summed over the partitions, then turned into labels_without_prediction
        metadata["join"]["status_rows_with_label"] = joined.status_rows_with_label
    kwargs = prepared.arrays
    tasks = prepared.tasks
    if len(prepared.table) == 0:
        # an empty partition contributes zero counts (and its reports, so sums stay whole)
        return audit_predictions(
            y_true={t: [] for t in tasks},
            y_pred={t: [] for t in tasks},
            y_proba={t: np.empty((0, len(v))) for t, v in tasks.items() if t in kwargs["y_proba"]}
            or None,
            sensitive_features={a: [] for a in prepared.attributes if a not in tasks} or None,
            y_true_regression={r: [] for r in kwargs["y_true_regression"]} or None,
            y_pred_regression={r: [] for r in kwargs["y_pred_regression"]} or None,
            tasks=tasks,
            attributes=prepared.attributes,
            missing="error",
            n_bins=n_bins,
            metadata=metadata,
        )
    return audit_predictions(
        tasks=tasks,
        attributes=prepared.attributes,
        missing=spec.missing,
        n_bins=n_bins,
        proba_atol=spec.proba_atol,
        metadata=metadata,
        **kwargs,
    )


def _readable_keys(frame: pd.DataFrame, on: str) -> pd.Series:
    """The keys of a partition's readable rows (those the join sees)."""
    return readable_rows(frame)[0][on]


def _schema(predictions: Any, labels: pd.DataFrame | None) -> pd.DataFrame:
    """An empty frame with the joined table's columns and dtypes (the labels' win)."""
    meta = predictions._meta
    schema = meta.copy()
    if labels is not None:
        for column in labels.columns:
            schema[column] = labels[column].iloc[:0].to_numpy()
            schema[column] = schema[column].astype(labels[column].dtype)
    # Dask does not know the categories of categorical Parquet columns up front; take
    # them from the first partition (Parquet stores a categorical column's whole
    # dictionary, so files written from one pandas dtype all agree)
    unknown = [
        c
        for c in meta.columns
        if (labels is None or c not in labels.columns)
        and isinstance(meta[c].dtype, pd.CategoricalDtype)
        and "__UNKNOWN_CATEGORIES__" in meta[c].cat.categories
    ]
    if unknown:
        first = predictions[unknown].get_partition(0).compute()
        for column in unknown:
            schema[column] = first[column].iloc[:0]
    return schema


def _decided_up_front(
    predictions: Any,
    labels: pd.DataFrame | None,
    spec: InputSpec,
    *,
    compute: Callable[[Any], Any],
) -> tuple[Decisions, dict[str, Vocabulary]]:
    """The input stage's decisions, made once before any partition is audited.

    The same :func:`~fairaudit.inputs._prepare.decide` as the in-memory audit, on the
    joined table's columns and dtypes (the Dask schema with the labels' columns), so
    the partitions share the in-memory audit's tasks, attributes and class orders. A
    key that two readable rows share, in one partition or in two, is refused as in
    memory (a distributed count of the keys). Attributes whose classes come from
    their values are inferred over the whole table: from the label rows the
    predictions name, else from one pass over that prediction column.
    """
    meta = predictions._meta
    on = spec.on
    schema = _schema(predictions, labels)
    decisions = decide(schema, meta, spec)
    keys: set[Any] | None = None
    if labels is not None:
        if on not in meta.columns:
            raise DataValidationError(
                f"{_DASK_SOURCE}: no key column {on!r}; columns {list(meta.columns)}"
            )
        counts = compute(
            predictions.map_partitions(_readable_keys, on, meta=(on, meta[on].dtype)).value_counts()
        )
        repeated = counts[counts > 1]
        if len(repeated):
            raise DataValidationError(
                f"{_DASK_SOURCE}: key {on!r} is not unique; {len(repeated)} value(s) repeat, "
                f"e.g. {[str(k) for k in repeated.index[:5]]} (across the partitions)"
            )
        keys = set(counts.index)
    inferred: dict[str, Vocabulary] = {}
    for name in decisions.inferred:
        if labels is not None and name in labels.columns:
            values = labels.loc[labels[on].isin(keys or set()), name]
        elif name in meta.columns:
            values = pd.Series(compute(predictions[name].dropna().unique()))
        else:
            continue  # the partitions name the missing column
        inferred[name] = inferred_classes(values, name, missing=spec.missing)
    warn_unused_columns(meta, schema.columns, list(decisions.tasks), _DASK_SOURCE)
    return decisions, inferred


def _whole_report(
    total: AuditResult,
    labels: pd.DataFrame | None,
    spec: InputSpec,
    repairs: list[dict[str, Any]],
    *,
    n_parts: int,
) -> AuditResult:
    """The summed partitions' report made whole: the join and the rows left out as in memory.

    Per-partition label counts do not add up: they are recounted against the whole
    labels table. Raises for unmatched prediction rows with ``unmatched="error"``.
    """
    on = spec.on
    join = total.metadata.get("join")
    left_out = total.metadata.setdefault("left_out", {"status": {}})
    if join is not None and labels is not None:
        n_status = join.pop("status_rows_with_label", 0)
        join["key"] = on
        join["label_rows"] = len(labels)
        join["labels_without_prediction"] = int(labels[on].dropna().nunique()) - join.get(
            "matched_rows", 0
        )
        left_out["labels_without_prediction"] = max(0, join["labels_without_prediction"] - n_status)
        left_out["predictions_without_label"] = join.get("unmatched_prediction_rows", 0)
    if spec.unmatched == "error" and join and join.get("unmatched_prediction_rows"):
        message = (
            f"{join['unmatched_prediction_rows']} prediction row(s) have no label row (by {on!r})"
        )
        raise DataValidationError(
            f"{message}; pass unmatched='report' to audit the rest",
            cli=f"{message}; add --unmatched report to audit the rest",
        )
    if join and join.get("unmatched_prediction_rows"):
        warnings.warn(
            f"{join['unmatched_prediction_rows']} prediction row(s) have no label row (by "
            f"{on!r}); they are left out of the audit",
            JoinWarning,
            stacklevel=3,
        )
    total.metadata["data"] = {"predictions": _DASK_SOURCE, "partitions": n_parts}
    total.metadata["mappings"] = {
        t: getattr(m, "name", None) or repr(m) for t, m in (spec.mappings or {}).items()
    }
    if spec.coding is not None:
        total.metadata["coding"] = coding_record(spec)
    if repairs:
        total.metadata["repairs"] = repairs
    warn_left_out(left_out, _DASK_SOURCE, stacklevel=3)
    return total


def _spec(
    *,
    on: str,
    tasks: Any,
    attributes: Any,
    mappings: Any,
    unmatched: str,
    missing: str,
    proba_atol: float,
    coding: Any,
    label_repairs: Any,
) -> InputSpec:
    return InputSpec(
        on=on,
        tasks=tasks,
        attributes=attributes,
        mappings=mappings,
        unmatched=unmatched,
        missing=missing,
        proba_atol=proba_atol,
        coding=coding,
        label_repairs=label_repairs,
    )


def audit_dask(
    predictions: Any,
    labels: pd.DataFrame | None = None,
    *,
    on: str = "file",
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    unmatched: str = "error",
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "",
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
    label_source: str | None = None,
) -> AuditResult:
    """Audit a Dask DataFrame of predictions, partition by partition.

    Every partition goes through the input stage of :func:`audit_table`
    (:mod:`fairaudit.inputs`) with the tasks, attributes and class orders decided
    once, up front, from the same options, so the partitions add up to the
    in-memory audit of the whole table: the same counts, attributes, class orders
    and rows left out.

    Parameters
    ----------
    predictions : dask.dataframe.DataFrame
        Predictions in the table convention of :func:`audit_table` (true labels
        included, or joined from ``labels``).
    labels : pandas.DataFrame, optional
        Labels joined to every partition on ``on`` (small enough for memory).
    on, tasks, attributes, mappings, unmatched, missing, n_bins, proba_atol, description
        As for :func:`audit_table` (and with the same defaults).
    scheduler : str, optional
        Dask scheduler (``"threads"``, ``"processes"``, ``"sync"``, or a
        distributed client's); default: Dask's default.
    progress : bool, default=True
        Show a tqdm progress bar over partitions.
    coding, label_repairs
        As for :func:`audit_table`.
    label_source : str, optional
        How messages name the labels table (default: "labels").

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the whole table.

    Raises
    ------
    DataValidationError
        What :func:`audit_table` refuses; also a key that readable rows of two
        partitions share.
    """
    import dask
    import dask.callbacks

    spec = _spec(
        on=on,
        tasks=tasks,
        attributes=attributes,
        mappings=mappings,
        unmatched=unmatched,
        missing=missing,
        proba_atol=proba_atol,
        coding=coding,
        label_repairs=label_repairs,
    )
    decisions, inferred = _decided_up_front(
        predictions,
        labels,
        spec,
        compute=lambda x: dask.compute(x, scheduler=scheduler)[0],
    )
    parts = predictions.to_delayed()
    tasks_delayed = [
        dask.delayed(_audit_partition)(
            part,
            labels,
            spec=spec,
            decisions=decisions,
            inferred=inferred,
            n_bins=n_bins,
            index=i,
            label_source=label_source,
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
    repairs = summed_repairs(
        [r.metadata for r in results], label_source=label_source or "labels", source=_DASK_SOURCE
    )
    total = functools.reduce(operator.add, results)
    total = _whole_report(total, labels, spec, repairs, n_parts=len(parts))
    total.metadata["description"] = description
    return total


def audit_dask_distributed(
    predictions: Any,
    labels: pd.DataFrame | None = None,
    *,
    client: Any,
    on: str = "file",
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    unmatched: str = "error",
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    progress: bool = True,
    description: str = "",
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
    label_source: str | None = None,
) -> AuditResult:
    """Audit a Dask DataFrame on a ``dask.distributed`` cluster, partition by partition.

    Every partition is read, joined to ``labels`` and audited on a worker, through
    the input stage of :func:`audit_table` with the decisions made once on the
    client (see :func:`audit_dask`); the workers send back only the count tensors
    of an :class:`AuditResult`, which the client adds up as they arrive (so its
    memory does not grow with the number of partitions). The labels table is
    scattered to every worker once.

    Parameters
    ----------
    predictions : dask.dataframe.DataFrame
        Predictions in the table convention of :func:`audit_table`.
    labels : pandas.DataFrame, optional
        Labels joined to every partition on ``on`` (small enough for memory).
    client : distributed.Client
        Client of the cluster that runs the partitions.
    on, tasks, attributes, mappings, unmatched, missing, n_bins, proba_atol, description
        As for :func:`audit_table`.
    coding, label_repairs
        As for :func:`audit_table`.
    progress : bool, default=True
        Show a tqdm progress bar over partitions.
    label_source : str, optional
        How messages name the labels table (default: "labels").

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the concatenated table (counts exactly;
        calibration sums up to float rounding, as they are added in another order).

    Raises
    ------
    DataValidationError
        Bad columns or values in a partition (raised on the client), a key shared
        by two partitions, or unmatched prediction rows with ``unmatched="error"``.
    """
    import dask
    from distributed import as_completed

    spec = _spec(
        on=on,
        tasks=tasks,
        attributes=attributes,
        mappings=mappings,
        unmatched=unmatched,
        missing=missing,
        proba_atol=proba_atol,
        coding=coding,
        label_repairs=label_repairs,
    )
    decisions, inferred = _decided_up_front(
        predictions, labels, spec, compute=lambda x: client.compute(x).result()
    )
    parts = predictions.to_delayed()
    # a fresh key per call (hash=False): a second audit of the same labels must not
    # share, and then lose, the first one's copy
    shared_labels = (
        client.scatter(labels, broadcast=True, hash=False) if labels is not None else None
    )
    audit = dask.delayed(_audit_partition, pure=True)
    futures = client.compute(
        [
            audit(
                part,
                shared_labels,
                spec=spec,
                decisions=decisions,
                inferred=inferred,
                n_bins=n_bins,
                index=i,
                label_source=label_source,
            )
            for i, part in enumerate(parts)
        ]
    )
    total: AuditResult | None = None
    part_metadata = []
    with tqdm(
        total=len(futures), desc="audit partitions", unit="part", disable=not progress
    ) as bar:
        try:
            for future in as_completed(futures):
                part_result = future.result()
                part_metadata.append({"repairs": part_result.metadata.get("repairs")})
                total = part_result if total is None else total + part_result
                future.release()
                bar.update(1)
        finally:
            for future in futures:
                future.cancel()
            if shared_labels is not None:
                shared_labels.release()
    if total is None:
        raise DataValidationError("the predictions have no partitions (no files matched?)")
    repairs = summed_repairs(
        part_metadata, label_source=label_source or "labels", source=_DASK_SOURCE
    )
    total = _whole_report(total, labels, spec, repairs, n_parts=len(parts))
    total.metadata["description"] = description
    return total


def audit_parquet(
    predictions: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    labels: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    on: str = "file",
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    unmatched: str = "error",
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    progress: bool = True,
    description: str = "",
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
) -> AuditResult:
    """Audit Parquet prediction logs (a glob, a folder or a list of files) with Dask.

    The files are read with :func:`dask.dataframe.read_parquet` and audited on a
    ``dask.distributed`` cluster by :func:`audit_dask_distributed`: the one at
    ``scheduler``, or a local cluster of ``n_workers`` processes started for the
    call and closed after it.

    Parameters
    ----------
    predictions : str, path or sequence of them
        Parquet files: a glob such as ``"logs/*.parquet"``, a folder, or a list.
        The paths are read by the workers, so on a remote cluster they must be
        reachable from every worker (shared file system or object store URL).
    labels : pandas.DataFrame or path (.csv, .parquet), optional
        Labels table, read on the client and sent once to every worker.
    scheduler : str, optional
        Address of a running scheduler (``"tcp://host:8786"``); default: a local
        cluster.
    n_workers : int, default=2
        Worker processes of the local cluster (ignored with ``scheduler``).
    threads_per_worker : int, default=1
        Threads of each local worker.
    on, tasks, attributes, mappings, unmatched, missing, n_bins, proba_atol, progress, description
        See :func:`audit_dask_distributed`.
    coding, label_repairs
        As for :func:`audit_table`.

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the concatenated files.

    Raises
    ------
    DataValidationError
        No file matches, a file cannot be read (one line naming it: a corrupt,
        truncated or empty file, or one with other columns than the first), or the
        data are invalid.
    """
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DataValidationError(
            f"Parquet audits on a cluster need dask and distributed ({exc}); "
            "pip install 'fairaudit-faces[distributed]'"
        ) from exc
    if isinstance(predictions, str | os.PathLike):
        source: Any = os.fspath(predictions)
        shown = source
    else:
        source = [os.fspath(p) for p in predictions]
        shown = f"{len(source)} files"
    files = parquet_files(source)
    check_parquet_files(files)
    try:
        frame = dd.read_parquet(files if len(files) > 1 else files[0])
    except (OSError, ValueError, IndexError) as exc:
        raise DataValidationError(
            f"cannot read Parquet predictions {shown}: {first_line(exc)}"
        ) from None
    if len(frame.columns) == 0:
        raise DataValidationError(f"cannot read Parquet predictions {shown}: no columns found")
    label_frame = read_table(labels, what="labels") if labels is not None else None
    label_source = None if labels is None or isinstance(labels, pd.DataFrame) else str(labels)
    if scheduler:
        cluster = None
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=int(n_workers),
            threads_per_worker=int(threads_per_worker),
            processes=True,
            dashboard_address=":0",  # any free port: never clash with another cluster
        )
        client = Client(cluster)
    try:
        result = audit_dask_distributed(
            frame,
            label_frame,
            client=client,
            on=on,
            tasks=tasks,
            attributes=attributes,
            mappings=mappings,
            unmatched=unmatched,
            missing=missing,
            n_bins=n_bins,
            proba_atol=proba_atol,
            progress=progress,
            description=description,
            coding=coding,
            label_repairs=label_repairs,
            label_source=label_source,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    result.metadata["data"] = {
        "predictions": shown if isinstance(source, str) else source,
        "labels": label_source,
        "partitions": result.metadata["data"]["partitions"],
        "scheduler": scheduler or f"local cluster, {n_workers} worker processes",
    }
    return result
