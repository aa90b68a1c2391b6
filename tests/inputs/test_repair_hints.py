"""Errors that send users the right way: every suggestion, run as printed, works.

Each test writes a table a user might bring (lowercase classes in a prediction
column, padded spellings, ages in years, one probability column of a binary task,
rows without labels), reads the error ``fairaudit`` prints, takes the flags it
suggests exactly as printed (``shlex``), runs the command again with them, and
checks the audit against one built from clean input.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.model_audit import AuditResult, audit_table
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, age_years_to_group

N = 240


@pytest.fixture
def clean() -> pd.DataFrame:
    """Labels and clean predictions of N faces."""
    rng = np.random.default_rng(7)
    gender = rng.choice(["Male", "Female"], N)
    flip = rng.random(N) < 0.2
    predicted = np.where(flip, np.where(gender == "Male", "Female", "Male"), gender)
    # the probabilities agree with the predictions (the audit refuses ones that do not)
    confidence = rng.uniform(0.55, 0.99, N)
    p_female = np.where(predicted == "Female", confidence, 1 - confidence)
    years = rng.uniform(0, 90, N).round(1)
    return pd.DataFrame(
        {
            "file": [f"val/{i}.jpg" for i in range(N)],
            "gender": gender,
            "age": list(age_years_to_group(rng.uniform(0, 90, N))),
            "race": rng.choice(["White", "Black", "Indian"], N),
            "gender_pred": predicted,
            "gender_prob_Female": p_female,
            "age_years_pred": years,
        }
    )


def _audit_cli(tmp_path: Path, table: pd.DataFrame, *extra: str, labels=None) -> list[str]:
    predictions = tmp_path / "predictions.csv"
    table.to_csv(predictions, index=False)
    argv = ["audit", "--predictions", str(predictions), "--output", str(tmp_path / "a.json")]
    if labels is not None:
        labels_path = tmp_path / "labels.csv"
        labels.to_csv(labels_path, index=False)
        argv += ["--labels", str(labels_path)]
    return [*argv, *extra]


def _error(argv: list[str], capsys) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def _suggested(message: str, flag: str) -> list[str]:
    """The flags ``flag VALUE`` the message suggests, split as the shell would split them."""
    found = []
    # the flag's values: shell words up to a separator; COLUMN:RAW=CLASS-like ones repeat
    word = r"(?:'[^']*'|[^-\s,;'][^\s,;']*)"
    for first, more in re.findall(rf"{flag} ({word})((?: {word}=\S*)*)", message):
        found += [flag, *shlex.split(first + more)]
    assert found, f"no {flag} suggested in: {message}"
    return found


def test_lowercase_prediction_classes_suggest_a_repair_of_that_column(clean, tmp_path, capsys):
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"])
    lower = table.assign(gender_pred=table["gender_pred"].str.lower())
    argv = _audit_cli(tmp_path, lower)
    message = _error(argv, capsys)
    assert "--repair gender_pred:male=Male gender_pred:female=Female" in message
    assert "only in case or surrounding spaces" in message
    assert "spreadsheet" not in message and "label_repairs" not in message
    flags = _suggested(message, "--repair")
    assert main([*argv, *flags]) == 0
    repaired = AuditResult.load(tmp_path / "a.json")
    expected = audit_table(table)
    assert np.array_equal(repaired.counts["gender"], expected.counts["gender"])
    # the Python message gives the keyword, which works as printed too
    with pytest.raises(UnknownLabelError) as info:
        audit_table(lower)
    keyword = re.search(r"label_repairs=(\{.*?\}\})", str(info.value)).group(1)
    assert ast.literal_eval(keyword) == {"gender_pred": {"male": "Male", "female": "Female"}}
    again = audit_table(lower, label_repairs=ast.literal_eval(keyword))
    assert np.array_equal(again.counts["gender"], expected.counts["gender"])


def test_padded_spellings_are_quoted_for_the_shell(clean, tmp_path, capsys):
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"])
    padded = table.assign(
        gender_pred=table["gender_pred"].map({"Male": " Male", "Female": "Female"})
    )
    argv = _audit_cli(tmp_path, padded)
    message = _error(argv, capsys)
    assert "--repair 'gender_pred: Male=Male'" in message
    assert "only in case or surrounding spaces" in message
    assert main([*argv, *_suggested(message, "--repair")]) == 0
    expected = audit_table(table)
    assert np.array_equal(
        AuditResult.load(tmp_path / "a.json").counts["gender"], expected.counts["gender"]
    )


def test_dates_a_spreadsheet_made_are_still_named_as_such(clean, tmp_path, capsys):
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"])
    mangled = table.assign(age=table["age"].astype(str).replace({"3-9": "9-Mar"}))
    message = _error(_audit_cli(tmp_path, mangled), capsys)
    assert "spreadsheet" in message and "--repair age:9-Mar=3-9" in message


@pytest.mark.parametrize("whole_years", [False, True])
def test_ages_in_years_suggest_the_years_mapping(clean, tmp_path, capsys, whole_years):
    years = clean["age_years_pred"].round(0).astype(int) if whole_years else clean["age_years_pred"]
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"]).assign(age_pred=years)
    argv = _audit_cli(tmp_path, table)
    message = _error(argv, capsys)
    assert "--map age=years" in message and "--coding age=utkface" not in message
    assert "mappings=" not in message
    assert main([*argv, *_suggested(message, "--map")]) == 0
    result = AuditResult.load(tmp_path / "a.json")
    binned = audit_table(table.assign(age_pred=list(age_years_to_group(years))))
    assert np.array_equal(result.counts["age"], binned.counts["age"])
    assert result.tasks["age"] == FAIRFACE_AGE


def test_a_binary_task_takes_one_class_probability_alone(clean, tmp_path, capsys):
    both = clean.drop(columns=["age_years_pred"]).assign(
        gender_prob_Male=1 - clean["gender_prob_Female"]
    )
    one = clean.drop(columns=["age_years_pred"])
    expected = audit_table(both)
    for table in (
        one,
        clean.drop(columns=["age_years_pred", "gender_prob_Female"]).assign(
            gender_prob_Male=both["gender_prob_Male"]
        ),
    ):
        result = audit_table(table)
        assert np.array_equal(result.counts["gender"], expected.counts["gender"])
        got, want = result.calibration("gender"), expected.calibration("gender")
        pd.testing.assert_frame_equal(got, want)
    assert main(_audit_cli(tmp_path, one)) == 0
    # a 3-class task still needs every column
    race = clean[["file", "race"]].assign(race_pred="White", race_prob_White=1.0)
    with pytest.raises(DataValidationError, match="one per model class"):
        audit_table(race, tasks={"race": FAIRFACE_RACE})


def test_rows_without_labels_suggest_the_flag_not_the_keyword(clean, tmp_path, capsys):
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"])
    labels = table[["file", "gender", "age", "race"]].iloc[5:]
    predictions = table[["file", "gender_pred"]]
    argv = _audit_cli(tmp_path, predictions, labels=labels)
    message = _error(argv, capsys)
    assert "--unmatched report" in message and "unmatched='report'" not in message
    assert main([*argv, *_suggested(message, "--unmatched")]) == 0
    with pytest.raises(DataValidationError, match="unmatched='report'"):
        audit_table(predictions, labels)


def test_a_per_class_rate_without_a_class_names_the_flag(clean, tmp_path, capsys):
    table = clean.drop(columns=["gender_prob_Female", "age_years_pred"])
    assert main(_audit_cli(tmp_path, table)) == 0
    argv = ["slices", str(tmp_path / "a.json"), "--task", "gender", "--rate", "recall"]
    message = _error(argv, capsys)
    assert "--rate recall needs --class" in message and "cls" not in message
    classes = ast.literal_eval(re.search(r"(\[.*?\])", message.split("needs --class")[1]).group(1))
    assert classes == ["Male", "Female"]
    assert main([*argv, "--class", classes[1]]) == 0
