"""fairaudit.report: the self-contained HTML bias report of an audit.

- :func:`render_report` / :func:`write_report`: one HTML file (figures, CSS and the
  table sorter inline; no request of any kind) with the summary of disparities, the
  dataset audit, per-task metrics, confusion matrices, heatmaps, fairness and
  calibration, the model card, the metadata and a glossary.
- :func:`render_comparison` / :func:`write_comparison_report`: the comparison report
  of model versions (:mod:`fairaudit.report._compare_render`).
- :func:`render_detector_report` / :func:`write_detector_report`: the comparison of
  face detectors on the same images (:mod:`fairaudit.report._detector_render`).
- :func:`write_findings_csv` / :func:`findings_table`: the ranked disparities as CSV;
  :func:`terminal_summary`: the largest supported disparities per task, as text.
- :data:`GLOSSARY`: the definitions the report's glossary shows.
- Building blocks shared with other reports (:mod:`fairaudit.report._html`):
  :func:`environment`, :func:`frame_to_html`, :func:`figure_to_data_uri`,
  :func:`format_interval`.
"""

import importlib
from typing import Any

#: Each public name and the module defining it, imported on first use: the terminal
#: summary (``fairaudit audit``) needs neither the HTML renderers nor what they load.
_MODULES = {
    "findings_table": "fairaudit.report._exports",
    "render_comparison": "fairaudit.report._compare_render",
    "render_detector_report": "fairaudit.report._detector_render",
    "render_report": "fairaudit.report._render",
    "terminal_summary": "fairaudit.report._exports",
    "write_comparison_report": "fairaudit.report._compare_render",
    "write_detector_report": "fairaudit.report._detector_render",
    "write_findings_csv": "fairaudit.report._exports",
    "write_report": "fairaudit.report._render",
}

__all__ = [
    "findings_table",
    "render_comparison",
    "render_detector_report",
    "render_report",
    "terminal_summary",
    "write_comparison_report",
    "write_detector_report",
    "write_findings_csv",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = getattr(importlib.import_module(_MODULES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
