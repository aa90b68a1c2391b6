"""A task's calibration: ECE with its interval and verdict per group, and the reliability diagram.

Each table row is a claim of :func:`fairaudit.claims._calibration.calibration_claims`:
the ECE, its interval (exact per confidence bin, Bonferroni over the group's non-empty
bins) and whether the data show accuracy differing from confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairaudit.claims._calibration import CALIBRATION_VERDICTS, calibration_claims
from fairaudit.report._charts import line_chart
from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext, is_own_attribute, status_classes

__all__ = ["OWN_LABEL_VERDICT", "build_calibration", "verdict_sentence"]

#: Verdict of the groups of a task's own true label: calibration conditions on the
#: confidence, not on the truth; within a true class accuracy is that class's recall,
#: which a calibrated model need not match to its confidence.
OWN_LABEL_VERDICT = "not judged: own label"


def _claims_frame(
    ctx: ReportContext, task: str, by: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The calibration view of ``task`` by ``by``, its ``status`` replaced by the claim.

    Columns: the ``by`` columns, ``support``, ``ece``, ``ece CI low``, ``ece CI high``,
    ``verdict``, ``mce``, ``mean_confidence``, ``accuracy`` and, for the row classes
    only, ``status``; and the per-bin statistics of its rows, shape ``(rows, bins, 3)``.
    """
    frame = ctx.audit.calibration(task, by=list(by) or None, min_support=ctx.min_support)
    stats = ctx.audit.calibration_stats(task, by=list(by) or None)
    stats = stats.reshape(-1, *stats.shape[-2:])
    claims = calibration_claims(
        stats,
        min_support=ctx.min_support,
        confidence=ctx.confidence,
    )
    at = frame.columns.get_loc("ece") + 1
    frame.insert(at, "ece CI low", claims["ece_lower"])
    frame.insert(at + 1, "ece CI high", claims["ece_upper"])
    frame.insert(at + 2, "verdict", claims["verdict"])
    for column in by:
        frame[column] = frame[column].astype(str)
    return frame, stats


def bound_text(value: float) -> str:
    """An ECE bound to 3 decimals, or to 2 significant digits when it is above 0 but
    under 0.0005 (so that a lower bound above 0, a miscalibration, never reads 0.000).

    Examples
    --------
    >>> bound_text(0.0), bound_text(0.000384), bound_text(0.0412)
    ('0.000', '0.00038', '0.041')
    """
    return f"{value:.2g}" if 0 < value < 0.0005 else f"{value:.3f}"


def _table(ctx: ReportContext, frame: pd.DataFrame, *, caption: str, table_id: str) -> str:
    """A calibration table: small and empty groups marked, the status column left out."""
    return frame_to_html(
        frame.drop(columns="status"),
        caption=caption,
        table_id=ctx.unique_id(table_id),
        row_classes=status_classes(frame["status"]),
        column_formats={"ece CI low": bound_text, "ece CI high": bound_text},
    )


