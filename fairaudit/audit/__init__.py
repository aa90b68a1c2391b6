"""Dataset audit: label distributions, imbalance statistics, intersectional cells.

Everything here derives from joint label counts (:class:`LabelCounts`), so it
runs on a labels table or on aggregate counts alone.
"""

from fairaudit.audit._compare import SplitComparison, compare_splits
from fairaudit.audit._counts import LabelCounts
from fairaudit.audit._dataset_audit import DatasetAudit, audit_dataset
from fairaudit.audit._embedded import (
    fairface_label_counts,
)
from fairaudit.audit._format import format_dataset_audit, format_split_comparison
from fairaudit.audit._imbalance import IMBALANCE_STATISTICS, imbalance_statistics
from fairaudit.audit._plots import plot_distributions, plot_joint_heatmap

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
