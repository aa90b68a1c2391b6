"""The audit page's logic: reading an uploaded saved audit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fairaudit.app._audit import read_audit, report_file_name
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, audit_predictions


@pytest.fixture(scope="module")
def audit() -> AuditResult:
    rng = np.random.default_rng(0)
    genders = np.array(["Male", "Female"])
    y_true = rng.choice(genders, 200)
    y_pred = np.where(rng.random(200) < 0.8, y_true, rng.choice(genders, 200))
    return audit_predictions(y_true={"gender": y_true}, y_pred={"gender": y_pred})


def test_read_audit_reads_what_save_writes(tmp_path, audit):
    path = audit.save(tmp_path / "audit.json")
    read = read_audit(path.read_bytes(), name="audit.json")
    assert read == audit
    assert read == AuditResult.load(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"^bad\.json is empty"),
        (b"{not json", r"^bad\.json: not a JSON audit file"),
        (b"\xff\xfe\x00garbage", r"^bad\.json: not a JSON audit file"),
        (b'{"format": "something-else"}', r"^bad\.json: not a fairaudit audit"),
        (b"[1, 2, 3]", r"^bad\.json: not a fairaudit audit"),
    ],
)
def test_read_audit_names_a_bad_file(data, message):
    with pytest.raises(DataValidationError, match=message):
        read_audit(data, name="bad.json")


def test_read_audit_names_a_truncated_or_damaged_audit(audit):
    text = json.dumps(audit.to_dict())
    with pytest.raises(DataValidationError, match=r"^cut\.json: not a JSON audit file"):
        read_audit(text[: len(text) // 2].encode(), name="cut.json")
    damaged = audit.to_dict()
    del damaged["counts"]
    with pytest.raises(DataValidationError, match=r"^damaged\.json: malformed audit file"):
        read_audit(json.dumps(damaged).encode(), name="damaged.json")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("audit.json", "audit.html"),
        ("model v2.audit.json", "model v2.audit.html"),
        ("C:\\runs\\audit.json", "audit.html"),
        ("../../etc/audit", "audit.html"),
        ("", "audit.html"),
    ],
)
def test_report_file_name(name, expected):
    assert report_file_name(name) == expected
