"""Entry script of the fairaudit web app: ``fairaudit app`` runs ``streamlit run`` on it.

It reads the app's own options (``-- --model NAME``), then serves two pages: the
photo page (``photo_page.py``, the default) and the audit-report page
(``audit_page.py``).
"""

from __future__ import annotations

import sys

import streamlit as st

from fairaudit.app._models import parse_app_args
from fairaudit.exceptions import FairAuditError

st.set_page_config(page_title="fairaudit", layout="wide")

try:
    options = parse_app_args(sys.argv[1:])
except FairAuditError as exc:
    st.error(f"The app cannot start: {exc}")
    st.stop()

# The model selected when a session starts; the photo page's selector changes it.
st.session_state.setdefault("model", options.model)

page = st.navigation(
    [
        st.Page("photo_page.py", title="Photo", default=True),
        st.Page("audit_page.py", title="Audit report", url_path="audit"),
    ]
)
page.run()
