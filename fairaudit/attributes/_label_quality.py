"""Rows whose label is likely wrong (confident learning, cleanlab), and their rate per group.

From a model's **out-of-sample** probabilities (e.g. a model trained on FairFace's train
split, predicting its val split), cleanlab's confident learning (Northcutt et al. 2021)
flags the rows whose given label the model contradicts with more confidence than its
own errors explain. The flags are per-row columns joinable by ``file``, like the other
derived attributes: their rate per group tells whether some groups' labels are noisier,
and an audit re-run without the flagged rows tells whether a disparity survives them.
Needs the extra ``labels`` (``cleanlab``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.claims import rate_interval
from fairaudit.exceptions import DataValidationError, MissingDependencyError
from fairaudit.schema import FILE_COLUMN, STATUS_COLUMN, STATUS_OK, prob_column
from fairaudit.vocab import FAIRFACE_VOCABULARIES, Vocabulary

__all__ = [
    "ANY_LABEL_ISSUE",
    "SUSPECT_LABEL_STATUS",
    "exclude_suspect_rows",
    "find_label_issues",
    "label_issue_rates",
    "suspect_files",
]

#: The column flagging a row with a likely label error in any of its tasks.
ANY_LABEL_ISSUE = "label_issue"
#: The ``status`` :func:`exclude_suspect_rows` gives the rows it leaves out: an audit
#: counts them in ``metadata["left_out"]["status"]`` like unreadable images.
SUSPECT_LABEL_STATUS = "suspect_label"
_PROB_ATOL = 1e-3


def _read(table: pd.DataFrame | str, what: str) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    path = str(table)
    try:
        return pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataValidationError(f"cannot read the {what} table {path}: {exc}") from exc


def find_label_issues(
    predictions: pd.DataFrame | str,
    labels: pd.DataFrame | str | None = None,
    *,
    tasks: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    on: str = FILE_COLUMN,
    filter_by: str = "prune_by_noise_rate",
) -> pd.DataFrame:
    """Flag the rows whose given label is likely wrong, per task (cleanlab's confident learning).

    Parameters
    ----------
    predictions : pandas.DataFrame or path (.csv, .parquet)
        A predictions table with every class's probability (``{task}_prob_{class}``),
        as ``fairaudit predict`` writes it; rows whose ``status`` is not ``"ok"`` get
        no flag. The probabilities must be out-of-sample (the model never trained on
        these rows), or every training label looks right.
    labels : pandas.DataFrame or path, optional
        The given labels, joined by ``on``; default: the true-label columns of
        ``predictions``.
    tasks : mapping of str to Vocabulary or sequence of str, optional
        Default: every FairFace task (``gender``, ``age``, ``race``) with probabilities
        and labels.
    on : str, default="file"
    filter_by : str, default="prune_by_noise_rate"
        cleanlab's rule (``cleanlab.filter.find_label_issues``).

    Returns
    -------
    pandas.DataFrame
        One row per prediction row: ``on``; per task ``{task}_label_issue``
        (nullable boolean, missing where the row was not checked), ``{task}_given_prob``
        (the model's probability of the given label) and ``{task}_suggested`` (its
        most probable class); and :data:`ANY_LABEL_ISSUE` (any task flagged).

    Raises
    ------
    MissingDependencyError
        Without cleanlab (``pip install "fairaudit-faces[labels]"``).
    DataValidationError
        A task without probability or label columns, probabilities that are not a
        distribution, an unknown label (naming the rows), or a ``file`` listed twice.
    """
    try:
        from cleanlab.filter import find_label_issues as cleanlab_issues
    except ImportError:
        raise MissingDependencyError(
            'finding label issues needs cleanlab: pip install "fairaudit-faces[labels]"'
        ) from None
    table = _read(predictions, "predictions").reset_index(drop=True)
    if on not in table.columns:
        raise DataValidationError(f"the predictions have no {on!r} column to join on")
    twice = table.loc[table[on].duplicated(), on].tolist()
    if twice:
        raise DataValidationError(f"predictions list {on!r} values twice: {twice[:5]}")
    if labels is not None:
        given = _read(labels, "labels")
        names = tasks if tasks is not None else [t for t in FAIRFACE_VOCABULARIES if t in given]
        keep = [on, *(t for t in names if t in given.columns)]
        table = table.drop(columns=[c for c in keep[1:] if c in table.columns]).merge(
            given[keep], on=on, how="left", validate="one_to_one"
        )
    if isinstance(tasks, Mapping):
        vocabularies = dict(tasks)
    else:
        names = list(tasks) if tasks is not None else [
            t for t, v in FAIRFACE_VOCABULARIES.items()
            if t in table.columns and all(prob_column(t, c) in table.columns for c in v.classes)
        ]  # fmt: skip
        unknown = [t for t in names if t not in FAIRFACE_VOCABULARIES]
        if unknown:
            raise DataValidationError(
                f"tasks {unknown} need their classes: pass tasks={{name: Vocabulary}}"
            )
        vocabularies = {t: FAIRFACE_VOCABULARIES[t] for t in names}
    if not vocabularies:
        raise DataValidationError(
            "no task with both a label column and every class's probability column "
            "(e.g. 'gender' and 'gender_prob_Male', 'gender_prob_Female')"
        )
    ok = np.ones(len(table), dtype=bool)
    if STATUS_COLUMN in table.columns:
        ok = (table[STATUS_COLUMN].astype(str) == STATUS_OK).to_numpy()
    out = pd.DataFrame({on: table[on]})
    any_issue = np.zeros(len(table), dtype=bool)
    for task, vocab in vocabularies.items():
        columns = [prob_column(task, c) for c in vocab.classes]
        absent = [c for c in [task, *columns] if c not in table.columns]
        if absent:
            raise DataValidationError(f"task {task!r}: missing column(s) {absent}")
        rows = ok & table[task].notna().to_numpy()
        probs = table.loc[rows, columns].to_numpy(np.float64)
        sums = probs.sum(axis=1)
        bad = ~np.isfinite(probs).all(axis=1) | (np.abs(sums - 1) > _PROB_ATOL) | (probs < 0).any(1)
        if bad.any():
            where = table.loc[rows, on].to_numpy()[bad][:5].tolist()
            raise DataValidationError(
                f"task {task!r}: probabilities that are not a distribution at {on} {where}"
            )
        index = np.flatnonzero(rows)
        codes = vocab.encode(table.loc[rows, task], rows=index + 1, source="labels")
        flags = np.asarray(cleanlab_issues(codes, probs / sums[:, None], filter_by=filter_by))
        flag_column = pd.array([pd.NA] * len(table), dtype="boolean")
        flag_column[index] = flags
        given_prob = np.full(len(table), np.nan)
        given_prob[index] = probs[np.arange(len(index)), codes]
        suggested = np.full(len(table), None, dtype=object)
        suggested[index] = np.asarray(vocab.classes, dtype=object)[probs.argmax(axis=1)]
        out[f"{task}_label_issue"] = flag_column
        out[f"{task}_given_prob"] = given_prob
        out[f"{task}_suggested"] = pd.Categorical(suggested, dtype=vocab.dtype)
        any_issue[index[flags]] = True
    out[ANY_LABEL_ISSUE] = any_issue
    return out


def label_issue_rates(
    issues: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    by: str,
    on: str = FILE_COLUMN,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The rate of flagged rows in each group, per task, with its exact interval.

    Parameters
    ----------
    issues : pandas.DataFrame
        :func:`find_label_issues`' table.
    groups : pandas.DataFrame
        A table with ``on`` and the grouping column ``by`` (labels, derived attributes).
    by : str
    on : str, default="file"
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``task`` (each task, and ``"any"``), ``by``, ``n`` (rows checked),
        ``issues``, ``rate``, ``lower``, ``upper`` (the inference layer's interval of
        a rate, :func:`fairaudit.claims.rate_interval`: exact). Rows without a group
        are the group ``"missing"``.
    """
    if by not in groups.columns:
        raise DataValidationError(f"the groups table has no column {by!r}")
    joined = issues.merge(groups[[on, by]], on=on, how="left", validate="one_to_one")
    labels = joined[by]
    classes = (
        [str(c) for c in labels.cat.categories]
        if isinstance(labels.dtype, pd.CategoricalDtype)
        else sorted(str(v) for v in labels.dropna().unique())
    )
    labels = labels.astype(object).where(labels.notna(), "missing").astype(str)
    if (labels == "missing").any():
        classes.append("missing")
    flag_columns = {
        c[: -len("_label_issue")]: c for c in issues.columns if c.endswith("_label_issue")
    }
    flag_columns["any"] = ANY_LABEL_ISSUE
    rows = []
    for task, column in flag_columns.items():
        flags = joined[column]
        checked = flags.notna().to_numpy()
        flagged = flags.fillna(False).to_numpy(bool)
        n = np.array([int((checked & (labels == g).to_numpy()).sum()) for g in classes])
        k = np.array([int((flagged & (labels == g).to_numpy()).sum()) for g in classes])
        lower, upper = rate_interval(k, n, confidence=confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        for j, group in enumerate(classes):
            rows.append((task, group, int(n[j]), int(k[j]), rate[j], lower[j], upper[j]))
    return pd.DataFrame(rows, columns=["task", by, "n", "issues", "rate", "lower", "upper"])


def suspect_files(
    exclude: pd.DataFrame | Sequence[str] | str | os.PathLike[str], *, on: str = FILE_COLUMN
) -> list[str]:
    """The files to leave out, from a label-issues table, a files table or a list.

    Parameters
    ----------
    exclude : pandas.DataFrame, sequence of str or path
        :func:`find_label_issues`' table (its rows with :data:`ANY_LABEL_ISSUE` true),
        any table with an ``on`` column (every row listed), a list of files, or a
        path: ``.csv``/``.parquet`` (a table as above) or a text file, one file a line.
    on : str, default="file"

    Returns
    -------
    list of str
        The files, in the order given, each once.

    Raises
    ------
    DataValidationError
        A table without ``on``, an unreadable path, or a missing file name.
    """
    if isinstance(exclude, str | os.PathLike):
        path = str(exclude)
        if path.endswith((".csv", ".parquet", ".pq")):
            exclude = _read(path, "suspect rows")
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    exclude = [line.strip() for line in handle if line.strip()]
            except OSError as exc:
                raise DataValidationError(
                    f"cannot read the list of suspect rows {path}: {exc}"
                ) from exc
    if isinstance(exclude, pd.DataFrame):
        if on not in exclude.columns:
            raise DataValidationError(
                f"the suspect rows table has no {on!r} column; columns: {list(exclude.columns)}"
            )
        rows = exclude
        if ANY_LABEL_ISSUE in exclude.columns:
            rows = exclude[exclude[ANY_LABEL_ISSUE].fillna(False).astype(bool)]
        values = rows[on].tolist()
    else:
        values = list(exclude)
    missing = [k for k, v in enumerate(values) if v is None or v != v or str(v) == ""]
    if missing:
        raise DataValidationError(f"suspect rows {missing[:5]} have no {on!r} value")
    return list(dict.fromkeys(str(v) for v in values))


def exclude_suspect_rows(
    predictions: pd.DataFrame | str | os.PathLike[str],
    exclude: pd.DataFrame | Sequence[str] | str | os.PathLike[str],
    *,
    on: str = FILE_COLUMN,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The predictions table with the suspect rows marked left out, and what was left out.

    The rows are not deleted: their ``status`` becomes :data:`SUSPECT_LABEL_STATUS`,
    so :func:`~fairaudit.model_audit.audit_table` leaves them out and counts them in
    ``metadata["left_out"]["status"]`` (the report's header and ``fairaudit audit``
    say how many), beside the rows it leaves out for other reasons. Re-auditing the
    returned table shows whether a disparity survives without the suspect labels.

    Parameters
    ----------
    predictions : pandas.DataFrame or path (.csv, .parquet)
    exclude : pandas.DataFrame, sequence of str or path
        The suspect rows (see :func:`suspect_files`).
    on : str, default="file"
        The key of both.

    Returns
    -------
    table : pandas.DataFrame
        A copy of the predictions with a ``status`` column (added ``"ok"`` where there
        was none); the suspect rows that were ``"ok"`` now :data:`SUSPECT_LABEL_STATUS`.
    left_out : dict
        ``requested`` (files listed), ``left_out`` (rows marked), ``already_left_out``
        (suspect rows whose status was already not ok: left out anyway, counted
        under that status) and ``status`` (:data:`SUSPECT_LABEL_STATUS`).

    Raises
    ------
    DataValidationError
        Suspect files the predictions do not hold (the first few named): a list made
        for other data would leave out nothing, silently.
    """
    table = _read(predictions, "predictions").copy()
    if on not in table.columns:
        raise DataValidationError(f"the predictions have no {on!r} column to match suspect rows")
    files = suspect_files(exclude, on=on)
    keys = table[on].astype(str)
    unknown = sorted(set(files) - set(keys))
    if unknown:
        raise DataValidationError(
            f"{len(unknown)} suspect row(s) are not in the predictions (by {on!r}): "
            f"{unknown[:5]}{' ...' if len(unknown) > 5 else ''}"
        )
    if STATUS_COLUMN not in table.columns:
        table[STATUS_COLUMN] = STATUS_OK
    status = table[STATUS_COLUMN].astype(object)
    suspect = keys.isin(set(files)).to_numpy()
    ok = status.eq(STATUS_OK).to_numpy()
    table[STATUS_COLUMN] = status.where(~(suspect & ok), SUSPECT_LABEL_STATUS)
    report = {
        "requested": len(files),
        "left_out": int((suspect & ok).sum()),
        "already_left_out": int((suspect & ~ok).sum()),
        "status": SUSPECT_LABEL_STATUS,
    }
    return table, report
