"""The verdict: three to five sentences a reviewer reads first, built from the claims.

Every sentence restates a claim of :mod:`fairaudit.claims` (a supported gap of
:func:`~fairaudit.findings.rank_disparities`, a discovered slice of
:func:`~fairaudit.findings.worst_slices`), ranked by what the data support (the lower
bound of the gap), with who, which task and rate, the gap with its interval and the rows
behind it; a task where nothing is supported gets the smallest gap its data could have
shown, so that "nothing found" is never read as "nothing there".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairaudit.functional._registry import GAP_METRICS

__all__ = ["verdict_sentences"]

_RATE_WORDS = {
    "accuracy": "accuracy",
    "selection_rate": "selection rate",
    "tpr": "recall",
    "fpr": "false positive rate",
    "tpr+fpr": "recall",
}


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _rate_subject(row: pd.Series) -> str:
    rate = _RATE_WORDS.get(str(GAP_METRICS[row["metric"]].rate), "rate")
    return f"{rate} of {row['class']}" if row["class"] else rate


def _gap_sentence(row: pd.Series) -> str:
    worse = "higher" if GAP_METRICS[row["metric"]].rate == "fpr" else "lower"
    low, high = (row["low_group"], row["high_group"])
    low_rate, high_rate, low_n, high_n = (
        row["low_rate"],
        row["high_rate"],
        row["low_n"],
        row["high_n"],
    )
    if worse == "higher":  # a false positive rate is worse when higher
        low, high, low_rate, high_rate, low_n, high_n = (
            high, low, high_rate, low_rate, high_n, low_n,
        )  # fmt: skip
    return (
        f"{row['task'].capitalize()}: the {_rate_subject(row)} is {worse} for "
        f"{row['attribute']} {low} ({_points(low_rate)}%, {int(low_n):,} rows) than for "
        f"{high} ({_points(high_rate)}%, {int(high_n):,} rows), a gap of "
        f"{_points(row['gap'])} points, at least {_points(row['gap_lower'])} "
        f"({row['level']:.1%} interval {_points(row['gap_lower'])} to "
        f"{_points(row['gap_upper'])})."
    )


def _slice_sentence(task: str, row: pd.Series) -> str:
    where = row["slice"].replace("=", " ").replace(" & ", " and ")
    return (
        f"{task.capitalize()}: accuracy is lowest for {where} ({_points(row['rate'])}% of "
        f"{int(row['n']):,} rows against {_points(row['rest_rate'])}% for the rest), a "
        f"shortfall of at least {_points(row['ci_low'])} points."
    )


def verdict_sentences(
    disparities: pd.DataFrame,
    *,
    tasks: list[str],
    slices: Mapping[str, pd.DataFrame] | None = None,
    max_sentences: int = 5,
) -> list[str]:
    """The report's verdict: the best-supported findings, in plain sentences.

    Parameters
    ----------
    disparities : pandas.DataFrame
        :func:`~fairaudit.findings.rank_disparities` of the audit.
    tasks : list of str
        The audit's tasks (a task without any supported finding gets a sentence on
        what its data could have shown).
    slices : mapping of str to pandas.DataFrame, optional
        :func:`~fairaudit.findings.worst_slices` of each task's accuracy.
    max_sentences : int, default=5

    Returns
    -------
    list of str
        The first sentence is the supported gap with the largest lower bound (the
        largest disparity the data support), if any.
    """
    sentences: list[str] = []
    supported = disparities[disparities["supported"]]
    shown_tasks: set[str] = set()
    for _, row in supported.iterrows():
        if len(sentences) >= min(3, max_sentences):
            break
        if row["task"] in shown_tasks and len(set(supported["task"])) > len(shown_tasks):
            continue  # first one finding per task, the strongest
        sentences.append(_gap_sentence(row))
        shown_tasks.add(row["task"])
    for task, table in (slices or {}).items():
        if len(sentences) >= max_sentences:
            break
        kept = table[table["discovered"] & (table["pruned_by"] == "")]
        if len(kept):
            sentence = _slice_sentence(task, kept.iloc[0])
            if sentence not in sentences:
                sentences.append(sentence)
    for task in tasks:
        if len(sentences) >= max_sentences:
            break
        rows = disparities[disparities["task"] == task]
        if len(rows) and not rows["supported"].any():
            detectable = rows["detectable"].min()
            text = f"{task.capitalize()}: no gap between groups is supported by the data"
            if np.isfinite(detectable):
                text += (
                    f"; they could have shown a gap of {_points(detectable)} points or more "
                    "(80% power), so smaller gaps may exist."
                )
            sentences.append(text if text.endswith(".") else text + ".")
    if not sentences:
        sentences.append("No gap between groups could be judged: too few rows per group.")
    return sentences[:max_sentences]
