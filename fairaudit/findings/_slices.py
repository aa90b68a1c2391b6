"""Worst-slice discovery: every combination of attribute values, each against its complement.

For a task and a rate (accuracy, a class's recall or selection rate), every slice
defined by one value of each of up to ``max_order`` attributes (``race = Black``,
``gender = Male & age = 60-69``, ...) is compared with the rest of the rows by the
one slice procedure of :func:`fairaudit.claims.slice_claims`: the shortfall's
p-value by one-sided inversion of its exact square-and-add interval,
Benjamini-Hochberg over every slice tested (false discovery rate ``fdr``), and
every interval at the matching false-coverage level, so that a slice is discovered
exactly when its interval lies above 0. Discoveries are ranked by the lower bound
of the effect, the smallest shortfall the data support. Slices under
``min_support`` rows are not tested. A discovered slice that adds nothing to a
discovered parent (its effect lies inside the parent's interval) is pruned: the
parent explains it.

Everything comes from the audit's counts through :mod:`fairaudit.functional`.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from fairaudit.claims import slice_claims
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._fairness import rate_counts
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT

__all__ = ["SLICE_RATES", "worst_slices"]

#: Rates a slice can be searched on: accuracy, and per class recall or selection rate.
SLICE_RATES: tuple[str, ...] = ("accuracy", "recall", "selection_rate")
_RATE_PARTS = {"accuracy": "accuracy", "recall": "tpr", "selection_rate": "selection_rate"}

COLUMNS = [
    "slice",
    "order",
    "n",
    "rate",
    "rest_rate",
    "effect",
    "ci_low",
    "ci_high",
    "level",
    "p_value",
    "q_value",
    "discovered",
    "detectable",
    "pruned_by",
]


def worst_slices(
    audit: AuditResult,
    task: str,
    *,
    rate: str = "accuracy",
    cls: str | None = None,
    max_order: int = 2,
    attributes: list[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    fdr: float = 0.05,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Slices where ``task`` does worst against the rest, with FDR-controlled discoveries.

    Parameters
    ----------
    audit : AuditResult
    task : str
        The audited task.
    rate : {"accuracy", "recall", "selection_rate"}, default="accuracy"
        What is compared; ``recall`` and ``selection_rate`` need ``cls``.
    cls : str, optional
        The class of a per-class rate.
    max_order : int, default=2
        Largest number of attributes a slice combines (1, 2, 3, ...).
    attributes : list of str, optional
        Attributes slices combine (default: all of the audit's but the task's own true
        label, whose slices are the task's per-class difficulty, see
        :func:`class_recall`).
    min_support : int, default=30
        Rows a slice (and its rest) needs in the rate's denominator to be tested.
    fdr : float, default=0.05
        False discovery rate of the Benjamini-Hochberg procedure over all tested slices;
        each interval is at the matching false-coverage level (``level``).
    confidence : float, optional
        Deprecated and ignored: the intervals' level follows from ``fdr`` and the
        number of discoveries, so that an interval excludes 0 exactly when its
        slice is discovered.

    Returns
    -------
    pandas.DataFrame
        One row per tested slice (:data:`COLUMNS`): ``slice`` (``"gender=Male &
        age=60-69"``), ``order``, ``n`` (rows in the rate's denominator), ``rate`` and
        ``rest_rate``, ``effect = rest_rate - rate`` (positive: the slice does worse;
        for the selection rate: it is selected less), its interval
        ``ci_low``/``ci_high`` at ``level``, the one-sided ``p_value`` and BH
        ``q_value``, ``discovered`` (``q_value <= fdr``, equivalently ``ci_low >
        0``), ``detectable`` (the shortfall a slice of its size would show with 80%
        power) and ``pruned_by`` (the discovered parent that explains a discovered
        slice, else ``""``).
        Sorted with the unpruned discoveries first, by ``ci_low`` descending.

    Raises
    ------
    DataValidationError
        Unknown task, rate, class or attribute, or a bad ``max_order``/``fdr``.
    """
    vocab = audit.task_vocabulary(task)
    if rate not in SLICE_RATES:
        raise DataValidationError(f"rate must be one of {list(SLICE_RATES)}, got {rate!r}")
    if rate == "accuracy":
        if cls is not None:
            raise DataValidationError(
                "accuracy has no class: leave cls out", cli="--rate accuracy takes no --class"
            )
        column = 0
    else:
        if cls not in vocab:
            classes = list(vocab.classes)
            raise DataValidationError(
                f"{rate} needs cls, a class of {task!r}: {classes}, got {cls!r}",
                cli=f"--rate {rate} needs --class, a class of {task!r}: {classes}"
                + (f", got {cls!r}" if cls is not None else ""),
            )
        column = vocab.classes.index(cls)
    if attributes is None:  # the task's own true label measures difficulty, not people
        names = [a for a in audit.attributes if not audit.is_own_grouping(task, (a,))]
    else:
        names = list(attributes)
    unknown = [a for a in names if a not in audit.attributes]
    if unknown:
        raise DataValidationError(
            f"unknown attribute(s) {unknown}; audit has {list(audit.attributes)}"
        )
    if not isinstance(max_order, int) or max_order < 1:
        raise DataValidationError(f"max_order must be a positive integer, got {max_order!r}")
    if not 0 < fdr < 1:
        raise DataValidationError(f"fdr must lie in (0, 1), got {fdr!r}")
    part = _RATE_PARTS[rate]
    total_hits, total_n = (
        v[0, column] for v in rate_counts(audit.grouped_counts(task)[None])[part]
    )
    records = []
    for order in range(1, min(max_order, len(names)) + 1):
        for by in combinations(names, order):
            hits, n = (v[:, column] for v in rate_counts(_flat(audit, task, by))[part])
            rest_hits, rest_n = total_hits - hits, total_n - n
            tested = (n >= max(min_support, 1)) & (rest_n >= max(min_support, 1))
            labels = _labels(audit, by)
            for cell in np.flatnonzero(tested):
                records.append(
                    {
                        "slice": labels[cell],
                        "order": order,
                        "n": int(n[cell]),
                        "hits": int(hits[cell]),
                        "rest_n": int(rest_n[cell]),
                        "rest_hits": int(rest_hits[cell]),
                    }
                )
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame.from_records(records)
    claims = slice_claims(
        frame["hits"].to_numpy(),
        frame["n"].to_numpy(),
        frame["rest_hits"].to_numpy(),
        frame["rest_n"].to_numpy(),
        fdr=fdr,
    )
    frame["rate"] = frame["hits"] / frame["n"]
    frame["rest_rate"] = frame["rest_hits"] / frame["rest_n"]
    frame["effect"] = claims["effect"]
    frame["ci_low"], frame["ci_high"] = claims["lower"], claims["upper"]
    frame["level"] = claims["level"]
    frame["p_value"], frame["q_value"] = claims["p_value"], claims["q_value"]
    frame["discovered"] = claims["discovered"]
    frame["detectable"] = claims["detectable"]
    frame["pruned_by"] = _pruned_by(frame)
    frame = frame.assign(_kept=frame["discovered"] & (frame["pruned_by"] == ""))
    frame = frame.sort_values(
        ["_kept", "discovered", "ci_low"], ascending=False, kind="stable"
    ).drop(columns="_kept")
    return frame[COLUMNS].reset_index(drop=True)


