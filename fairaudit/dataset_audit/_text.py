"""Plain-text rendering of dataset audits for the terminal."""

from __future__ import annotations

import pandas as pd

from fairaudit.dataset_audit._dataset_audit import DatasetAudit
from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS
from fairaudit.dataset_audit._split_comparison import SplitComparison

__all__ = ["format_dataset_audit", "format_split_comparison", "format_suspect_labels"]


def _table(frame: pd.DataFrame, decimals: int) -> str:
    with pd.option_context(
        "display.width",
        200,
        "display.max_columns",
        50,
        "display.max_rows",
        500,
        "display.float_format",
        f"{{:.{decimals}f}}".format,
    ):
        return frame.to_string()


def format_dataset_audit(audit: DatasetAudit, *, decimals: int = 6, n_smallest: int = 10) -> str:
    """Readable text of a dataset audit: imbalance, distributions, smallest cells.

    Parameters
    ----------
    audit : DatasetAudit
        The audit to render.
    decimals : int, default=6
        Decimals printed for every statistic.
    n_smallest : int, default=10
        How many of the smallest intersectional cells to list.
    """
    imbalance = audit.imbalance()
    main = imbalance[["n", *IMBALANCE_STATISTICS]]
    extra = imbalance[["imbalance_ratio", "normalized_entropy"]]
    parts = [
        f"== {audit.name}: {audit.n:,} rows ==",
        "",
        "Imbalance statistics (ratio = a class's share of the rows; cv = population std / mean",
        "of the class counts; entropy in bits; gini = 1 - sum p^2):",
        _table(main, decimals),
        "",
        _table(extra, decimals),
    ]
    for attribute in audit.attributes:
        parts += [
            "",
            f"Distribution of {attribute}:",
            _table(audit.distribution(attribute), decimals),
        ]
    for rows, columns in [
        (a, b) for i, a in enumerate(audit.attributes) for b in audit.attributes[i + 1 :]
    ]:
        parts += ["", f"Joint counts {rows} x {columns}:", _table(audit.joint([rows, columns]), 0)]
    cells = audit.cells()
    n_small = int(cells["small"].sum())
    parts += [
        "",
        f"Smallest intersectional cells ({' x '.join(audit.attributes)}); "
        f"{n_small} of {len(cells)} cells hold fewer than {audit.min_cell_count} rows "
        "(small = True):",
        _table(audit.smallest_cells(n_smallest), decimals),
    ]
    if audit.suspect_labels is not None:
        parts += ["", *format_suspect_labels(audit, decimals=decimals)]
    return "\n".join(parts)


def format_suspect_labels(audit: DatasetAudit, *, decimals: int = 6) -> list[str]:
    """The lines of the suspect-label rates per group (none without them)."""
    if audit.suspect_labels is None:
        return []
    words = {
        "label_issue": "likely label errors (confident learning on out-of-sample probabilities)",
        "near_duplicate_conflict": "rows in a near-duplicate pair whose labels disagree",
    }
    parts = ["Suspect labels per group (rate with its exact interval, each unadjusted):"]
    for kind, rows in audit.suspect_labels.groupby("kind", sort=False):
        notes = (audit.suspect_notes or {}).get(str(kind), {})
        said = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in notes.items())
        parts += ["", f"{kind}: {words.get(str(kind), str(kind))}" + (f" ({said})" if said else "")]
        table = rows.drop(columns="kind").set_index(["attribute", "group"])
        parts.append(_table(table, decimals))
    return parts


def format_split_comparison(comparison: SplitComparison, *, decimals: int = 6) -> str:
    """Readable text of a split comparison: statistics side by side and the tests."""
    stats = comparison.statistics[["n", *IMBALANCE_STATISTICS]]
    return "\n".join(
        [
            f"== {comparison.a.name} vs {comparison.b.name} ==",
            "",
            _table(stats, decimals),
            "",
            "Do the splits share one label distribution? (chi-square test of homogeneity;",
            "Jensen-Shannon divergence in bits and total variation as effect sizes)",
            _table(comparison.tests, decimals),
        ]
    )
