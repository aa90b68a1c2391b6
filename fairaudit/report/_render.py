"""The self-contained HTML bias report of an audit: :func:`render_report`, :func:`write_report`.

One HTML file, opened from disk: CSS and the table sorter inline, figures as
``data:`` URIs, a Content-Security-Policy that forbids any request. Its sections:

1. summary: the largest disparities ranked by size with bootstrap intervals and
   Holm-adjusted p-values, slices too small to judge, four-fifths-rule failures;
2. dataset: the audited rows' label distributions, imbalance statistics and joint
   counts (:mod:`fairaudit.dataset_audit`, from the audit's per-cell support);
3. one section per task: overall metrics, metrics per group with intervals,
   per-class scores, confusion matrices (overall and per chosen attribute),
   accuracy heatmaps across attribute pairs with intervals, fairness metrics and
   their tests, four-fifths table, calibration per group;
4. face detection (when the audit holds a detector audit), regression targets;
5. the model card, the audit metadata and a glossary of every metric.

Every number comes from the :class:`~fairaudit.model_audit.AuditResult` methods; the
tables are the figures' data, readable without them. Each section is built by its
module of :mod:`fairaudit.report.sections`; this module checks the options and
assembles the page.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The report's p-value grids need SciPy's compiled beta quantiles; loaded before any
# bound is computed, they give every exact bound of the page (functional._beta).
import scipy.special  # noqa: F401

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, SmallSliceWarning
from fairaudit.report._card import resolve_model_card
from fairaudit.report._glossary import glossary_entries
from fairaudit.report._html import environment, short_description
from fairaudit.report._options import check_attributes, default_heatmaps, resolve_heatmaps
from fairaudit.report.sections import (
    ReportContext,
    build_dataset,
    build_detection,
    build_metadata,
    build_model_card,
    build_overview,
    build_regression,
    build_summary,
    build_tasks,
    task_random_state,
)
from fairaudit.report.sections._gender_shades import build_gender_shades
from fairaudit.report.sections._suspect_labels import build_suspect_labels

__all__ = ["default_heatmaps", "render_report", "task_random_state", "write_report"]


def render_report(
    audit: AuditResult,
    *,
    title: str | None = None,
    model_card: Mapping[str, Any] | None = None,
    confusion_by: Sequence[str] = ("gender",),
    heatmaps: Mapping[str, Sequence[Sequence[str]]] | Sequence[Sequence[str]] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | None = 0,
    min_support: int = 30,
    suspect_labels: pd.DataFrame | None = None,
) -> str:
    """Render the self-contained HTML bias report of an audit.

    Parameters
    ----------
    audit : AuditResult
        The audit (e.g. :meth:`AuditResult.load` of a saved one).
    title : str, optional
        Title of the page (default: "Bias audit" and the audit's description).
    model_card : mapping, optional
        A model card, as a plain mapping (the JSON object of a card, e.g. a
        shipped model's). Default: none shown. The report never looks a card up:
        the command line, the demo and the app pass the card of the shipped model
        the audit names (``audit.metadata["model"]``).
    confusion_by : sequence of str, default=("gender",)
        Attributes whose groups each get a confusion matrix (beside the overall one)
        and a reliability curve (the first attribute).
    heatmaps : sequence of (str, str) or mapping of task to them, optional
        Attribute pairs (rows, columns) of the accuracy heatmaps, for every task or
        per task. Default: :func:`default_heatmaps` (gender accuracy by age x race,
        age accuracy by gender x race, race accuracy by gender x age).
    n_resamples : int, default=1000
        Bootstrap replicates of the intervals.
    confidence : float, default=0.95
        Level of the bootstrap intervals.
    random_state : int, optional, default=0
        Bootstrap seed; task ``i`` is resampled by :func:`task_random_state`.
        ``None``: different intervals at each call.
    min_support : int, default=30
        Slices with fewer rows are marked "small" (too few to judge) and listed.
    suspect_labels : pandas.DataFrame, optional
        The rate of suspect labels per group of the audited rows
        (:attr:`~fairaudit.dataset_audit.DatasetAudit.suspect_labels` of
        ``audit_dataset(labels, label_issues=..., near_duplicates=...)``), shown after
        the dataset section. Default: no such section.

    Returns
    -------
    str
        The HTML document. Every user-provided text (names, metadata, title, card)
        is escaped.

    Raises
    ------
    DataValidationError
        If the audit has no task or no row, if ``confusion_by`` or ``heatmaps`` name
        attributes the audit does not have, or if the model card's tasks do not match.
    """
    if not isinstance(audit, AuditResult):
        raise DataValidationError(f"render_report takes an AuditResult, not {type(audit).__name__}")
    has_detection = bool(getattr(audit, "has_detection", False))
    if not audit.tasks and not has_detection:
        raise DataValidationError(
            "the audit has no task and no detector audit: there is nothing to report"
        )
    n_rows = audit.n_rows if audit.tasks else int(audit.grouped_detection()[0])
    if n_rows == 0:
        raise DataValidationError("the audit has no row: there is nothing to report")
    if isinstance(confusion_by, str):
        confusion_by = (confusion_by,)
    check_attributes(audit, list(confusion_by), "confusion_by")
    if not isinstance(min_support, int | np.integer) or min_support < 0:
        raise DataValidationError(
            f"min_support must be a non-negative integer, got {min_support!r}"
        )
    if random_state is not None and (
        not isinstance(random_state, int | np.integer) or random_state < 0
    ):
        raise DataValidationError(
            f"random_state must be a non-negative integer or None, got {random_state!r}"
        )
    resolved_heatmaps = resolve_heatmaps(audit, heatmaps)
    card = resolve_model_card(audit, model_card)
    description = str(audit.metadata.get("description") or "")
    model = str(audit.metadata.get("model") or (card or {}).get("name") or "")
    data_name = short_description(description)
    if title is None:
        title = "Bias audit" + (f" of {model}" if model else "")
        title += f" on {data_name}" if data_name else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSliceWarning)
        ctx = ReportContext(
            audit,
            confusion_by=list(confusion_by),
            heatmaps=resolved_heatmaps,
            n_resamples=int(n_resamples),
            confidence=float(confidence),
            random_state=None if random_state is None else int(random_state),
            min_support=int(min_support),
        )
        context = {
            "title": str(title),
            "model": model,
            "data_name": data_name,
            "description": description,
            "audit": audit,
            "n_rows": n_rows,
            "left_out": _left_out_text(audit.metadata.get("left_out")),
            "ci": ctx.ci,
            "level": ctx.level,
            "fdr": f"{1 - ctx.confidence:.0%}",
            "min_support": ctx.min_support,
            "n_resamples": ctx.n_resamples,
            "overview": build_overview(ctx, ctx.disparities),
            "summary": build_summary(ctx),
            "dataset": build_dataset(ctx),
            "tasks": build_tasks(ctx),
            "regression": build_regression(ctx),
            "detection": build_detection(ctx),
            "card": build_model_card(card),
            "metadata": build_metadata(ctx),
            "glossary": glossary_entries(),
            "library_version": __version__,
            "gender_shades": build_gender_shades(ctx),
            "suspect_labels": build_suspect_labels(ctx, suspect_labels),
        }
    return environment().get_template("report.html.j2").render(**context)


def write_report(audit: AuditResult, path: str | os.PathLike[str], **options: Any) -> Path:
    """Render the report (:func:`render_report`, same options) and write it atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    html = render_report(audit, **options)
    return atomic_write_text(Path(path), html)


def _left_out_text(left_out: object) -> str | None:
    """The rows the audit left out, in words (None when the audit does not say)."""
    if not isinstance(left_out, dict):
        return None
    parts = [
        f"{n:,} with status {status!r}"
        for status, n in sorted((left_out.get("status") or {}).items())
        if n
    ]
    words = {
        "labels_without_prediction": "label row(s) without a prediction",
        "predictions_without_label": "prediction row(s) without a label",
    }
    parts += [f"{left_out[key]:,} {text}" for key, text in words.items() if left_out.get(key)]
    return "rows left out: " + "; ".join(parts) if parts else "no row left out"
