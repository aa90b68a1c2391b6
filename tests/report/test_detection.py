"""The face detection section: rates per group with exact intervals, gaps, detector-only audits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from fairaudit.model_audit import AuditResult
from fairaudit.report import render_report
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from ._parse import parse_report, table_by_id
from .conftest import TASKS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def detected(rows):
    """Per-row detection flags: darker-skinned and older faces are missed more often."""
    frame, _ = rows
    rng = np.random.default_rng(11)
    race = FAIRFACE_VOCABULARIES["race"].encode(frame["race"])
    age = FAIRFACE_VOCABULARIES["age"].encode(frame["age"])
    return rng.random(len(frame)) < 0.95 - 0.1 * (race == 1) - 0.02 * (age >= 7)


@pytest.fixture(scope="module")
def detector_audit(rows, detected, audit):
    frame, _ = rows
    codes = [FAIRFACE_VOCABULARIES[a].encode(frame[a]) for a in TASKS]
    cell = np.ravel_multi_index(codes, audit.shape)
    counts = np.zeros((int(np.prod(audit.shape)), 2), dtype=np.int64)
    for c, hit in zip(cell, detected, strict=True):  # the naive loop
        counts[c, 0] += 1
        counts[c, 1] += int(hit)
    return AuditResult(
        tasks={},
        attributes=audit.attributes,
        counts={},
        detection=counts,
        metadata={"description": "detector"},
    )


def test_detection_section_equals_a_loop_over_rows(audit, detector_audit, rows, detected):
    frame, _ = rows
    joined = audit.with_detection(detector_audit)
    parsed = parse_report(render_report(joined, n_resamples=10))
    assert "detection" in parsed.ids and "summary-detection" in parsed.ids
    table = table_by_id(parsed, "table-detection-race")
    for record in table.records():
        mask = (frame["race"] == record["race"].text).to_numpy()
        n, k = mask.sum(), detected[mask].sum()
        assert record["n"].number == n and record["detected"].number == k
        assert record["rate"].number == pytest.approx(k / n, abs=1e-12)
        low, high = proportion_confint(k, n, alpha=0.05, method="beta")  # exact
        assert record["ci_low"].number == pytest.approx(low, abs=1e-9)
        assert record["ci_high"].number == pytest.approx(high, abs=1e-9)
    assert table_by_id(parsed, "table-detection-gender-age-race").rows
    gaps = {r["by"].text: r for r in table_by_id(parsed, "table-detection-gaps").records()}
    rates = {
        g: (detected[(frame["race"] == g).to_numpy()].sum(), (frame["race"] == g).sum())
        for g in FAIRFACE_VOCABULARIES["race"].classes
    }
    judged = {g: k / n for g, (k, n) in rates.items() if n >= 30}
    race = gaps["race"]
    assert race["low_group"].text == min(judged, key=judged.get)
    assert race["high_group"].text == max(judged, key=judged.get)
    assert race["difference"].number == pytest.approx(
        max(judged.values()) - min(judged.values()), abs=1e-12
    )
    table = np.array([[k, n - k] for g, (k, n) in rates.items() if n >= 30])
    p = stats.chi2_contingency(table, correction=False).pvalue
    assert race["p_value"].number == pytest.approx(p, rel=1e-9)
    summary = {r["by"].text for r in table_by_id(parsed, "table-summary-detection-gaps").records()}
    assert summary == {"gender", "age", "race"}


def test_a_detector_only_audit_has_a_report(detector_audit, detected):
    parsed = parse_report(render_report(detector_audit, n_resamples=10))
    assert "detection" in parsed.ids and "dataset" in parsed.ids
    assert not any(i.startswith("task-") for i in parsed.ids)
    overall = table_by_id(parsed, "table-detection-overall").records()[0]
    assert overall["n"].number == len(detected) and overall["detected"].number == detected.sum()
    distribution = table_by_id(parsed, "table-distribution").records()
    assert sum(r["count"].number for r in distribution if r["attribute"].text == "race") == len(
        detected
    )


def test_an_audit_without_detection_has_no_detection_section(parsed):
    assert "detection" not in parsed.ids


def _detector_line(html: str) -> str:
    import html as html_module
    import re

    (line,) = re.findall(r'<p class="detector" id="detection-detector">(.*?)</p>', html)
    return html_module.unescape(line)


def test_the_detection_section_names_its_detector(audit, detector_audit):
    from fairaudit.report.sections._detection import NO_DETECTOR

    joined = audit.with_detection(detector_audit)
    assert _detector_line(render_report(joined, n_resamples=10)) == f"Detector: {NO_DETECTOR}"
    for detection, shown in (
        ({"detector": "haar (crops preset)"}, "haar (crops preset)"),
        ({"detector": "Haar(min_size=30)", "detector_name": "haar"}, "haar (Haar(min_size=30))"),
        ({"detector_name": "dlib-cnn"}, "dlib-cnn"),
    ):
        named = AuditResult(
            tasks={},
            attributes=detector_audit.attributes,
            counts={},
            detection=detector_audit.detection,
            metadata={"detection": detection},
        )
        html = render_report(audit.with_detection(named), n_resamples=10)
        assert _detector_line(html) == f"Detector: {shown}"
        assert f"Share of faces detected by {shown} per group" in html
