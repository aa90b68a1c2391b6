"""Derived attributes are ordinary audit groups; the Gender Shades table against statsmodels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.attributes import derive_attributes, gender_shades_table
from fairaudit.attributes._colour import SKIN_TONE
from fairaudit.attributes._derive import DERIVED_VOCABULARIES
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import audit_table
from fairaudit.vocab import GENDER

from ._helpers import lab_for_ita, write_patch

pytest.importorskip("skimage.color", reason="scikit-image makes the patches of known colour")

#: ITAs spread over the six categories (none within 2 degrees of an edge)
ITAS = np.array([62.0, 48.0, 33.0, 20.0, -5.0, -40.0])


@pytest.fixture(scope="module")
def joined(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A labels table joined with derived attributes of 150 chips, and seeded predictions."""
    folder = tmp_path_factory.mktemp("chips")
    rng = np.random.default_rng(7)
    n = 150
    itas = ITAS[rng.integers(0, len(ITAS), n)]
    files = [f"img{k:03d}.png" for k in range(n)]
    for file, ita in zip(files, itas, strict=True):
        write_patch(folder / file, lab_for_ita(ita, 16.0), size=12)
    attrs = derive_attributes(folder, landmarks="chip", progress=False)
    gender = rng.choice(["Male", "Female"], n)
    labels = pd.DataFrame(
        {"file": files, "gender": gender, "age": rng.choice(["20-29", "30-39"], n)}
    )
    labels = labels.merge(attrs, on="file", how="left", validate="one_to_one")
    # darker and female faces misclassified more often
    p_wrong = 0.05 + 0.2 * (itas <= 28) + 0.1 * (gender == "Female")
    wrong = rng.random(n) < p_wrong
    pred = np.where(wrong, np.where(gender == "Male", "Female", "Male"), gender)
    predictions = pd.DataFrame({"file": files, "gender_pred": pred})
    return labels, predictions


def _naive_accuracy(labels: pd.DataFrame, predictions: pd.DataFrame, by: list[str]) -> dict:
    rows = predictions.merge(labels, on="file")
    out = {}
    for key, part in rows.groupby(by, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(map(str, key))] = (len(part), (part["gender_pred"] == part["gender"]).mean())
    return out


def test_a_labels_table_joined_with_attributes_audits_by_skin_tone(joined):
    labels, predictions = joined
    audit = audit_table(predictions, labels, attributes=["gender", "skin_tone", "skin_type"])
    assert audit.attributes["skin_tone"].classes == SKIN_TONE.classes  # the categorical's order
    with pytest.warns(Warning):  # small slices
        metrics = audit.metrics("gender", by="skin_tone")
    expected = _naive_accuracy(labels, predictions, ["skin_tone"])
    assert metrics["skin_tone"].astype(str).tolist() == list(SKIN_TONE.classes)
    for row in metrics.itertuples(index=False):
        n, acc = expected[(str(row.skin_tone),)]
        assert row.support == n and row.accuracy == pytest.approx(acc)
    ranked = audit.fairness("gender", by="skin_type")  # the gaps need no special case either
    assert len(ranked) > 0


def test_the_same_audit_from_csv_files(joined, tmp_path: Path):
    labels, predictions = joined
    labels.to_csv(tmp_path / "labels.csv", index=False)
    predictions.to_csv(tmp_path / "predictions.csv", index=False)
    audit = audit_table(
        tmp_path / "predictions.csv", tmp_path / "labels.csv", attributes=["gender", "skin_tone"]
    )
    # from text, the classes are the values found, sorted; the vocabularies restore the order
    assert set(audit.attributes["skin_tone"].classes) == set(SKIN_TONE.classes)
    ordered = audit_table(
        tmp_path / "predictions.csv",
        tmp_path / "labels.csv",
        attributes={"gender": GENDER, "skin_tone": DERIVED_VOCABULARIES["skin_tone"]},
    )
    assert ordered.attributes["skin_tone"] == SKIN_TONE
    expected = _naive_accuracy(labels, predictions, ["skin_tone"])
    for result in (audit, ordered):
        cm = result.grouped_counts("gender", by="skin_tone")
        for k, tone in enumerate(result.attributes["skin_tone"].classes):
            n, acc = expected[(tone,)]
            assert cm[k].sum() == n and np.trace(cm[k]) / n == pytest.approx(acc)


def test_gender_shades_table_against_statsmodels(joined):
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels oracle")
    labels, predictions = joined
    audit = audit_table(predictions, labels, attributes=["gender", "skin_type", "age"])
    table = gender_shades_table(audit, confidence=0.9)
    expected = _naive_accuracy(labels, predictions, ["skin_type", "gender"])
    assert table[["skin", "gender"]].values.tolist() == [
        ["lighter", "Male"], ["lighter", "Female"], ["darker", "Male"], ["darker", "Female"]
    ]  # fmt: skip
    assert (table["task"] == "gender").all()
    for row in table.itertuples(index=False):
        n, acc = expected[(row.skin, row.gender)]
        assert row.n == n and row.accuracy == pytest.approx(acc)
        assert row.error_rate == pytest.approx(1 - acc)
        low, high = proportion.proportion_confint(row.correct, n, alpha=0.1, method="beta")
        assert row.lower == pytest.approx(low, abs=1e-12) and row.upper == pytest.approx(
            high, abs=1e-12
        )
    # the planted disparity: darker women are misclassified most often
    worst = table.loc[table["error_rate"].idxmax()]
    assert (worst["skin"], worst["gender"]) == ("darker", "Female")


def test_gender_shades_table_needs_both_groupings(joined):
    labels, predictions = joined
    audit = audit_table(predictions, labels, attributes=["gender"])
    with pytest.raises(DataValidationError, match="skin_type"):
        gender_shades_table(audit)
