"""The input stage on whole tables: the join by full relative name, rows without labels,
probability columns in every printed form (moved from ``tests/model_audit``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import JoinWarning, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")

V = FAIRFACE_VOCABULARIES


def _tables(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame(
        {
            "file": [f"{'train' if i % 2 else 'val'}/{i // 2}.jpg" for i in range(n)],
            "gender": rng.choice(V["gender"].classes, n),
            "age": rng.choice(V["age"].classes, n),
            "race": rng.choice(V["race"].classes, n),
        }
    )
    proba = rng.dirichlet(np.ones(7), n)
    # copy: without pyarrow, pandas' str column hands out a view of the labels' names
    preds = pd.DataFrame({"file": labels["file"][::-1].to_numpy(copy=True)})
    preds["gender_pred"] = labels["gender"][::-1].to_numpy()
    preds["age_pred"] = rng.choice(V["age"].classes, n)
    for k, cls in enumerate(V["race"].classes):
        preds[f"race_prob_{cls}"] = proba[::-1, k]
    return preds, labels


def test_table_join_uses_full_relative_name_and_argmax():
    preds, labels = _tables()
    result = audit_table(preds, labels)
    # "train/0.jpg" and "val/0.jpg" share a basename but are different faces
    assert result.n_rows == len(labels)
    assert result.metrics("gender")["accuracy"].iloc[0] == 1.0
    merged = preds.merge(labels, on="file")
    race_pred = np.array(V["race"].classes)[merged.filter(like="race_prob_").to_numpy().argmax(1)]
    assert result.metrics("race")["accuracy"].iloc[0] == pytest.approx(
        (race_pred == merged["race"]).mean()
    )
    assert set(result.calibration_sums) == {"race"}


def test_unmatched_rows_error_or_report():
    preds, labels = _tables()
    preds.loc[0, "file"] = "1.jpg"
    with pytest.raises(DataValidationError, match="full relative names"):
        audit_table(preds, labels)
    with pytest.warns(JoinWarning):
        result = audit_table(preds, labels, unmatched="report")
    assert result.n_rows == len(labels) - 1
    assert result.metadata["join"]["unmatched_prediction_rows"] == 1
    assert result.metadata["join"]["labels_without_prediction"] == 1


@pytest.mark.parametrize(
    "text",
    ["[{a} {b}]", "[{a}, {b}]", "{a},{b}", "array([{a}, {b}], dtype=float32)", "[{a}\n {b}]"],
)
def test_probability_strings_parse(text):
    preds, labels = _tables(10)
    preds = preds[["file"]].copy()
    preds["gender_prob"] = [text.format(a=0.25, b=0.75)] * 10
    result = audit_table(preds, labels)
    # argmax is class 1 ("Female") for every row
    assert result.per_class("gender")["predicted"].tolist() == [0, 10]


def test_bad_probability_strings_name_the_row():
    preds, labels = _tables(10)
    preds = preds[["file"]].copy()
    preds["gender_prob"] = ["[0.5 0.5]"] * 10
    preds.loc[3, "gender_prob"] = "[0.5 oops]"
    with pytest.raises(DataValidationError, match="row 4"):
        audit_table(preds, labels)
    preds.loc[3, "gender_prob"] = "[0.7 0.7]"
    with pytest.raises(DataValidationError, match=r"row\(s\) \[4\] sum to \[1.4\]"):
        audit_table(preds, labels)