def _flat(audit: AuditResult, task: str, by: tuple[str, ...]) -> np.ndarray:
    n_classes = len(audit.tasks[task])
    return audit.grouped_counts(task, by=by).reshape(-1, n_classes, n_classes)


def _labels(audit: AuditResult, by: tuple[str, ...]) -> list[str]:
    """``"gender=Male & age=60-69"`` for each cell of ``by``, in C order."""
    values = [audit.group_names((a,)) for a in by]
    index = np.indices([len(v) for v in values]).reshape(len(by), -1).T
    return [
        " & ".join(f"{a}={values[j][k]}" for j, (a, k) in enumerate(zip(by, row, strict=True)))
        for row in index
    ]


def _pruned_by(frame: pd.DataFrame) -> list[str]:
    """For each discovered slice, a discovered parent whose interval holds its effect."""
    discovered = frame[frame["discovered"]]
    intervals = {row.slice: (row.ci_low, row.ci_high) for row in discovered.itertuples(index=False)}
    out = []
    for row in frame.itertuples(index=False):
        parent_found = ""
        if row.discovered and row.order > 1:
            parts = row.slice.split(" & ")
            for size in range(len(parts) - 1, 0, -1):
                for parent in combinations(parts, size):
                    name = " & ".join(parent)
                    bounds = intervals.get(name)
                    if bounds is not None and bounds[0] <= row.effect <= bounds[1]:
                        parent_found = name
                        break
                if parent_found:
                    break
        out.append(parent_found)
    return out
