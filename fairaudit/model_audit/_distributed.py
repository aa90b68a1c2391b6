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
import glob
import operator
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit._accumulator import (
    _as_str_labels,
    _infer_vocabulary,
    audit_predictions,
    resolve_tasks,
)
from fairaudit.model_audit._encoding import MISSING
from fairaudit.model_audit._ingest import (
    Mapping_,
    _detect_tasks,
    join_tables,
    prepare_table,
    read_table,
    readable_rows,
    vocabularies_from_labels,
)
from fairaudit.model_audit._result import AuditResult
from fairaudit.vocab import Vocabulary

__all__ = ["audit_dask", "audit_parquet", "audit_dask_distributed"]


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
    str_attributes: Sequence[str] = (),
) -> AuditResult:
    source = f"partition {index}"
    frame, status_counts, _ = readable_rows(frame)  # status rows are left out and counted
    metadata: dict[str, Any] = {"left_out": {"status": status_counts}}
    if labels is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unmatched rows are summed and reported at the end
            frame, report = join_tables(
                frame, labels, on=on, unmatched="report", sources=(source, "labels")
            )
        metadata["join"] = report
    if str_attributes:
        # inferred vocabularies hold strings, as in the in-memory audit
        frame = frame.assign(**{a: _as_str_labels(frame[a]) for a in str_attributes})
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
        # an empty partition contributes zero counts (and its join report, so sums stay whole)
        return audit_predictions(
            y_true={t: [] for t in tasks},
            y_pred={t: [] for t in tasks},
            y_proba={t: np.empty((0, len(v))) for t, v in tasks.items() if t in kwargs["y_proba"]}
            or None,
            sensitive_features={a: [] for a in attributes if a not in tasks} or None,
            y_true_regression={r: [] for r in kwargs["y_true_regression"]} or None,
            y_pred_regression={r: [] for r in kwargs["y_pred_regression"]} or None,
            tasks=tasks,
            attributes=attributes,
            missing="error",
            n_bins=n_bins,
            metadata=metadata,
        )
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
        message = (
            f"{join['unmatched_prediction_rows']} prediction row(s) have no label row (by {on!r})"
        )
        raise DataValidationError(
            f"{message}; pass unmatched='report' to audit the rest",
            cli=f"{message}; add --unmatched report to audit the rest",
        )
    total.metadata["description"] = description
    total.metadata["data"] = {"predictions": "dask dataframe", "partitions": len(parts)}
    return total


