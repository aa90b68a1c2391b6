"""The result of a comparison: changes, findings in plain words, the saved form."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit._saved import WrittenResult
from fairaudit._version import __version__
from fairaudit.compare._constants import COMPARISON_FORMAT, COMPARISON_FORMAT_VERSION
from fairaudit.compare._paired import PairedCounts
from fairaudit.compare._wording import (
    also_text,
    finding_sentence,
    gap_sentence,
    join_words,
    mention_text,
    metric_label,
)
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import METRICS
from fairaudit.functional._registry import SLICE_METRICS
from fairaudit.model_audit import AuditResult

__all__ = ["FINDING_COLUMNS", "Comparison"]

#: Columns of a finding taken from the ``changes`` row of its leading metric.
_LEAD_COLUMNS = (
    "value_a",
    "value_b",
    "change",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "test",
    "paired",
    "direction",
)
#: Columns of :meth:`Comparison.finding_table`.
FINDING_COLUMNS = [
    "candidate",
    "block",
    "task",
    "by",
    "where",
    "metric",
    "metrics",
    "rows",
    "labels",
    "n",
    *_LEAD_COLUMNS,
    "lower_bound",
    "sentence",
]


class Comparison(WrittenResult):
    """Changes of every metric between a baseline and one or more candidate versions.

    Attributes
    ----------
    names : list of str
        Version names; ``names[0]`` is the baseline.
    changes : pandas.DataFrame
        One row per candidate, task, metric, grouping, slice (and class):
        ``baseline``, ``candidate``, ``task``, ``metric``, ``kind`` (``"slice"``,
        ``"class"`` for a per-class score, ``"gap"`` between groups), ``by``,
        ``slice`` (group name, ``"all"`` for overall and gaps), ``class``,
        ``where`` (canonical conditions, the class included), ``subject`` (plain
        words), ``n`` (rows behind the value, the smaller of the two versions':
        the slice's rows; for a per-class score the rows of its denominator, e.g.
        true rows of the class for recall, predicted rows for precision; for a
        gap the rows of its smallest non-empty group), ``status`` (``ok``,
        ``small``, ``empty``), ``value_a`` (baseline), ``value_b`` (candidate),
        ``change`` (``value_b - value_a``), ``ci_low``, ``ci_high``,
        ``level`` (the intervals' level: the false-coverage level of the candidate's
        Benjamini-Hochberg selection), ``p_value`` (the interval's inversion),
        ``p_adjusted`` (Benjamini-Hochberg over the candidate's task), ``test``
        (``"rate"``, ``"paired"``, ``"gap"`` or ``"bootstrap"``, see
        :data:`fairaudit.claims.CHANGE_METHODS`), ``method``, ``paired``,
        ``significant``, ``higher_is_better``, ``direction`` (``"improved"``,
        ``"regressed"``, ``"no clear change"``).
    audits : list of AuditResult
        The compared audits, in order.
    paired : dict of str to PairedCounts
        Pairs used per candidate name (oriented baseline first).
    settings : dict
        Confidence, resamples, seed, minimum support, tasks, groupings, metrics.

    Notes
    -----
    :meth:`save` writes the changes, findings and settings as a report; it is not read
    back (the audits and pairs it came from are the saved inputs of a comparison).
    """

    FORMAT = COMPARISON_FORMAT
    FORMAT_VERSION = COMPARISON_FORMAT_VERSION
    WHAT = "comparison"

    def __init__(
        self,
        *,
        changes: pd.DataFrame,
        names: Sequence[str],
        audits: Sequence[AuditResult],
        paired: Mapping[str, PairedCounts],
        settings: Mapping[str, Any],
    ) -> None:
        self.changes = changes
        self.names = list(names)
        self.audits = list(audits)
        self.paired = dict(paired)
        self.settings = dict(settings)

    def _repr_items(self) -> list[tuple[str, object]]:
        counts = self.changes["direction"].value_counts()
        return [
            ("baseline", repr(self.baseline)),
            ("candidates", self.candidates),
            ("improved", int(counts.get("improved", 0))),
            ("regressed", int(counts.get("regressed", 0))),
        ]

    @property
    def baseline(self) -> str:
        """Name of the baseline version."""
        return self.names[0]

    @property
    def candidates(self) -> list[str]:
        """Names of the versions compared with the baseline."""
        return self.names[1:]

    def is_paired(self, candidate: str) -> bool:
        """Whether the changes of ``candidate`` use paired statistics for accuracy and recall."""
        if candidate not in self.candidates:
            raise DataValidationError(f"unknown candidate {candidate!r}; have {self.candidates}")
        return candidate in self.paired

    def pairing_notes(self) -> list[str]:
        """One plain sentence per candidate: paired or unpaired, and what that means."""
        notes = []
        for candidate in self.candidates:
            if candidate in self.paired:
                pairs = self.paired[candidate]
                tasks = [t for t in self.settings["tasks"] if t in pairs.tasks]
                unpaired = [t for t in self.settings["tasks"] if t not in pairs.tasks]
                notes.append(
                    f"{candidate} vs {self.baseline}: paired on the {pairs.n_rows:,} rows both "
                    f"versions predicted (tasks {', '.join(tasks)}); accuracy, error rate and "
                    "per-class recall changes use Newcombe's paired interval; other rates the "
                    "exact interval of independent proportions, the gaps both versions' gap "
                    "intervals, other metrics independent bootstraps (unpaired)."
                    + (f" Tasks {', '.join(unpaired)} are unpaired." if unpaired else "")
                )
            else:
                notes.append(
                    f"{candidate} vs {self.baseline}: unpaired. No per-row pairing of the two "
                    "versions was given, so every change compares the two audits as "
                    "independent samples; with paired counts (fairaudit.compare.paired_counts) "
                    "accuracy and recall changes would get tighter paired intervals."
                )
        return notes

    def _select(self, direction: str, candidate: str | None) -> pd.DataFrame:
        frame = self.changes[self.changes["direction"] == direction]
        if candidate is not None:
            self.is_paired(candidate)
            frame = frame[frame["candidate"] == candidate]
        order = frame["change"].abs().sort_values(ascending=False, kind="stable").index
        return frame.loc[order].reset_index(drop=True)

    def improved(self, *, candidate: str | None = None) -> pd.DataFrame:
        """Significant changes for the better, largest first."""
        return self._select("improved", candidate)

    def regressed(self, *, candidate: str | None = None) -> pd.DataFrame:
        """Significant changes for the worse, largest first."""
        return self._select("regressed", candidate)

    def summary(self) -> pd.DataFrame:
        """Per candidate and task: rows compared, improved, regressed, no clear change."""
        frame = self.changes
        table = (
            frame.groupby(["candidate", "task"], sort=False)["direction"]
            .value_counts()
            .unstack(fill_value=0)
        )
        for column in ("improved", "regressed", "no clear change"):
            if column not in table.columns:
                table[column] = 0
        table["compared"] = table[["improved", "regressed", "no clear change"]].sum(axis=1)
        table = table.reset_index()
        table["paired"] = [
            c in self.paired and t in self.paired[c].tasks
            for c, t in zip(table["candidate"], table["task"], strict=True)
        ]
        return table[
            ["candidate", "task", "compared", "improved", "regressed", "no clear change", "paired"]
        ]

    def finding_table(
        self, *, candidate: str | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """The findings, one row each, in the order a reviewer reads them.

        Per candidate, three blocks (column ``block``):

        1. ``"overall"``: one finding per task, significant or not, in task order: the
           overall accuracy change (the first per-slice metric compared, in the
           registry's order) with its interval; the task's other overall metrics
           (balanced accuracy, macro F1, ...) are told in the same sentence.
        2. ``"gap"``: one finding per task and single attribute (not the task's own
           label), merging every gap metric of that grouping. It leads with the
           largest significant regression, else the largest significant improvement,
           else the largest change; the other significant gaps are told in the same
           sentence. Regressions first, then improvements (each largest lower bound
           first), then "no clear change" (task, then attribute order).
        3. ``"slice"``: the significant changes of slices and per-class scores,
           one finding per task and ``where`` (the people: a slice's conditions, the
           class included, so the recall of class Black among women joins the
           accuracy on Black women), ranked by the lower bound of the size of the
           change (``ci_low`` of an increase, ``-ci_high`` of a decrease): the
           smallest change the interval allows. The finding leads with its metric of
           the largest lower bound and tells the others. Significant changes rest on
           at least ``min_support`` rows, so no slice finding rests on fewer.

        A metric that is the same number as one already told (the recall of class
        Black among women *is* the accuracy on Black women; the weighted recall is
        the accuracy; the disparate impact ratio is the demographic parity ratio)
        is named with it, not told again.

        Parameters
        ----------
        candidate : str, optional
            Only this candidate's findings.
        limit : int, optional
            At most this many rows (None: all).

        Returns
        -------
        pandas.DataFrame
            Columns ``candidate``, ``block``, ``task``, ``by``, ``where``, ``metric``
            (the lead), ``metrics`` (every metric the finding covers, lead first,
            the same numbers included), ``rows`` (index labels in :attr:`changes` of
            the rows told, lead first), ``labels`` (their readable names, each with
            the metrics that are the same number), ``n`` (the fewest rows behind a
            row covered), ``value_a``, ``value_b``,
            ``change``, ``ci_low``, ``ci_high``, ``p_value``, ``p_adjusted``, ``test``,
            ``paired``, ``direction`` (the lead's; a gap finding with a significant
            regression is ``"regressed"``), ``lower_bound`` and ``sentence``.
        """
        candidates = self.candidates
        if candidate is not None:
            self.is_paired(candidate)
            candidates = [candidate]
        many = len(self.candidates) > 1
        records: list[dict[str, Any]] = []
        for name in candidates:
            rows = self.changes[self.changes["candidate"] == name]
            versions = f"{name} vs {self.baseline}" if many else ""
            records += self._overall_findings(rows, versions)
            records += self._gap_findings(rows, versions)
            records += self._slice_findings(rows, versions)
        frame = pd.DataFrame(records, columns=FINDING_COLUMNS)
        return frame if limit is None else frame.head(limit).reset_index(drop=True)

    def findings(self, *, limit: int | None = 10, candidate: str | None = None) -> list[str]:
        """Plain sentences, one per finding, in the order of :meth:`finding_table`.

        Overall changes per task first (significant or not), then the changes of the
        gaps between groups (per task and attribute), then the slice changes with the
        largest lower bound; metrics of the same task, grouping or slice are merged
        into one sentence.

        Parameters
        ----------
        limit : int, optional
            At most this many sentences (None: all).
        candidate : str, optional
            Only this candidate's findings.
        """
        return self.finding_table(candidate=candidate, limit=limit)["sentence"].tolist()

    # ---------------------------------------------------------- findings
    def _record(
        self,
        block: str,
        told: list[tuple[pd.Series, list[str]]],
        merged: pd.DataFrame,
        **extra: Any,
    ) -> dict[str, Any]:
        """One finding: ``told`` the rows told (lead first), ``merged`` every row it covers."""
        lead = told[0][0]
        others = merged["metric"][merged.index != lead.name]
        return {
            "candidate": lead["candidate"],
            "block": block,
            "task": lead["task"],
            "by": lead["by"],
            "where": lead["where"],
            "metric": lead["metric"],
            "metrics": (lead["metric"], *others),
            "rows": tuple(int(row.name) for row, _ in told),
            "labels": tuple(join_words(labels) for _, labels in told),
            "n": int(merged["n"].min()),
            **{column: lead[column] for column in _LEAD_COLUMNS},
            "lower_bound": float(_lower_bound(lead)),
            **extra,
        }

    def _overall_findings(self, rows: pd.DataFrame, versions: str) -> list[dict[str, Any]]:
        overall = rows[(rows["by"] == "overall") & (rows["kind"] == "slice")]
        order = {name: i for i, name in enumerate(SLICE_METRICS)}
        out = []
        for task in self.settings["tasks"]:
            sub = overall[overall["task"] == task]
            sub = sub.loc[sub["metric"].map(order).sort_values(kind="stable").index]
            if sub.empty:
                continue
            told, others = _distinct(sub)
            lead = told[0][0]
            mentions = [
                _mention(row, labels, self.settings["confidence"], lead_kind="slice")
                for row, labels in others
            ]
            sentence = self._sentence(lead, versions, same=told[0][1][1:])
            out.append(
                self._record(
                    "overall",
                    told,
                    sub,
                    sentence=sentence + also_text(mentions),
                )
            )
        return out

    def _gap_findings(self, rows: pd.DataFrame, versions: str) -> list[dict[str, Any]]:
        audit = self.audits[0]
        gaps = rows[rows["kind"] == "gap"]
        confidence = self.settings["confidence"]
        keyed = []
        for task in self.settings["tasks"]:
            for attribute in audit.attributes:
                if audit.is_own_grouping(task, (attribute,)):
                    continue
                sub = gaps[(gaps["task"] == task) & (gaps["by"] == attribute)]
                if sub.empty:
                    continue
                significant = sub[sub["significant"]]
                regressed = significant[significant["direction"] == "regressed"]
                if len(regressed):
                    rank, pool = 0, regressed
                elif len(significant):
                    rank, pool = 1, significant
                else:
                    rank, pool = 2, sub[np.isfinite(sub["change"].to_numpy(dtype=float))]
                if pool.empty:
                    continue
                lead = pool.loc[pool["change"].abs().sort_values(ascending=False).index[0]]
                ordered = pd.concat(
                    [
                        sub.loc[[lead.name]],
                        significant.drop(index=lead.name, errors="ignore").sort_values(
                            "change", key=lambda c: -c.abs(), kind="stable"
                        ),
                    ]
                )
                told, others = _distinct(ordered)
                lead = told[0][0]
                label = join_words(told[0][1])
                if rank < 2:
                    sentence = gap_sentence(
                        task=task,
                        by=attribute,
                        label=label,
                        value_a=lead["value_a"],
                        value_b=lead["value_b"],
                        change=lead["change"],
                        ci_low=lead["ci_low"],
                        ci_high=lead["ci_high"],
                        p_value=lead["p_value"],
                        p_adjusted=lead["p_adjusted"],
                        direction=lead["direction"],
                        confidence=float(lead["level"]),
                        versions=versions,
                    )
                    sentence += also_text(
                        [
                            _mention(row, labels, confidence, lead_kind="gap")
                            for row, labels in others
                        ]
                    )
                    rest = len(sub) - len(significant)
                    if rest:
                        sentence += f" No clear change in the other {rest} gap metric(s)."
                else:
                    largest = _mention(lead, told[0][1], confidence, lead_kind="gap")
                    largest = largest.rsplit(": ", 1)[0]
                    sentence = (
                        f"{task} gaps between {attribute} groups: no clear change in the "
                        f"{len(sub)} gap metric(s) compared; the largest change, {largest}, "
                        "is within the noise."
                    )
                    if versions:
                        sentence = f"{versions}: {sentence}"
                if int(lead["n"]) < self.settings["min_support"]:
                    sentence += (
                        f" (Its smallest group has {int(lead['n'])} rows, under the minimum of "
                        f"{self.settings['min_support']}: not judged.)"
                    )
                record = self._record("gap", told, ordered, sentence=sentence)
                if rank == 0:
                    record["direction"] = "regressed"
                key = -record["lower_bound"] if rank < 2 else 0.0
                keyed.append(((rank, key), record))
        keyed.sort(key=lambda item: item[0])  # stable: task, then attribute order
        return [record for _, record in keyed]

    def _slice_findings(self, rows: pd.DataFrame, versions: str) -> list[dict[str, Any]]:
        frame = rows[
            rows["significant"]
            & (rows["kind"] != "gap")
            & ~((rows["by"] == "overall") & (rows["kind"] == "slice"))
        ]
        confidence = self.settings["confidence"]
        keyed = []
        for _, sub in frame.groupby(["task", "where"], sort=False):
            told, others = _distinct(sub, by_bound=True)
            lead = told[0][0]
            mentions = [
                _mention(row, labels, confidence, lead_kind=lead["kind"]) for row, labels in others
            ]
            sentence = self._sentence(lead, versions, same=told[0][1][1:])
            record = self._record("slice", told, sub, sentence=sentence + also_text(mentions))
            keyed.append((-round(record["lower_bound"], 12), record))
        keyed.sort(key=lambda item: item[0])  # stable: ties keep the table's order
        return [record for _, record in keyed]

    def _sentence(self, row: pd.Series, versions: str, *, same: list[str]) -> str:
        subject_text = row["subject"]
        if same:
            subject_text += f" (the same number: {join_words(same)})"
        return finding_sentence(
            subject_text=subject_text,
            value_a=row["value_a"],
            value_b=row["value_b"],
            change=row["change"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            p_value=row["p_value"],
            p_adjusted=row["p_adjusted"],
            paired=bool(row["paired"]),
            direction=row["direction"],
            confidence=float(row["level"]),
            versions=versions,
        )

    # -------------------------------------------------------------- save
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: versions, their metadata, settings, notes, changes."""
        changes = self.changes.astype(object).where(self.changes.notna(), None)
        return {
            "format": COMPARISON_FORMAT,
            "format_version": COMPARISON_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "baseline": self.baseline,
            "names": self.names,
            "versions": [
                {"name": n, "n_rows": a.n_rows, "metadata": a.metadata}
                for n, a in zip(self.names, self.audits, strict=True)
            ],
            "paired": {c: self.paired[c].metadata.get("join") for c in self.paired},
            "settings": self.settings,
            "notes": self.pairing_notes(),
            "findings": self.findings(limit=None),
            "changes": changes.to_dict(orient="records"),
        }

    def _json_text(self) -> str:
        """:meth:`to_dict` as JSON (numpy scalars as numbers)."""
        return json.dumps(self.to_dict(), default=_json_default)


def _lower_bound(rows: pd.DataFrame | pd.Series) -> Any:
    """The smallest size of the change its interval allows: ``ci_low`` of an increase,
    ``-ci_high`` of a decrease (positive for a significant change)."""
    change, low, high = rows["change"], rows["ci_low"], rows["ci_high"]
    if not isinstance(rows, pd.DataFrame):  # one row
        return low if change > 0 else -high
    return pd.Series(np.where(change > 0, low, -high), index=rows.index)


def _distinct(
    rows: pd.DataFrame, *, by_bound: bool = False
) -> tuple[list[tuple[pd.Series, list[str]]], list[tuple[pd.Series, list[str]]]]:
    """Rows told, each with the labels of the rows that are the same number.

    Two rows are the same number when their baseline and candidate values agree to
    1e-12 (a recall and a slice accuracy on the same rows, a weighted recall and the
    accuracy, the disparate impact and demographic parity ratios), or are each
    other's complement (the error rate and the accuracy, labelled ``"1 - ..."``).
    Of such rows the one told is the paired one, else a per-slice metric, else the
    first in the registry's order. The rows told keep the order of ``rows`` (their
    first appearance), or with ``by_bound`` that of their lower bound, largest first.

    Returns
    -------
    told, others
        Every row told with its labels (its own first), and the same without the lead.
    """
    order = {name: i for i, name in enumerate(METRICS)}
    clusters: list[list[tuple[_Row, bool]]] = []
    for row in _rows(rows):
        for cluster in clusters:
            same = _same_number(cluster[0][0], row)
            if same is not None:
                cluster.append((row, same == "complement"))
                break
        else:
            clusters.append([(row, False)])
    told = []
    for cluster in clusters:
        ranked = sorted(
            cluster,
            key=lambda item: (
                not bool(item[0]["paired"]),
                item[0]["kind"] != "slice",
                order.get(item[0]["metric"], len(order)),
            ),
        )
        lead, lead_complement = ranked[0]
        labels = [_short_label(lead)]
        for row, complement in ranked[1:]:
            label = _short_label(row)
            labels.append(f"1 - {label}" if complement != lead_complement else label)
        told.append((lead, labels))
    if by_bound:
        told.sort(key=lambda item: -round(float(_lower_bound(item[0])), 12))
    return told, told[1:]


class _Row(dict):
    """One row of the changes table: ``row[column]``, and its index label as ``name``.

    As a row of ``DataFrame.iterrows`` reads, at a fraction of its cost (a finding
    table reads hundreds of rows).
    """

    __slots__ = ("name",)


def _rows(frame: pd.DataFrame) -> list[_Row]:
    """The rows of ``frame``, in order, as :class:`_Row` (the values iterrows gives)."""
    columns = list(frame.columns)
    out = []
    for name, values in zip(frame.index, frame.values, strict=True):
        row = _Row(zip(columns, values, strict=True))
        row.name = name
        out.append(row)
    return out


def _same_number(a: pd.Series, b: pd.Series) -> str | None:
    """``"same"``, ``"complement"`` (per-slice scores only) or None."""
    va = np.array([a["value_a"], a["value_b"]], dtype=float)
    vb = np.array([b["value_a"], b["value_b"]], dtype=float)
    if np.allclose(va, vb, atol=1e-12, rtol=0):
        return "same"
    if a["kind"] != "gap" and b["kind"] != "gap" and np.allclose(va, 1 - vb, atol=1e-12, rtol=0):
        return "complement"
    return None


def _short_label(row: pd.Series) -> str:
    """The metric's label for a per-slice or gap row, the subject (no task) for a per-class one."""
    if row["kind"] == "class":
        text = str(row["subject"])
        prefix = f"{row['task']} "
        return text[len(prefix) :] if text.startswith(prefix) else text
    return metric_label(row["metric"])


def _mention(row: pd.Series, labels: list[str], confidence: float, *, lead_kind: str) -> str:
    subject_text = join_words(labels)
    if lead_kind == "class" and row["kind"] == "slice":
        prefix = f"{row['task']} "
        subject_text = str(row["subject"])[len(prefix) :]
        if len(labels) > 1:
            subject_text += f" (= {join_words(labels[1:])})"
    return mention_text(
        subject_text=subject_text,
        value_a=row["value_a"],
        value_b=row["value_b"],
        change=row["change"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        direction=row["direction"],
        confidence=float(row["level"]) if "level" in row else confidence,
        points=row["kind"] != "gap",
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
