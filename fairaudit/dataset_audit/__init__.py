"""Dataset audit: label distributions, imbalance statistics, intersectional cells.

Everything here derives from joint label counts (:class:`LabelCounts`), so it
runs on a labels table or on aggregate counts alone.
"""

from fairaudit.dataset_audit._counts import LabelCounts
from fairaudit.dataset_audit._dataset_audit import DatasetAudit, audit_dataset
from fairaudit.dataset_audit._embedded import (
    fairface_label_counts,
)
from fairaudit.dataset_audit._imbalance import imbalance_statistics
from fairaudit.dataset_audit._split_comparison import SplitComparison, compare_splits
from fairaudit.dataset_audit._text import format_dataset_audit

__all__ = [
    "DatasetAudit",
    "LabelCounts",
    "SplitComparison",
    "audit_dataset",
    "compare_splits",
    "fairface_label_counts",
    "format_dataset_audit",
    "imbalance_statistics",
]
