"""Comparison of two splits' label distributions (e.g. train vs val)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.dataset_audit._dataset_audit import DatasetAudit, _jsonable
from fairaudit.exceptions import DataValidationError

__all__ = ["SplitComparison", "compare_splits"]


@dataclass(frozen=True)
class SplitComparison:
    """Result of :func:`compare_splits`.

    Attributes
    ----------
    a, b : DatasetAudit
        The two audited splits.
    statistics : pandas.DataFrame
        Imbalance statistics side by side: rows ``(attribute, split)``.
    tests : pandas.DataFrame
        One row per attribute and one for the joint distribution of all
        attributes: chi-square test of homogeneity (``chi2``, ``dof``,
        ``p_value``), ``js_divergence_bits`` (Jensen-Shannon divergence, base 2,
        in [0, 1]), ``total_variation`` (half the L1 distance of the proportions)
        and ``cells_dropped`` (cells empty in both splits, left out of the test).
    """

    a: DatasetAudit
    b: DatasetAudit
    statistics: pd.DataFrame
    tests: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form of both tables."""
        return {
            "splits": [self.a.name, self.b.name],
            "statistics": [
                {"attribute": a, "split": s, **{k: _jsonable(v) for k, v in row.items()}}
                for (a, s), row in self.statistics.iterrows()
            ],
            "tests": [
                {"distribution": d, **{k: _jsonable(v) for k, v in row.items()}}
                for d, row in self.tests.iterrows()
            ],
        }


def _homogeneity(count_a: np.ndarray, count_b: np.ndarray) -> dict[str, float]:
    # scipy lazily: importing it costs about a second of CPU
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    table = np.vstack([count_a.ravel(), count_b.ravel()]).astype(np.float64)
    keep = table.sum(axis=0) > 0
    table = table[:, keep]
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    if table.shape[1] < 2:
        chi2, p_value, dof = 0.0, 1.0, 0
    else:
        result = chi2_contingency(table, correction=False)
        chi2, p_value, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    return {
        "chi2": chi2,
        "dof": dof,
        "p_value": p_value,
        "js_divergence_bits": float(jensenshannon(p, q, base=2) ** 2),
        "total_variation": float(0.5 * np.abs(p - q).sum()),
        "cells_dropped": int((~keep).sum()),
    }


def compare_splits(a: DatasetAudit, b: DatasetAudit) -> SplitComparison:
    """Compare the label distributions of two audited splits.

    Parameters
    ----------
    a, b : DatasetAudit
        Audits of the two splits over the same attributes and vocabularies.

    Returns
    -------
    SplitComparison

    Raises
    ------
    DataValidationError
        If the audits cover different attributes or class vocabularies.

    Notes
    -----
    The chi-square test (no continuity correction) asks whether both splits
    draw their labels from one distribution. With tens of thousands of rows even
    a negligible difference is "significant", so read it beside the effect
    sizes: the Jensen-Shannon divergence and the total variation distance.
    """
    if a.counts.vocabularies != b.counts.vocabularies:
        raise DataValidationError(
            f"cannot compare {a.name!r} and {b.name!r}: different attributes or classes"
        )
    statistics = (
        pd.concat({a.name: a.imbalance(), b.name: b.imbalance()}, names=["split", "attribute"])
        .swaplevel()
        .sort_index(level=0, sort_remaining=False)
    )
    statistics = statistics.reindex(
        pd.MultiIndex.from_product(
            [list(a.attributes), [a.name, b.name]], names=["attribute", "split"]
        )
    )
    rows = {
        attr: _homogeneity(a.counts.marginal(attr).to_numpy(), b.counts.marginal(attr).to_numpy())
        for attr in a.attributes
    }
    if len(a.attributes) > 1:
        rows[" x ".join(a.attributes)] = _homogeneity(a.counts.array, b.counts.array)
    tests = pd.DataFrame(rows).T
    tests.index.name = "distribution"
    tests = tests.astype({"dof": "int64", "cells_dropped": "int64"})
    return SplitComparison(a=a, b=b, statistics=statistics, tests=tests)
