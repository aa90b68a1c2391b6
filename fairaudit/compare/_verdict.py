"""The verdict of a comparison: three to five sentences a reviewer reads first.

Every sentence restates a claim of the comparison (:meth:`Comparison.finding_table`,
its numbers those of :attr:`Comparison.changes`, the change claims of
:mod:`fairaudit.claims`), ranked by what the data support:

1. the overall change of each task (significant or not; where it is not, the
   smallest change the data could have shown, so that "no clear change" is never
   read as "no change");
2. the supported changes of the gaps between groups (regressions first, each by the
   smallest change its interval allows), or a sentence that none is supported;
3. the largest supported regressions of a slice, or a sentence that none is.

Nothing told rests on a group under the comparison's ``min_support`` rows: such a
finding is left to the report's full tables. Versions are named by their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairaudit.claims._changes import detectable_change
from fairaudit.compare._wording import level_text, metric_label
from fairaudit.functional._registry import GAP_METRICS

if TYPE_CHECKING:
    from fairaudit.compare._result import Comparison

__all__ = ["comparison_verdict", "supported_findings"]


def supported_findings(findings: pd.DataFrame, min_support: int) -> pd.Series:
    """Which findings of :meth:`Comparison.finding_table` the data support.

    A finding is supported when its lead change is significant (its direction is not
    ``"no clear change"``) and every row it merges rests on at least ``min_support``
    rows (a gap's smallest group, a slice's rows).
    """
    return (findings["direction"] != "no clear change") & (findings["n"] >= min_support)


def _upper_first(text: str) -> str:
    """The first letter in upper case, the rest as written (``"White people"`` stays)."""
    return text[:1].upper() + text[1:]


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def _signed_points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _interval(row: pd.Series, *, ratio: bool = False) -> str:
    """``"98.1% interval +4.3 to +7.1"`` (points), or of a ratio's change as values."""
    level = level_text(float(row["level"]))
    if ratio:
        return f"{level} interval {row['ci_low']:+.3f} to {row['ci_high']:+.3f}"
    return f"{level} interval {_signed_points(row['ci_low'])} to {_signed_points(row['ci_high'])}"


def _verb(change: float) -> str:
    return "rose" if change > 0 else ("fell" if change < 0 else "stayed")


def _overall_sentence(rows: list[pd.Series], baseline: str) -> str:
    """One task's overall change, one row per candidate (lead metric, accuracy first)."""
    first = rows[0]
    subject = _upper_first(f"{first['task']} {metric_label(first['metric'])}")
    if len(rows) == 1:
        row = first
        test = "paired" if row["paired"] else "unpaired"
        numbers = (
            f"{_signed_points(row['change'])} points ({_interval(row)}, {test})"
            if np.isfinite(row["change"])
            else "no interval"
        )
        if row["significant"]:
            return (
                f"{subject} {_verb(row['change'])} from {_points(row['value_a'])}% "
                f"({baseline}) to {_points(row['value_b'])}% ({row['candidate']}), {numbers}."
            )
        text = (
            f"{subject}: no clear change, from {_points(row['value_a'])}% ({baseline}) to "
            f"{_points(row['value_b'])}% ({row['candidate']}), {numbers}"
        )
        return text + _detectable_text(row) + "."
    parts = []
    for row in rows:
        test = "paired" if row["paired"] else "unpaired"
        part = f"{_points(row['value_b'])}% for {row['candidate']}"
        if np.isfinite(row["change"]):
            part += (
                f", {_signed_points(row['change'])} points ({_interval(row)}, {test}): "
                f"{row['direction']}"
            )
        parts.append(part + _detectable_text(row) if not row["significant"] else part)
    return (
        f"{subject}: {_points(first['value_a'])}% for {baseline} (baseline); "
        + "; ".join(parts)
        + "."
    )


def _detectable_text(row: pd.Series) -> str:
    """``"; the data could have shown a change of 2.3 points or more (80% power)"``."""
    size = detectable_change(float(row["ci_low"]), float(row["ci_high"]), float(row["level"]))
    if not np.isfinite(size):
        return ""
    return f"; the data could have shown a change of {_points(size)} points or more (80% power)"


def _versions(row: pd.Series, many: bool, baseline: str) -> str:
    return f"{row['candidate']} vs {baseline}: " if many else ""


