"""The result of a comparison: changes, findings in plain words, the saved form."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.compare._constants import COMPARISON_FORMAT, COMPARISON_FORMAT_VERSION
from fairaudit.compare._wording import (
    finding_sentence,
)
from fairaudit.exceptions import DataValidationError
from fairaudit.metrics import AuditResult, PairedCounts

__all__ = ["Comparison"]


class Comparison:
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
        ``p_value``, ``p_holm`` (Holm within candidate, task, metric and
        grouping), ``test`` (``"mcnemar"`` or ``"bootstrap"``), ``paired``,
        ``significant``, ``higher_is_better``, ``direction`` (``"improved"``,
        ``"regressed"``, ``"no clear change"``).
    audits : list of AuditResult
        The compared audits, in order.
    paired : dict of str to PairedCounts
        Pairs used per candidate name (oriented baseline first).
    settings : dict
        Confidence, resamples, seed, minimum support, tasks, groupings, metrics.
    """

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

    def __repr__(self) -> str:
        counts = self.changes["direction"].value_counts()
        return (
            f"Comparison(baseline={self.baseline!r}, candidates={self.candidates}, "
            f"improved={int(counts.get('improved', 0))}, "
            f"regressed={int(counts.get('regressed', 0))})"
        )

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
                    "per-class recall changes use McNemar's exact test and Newcombe's paired "
                    "interval, other metrics and the gaps compare independent bootstraps "
                    "(unpaired)."
                    + (f" Tasks {', '.join(unpaired)} are unpaired." if unpaired else "")
                )
            else:
                notes.append(
                    f"{candidate} vs {self.baseline}: unpaired. No per-row pairing of the two "
                    "versions was given, so every change compares independent bootstraps of "
                    "the two audits; with paired counts (fairaudit.compare.paired_counts) "
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

    def findings(self, *, limit: int | None = 10, candidate: str | None = None) -> list[str]:
        """Plain sentences for the significant changes, largest first.

        A per-class recall that is the same number as a slice accuracy (the recall
        of class Black among women is the accuracy on Black women) is told once.

        Parameters
        ----------
        limit : int, optional
            At most this many sentences (None: all).
        candidate : str, optional
            Only this candidate's changes.
        """
        frame = self.changes[self.changes["significant"]]
        if candidate is not None:
            self.is_paired(candidate)
            frame = frame[frame["candidate"] == candidate]
        preference = {"slice": 0, "class": 1, "gap": 2}
        frame = frame.assign(
            _size=-frame["change"].abs().round(12),
            _pref=frame["kind"].map(preference),
        ).sort_values(["_size", "_pref"], kind="stable")
        seen = set()
        sentences = []
        many = len(self.candidates) > 1
        for row in frame.itertuples(index=False):
            if row.metric in ("accuracy", "recall"):
                key = (row.candidate, row.task, row.where, round(row.change, 12))
                if key in seen:
                    continue
                seen.add(key)
            sentences.append(
                finding_sentence(
                    subject_text=row.subject,
                    value_a=row.value_a,
                    value_b=row.value_b,
                    change=row.change,
                    ci_low=row.ci_low,
                    ci_high=row.ci_high,
                    p_value=row.p_value,
                    p_holm=row.p_holm,
                    paired=bool(row.paired),
                    direction=row.direction,
                    confidence=self.settings["confidence"],
                    versions=f"{row.candidate} vs {row.baseline}" if many else "",
                )
            )
            if limit is not None and len(sentences) >= limit:
                break
        return sentences

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

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path."""
        return atomic_write_text(Path(path), json.dumps(self.to_dict(), default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
