"""PairedCounts: aggregate agreement of two model versions on the same rows.

Two versions predicted the same faces. Per task, the only thing a paired test needs
is, for every cell of the sensitive attributes and every true class, how many rows
both versions got right, only A, only B, or neither: an int64 array
``counts[cell, true class, A correct, B correct]`` of shape ``(n_cells, C, 2, 2)``.
It is an aggregate (no image, no per-image label), additive over disjoint row sets,
and saved in a small versioned JSON file (``"format": "fairaudit-paired"``).

Summed over the B axis it gives, per cell and true class, A's rows and correct
rows, exactly what an :class:`~fairaudit.model_audit.AuditResult` of A's predictions
holds on the diagonal of its confusion counts: :meth:`PairedCounts.check_audits`
verifies this before a comparison uses the pairs.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairaudit._saved import SavedResult
from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import group_sum, normalize_by
from fairaudit.functional._intervals import mcnemar_exact, paired_difference_interval
from fairaudit.functional._significance import holm
from fairaudit.model_audit._counts import group_frame
from fairaudit.model_audit._saved_form import (
    checked_task_counts,
    integer_counts,
    stamped_metadata,
    vocab_from_json,
    vocab_to_json,
)
from fairaudit.model_audit._views import DEFAULT_MIN_SUPPORT, SmallSliceWarning, slice_status
from fairaudit.vocab import Vocabulary

if TYPE_CHECKING:
    from fairaudit.model_audit import AuditResult

__all__ = ["PAIRED_FORMAT", "PAIRED_FORMAT_VERSION", "PairedCounts"]

#: Name of the saved format (the ``format`` field of a saved PairedCounts).
PAIRED_FORMAT = "fairaudit-paired"
#: Version of the saved format written by this library.
PAIRED_FORMAT_VERSION = 1


class PairedCounts(SavedResult):
    """Per-cell, per-true-class 2x2 agreement tables of two versions on the same rows.

    Build one with :func:`fairaudit.compare.paired_counts` from two predictions
    tables and the labels, or load a saved one with :meth:`load`.

    Parameters
    ----------
    tasks : mapping of str to Vocabulary
        Audited tasks and their classes.
    attributes : mapping of str to Vocabulary
        Sensitive attributes defining the cells (mixed radix, in this order, as in
        :class:`~fairaudit.model_audit.AuditResult`).
    counts : mapping of str to numpy.ndarray
        Per task, non-negative integers of shape ``(n_cells, C, 2, 2)``:
        ``counts[cell, true, a_correct, b_correct]``.
    names : sequence of two str
        Names of version A (the baseline) and version B.
    metadata : dict, optional
        JSON-serialisable description (sources, join report: rows left out and why).
    """

    FORMAT = PAIRED_FORMAT
    FORMAT_VERSION = PAIRED_FORMAT_VERSION
    WHAT = "paired counts"
    LABEL = "fairaudit paired counts"

    def __init__(
        self,
        *,
        tasks: Mapping[str, Vocabulary],
        attributes: Mapping[str, Vocabulary],
        counts: Mapping[str, np.ndarray],
        names: Sequence[str] = ("A", "B"),
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.tasks = dict(tasks)
        self.attributes = dict(attributes)
        names = tuple(str(n) for n in names)
        if len(names) != 2 or names[0] == names[1] or not all(names):
            raise DataValidationError(
                f"names must be two different non-empty names, got {list(names)}"
            )
        self.names: tuple[str, str] = (names[0], names[1])
        n_cells = int(np.prod(self.shape)) if self.shape else 1
        self.counts = checked_task_counts(
            self.tasks, counts, lambda vocab: (n_cells, len(vocab), 2, 2), what="paired counts"
        )
        self.metadata: dict[str, Any] = stamped_metadata(metadata)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, ...]:
        """Number of classes of each sensitive attribute (the cell radix)."""
        return tuple(len(v) for v in self.attributes.values())

    @property
    def n_rows(self) -> int:
        """Number of paired rows (predicted by both versions)."""
        first = next(iter(self.counts.values()), None)
        return int(first.sum()) if first is not None else 0

    def _repr_items(self) -> list[tuple[str, object]]:
        tasks = ", ".join(f"{t}({len(v)})" for t, v in self.tasks.items())
        attrs = " x ".join(f"{a}({len(v)})" for a, v in self.attributes.items())
        return [
            ("", f"{self.names[0]!r} vs {self.names[1]!r}"),
            ("n_rows", self.n_rows),
            ("tasks", f"[{tasks}]"),
            ("cells", attrs or "overall"),
        ]

    def _check_task(self, task: str) -> Vocabulary:
        if task not in self.tasks:
            raise DataValidationError(
                f"unknown task {task!r}; these paired counts have {list(self.tasks)}"
            )
        return self.tasks[task]

    def grouped(self, task: str, *, by: str | Sequence[str] | None = None) -> np.ndarray:
        """Paired counts of ``task`` summed to the groups of ``by``.

        Returns
        -------
        numpy.ndarray of int64, shape (*[classes of each attribute in by], C, 2, 2)
        """
        self._check_task(task)
        by_t = normalize_by(by, list(self.attributes))
        return group_sum(self.counts[task], self.shape, list(self.attributes), by_t, n_trailing=3)

    def swapped(self) -> PairedCounts:
        """The same pairs with A and B exchanged (names and the two correctness axes)."""
        return PairedCounts(
            tasks=self.tasks,
            attributes=self.attributes,
            counts={t: c.transpose(0, 1, 3, 2).copy() for t, c in self.counts.items()},
            names=(self.names[1], self.names[0]),
            metadata=self.metadata,
        )

    # ------------------------------------------------------------------ tests
    def mcnemar(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        per_class: bool = False,
        confidence: float = 0.95,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Paired accuracy change of each slice: exact McNemar test and Newcombe interval.

        Parameters
        ----------
        task : str
            Audited task.
        by : str or sequence of str, optional
            Attribute(s) defining the slices; ``None`` gives one overall row.
        per_class : bool, default=False
            One row per slice and true class: the accuracy on the rows of that true
            class, i.e. the recall of the class in the slice.
        confidence : float, default=0.95
            Coverage of the intervals.
        min_support : int, default=30
            Slices with fewer rows get ``status="small"`` (``"empty"`` without rows).

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns (and ``class``), ``n`` (paired rows), ``both``,
            ``a_only`` (A right, B wrong), ``b_only`` (B right, A wrong),
            ``neither``, ``accuracy_a``, ``accuracy_b``, ``difference``
            (``accuracy_b - accuracy_a``), ``ci_low``, ``ci_high`` (Newcombe's
            square-and-add interval for paired proportions, method 10 of Newcombe
            1998), ``p_value`` (exact McNemar test: two-sided
            ``binomtest(a_only, a_only + b_only, 0.5)``; 1 without discordant
            pairs), ``p_holm`` (Holm-adjusted over the non-empty rows of this
            table) and ``status``. Empty slices have NaN statistics.
        """
        vocab = self._check_task(task)
        if not 0 < confidence < 1:
            raise DataValidationError(f"confidence must lie in (0, 1), got {confidence}")
        by_t = normalize_by(by, list(self.attributes))
        tables = self.grouped(task, by=by_t).reshape(-1, len(vocab), 2, 2)
        if not per_class:
            tables = tables.sum(axis=1)
        frame = group_frame(self.attributes, by_t)
        if per_class:
            frame = frame.loc[frame.index.repeat(len(vocab))].reset_index(drop=True)
            frame["class"] = pd.Categorical.from_codes(
                np.tile(np.arange(len(vocab)), len(frame) // len(vocab)), dtype=vocab.dtype
            )
        flat = tables.reshape(-1, 2, 2)
        neither, b_only, a_only, both = (flat[:, 0, 0], flat[:, 0, 1], flat[:, 1, 0], flat[:, 1, 1])
        n = flat.sum(axis=(1, 2))
        frame["n"] = n
        frame["both"] = both
        frame["a_only"] = a_only
        frame["b_only"] = b_only
        frame["neither"] = neither
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["accuracy_a"] = np.where(n > 0, (both + a_only) / np.maximum(n, 1), np.nan)
            frame["accuracy_b"] = np.where(n > 0, (both + b_only) / np.maximum(n, 1), np.nan)
        frame["difference"] = frame["accuracy_b"] - frame["accuracy_a"]
        low, high = paired_difference_interval(both, a_only, b_only, neither, confidence=confidence)
        frame["ci_low"] = low
        frame["ci_high"] = high
        p = np.where(n > 0, mcnemar_exact(a_only, b_only), np.nan)
        frame["p_value"] = p
        adjusted = np.full(p.shape, np.nan)
        defined = ~np.isnan(p)
        adjusted[defined] = holm(p[defined])
        frame["p_holm"] = adjusted
        frame["status"] = slice_status(n, min_support)
        small = int(((n > 0) & (n < min_support)).sum())
        if small:
            warnings.warn(
                f"paired {task} by {list(by_t) or 'overall'}: {small} slice(s) have fewer than "
                f"{min_support} rows; they are marked in column 'status'",
                SmallSliceWarning,
                stacklevel=2,
            )
        return frame

    def check_audits(
        self,
        audit_a: AuditResult,
        audit_b: AuditResult,
        *,
        tasks: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        """Verify that these pairs are the rows of two audits (same rows, same correctness).

        For every task, cell and true class, the paired rows must equal the audit's
        rows, A's correct rows (``counts[..., 1, :]``) the diagonal of ``audit_a``'s
        confusion counts, and B's correct rows those of ``audit_b``; so every
        per-slice accuracy and recall of the pairs equals the audits'.

        Raises
        ------
        DataValidationError
            Naming the version, task and the first slices that disagree.
        """
        label_a, label_b = names if names is not None else self.names
        task_names = list(self.tasks) if tasks is None else list(tasks)
        for label, audit in ((label_a, audit_a), (label_b, audit_b)):
            if list(audit.attributes.items()) != list(self.attributes.items()):  # cell order
                raise DataValidationError(
                    f"paired counts {self.names[0]!r} vs {self.names[1]!r} have attributes "
                    f"{_describe(self.attributes)} but audit {label!r} has "
                    f"{_describe(audit.attributes)}"
                )
        for task in task_names:
            if task not in self.tasks:
                raise DataValidationError(
                    f"paired counts {self.names[0]!r} vs {self.names[1]!r} have no task "
                    f"{task!r} (they have {list(self.tasks)})"
                )
            for side, (label, audit) in enumerate(((label_a, audit_a), (label_b, audit_b))):
                if audit.tasks.get(task) != self.tasks[task]:
                    raise DataValidationError(
                        f"paired counts and audit {label!r} have different classes for task "
                        f"{task!r}"
                    )
                paired = self.counts[task]
                rows = paired.sum(axis=(2, 3))
                correct = paired.sum(axis=3 - side)[..., 1]
                cm = audit.counts[task]
                audit_rows = cm.sum(axis=2)
                audit_correct = np.diagonal(cm, axis1=1, axis2=2)
                bad = (rows != audit_rows) | (correct != audit_correct)
                if bad.any():
                    cells = np.argwhere(bad)[:3]
                    groups = cell_names(self.attributes, cells[:, 0])
                    vocab = self.tasks[task]
                    where = "; ".join(
                        f"{g}, true {vocab.classes[k]}: paired {rows[c, k]} rows / "
                        f"{correct[c, k]} correct, audit {audit_rows[c, k]} / {audit_correct[c, k]}"
                        for g, (c, k) in zip(groups, cells, strict=True)
                    )
                    raise DataValidationError(
                        f"paired counts {self.names[0]!r} vs {self.names[1]!r} do not match "
                        f"audit {label!r} for task {task!r} in {int(bad.sum())} cell(s) x true "
                        f"class (e.g. {where}): they were not built from the same predictions "
                        "and rows"
                    )

    # -------------------------------------------------------------- save/load
    def to_dict(self) -> dict[str, Any]:
        """The saved form, JSON-serialisable (see ``docs/comparison.md``)."""
        return {
            "format": PAIRED_FORMAT,
            "format_version": PAIRED_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "names": list(self.names),
            "metadata": self.metadata,
            "tasks": [vocab_to_json(v) | {"task": t} for t, v in self.tasks.items()],
            "attributes": [vocab_to_json(v) | {"attribute": a} for a, v in self.attributes.items()],
            "counts": {t: c.tolist() for t, c in self.counts.items()},
        }

    @classmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> PairedCounts:
        tasks = {str(t["task"]): vocab_from_json(t) for t in obj["tasks"]}
        attributes = {str(a["attribute"]): vocab_from_json(a) for a in obj["attributes"]}
        counts = {
            t: integer_counts(c, what=f"paired counts of task {t!r}")
            for t, c in obj["counts"].items()
        }
        return cls(
            tasks=tasks,
            attributes=attributes,
            counts=counts,
            names=list(obj["names"]),
            metadata=obj.get("metadata", {}),
        )


def _describe(vocabs: Mapping[str, Vocabulary]) -> str:
    return "[" + ", ".join(f"{k}({len(v)})" for k, v in vocabs.items()) + "]"


def cell_names(attributes: Mapping[str, Vocabulary], cells: np.ndarray) -> list[str]:
    """Readable names of cells (``"gender=Female, race=Black"``)."""
    if not attributes:
        return ["all rows"] * len(cells)
    shape = tuple(len(v) for v in attributes.values())
    codes = np.unravel_index(np.asarray(cells, dtype=np.int64), shape)
    return [
        ", ".join(
            f"{name}={vocab.classes[int(code[i])]}"
            for (name, vocab), code in zip(attributes.items(), codes, strict=True)
        )
        for i in range(len(cells))
    ]
