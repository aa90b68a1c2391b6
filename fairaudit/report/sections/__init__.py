"""The sections of the audit report, one module each, in page order.

1. :mod:`._summary`: the largest disparities ranked by size with bootstrap
   intervals and Holm-adjusted p-values, slices too small to judge, four-fifths-rule
   failures;
2. :mod:`._dataset`: the audited rows' label distributions, imbalance statistics
   and joint counts;
3. :mod:`._task`, one per task: overall metrics, metrics per group with intervals,
   per-class scores, confusion matrices, accuracy heatmaps; with its fairness
   (:mod:`._fairness`: gaps, tests, four-fifths table) and calibration
   (:mod:`._calibration`);
4. :mod:`._detection`: face detection (when the audit holds a detector audit) and
   regression targets;
5. :mod:`._card`: the model card and the metadata; the glossary is
   :func:`fairaudit.report.glossary_entries`.

Each ``build_*`` function takes the :class:`ReportContext` of one render (the
audit, the options, the bootstrap intervals drawn once) and returns its part of the
template context; :func:`fairaudit.report.render_report` assembles them.
"""

from fairaudit.report.sections._card import build_metadata, build_model_card
from fairaudit.report.sections._context import ReportContext, task_random_state
from fairaudit.report.sections._dataset import build_dataset
from fairaudit.report.sections._detection import build_detection
from fairaudit.report.sections._overview import build_overview, default_grids
from fairaudit.report.sections._regression import build_regression
from fairaudit.report.sections._summary import build_summary
from fairaudit.report.sections._task import build_tasks

__all__ = [
    "ReportContext",
    "build_dataset",
    "build_detection",
    "build_metadata",
    "build_model_card",
    "build_overview",
    "build_regression",
    "build_summary",
    "build_tasks",
    "default_grids",
    "task_random_state",
]