def build_calibration(ctx: ReportContext, task: str, tid: str) -> dict[str, Any] | None:
    """Calibration tables and reliability diagram of ``task``; None without its statistics."""
    if task not in ctx.audit.calibration_sums:
        return None
    how = (
        f"ECE with its {ctx.level} interval (exact interval of each confidence bin's "
        "accuracy, Bonferroni over the non-empty bins); miscalibrated: some bin's accuracy "
        f"interval excludes its mean confidence; groups under {ctx.min_support} rows are "
        "not judged"
    )
    overall, _ = _claims_frame(ctx, task, ())
    tables = [
        _table(
            ctx,
            overall,
            caption=f"Calibration of {task}, all rows: {how}",
            table_id=f"table-{tid}-calibration",
        )
    ]
    judged: list[tuple[str, pd.Series, np.ndarray]] = []
    for attribute in ctx.attributes:
        frame, stats = _claims_frame(ctx, task, (attribute,))
        caption = f"Calibration of {task} by {attribute}: {how} (each row at its own level)"
        if is_own_attribute(ctx.audit, task, attribute):
            frame["verdict"] = OWN_LABEL_VERDICT
            caption += (
                "; grouped by its own true label, no row is judged: within a true class "
                "accuracy is that class's recall, which calibration does not promise to "
                "match the confidence"
            )
        else:
            keep = (frame["verdict"] != CALIBRATION_VERDICTS[2]).to_numpy()
            judged.append((attribute, frame[attribute][keep], stats[keep]))
        tables.append(
            _table(ctx, frame, caption=caption, table_id=f"table-{tid}-calibration-{attribute}")
        )
    flagged = _flagged_together(ctx, judged)
    curves = [("all rows", ctx.audit.reliability(task))]
    by = ctx.confusion_by[0] if ctx.confusion_by else None
    if by is not None:
        reliability = ctx.audit.reliability(task, by=by)
        for group in ctx.audit.attributes[by].classes:
            curves.append((f"{by} = {group}", reliability[reliability[by] == group]))
    kept = [(name, frame[frame["n"] > 0]) for name, frame in curves]
    figure = {
        "svg": line_chart(
            [
                (name, f["mean_confidence"].to_numpy(float), f["accuracy"].to_numpy(float))
                for name, f in kept
            ],
            label=f"Reliability diagram of {task}"
            + (f", overall and per {by}" if by is not None else ""),
            x_title="mean confidence (per bin)",
            y_title="accuracy (per bin)",
        ),
        "caption": (
            f"Accuracy against mean confidence in each of the {ctx.audit.n_bins} "
            "confidence bins (empty bins left out); the dashed diagonal is perfect calibration."
        ),
    }
    return {
        "tables": tables,
        "figure": figure,
        "verdict": verdict_sentence(ctx, task, overall.iloc[0], flagged),
    }


def _flagged_together(
    ctx: ReportContext, judged: list[tuple[str, pd.Series, np.ndarray]]
) -> list[str]:
    """Groups shown miscalibrated when all judged groups are judged together.

    The per-group tables judge each row at the report's level; the sentence of the
    main body names a group only when its claim holds at ``1 - alpha / G``
    (Bonferroni over the ``G`` groups judged, every attribute together), so that
    the groups it names are all miscalibrated with probability at least ``1 - alpha``.
    """
    size = sum(len(groups) for _, groups, _ in judged)
    if size == 0:
        return []
    level = 1.0 - (1.0 - ctx.confidence) / size
    flagged = []
    for attribute, groups, stats in judged:
        claims = calibration_claims(stats, min_support=ctx.min_support, confidence=level)
        flagged += [
            f"{attribute} = {group}"
            for group, verdict in zip(groups, claims["verdict"], strict=True)
            if verdict == CALIBRATION_VERDICTS[0]
        ]
    return flagged


def verdict_sentence(ctx: ReportContext, task: str, overall: pd.Series, flagged: list[str]) -> str:
    """The calibration claim of ``task`` in one sentence: all rows, then the groups flagged.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ctx = SimpleNamespace(level="95%")
    >>> row = pd.Series({"verdict": "miscalibrated", "ece": 0.16, "ece CI low": 0.12,
    ...                  "ece CI high": 0.2})
    >>> verdict_sentence(ctx, "age", row, ["race = Black"])  # doctest: +NORMALIZE_WHITESPACE
    'Calibration of age, all rows: miscalibrated (ECE 0.160, 95% interval 0.120 to 0.200).
    Groups whose accuracy differs from their confidence (judged together at 95%): race = Black.'
    """
    sentence = (
        f"Calibration of {task}, all rows: {overall['verdict']} (ECE {overall['ece']:.3f}, "
        f"{ctx.level} interval {bound_text(overall['ece CI low'])} to "
        f"{bound_text(overall['ece CI high'])})."
    )
    if flagged:
        sentence += (
            " Groups whose accuracy differs from their confidence (judged together at "
            f"{ctx.level}): {', '.join(flagged)}."
        )
    else:
        sentence += " No group shows accuracy differing from its confidence."
    return sentence
