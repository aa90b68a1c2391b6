"""The audit-report page, driven through Streamlit's AppTest."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fairaudit.app._audit import audit_report_html
from fairaudit.model_audit import AuditResult, audit_predictions

CLASSES = {
    "gender": ["Male", "Female"],
    "age": ["20-29", "30-39", "40-49"],
    "race": ["White", "Black", "Indian"],
}


@pytest.fixture(scope="module")
def audit() -> AuditResult:
    """A small audit of the three FairFace tasks, sliced by their true labels."""
    rng = np.random.default_rng(1)
    n = 400
    y_true = {task: rng.choice(classes, n) for task, classes in CLASSES.items()}
    y_pred = {
        task: np.where(rng.random(n) < 0.75, y_true[task], rng.choice(classes, n))
        for task, classes in CLASSES.items()
    }
    return audit_predictions(y_true=y_true, y_pred=y_pred, description="synthetic test audit")


def _untimed(html: str) -> str:
    """The report without the times it shows (when it was rendered)."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?", "TIME", html)


def open_audit_page(app):
    at = app.run()
    at.switch_page("audit_page.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_asks_for_an_audit_first(app):
    at = open_audit_page(app)
    assert at.title[0].value == "Audit report"
    assert [i.value for i in at.info] == [
        "No audit yet: open one saved by fairaudit (`fairaudit audit ... --output "
        "audit.json`, `fairaudit evaluate ... --audit audit.json` or `AuditResult.save`)."
    ]
    assert not at.get("iframe") and not at.download_button


@pytest.mark.slow
def test_a_saved_audit_shows_its_report(app, audit, tmp_path):
    data = audit.save(tmp_path / "model-audit.json").read_bytes()
    at = open_audit_page(app)
    at.file_uploader[0].upload("model-audit.json", data, "application/json").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [c.value for c in at.caption] == [
        "model-audit.json: 400 rows; tasks: gender, age, race; sliced by: gender, age, race."
    ]
    assert at.download_button[0].label == "Download the report (HTML)"
    (frame,) = at.get("iframe")
    html = frame.proto.srcdoc
    # the page embeds the library's report of the uploaded audit, unchanged but for
    # the time the report was made
    expected = audit_report_html(AuditResult.from_dict(json.loads(data)))
    assert _untimed(html) == _untimed(expected)
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert headings[0] == "Verdict" and "Findings" in headings
    assert {"Per task", "Appendix: disclosures"} <= set(headings)
    parts = re.findall(r'<details class="appendix-part"[^>]*><summary>(.*?)</summary>', html)
    for part in ("Task gender:", "Task age:", "Task race:", "Glossary"):
        assert any(p.startswith(part) for p in parts), (part, parts)
    assert "synthetic test audit" in html
    assert 'http-equiv="Content-Security-Policy"' in html


@pytest.mark.slow
def test_an_audit_without_a_gender_attribute_gets_a_report(app):
    rng = np.random.default_rng(2)
    n = 200
    genders = rng.choice(CLASSES["gender"], n)
    # group names are text from the file: the report escapes them
    site = rng.choice(["<img src=x onerror=alert(1)>", "clinic B"], n)
    audit = audit_predictions(
        y_true={"gender": genders},
        y_pred={"gender": np.where(rng.random(n) < 0.8, genders, "Male")},
        sensitive_features={"site": site},
    )
    at = open_audit_page(app)
    at.file_uploader[0].upload("sites.json", json.dumps(audit.to_dict()).encode()).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    html = at.get("iframe")[0].proto.srcdoc
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"format": "fairaudit-audit", "format_ver', "broken.json: not a JSON audit file"),
        (b'{"predictions": [1, 2]}', "broken.json: not a fairaudit audit (format field None"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "broken.json: not a JSON audit file"),
    ],
)
def test_a_corrupt_audit_shows_an_error(app, data, message):
    at = open_audit_page(app)
    at.file_uploader[0].upload("broken.json", data, "application/json").run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert error.value.startswith(message)
    assert not at.get("iframe") and not at.download_button
