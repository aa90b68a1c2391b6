"""Views of a detector audit: detection rate per group and the gap between groups.

Functions of the detection counts of an
:class:`~fairaudit.model_audit._counts.AuditCounts` (``detection[cell] = [n_images,
n_detected]``); :class:`~fairaudit.model_audit.AuditResult` calls them as
``detection_rates`` and ``detection_gaps``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.claims import rate_interval
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import normalize_by
from fairaudit.functional._detection import detection_gap
from fairaudit.model_audit._counts import AuditCounts, group_frame
from fairaudit.model_audit._views import DEFAULT_MIN_SUPPORT, slice_status, warn_small_slices

__all__ = ["detection_gap_table", "detection_rate_table"]


def detection_rate_table(
    result: AuditCounts,
    *,
    by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> pd.DataFrame:
    """Face detection rate of each group, with its exact interval.

    Parameters
    ----------
    result : AuditResult
        The audit.
    by : str or sequence of str, optional
        Sensitive attribute(s) defining the groups; ``None`` gives one overall row.
    confidence : float, default=0.95
        Coverage of the interval.
    min_support : int, default=30
        Groups with fewer images get ``status="small"`` (``"empty"`` without any).

    Returns
    -------
    pandas.DataFrame
        One row per group (every combination of the ``by`` classes, empty ones
        included): the ``by`` columns, ``n`` (images), ``detected`` (images
        with at least one face found), ``rate = detected / n``, ``ci_low``,
        ``ci_high`` (:func:`fairaudit.claims.rate_interval`, the inference layer's
        interval of a rate: exact) and
        ``status``. Rate and interval are NaN for empty groups.

    Raises
    ------
    DataValidationError
        The result has no detector audit, or ``by`` names an unknown attribute.
    """
    by_t = normalize_by(by, list(result.attributes))
    pairs = result.grouped_detection(by=by_t).reshape(-1, 2)
    n, detected = pairs[:, 0], pairs[:, 1]
    frame = group_frame(result.attributes, by_t)
    frame["n"] = n.astype(np.int64)
    frame["detected"] = detected.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rate"] = np.where(n > 0, detected / np.where(n > 0, n, 1), np.nan)
    frame["ci_low"], frame["ci_high"] = rate_interval(detected, n, confidence=confidence)
    frame["status"] = slice_status(n, min_support)
    warn_small_slices(n, min_support, f"detection by {list(by_t) or 'overall'}")
    return frame


def detection_gap_table(
    result: AuditCounts, *, by: str | Sequence[str], min_support: int = DEFAULT_MIN_SUPPORT
) -> pd.DataFrame:
    """The gap in detection rate between groups, and a test of homogeneity.

    Only groups with at least ``min_support`` images are judged; smaller
    ones are counted in ``small_groups``.

    Parameters
    ----------
    result : AuditResult
        The audit.
    by : str or sequence of str
        Attribute(s) whose classes (or intersections) are the groups.
    min_support : int, default=30

    Returns
    -------
    pandas.DataFrame
        One row: ``by`` (attributes joined by ``" x "``), ``low_group``,
        ``high_group`` (names as :meth:`AuditCounts.group_names` writes them; ``""`` when
        fewer than two groups are judged), ``low_rate``, ``high_rate``,
        ``difference = high_rate - low_rate``, ``ratio = low_rate /
        high_rate``, ``p_value`` (Pearson's chi-square test of homogeneity
        over the judged groups x [detected, missed], no continuity
        correction; 1.0 when every rate is 0 or 1), ``n_groups`` (judged)
        and ``small_groups``. Values are NaN when ``n_groups < 2``.
    """
    by_t = normalize_by(by, list(result.attributes))
    if not by_t:
        raise DataValidationError("detection_gaps needs at least one attribute in by")
    pairs = result.grouped_detection(by=by_t).reshape(-1, 2)
    gap = detection_gap(pairs[:, 0], pairs[:, 1], min_support=min_support)
    names = result.group_names(by_t)
    return pd.DataFrame(
        {
            "by": [" x ".join(by_t)],
            "low_group": [names[gap.low] if gap.n_groups >= 2 else ""],
            "high_group": [names[gap.high] if gap.n_groups >= 2 else ""],
            "low_rate": [gap.low_rate],
            "high_rate": [gap.high_rate],
            "difference": [gap.difference],
            "ratio": [gap.ratio],
            "p_value": [gap.p_value],
            "n_groups": [gap.n_groups],
            "small_groups": [gap.small_groups],
        }
    )
