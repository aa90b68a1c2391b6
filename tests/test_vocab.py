"""Vocabularies, age binning and class mappings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.vocab import (
    FAIRFACE_AGE,
    FAIRFACE_RACE,
    FAIRFACE_TO_UTKFACE_RACE,
    GENDER,
    UTKFACE_RACE,
    ClassMapping,
    Vocabulary,
    age_years_to_group,
    class_mapping_from_spec,
)


def naive_age_group(years: float) -> str:
    bounds = [(0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69)]
    for (low, high), label in zip(bounds, FAIRFACE_AGE.classes):
        if low <= int(years) <= high:
            return label
    return "more than 70"


def test_age_binning_matches_a_naive_loop():
    years = np.concatenate([np.arange(0, 117), np.random.default_rng(0).uniform(0, 116, 500)])
    got = age_years_to_group(years)
    assert list(got) == [naive_age_group(y) for y in years]
    assert got.ordered and list(got.categories) == list(FAIRFACE_AGE.classes)


@pytest.mark.parametrize("bad", [[-1], [np.nan], [np.inf]])
def test_age_binning_refuses_impossible_ages(bad):
    with pytest.raises(DataValidationError, match="finite and non-negative"):
        age_years_to_group(bad)


def test_encode_decode_round_trip_and_errors():
    values = ["Black", "White", "Indian", "Black"]
    codes = FAIRFACE_RACE.encode(values)
    assert codes.tolist() == [1, 0, 5, 1]
    assert list(FAIRFACE_RACE.decode(codes)) == values
    with pytest.raises(UnknownLabelError) as info:
        GENDER.encode(["Male", "male", None], source="labels.csv", row_offset=2)
    err = info.value
    assert err.values == ["male", "<missing>"] and err.rows == [3, 4]
    assert "labels.csv" in str(err) and err.column == "gender"
    with pytest.raises(DataValidationError):
        GENDER.decode([0, 2])
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary("x", ("a", "a"))


def test_class_mapping_is_validated_and_total():
    mapped = FAIRFACE_TO_UTKFACE_RACE.apply(["East Asian", "Middle Eastern", "Indian"])
    assert list(mapped) == ["Asian", "Others", "Indian"]
    with pytest.raises(DataValidationError, match="not classes"):
        ClassMapping({"a": "Asianish"}, target=UTKFACE_RACE)
    with pytest.raises(UnknownLabelError, match="Martian"):
        FAIRFACE_TO_UTKFACE_RACE.apply(["White", "Martian"])


def test_mapping_specs(tmp_path):
    assert class_mapping_from_spec("years", target=FAIRFACE_AGE) is age_years_to_group
    assert class_mapping_from_spec("fairface-to-utkface", target=UTKFACE_RACE) is (
        FAIRFACE_TO_UTKFACE_RACE
    )
    path = tmp_path / "race4.json"
    path.write_text(json.dumps({"Asian": "East Asian", "White": "White"}))
    mapping = class_mapping_from_spec(str(path), target=FAIRFACE_RACE)
    assert list(mapping.apply(["Asian"])) == ["East Asian"]
    with pytest.raises(DataValidationError, match="FairFace age groups"):
        class_mapping_from_spec("years", target=GENDER)
    with pytest.raises(DataValidationError, match="neither"):
        class_mapping_from_spec("nope", target=GENDER)
    path.write_text("[1, 2]")
    with pytest.raises(DataValidationError, match="JSON object"):
        class_mapping_from_spec(str(path), target=FAIRFACE_RACE)


def test_audit_cli_maps_a_model_with_another_vocabulary(tmp_path, capsys):
    """A model predicting age in years and 4 races, audited via explicit mappings."""
    rng = np.random.default_rng(0)
    n = 200
    labels = pd.DataFrame(
        {
            "file": [f"val/{i}.jpg" for i in range(n)],
            "gender": rng.choice(GENDER.classes, n),
            "age": rng.choice(FAIRFACE_AGE.classes[2:7], n),
            "race": rng.choice(["White", "Black", "East Asian", "Indian"], n),
        }
    )
    lower = {"10-19": 10, "20-29": 20, "30-39": 30, "40-49": 40, "50-59": 50}
    race4 = {"White": "white", "Black": "black", "East Asian": "asian", "Indian": "indian"}
    predictions = pd.DataFrame(
        {
            "file": labels["file"],
            "gender_pred": labels["gender"],
            "age_pred": labels["age"].map(lower) + 5.5,  # years, always in the right group
            "race_pred": labels["race"].map(race4),
        }
    )
    predictions.loc[:9, "race_pred"] = "black"  # 10 errors unless the true race is Black
    mapping = tmp_path / "race4.json"
    mapping.write_text(json.dumps({"white": "White", "black": "Black", "asian": "East Asian",
                                   "indian": "Indian"}))  # fmt: skip
    labels.to_csv(tmp_path / "labels.csv", index=False)
    predictions.to_csv(tmp_path / "preds.csv", index=False)
    out = tmp_path / "audit.json"
    argv = ["audit", "--predictions", str(tmp_path / "preds.csv"), "--labels",
            str(tmp_path / "labels.csv"), "--output", str(out)]  # fmt: skip
    assert main(argv) == 2  # without mappings: a clear error, not a guess
    assert "outside the vocabulary" in capsys.readouterr().err
    assert main([*argv, "--map", "age=years", f"race={mapping}"]) == 0
    from fairaudit.model_audit import AuditResult

    result = AuditResult.load(out)
    assert result.metrics("age")["accuracy"].iloc[0] == 1.0
    expected = 1 - (labels["race"].iloc[:10] != "Black").sum() / n
    assert result.metrics("race")["accuracy"].iloc[0] == pytest.approx(expected)
