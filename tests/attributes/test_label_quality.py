"""Label issues (cleanlab's confident learning) per row, and their rate per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.exceptions import DataValidationError

cleanlab_filter = pytest.importorskip(
    "cleanlab.filter", reason='label issues need cleanlab: pip install "fairaudit-faces[labels]"'
)
from fairaudit.attributes import find_label_issues, label_issue_rates
from fairaudit.attributes._label_quality import ANY_LABEL_ISSUE
from fairaudit.vocab import FAIRFACE_RACE, GENDER

RACES = FAIRFACE_RACE.classes


@pytest.fixture(scope="module")
def noisy() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """600 rows with a confident model; 12% of group A's race labels flipped, 2% of group B's."""
    rng = np.random.default_rng(11)
    n = 600
    true = rng.integers(0, len(RACES), n)
    group = np.where(np.arange(n) < n // 2, "A", "B")
    flip = rng.random(n) < np.where(group == "A", 0.12, 0.02)
    given = np.where(flip, (true + rng.integers(1, len(RACES), n)) % len(RACES), true)
    race_probs = rng.dirichlet(np.full(len(RACES), 0.3), n) * 0.3
    race_probs[np.arange(n), true] += 0.7
    male = rng.random(n) < 0.5
    gender_probs = np.where(male[:, None], [0.9, 0.1], [0.1, 0.9])
    files = [f"f{k}.jpg" for k in range(n)]
    predictions = pd.DataFrame({"file": files, "status": "ok"})
    for k, race in enumerate(RACES):
        predictions[f"race_prob_{race}"] = race_probs[:, k]
    predictions["gender_prob_Male"] = gender_probs[:, 0]
    predictions["gender_prob_Female"] = gender_probs[:, 1]
    predictions.loc[5, "status"] = "unreadable"
    labels = pd.DataFrame(
        {
            "file": files,
            "race": np.asarray(RACES)[given],
            "gender": np.where(male, "Male", "Female"),
            "group": group,
        }
    )
    return predictions, labels, flip


def test_the_flags_are_cleanlab_s_and_find_the_planted_flips(noisy):
    predictions, labels, flip = noisy
    issues = find_label_issues(predictions, labels)
    assert list(issues["file"]) == list(predictions["file"])
    assert pd.isna(issues.loc[5, "race_label_issue"])  # unreadable: not checked
    rows = np.arange(len(labels)) != 5
    race_probs = predictions.loc[rows, [f"race_prob_{r}" for r in RACES]].to_numpy()
    expected = cleanlab_filter.find_label_issues(
        FAIRFACE_RACE.encode(labels.loc[rows, "race"]), race_probs
    )
    np.testing.assert_array_equal(issues.loc[rows, "race_label_issue"].to_numpy(bool), expected)
    found = issues["race_label_issue"].fillna(False).to_numpy(bool)
    assert found[flip & rows].mean() > 0.7  # most flips are found
    assert found[~flip].mean() < 0.03  # and few others
    assert not issues.loc[rows, "gender_label_issue"].any()  # gender labels agree with the model
    assert issues[ANY_LABEL_ISSUE].tolist() == list(found)
    given = FAIRFACE_RACE.encode(labels.loc[rows, "race"])
    np.testing.assert_allclose(
        issues.loc[rows, "race_given_prob"], race_probs[np.arange(rows.sum()), given]
    )
    assert issues.loc[0, "race_suggested"] == RACES[int(race_probs[0].argmax())]


def test_rates_per_group_against_a_naive_loop_and_statsmodels(noisy):
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels oracle")
    predictions, labels, _ = noisy
    issues = find_label_issues(predictions, labels, tasks=["race"])
    rates = label_issue_rates(issues, labels, by="group")
    assert rates["task"].tolist() == ["race", "race", "any", "any"]
    joined = issues.merge(labels, on="file")
    for row in rates[rates["task"] == "race"].itertuples(index=False):
        part = joined[(joined["group"] == row.group) & joined["race_label_issue"].notna()]
        assert row.n == len(part) and row.issues == int(part["race_label_issue"].sum())
        low, high = proportion.proportion_confint(row.issues, row.n, method="beta")
        assert row.lower == pytest.approx(low, abs=1e-12) and row.upper == pytest.approx(high)
    by_group = rates[rates["task"] == "race"].set_index("group")["rate"]
    assert by_group["A"] > 3 * by_group["B"]  # group A's labels are the noisier


def test_bad_inputs_are_named(noisy):
    predictions, labels, _ = noisy
    with pytest.raises(DataValidationError, match="missing column"):
        find_label_issues(predictions.drop(columns=["race_prob_Black"]), labels, tasks=["race"])
    broken = predictions.copy()
    broken.loc[3, "gender_prob_Male"] = 0.5
    with pytest.raises(DataValidationError, match=r"not a distribution at file \['f3.jpg'\]"):
        find_label_issues(broken, labels, tasks=["gender"])
    wrong = labels.copy()
    wrong.loc[7, "gender"] = "M"
    with pytest.raises(Exception, match="M"):
        find_label_issues(predictions, wrong, tasks={"gender": GENDER})
    with pytest.raises(DataValidationError, match="twice"):
        find_label_issues(pd.concat([predictions, predictions.head(1)]), labels)
