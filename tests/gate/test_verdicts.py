"""The gate decides on intervals: fair models pass, unfair ones fail, noise is not a verdict.

Simulated audits of the gender task on the cells of the shipped FairFace-val audit
(5,000 rows; ``tests/claims/_simulate.py``): only correctness is drawn, so the truth
of every gap is known.
"""

from __future__ import annotations

import numpy as np
import pytest

from fairaudit.gate import check_audit
from fairaudit.gate._result import EXIT_FAILED, EXIT_NOT_JUDGED
from tests.claims._simulate import gender_audit, race_index

DRAWS = 40


def _fair(index: np.ndarray) -> np.ndarray:
    """The same error rates for every group: 0.93 for men, 0.91 for women."""
    return np.where(index[0] == 0, 0.93, 0.91)


@pytest.mark.slow
def test_a_fair_model_rarely_fails_and_an_unfair_one_usually_does() -> None:
    rng = np.random.default_rng(24)
    fair_failures = 0
    point_failures = 0
    for _ in range(DRAWS):
        audit = gender_audit(rng, _fair)
        thresholds = {"gender:accuracy_difference": 0.10, "gender:equalized_odds_difference": 0.10}
        fair_failures += check_audit(audit, max=thresholds, by=["age"]).exit_code == EXIT_FAILED
        point = check_audit(audit, max=thresholds, by=["age"], decide="point")
        point_failures += point.exit_code == EXIT_FAILED
    # the bound: exit 1 in at most 5% of draws of a fair model
    assert fair_failures <= 0.05 * DRAWS, fair_failures
    # the point estimate, on the same draws, fails fair models far more often
    assert point_failures > fair_failures
    black = race_index("Black")
    unfair_failures = 0
    for _ in range(DRAWS):
        audit = gender_audit(rng, lambda idx: _fair(idx) - 0.20 * (idx[2] == black))
        result = check_audit(audit, max={"gender:accuracy_difference": 0.10}, by=["race"])
        unfair_failures += result.exit_code == EXIT_FAILED
    assert unfair_failures >= 0.8 * DRAWS, unfair_failures


def test_a_gate_that_judged_nothing_does_not_pass() -> None:
    audit = gender_audit(np.random.default_rng(0), _fair)
    # grouped by its own true label, the gender task's equalized odds does not apply
    result = check_audit(audit, max={"equalized_odds_difference": 0.35}, by=["gender"])
    assert result.judged_nothing and not result.passed
    assert result.exit_code == EXIT_NOT_JUDGED
    assert "judged nothing" in result.format()
    allowed = check_audit(
        audit, max={"equalized_odds_difference": 0.35}, by=["gender"], allow_unjudged=True
    )
    assert allowed.exit_code == EXIT_NOT_JUDGED


def test_inconclusive_checks_say_how_many_rows_would_settle_them() -> None:
    rng = np.random.default_rng(5)
    black = race_index("Black")
    audit = gender_audit(rng, lambda idx: np.where(idx[2] == black, 0.85, 0.93), rows=600)
    result = check_audit(audit, max={"gender:accuracy_difference": 0.08}, by=["race"])
    row = result.checks.iloc[0]
    assert row["lower"] <= row["value"] <= row["upper"]
    assert row["level"] == pytest.approx(0.95)  # one check: the whole level
    if row["status"] == "inconclusive":
        assert result.exit_code == 4 and row["rows_to_settle"] > 0
        assert "rows per group would settle it" in result.format()
    else:  # decided: the interval lies on one side of the threshold
        assert (row["lower"] > 0.08) == (row["status"] == "fail")
