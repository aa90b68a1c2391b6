"""Audit-report page: open a saved audit and read its HTML report.

Layout only; reading the file and rendering the report are
:func:`fairaudit.app.read_audit` and :func:`fairaudit.app.audit_report_html`.
"""

from __future__ import annotations

import streamlit as st

from fairaudit.app._audit import audit_report_html, read_audit, report_file_name
from fairaudit.exceptions import FairAuditError

#: Height of the embedded report, which scrolls inside: the whole frame, its scrollbar
#: included, fits a 900 px-high window under Streamlit's header. (Streamlit 1.67's
#: ``height="content"`` sized this report's frame to 150 px, and a report many screens
#: tall is better read in its own scrolling frame.) Its width is the page's: the
#: report's charts shrink to fit it.
REPORT_HEIGHT = 780


@st.cache_data(max_entries=8, show_spinner="Rendering the report (a few seconds)...")
def cached_report(name: str, data: bytes) -> str:
    """The report's HTML of an uploaded audit, kept across reruns."""
    return audit_report_html(read_audit(data, name=name))


def main() -> None:
    """Lay out the audit-report page."""
    st.title("Audit report")
    uploaded = st.file_uploader(
        "Open a saved audit (.json)",
        key="audit_upload",
        help="A file written by `fairaudit audit --output audit.json` or AuditResult.save.",
    )
    if uploaded is None:
        st.info(
            "No audit yet: open one saved by fairaudit (`fairaudit audit ... --output "
            "audit.json`, `fairaudit evaluate ... --audit audit.json` or `AuditResult.save`)."
        )
        return
    name, data = uploaded.name, uploaded.getvalue()
    try:
        audit = read_audit(data, name=name)
        html = cached_report(name, data)
    except FairAuditError as exc:
        st.error(str(exc))
        return
    st.caption(
        f"{name}: {audit.n_rows:,} rows; tasks: {', '.join(audit.tasks) or 'none'}; "
        f"sliced by: {', '.join(audit.attributes) or 'nothing'}."
    )
    st.download_button(
        "Download the report (HTML)",
        data=html,
        file_name=report_file_name(name),
        mime="text/html",
    )
    st.iframe(html, height=REPORT_HEIGHT)


main()
