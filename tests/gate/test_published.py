"""The gate and the report on a published (redacted) audit: judged on what it publishes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fairaudit.cli import main
from fairaudit.demo import load_demo_audits
from fairaudit.gate import check_audit, check_published
from fairaudit.model_audit import AuditResult
from fairaudit.publish import PublishedAudit, redact_audit

MIN_COUNT = 20


@pytest.fixture(scope="module")
def audits() -> tuple[AuditResult, PublishedAudit]:
    audit = load_demo_audits().audits["fairface-lightweight-112"]
    audit.metadata["description"] = "predictions /home/reviewer/runs/v2.csv, labels ./val.csv"
    return audit, redact_audit(audit, min_count=MIN_COUNT)


def test_a_published_gap_is_judged_exactly_as_on_the_full_audit(audits) -> None:
    audit, published = audits
    groupings = sorted(set(published.metrics["grouping"]) & {"race", "gender", "age"})
    assert groupings, "the demo audit publishes single-attribute groupings"
    by = [g for g in groupings]
    full = check_audit(
        audit,
        max={"accuracy_difference": 0.1, "accuracy": 0.99},
        by=by,
        min_support=MIN_COUNT,
        allow_unjudged=True,
    ).checks
    shared = check_published(
        published,
        max={"accuracy_difference": 0.1, "accuracy": 0.99},
        by=by,
        allow_unjudged=True,
    ).checks
    own = full["status"] == "not applicable"  # a task grouped by its own label
    full = full[~own].reset_index(drop=True)
    shared = shared.set_index(["task", "by", "metric"]).loc[
        list(zip(full["task"], full["by"], full["metric"], strict=True))
    ]
    judged = full["status"] != "not judged"
    assert judged.sum() >= 4
    # the same checks, so the same Bonferroni level: the same values, intervals, verdicts
    for column in ("value", "lower", "upper", "level"):
        np.testing.assert_allclose(
            shared[column].to_numpy()[judged], full[column].to_numpy()[judged], rtol=1e-12
        )
    assert shared["status"].to_numpy()[judged].tolist() == full["status"][judged].tolist()


def test_a_metric_the_file_does_not_publish_is_not_judged(audits) -> None:
    _, published = audits
    result = check_published(published, max={"equalized_odds_difference": 0.1}, by="race")
    assert set(result.checks["status"]) == {"not judged"}
    assert result.checks["note"].str.contains("not published").all()
    assert result.exit_code == 3


def test_a_suppressed_grouping_is_not_judged_with_its_reason(audits) -> None:
    _, published = audits
    hidden = published.suppressed["grouping"].iloc[0]
    result = check_published(published, max={"accuracy_difference": 0.5}, by=hidden)
    assert set(result.checks["status"]) == {"not judged"}
    assert result.checks["note"].str.contains(published.suppressed["reason"].iloc[0]).all()


def test_no_local_path_in_the_published_file(audits, tmp_path) -> None:
    _, published = audits
    text = json.dumps(published.to_dict())
    assert "/home/reviewer" not in text and "./val.csv" not in text
    assert published.metadata["description"] == "predictions v2.csv, labels val.csv"


def test_report_and_check_commands_take_a_published_audit(audits, tmp_path, capsys) -> None:
    _, published = audits
    path = published.save(tmp_path / "published.json")
    assert main(["report", str(path), "-o", str(tmp_path / "published.html")]) == 0
    html = (tmp_path / "published.html").read_text(encoding="utf-8")
    assert "Suppressed groupings and why" in html
    for grouping in published.suppressed["grouping"]:
        assert grouping in html
    status = main(["check", str(path), "--max", "accuracy_difference=0.5", "--by", "race"])
    assert status in (0, 1, 4)
    out = capsys.readouterr().out
    assert "accuracy_difference" in out
    assert main(["check", str(path), "--max-increase", "accuracy_difference=0.1"]) == 2
    assert "--max/--min alone" in capsys.readouterr().err
