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

from fairaudit.report._card import resolve_model_card
from fairaudit.report._compare_render import render_comparison, write_comparison_report
from fairaudit.report._detector_render import render_detector_report, write_detector_report
from fairaudit.report._exports import findings_table, terminal_summary, write_findings_csv
from fairaudit.report._glossary import GLOSSARY, glossary_entries
from fairaudit.report._html import (
    content_security_policy,
    environment,
    figure_to_data_uri,
    format_interval,
    format_number,
    format_p_value,
    frame_to_html,
    inline_script,
)
from fairaudit.report._render import (
    default_heatmaps,
    render_report,
    task_random_state,
    write_report,
)

__all__ = [
    "GLOSSARY",
    "content_security_policy",
    "default_heatmaps",
    "environment",
    "figure_to_data_uri",
    "findings_table",
    "format_interval",
    "format_number",
    "format_p_value",
    "frame_to_html",
    "glossary_entries",
    "inline_script",
    "render_comparison",
    "render_detector_report",
    "render_report",
    "resolve_model_card",
    "task_random_state",
    "terminal_summary",
    "write_comparison_report",
    "write_detector_report",
    "write_findings_csv",
    "write_report",
]
