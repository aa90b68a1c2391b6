"""Issue 26: inputs with no bound or no sense check are refused or warned about."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import UnusedColumnWarning, audit_table


def _ages(true: list[float], predicted: list[float]) -> pd.DataFrame:
    n = len(true)
    return pd.DataFrame(
        {
            "age": ["30-39"] * n,
            "age_pred": ["30-39"] * n,
            "age_years": true,
            "age_years_pred": predicted,
        }
    )


@pytest.mark.parametrize(
    ("true", "predicted", "column", "shown"),
    [
        ([30] * 10, [30.0] * 9 + [-1e9], "age_years_pred", "row 10: -1000000000.0"),
        ([30] * 9 + [-5], [30.0] * 10, "age_years", "row 10: -5"),
        ([30] * 10, [30.0, 131.0] + [30.0] * 8, "age_years_pred", "row 2: 131.0"),
        ([30] * 10, [float("inf")] + [30.0] * 9, "age_years_pred", "row 1: inf"),
    ],
)
def test_ages_in_years_outside_0_130_are_refused_with_column_row_and_value(
    true, predicted, column, shown
):
    with pytest.raises(DataValidationError, match=rf"'{column}' holds ages in years outside") as e:
        audit_table(_ages(true, predicted), tasks=["age"])
    assert shown in str(e.value)


def test_ages_at_the_bounds_are_audited():
    result = audit_table(_ages([0, 130] * 5, [0.0, 130.0] * 5), tasks=["age"])
    n, error_sum, abs_error_sum, _ = result.regression["age_years"].sum(axis=0)
    assert (n, error_sum, abs_error_sum) == (10, 0, 0)


def test_every_prediction_like_column_matching_no_task_is_warned_about():
    table = pd.DataFrame(
        {
            "gender": ["Male", "Female"] * 5,
            "gender_pred": ["Male"] * 10,
            "pred_age": ["20-29"] * 10,
            "race_pred ": ["White"] * 10,  # a trailing space: not the race_pred column
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        audit_table(table, tasks=["gender"])
    messages = [str(w.message) for w in caught if issubclass(w.category, UnusedColumnWarning)]
    assert len(messages) == 1
    assert "['pred_age', 'race_pred ']" in messages[0]


def _gender_table(n: int = 200) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": [f"f{i}.jpg" for i in range(n)],
            "gender": ["Male", "Female"] * (n // 2),
            "gender_pred": ["Male", "Female"] * (n // 2),
            "gender_prob_Male": [0.9, 0.1] * (n // 2),
            "gender_prob_Female": [0.1, 0.9] * (n // 2),
        }
    )


def test_predictions_disagreeing_with_their_probabilities_are_refused_naming_rows():
    """Issue 26: swapped probability columns (100% disagreement) were audited silently."""
    swapped = _gender_table().rename(
        columns={"gender_prob_Male": "gender_prob_Female", "gender_prob_Female": "gender_prob_Male"}
    )
    with pytest.raises(DataValidationError, match=r"in 200 of 200 row\(s\)") as e:
        audit_table(swapped, tasks=["gender"])
    assert "gender_pred is not the most probable class" in str(e.value)
    assert "'f0.jpg', 'f1.jpg'" in str(e.value)


def test_ties_and_a_few_disagreements_are_allowed():
    table = _gender_table()
    table.loc[0, ["gender_prob_Male", "gender_prob_Female"]] = [0.5, 0.5]  # a tie
    table.loc[1, ["gender_prob_Male", "gender_prob_Female"]] = [0.6, 0.4]  # 1 of 200
    result = audit_table(table, tasks=["gender"])
    assert result.n_rows == 200
    table.loc[[2, 4], ["gender_prob_Male", "gender_prob_Female"]] = [0.1, 0.9]  # 3 of 200
    with pytest.raises(DataValidationError, match=r"in 3 of 200 row\(s\) \(1\.5%"):
        audit_table(table, tasks=["gender"])


def test_a_grouping_with_too_many_cells_is_refused_before_memory_runs_out():
    """Issue 26: grouping by an 86,000-value column over 200,000 rows passed 8 GiB."""
    rng = np.random.default_rng(0)
    n = 200_000
    gender = np.array(["Male", "Female"])[rng.integers(0, 2, n)]
    ids = np.array([f"p{i}" for i in range(86_000)])[rng.integers(0, 86_000, n)]
    table = pd.DataFrame({"gender": gender, "gender_pred": gender, "id": ids})
    distinct = len(set(ids))
    with pytest.raises(
        DataValidationError,
        match=rf"grouping by gender 2 x id {distinct} classes needs {2 * distinct:,} cells, "
        r"more than the 100,000 allowed",
    ):
        audit_table(table, tasks=["gender"], attributes=["gender", "id"])


def test_a_grouping_at_the_cell_bound_is_audited():
    n = 50_000
    table = pd.DataFrame(
        {
            "gender": ["Male", "Female"] * (n // 2),
            "gender_pred": ["Male", "Female"] * (n // 2),
            "id": [f"p{i}" for i in range(n)],
        }
    )
    result = audit_table(table, tasks=["gender"], attributes=["gender", "id"])
    assert int(np.prod(result.shape)) == 100_000 and result.n_rows == n
