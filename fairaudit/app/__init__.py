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

from fairaudit.app._launch import run_app

__all__ = [
    "run_app",
]
