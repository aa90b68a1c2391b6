"""The Streamlit web app (optional extra ``app``: ``pip install "fairaudit-faces[app]"``).

``fairaudit app`` serves two pages (see ``docs/app.md``):

* **Photo**: upload a photo (or try the example); each face the detector finds is
  boxed and numbered, with its predicted gender, age group and ethnicity and bar
  charts of the class probabilities, predicted as ``fairaudit predict PHOTO
  --detect`` predicts them; or the whole photo read as one face crop, as
  ``fairaudit predict PHOTO`` reads it.
* **Audit report**: upload a saved audit (``.json``) and read its HTML report.

The Streamlit scripts (``main.py``, ``photo_page.py``, ``audit_page.py``) only lay
out pages; what they show comes from the functions below, which import neither
Streamlit nor (until called) torch.
"""

from fairaudit.app._audit import audit_report_html, read_audit, report_file_name
from fairaudit.app._launch import (
    DEFAULT_ADDRESS,
    DEFAULT_PORT,
    run_app,
    streamlit_command,
)
from fairaudit.app._models import (
    DEFAULT_MODEL,
    AppOptions,
    fairface_models,
    load_predictor,
    model_card_markdown,
    model_note,
    parse_app_args,
)
from fairaudit.app._photo import (
    BOX_COLUMNS,
    PHOTO_MODES,
    FacePrediction,
    compare_readings,
    draw_faces,
    example_photo,
    face_predictions,
    predict_command,
    predict_faces_table,
    probability_chart,
    read_photo,
)

__all__ = [
    "BOX_COLUMNS",
    "DEFAULT_ADDRESS",
    "DEFAULT_MODEL",
    "DEFAULT_PORT",
    "PHOTO_MODES",
    "AppOptions",
    "FacePrediction",
    "audit_report_html",
    "compare_readings",
    "draw_faces",
    "example_photo",
    "face_predictions",
    "fairface_models",
    "load_predictor",
    "model_card_markdown",
    "model_note",
    "parse_app_args",
    "predict_command",
    "predict_faces_table",
    "probability_chart",
    "read_audit",
    "read_photo",
    "report_file_name",
    "run_app",
    "streamlit_command",
]
