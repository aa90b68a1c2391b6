"""Dataset audit: label distributions, imbalance statistics, intersectional cells.

Everything here derives from joint label counts (:class:`LabelCounts`), so it
runs on a labels table or on aggregate counts alone.
"""

from fairaudit.dataset_audit._counts import LabelCounts
from fairaudit.dataset_audit._dataset_audit import DatasetAudit, audit_dataset
from fairaudit.dataset_audit._embedded import (
    fairface_label_counts,
)
from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS, imbalance_statistics
from fairaudit.dataset_audit._plots import plot_distributions, plot_joint_heatmap
from fairaudit.dataset_audit._split_comparison import SplitComparison, compare_splits
from fairaudit.dataset_audit._text import format_dataset_audit, format_split_comparison

__all__ = [
    "IMBALANCE_STATISTICS",
    "DatasetAudit",
    "LabelCounts",
    "SplitComparison",
    "audit_dataset",
    "compare_splits",
    "fairface_label_counts",
    "format_dataset_audit",
    "format_split_comparison",
    "imbalance_statistics",
    "plot_distributions",
    "plot_joint_heatmap",
]
