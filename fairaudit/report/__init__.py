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

from fairaudit._lazy import lazy_attributes

#: Each public name, by the private module defining it, imported on first use: the
#: terminal summary (``fairaudit audit``) needs none of the HTML renderers, and a
#: model's report loads neither the comparison's modules nor the detectors'.
_MODULES = {
    "findings_table": "._exports",
    "terminal_summary": "._exports",
    "write_findings_csv": "._exports",
    "render_report": "._render",
    "write_report": "._render",
    "render_comparison": "._compare_render",
    "write_comparison_report": "._compare_render",
    "render_detector_report": "._detector_render",
    "write_detector_report": "._detector_render",
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

__getattr__, __dir__ = lazy_attributes(__name__, _MODULES, globals())