def _gap_sentence(finding: pd.Series, row: pd.Series, *, baseline: str, many: bool) -> str:
    """A supported change of a gap between groups, in points (a ratio: as values)."""
    ratio = GAP_METRICS[row["metric"]].gap_kind == "ratio"
    fairer = "a higher ratio" if row["higher_is_better"] else "a lower difference"
    if ratio:
        before, after = f"{row['value_a']:.3f}", f"{row['value_b']:.3f}"
        change = f"{row['change']:+.3f}"
    else:
        before, after = f"{_points(row['value_a'])} points", f"{_points(row['value_b'])} points"
        change = f"{_signed_points(row['change'])} points"
    outcome = "a regression" if row["direction"] == "regressed" else "an improvement"
    return (
        f"{_versions(row, many, baseline)}{_upper_first(row['task'])}: the "
        f"{finding['labels'][0]} between {row['by']} groups {_verb(row['change'])} from "
        f"{before} ({baseline}) to {after} ({row['candidate']}), {change} "
        f"({_interval(row, ratio=ratio)}; smallest group {int(finding['n']):,} rows): "
        f"{outcome} ({fairer} is fairer)."
    )


def _slice_sentence(
    finding: pd.Series, row: pd.Series, *, baseline: str, many: bool, first: bool
) -> str:
    """A supported regression of a slice, with the rows behind it."""
    test = "paired" if row["paired"] else "unpaired"
    rank = "the largest supported regression of a slice" if first else "also supported"
    return (
        f"{_versions(row, many, baseline)}{_upper_first(str(row['subject']))} "
        f"{_verb(row['change'])} from {_points(row['value_a'])}% ({baseline}) to "
        f"{_points(row['value_b'])}% ({row['candidate']}), {_signed_points(row['change'])} "
        f"points ({_interval(row)}, {test}; {int(row['n']):,} rows): {rank}."
    )


def comparison_verdict(
    comparison: Comparison, *, max_sentences: int = 5, findings: pd.DataFrame | None = None
) -> list[str]:
    """The comparison's verdict: the best-supported changes, in plain sentences.

    Parameters
    ----------
    comparison : Comparison
        The result of :func:`~fairaudit.compare.compare_audits`.
    max_sentences : int, default=5
        At most this many sentences (at least 3: the overall changes take at most
        ``max_sentences - 2``, then one or more on the gaps, one or more on the slices).
    findings : pandas.DataFrame, optional
        ``comparison.finding_table()``, when already computed (it is ranked here
        otherwise).

    Returns
    -------
    list of str
        The overall change of each task first (one sentence per task, every candidate
        in it), then the supported changes of gaps between groups, then the largest
        supported slice regressions; a sentence says so where none is supported.
        Findings resting on fewer than ``settings["min_support"]`` rows are never told.
    """
    max_sentences = max(int(max_sentences), 3)
    changes = comparison.changes
    baseline = comparison.baseline
    many = len(comparison.candidates) > 1
    min_support = int(comparison.settings["min_support"])
    table = comparison.finding_table() if findings is None else findings
    sentences: list[str] = []

    overall = table[table["block"] == "overall"]
    for task in comparison.settings["tasks"][: max_sentences - 2]:
        rows = [changes.loc[f.rows[0]] for f in overall[overall["task"] == task].itertuples()]
        if rows:
            sentences.append(_overall_sentence(rows, baseline))

    ok = supported_findings(table, min_support)
    gaps = table[(table["block"] == "gap") & ok]
    slices = table[(table["block"] == "slice") & ok & (table["direction"] == "regressed")]
    room = max_sentences - len(sentences)
    n_gaps = max(1, min(len(gaps), room - 1))
    for _, finding in gaps.head(n_gaps).iterrows():
        row = changes.loc[finding["rows"][0]]
        sentences.append(_gap_sentence(finding, row, baseline=baseline, many=many))
    if gaps.empty:
        compared = changes[(changes["kind"] == "gap") & (changes["status"] == "ok")]
        sentences.append(
            "No change of a gap between groups is supported by the data "
            f"({len(compared):,} gap changes compared on groups of at least {min_support} rows)."
        )
    room = max_sentences - len(sentences)
    for i, (_, finding) in enumerate(slices.head(max(room, 1)).iterrows()):
        row = changes.loc[finding["rows"][0]]
        sentences.append(_slice_sentence(finding, row, baseline=baseline, many=many, first=i == 0))
    if slices.empty:
        better = int(((table["block"] == "slice") & ok & (table["direction"] == "improved")).sum())
        sentences.append(
            "No slice is supported as worse"
            + (f" ({better:,} slice finding(s) improved)" if better else "")
            + f": every slice that did worse is within the noise, or has fewer than "
            f"{min_support} rows."
        )
    return sentences[:max_sentences]
