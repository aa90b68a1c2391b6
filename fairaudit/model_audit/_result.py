"""AuditResult: the counts of an audit with its views as methods.

:class:`AuditResult` is an :class:`~fairaudit.model_audit._counts.AuditCounts` (the
count tensors, their grouping, merging and saved form) whose methods call the views
of :mod:`~fairaudit.model_audit._views` (metrics, per-class scores, confusion
matrices, fairness, calibration, regression), :mod:`~fairaudit.model_audit._detection_views`
(detection rates and gaps) and :mod:`~fairaudit.model_audit._uncertainty` (bootstrap
intervals, significance tests): one line each, the function holding the documentation.
Those modules build pandas tables, so each method imports its view when called: reading
a saved audit and its counts (all that the gate needs) loads neither them nor pandas.
Every table derives from additive counts, so a result saved to a file can be reported
and compared later, and results of shards add up (``a + b``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from fairaudit.model_audit._counts import AuditCounts
from fairaudit.model_audit._saved_form import AUDIT_FORMAT, AUDIT_FORMAT_VERSION
from fairaudit.model_audit._support import DEFAULT_MIN_SUPPORT, SmallSliceWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "DEFAULT_MIN_SUPPORT",
    "AuditResult",
    "SmallSliceWarning",
]


class AuditResult(AuditCounts):
    """Counts of an audit, with every metric derived from them.

    Build one with :func:`audit_predictions`, :func:`audit_table`,
    :class:`AuditAccumulator` or :func:`audit_dask`; the type is the same whatever
    the input. Results of disjoint shards add up with ``+`` (or :meth:`merge`).
    The constructor and the counts are those of
    :class:`~fairaudit.model_audit._counts.AuditCounts`; each view method below is
    the function it names, applied to this result.

    Parameters
    ----------
    tasks : mapping of str to Vocabulary
        Audited tasks and their classes, e.g. ``{"gender": GENDER, ...}``.
    attributes : mapping of str to Vocabulary
        Sensitive attributes defining the cells (mixed radix, in this order).
    counts : mapping of str to numpy.ndarray
        Per task, int64 counts of shape ``(n_cells, C, C)``.
    calibration : mapping of str to numpy.ndarray, optional
        (stored as ``calibration_sums``)
        Per task, ``(n_cells, n_bins, 3)`` float64 statistics ``[n, correct,
        confidence_sum]`` (see :mod:`fairaudit.model_audit._calibration`).
    regression : mapping of str to numpy.ndarray, optional
        Per regression target (e.g. ``"age_years"``), ``(n_cells, 4)`` float64 sums
        ``[n, error_sum, abs_error_sum, squared_error_sum]`` with
        ``error = predicted - true``.
    n_bins : int, default=15
        Number of confidence bins of the calibration statistics.
    metadata : dict, optional
        JSON-serialisable description (library version, date, data, join report).
    detection : numpy.ndarray, optional
        The detector audit: int64 ``(n_cells, 2)`` = ``[n_images, n_detected]``
        per cell (images of the cell searched, and those where the detector found
        a face). ``tasks`` may be empty when the result holds only this.
    """

    # --------------------------------------------------------- classification
    def metrics(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
        zero_division: float = 0.0,
    ) -> pd.DataFrame:
        """Per-slice classification metrics: :func:`~fairaudit.model_audit._views.metrics_table`."""
        from fairaudit.model_audit._views import metrics_table  # pandas: when used

        return metrics_table(
            self, task, by=by, min_support=min_support, zero_division=zero_division
        )

    def per_class(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
        zero_division: float = 0.0,
    ) -> pd.DataFrame:
        """Per-slice, per-class scores: :func:`~fairaudit.model_audit._views.per_class_table`."""
        from fairaudit.model_audit._views import per_class_table  # pandas: when used

        return per_class_table(
            self, task, by=by, min_support=min_support, zero_division=zero_division
        )

    def confusion_matrix(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        normalize: str | None = None,
    ) -> pd.DataFrame:
        """Confusion matrix of each slice: :func:`~fairaudit.model_audit._views.confusion_table`."""
        from fairaudit.model_audit._views import confusion_table  # pandas: when used

        return confusion_table(self, task, by=by, normalize=normalize)

    def table(
        self,
        task: str,
        *,
        rows: str,
        columns: str,
        metric: str = "accuracy",
        zero_division: float = 0.0,
    ) -> pd.DataFrame:
        """A metric across two attributes: :func:`~fairaudit.model_audit._views.metric_grid`."""
        from fairaudit.model_audit._views import metric_grid  # pandas: when used

        return metric_grid(
            self, task, rows=rows, columns=columns, metric=metric, zero_division=zero_division
        )

    # --------------------------------------------------------------- fairness
    def fairness(
        self,
        task: str,
        *,
        by: str | Sequence[str],
        pos_label: str | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Fairness metrics between groups: :func:`~fairaudit.model_audit._views.fairness_table`."""
        from fairaudit.model_audit._views import fairness_table  # pandas: when used

        return fairness_table(self, task, by=by, pos_label=pos_label, min_support=min_support)

    def disparate_impact(
        self,
        task: str,
        *,
        by: str | Sequence[str],
        reference: str | None = None,
        threshold: float = 0.8,
    ) -> pd.DataFrame:
        """Selection rates against a reference group: :func:`~fairaudit.model_audit._views.disparate_impact_table`."""  # noqa: E501
        from fairaudit.model_audit._views import disparate_impact_table  # pandas: when used

        return disparate_impact_table(self, task, by=by, reference=reference, threshold=threshold)

    # ------------------------------------------------------------ calibration
    def calibration(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """ECE and MCE of each group: :func:`~fairaudit.model_audit._views.calibration_table`."""
        from fairaudit.model_audit._views import calibration_table  # pandas: when used

        return calibration_table(self, task, by=by, min_support=min_support)

    def reliability(self, task: str, *, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Reliability-curve data: :func:`~fairaudit.model_audit._views.reliability_table`."""
        from fairaudit.model_audit._views import reliability_table  # pandas: when used

        return reliability_table(self, task, by=by)

    # ------------------------------------------------------------- regression
    def regression_metrics(
        self,
        target: str = "age_years",
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """MAE, bias and RMSE per slice: :func:`~fairaudit.model_audit._views.regression_table`."""
        from fairaudit.model_audit._views import regression_table  # pandas: when used

        return regression_table(self, target, by=by, min_support=min_support)

    # ------------------------------------------------------------ uncertainty
    def bootstrap(
        self,
        *,
        n_resamples: int = 1000,
        confidence: float = 0.95,
        random_state: int | np.random.Generator | None = None,
        tasks: Sequence[str] | None = None,
        by: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
        pos_label: Mapping[str, str] | None = None,
        batch_size: int = 250,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Bootstrap intervals of every metric and gap: :func:`fairaudit.model_audit.bootstrap_audit`."""  # noqa: E501
        from fairaudit.model_audit._uncertainty import bootstrap_audit  # pandas: when used

        return bootstrap_audit(
            self,
            n_resamples=n_resamples,
            confidence=confidence,
            random_state=random_state,
            tasks=tasks,
            by=by,
            pos_label=pos_label,
            batch_size=batch_size,
            progress=progress,
        )

    def significance(
        self,
        task: str,
        *,
        by: str | Sequence[str],
        alpha: float = 0.05,
        pairs: str = "extreme",
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Tests of the gaps between groups: :func:`fairaudit.model_audit.gap_significance`."""
        from fairaudit.model_audit._uncertainty import gap_significance  # pandas: when used

        return gap_significance(
            self, task, by=by, alpha=alpha, pairs=pairs, min_support=min_support
        )

    # -------------------------------------------------------------- detection
    def detection_rates(
        self,
        *,
        by: str | Sequence[str] | None = None,
        confidence: float = 0.95,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Detection rate per group: :func:`~fairaudit.model_audit._detection_views.detection_rate_table`."""  # noqa: E501
        from fairaudit.model_audit._detection_views import detection_rate_table  # pandas: when used

        return detection_rate_table(self, by=by, confidence=confidence, min_support=min_support)

    def detection_gaps(
        self, *, by: str | Sequence[str], min_support: int = DEFAULT_MIN_SUPPORT
    ) -> pd.DataFrame:
        """Detection-rate gap and test: :func:`~fairaudit.model_audit._detection_views.detection_gap_table`."""  # noqa: E501
        from fairaudit.model_audit._detection_views import detection_gap_table  # pandas: when used

        return detection_gap_table(self, by=by, min_support=min_support)