def _vocabularies_up_front(
    predictions: Any,
    labels: pd.DataFrame | None,
    *,
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None,
    missing: str,
) -> tuple[dict[str, Vocabulary], dict[str, Vocabulary], list[str]]:
    """Task and attribute vocabularies fixed before any partition is audited.

    They follow :func:`audit_table`'s defaults: tasks with prediction columns (from
    the Dask schema), classes from a labels column's categorical dtype else
    FairFace's; a sensitive attribute that is not a task takes its classes from a
    categorical dtype, else from the values of the labels column, else from the
    distinct values of the predictions column (one pass over that column only).
    Also returns the attributes whose classes were inferred from values (their
    values are compared as strings, as :class:`AuditAccumulator` does).
    """
    meta = predictions._meta
    names = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    if names is None:
        names = _detect_tasks(meta)
    wanted = set(names) | (set(attributes) if attributes is not None else set())
    # columns present in both tables come from the labels after the join
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
        if c in wanted
        and (labels is None or c not in labels.columns)
        and isinstance(meta[c].dtype, pd.CategoricalDtype)
        and "__UNKNOWN_CATEGORIES__" in meta[c].cat.categories
    ]
    if unknown:
        first = predictions[unknown].get_partition(0).compute()
        for column in unknown:
            schema[column] = first[column].iloc[:0]
    vocabularies = vocabularies_from_labels(schema, names, tasks)
    if isinstance(attributes, Mapping):
        bad = [a for a, v in attributes.items() if not isinstance(v, Vocabulary)]
        if bad:
            raise DataValidationError(f"attributes {bad} must map to fairaudit.vocab.Vocabulary")
        attrs = dict(attributes)
        inferred: list[str] = []
    else:
        attrs = {}
        inferred = []
        for name in list(attributes) if attributes is not None else list(vocabularies):
            if name in vocabularies:
                attrs[name] = vocabularies[name]
                continue
            if name not in schema.columns:
                raise DataValidationError(
                    f"sensitive attribute column {name!r} is in neither the predictions "
                    f"({list(meta.columns)}) nor the labels"
                )
            if labels is not None and name in labels.columns:
                attrs[name] = _infer_vocabulary(name, labels[name])
            elif isinstance(schema[name].dtype, pd.CategoricalDtype):
                attrs[name] = _infer_vocabulary(name, schema[name])
            else:  # one pass over this column only
                attrs[name] = _infer_vocabulary(name, predictions[name].dropna().unique().compute())
            inferred.append(name)
    if missing == "group":
        attrs = {
            a: v if a in vocabularies or MISSING in v else Vocabulary(v.name, (*v.classes, MISSING))
            for a, v in attrs.items()
        }
    return vocabularies, attrs, inferred


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
) -> AuditResult:
    """Audit a Dask DataFrame on a ``dask.distributed`` cluster, partition by partition.

    Every partition is read, joined to ``labels`` and audited on a worker; the
    workers send back only the count tensors of an :class:`AuditResult`, which the
    client adds up as they arrive (so its memory does not grow with the number of
    partitions). The labels table is scattered to every worker once.

    Parameters
    ----------
    predictions : dask.dataframe.DataFrame
        Predictions in the table convention of :func:`audit_table`.
    labels : pandas.DataFrame, optional
        Labels joined to every partition on ``on`` (small enough for memory).
    client : distributed.Client
        Client of the cluster that runs the partitions.
    on, mappings, unmatched, missing, n_bins, proba_atol, description
        As for :func:`audit_table`.
    tasks : mapping, sequence of str or {"fairface", "utkface"}, optional
        Audited tasks; default, as for :func:`audit_table`: every task with
        prediction columns, with the labels column's categorical classes if it has
        them, else FairFace's.
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attributes (default: the tasks' true labels). Their classes are
        fixed before the first partition so that every partition's counts share one
        shape: see :func:`_vocabularies_up_front`.
    progress : bool, default=True
        Show a tqdm progress bar over partitions.

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the concatenated table (counts exactly;
        calibration sums up to float rounding, as they are added in another order).

    Raises
    ------
    DataValidationError
        Bad columns or values in a partition (raised on the client), or unmatched
        prediction rows with ``unmatched="error"``.
    """
    import dask
    from distributed import as_completed

    if unmatched not in ("error", "report"):
        raise DataValidationError(f"unmatched must be 'error' or 'report', got {unmatched!r}")
    if missing not in ("error", "group"):
        raise DataValidationError(f"missing must be 'error' or 'group', got {missing!r}")
    vocabularies, attrs, inferred = _vocabularies_up_front(
        predictions, labels, tasks=tasks, attributes=attributes, missing=missing
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
                on=on,
                tasks=vocabularies,
                attributes=attrs,
                mappings=mappings,
                missing=missing,
                n_bins=n_bins,
                proba_atol=proba_atol,
                index=i,
                str_attributes=inferred,
            )
            for i, part in enumerate(parts)
        ]
    )
    total: AuditResult | None = None
    with tqdm(
        total=len(futures), desc="audit partitions", unit="part", disable=not progress
    ) as bar:
        try:
            for future in as_completed(futures):
                part_result = future.result()
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
    join = total.metadata.get("join")
    if join and labels is not None:
        # per-partition label counts do not add up: recount against the whole labels table
        join["key"] = on
        join["label_rows"] = len(labels)
        join["labels_without_prediction"] = len(labels) - join.get("matched_rows", 0)
    if unmatched == "error" and join and join.get("unmatched_prediction_rows"):
        message = (
            f"{join['unmatched_prediction_rows']} prediction row(s) have no label row (by {on!r})"
        )
        raise DataValidationError(
            f"{message}; pass unmatched='report' to audit the rest",
            cli=f"{message}; add --unmatched report to audit the rest",
        )
    total.metadata["description"] = description
    total.metadata["data"] = {"predictions": "dask dataframe", "partitions": len(parts)}
    if mappings:
        total.metadata["mappings"] = {
            t: getattr(m, "name", None) or repr(m) for t, m in mappings.items()
        }
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

    Returns
    -------
    AuditResult
        Equal to :func:`audit_table` on the concatenated files.

    Raises
    ------
    DataValidationError
        No file matches, a file cannot be read, or the data are invalid.
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
    if isinstance(source, str) and "://" not in source and any(c in source for c in "*?["):
        if not glob.glob(source, recursive=True):
            raise DataValidationError(f"cannot read Parquet predictions: no file matches {shown}")
    try:
        frame = dd.read_parquet(source)
    except (OSError, ValueError, IndexError) as exc:
        raise DataValidationError(f"cannot read Parquet predictions {shown}: {exc}") from exc
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
