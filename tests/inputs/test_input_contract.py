"""Nothing wrong gets in silently: labels and predictions through the input stage (issue 13).

Every case below was met with real files; the ones that come from real FairFace
label files run on them (``shared_data``, skipped with a reason when absent).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.model_audit import (
    AuditResult,
    JoinWarning,
    UnusedColumnWarning,
    audit_table,
    read_fairface_predictions,
)
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER, UTKFACE_RACE

N = 300


@pytest.fixture(scope="module")
def val_labels(shared_data) -> pd.DataFrame:
    """The first rows of the real FairFace val labels."""
    path = shared_data / "fairface" / "labels" / "fairface_label_val.csv"
    if not path.is_file():
        pytest.skip(f"real FairFace labels not found at {path}")
    return pd.read_csv(path).head(N)


def _excel_ages(labels: pd.DataFrame) -> pd.DataFrame:
    """The ages a spreadsheet turns into dates: '3-9' -> '9-Mar', '10-19' -> '19-Oct'."""
    return labels.assign(age=labels["age"].replace({"3-9": "9-Mar", "10-19": "19-Oct"}))


def _groups(result: AuditResult) -> set[str]:
    return {c for v in result.attributes.values() for c in v.classes}


# -- one validation path for every class column ----------------------------------------------


@pytest.mark.shared_data
def test_excel_mangled_ages_in_a_grouping_column_are_refused_with_the_repair(val_labels, tmp_path):
    labels = tmp_path / "labels.csv"
    _excel_ages(val_labels).to_csv(labels, index=False)
    predictions = val_labels[["file"]].assign(gender_pred=val_labels["gender"])
    with pytest.raises(UnknownLabelError) as info:
        audit_table(predictions, labels)
    message = str(info.value)
    assert str(labels) in message and "'age'" in message
    assert "'9-Mar'" in message and "'19-Oct'" in message
    first = int(np.flatnonzero(val_labels["age"].isin(["3-9", "10-19"]).to_numpy())[0]) + 1
    assert info.value.rows[0] == first
    assert "label_repairs={'age': {'9-Mar': '3-9', '19-Oct': '10-19'}}" in message
    assert "--repair age:9-Mar=3-9" in message


@pytest.mark.shared_data
def test_task_and_grouping_columns_get_the_same_error(val_labels):
    mangled = _excel_ages(val_labels)
    as_task = mangled.assign(age_pred=val_labels["age"])
    as_group = mangled.assign(gender_pred=val_labels["gender"])
    errors = []
    for table in (as_task, as_group):
        with pytest.raises(UnknownLabelError) as info:
            audit_table(table)
        errors.append(info.value)
    assert errors[0].values == errors[1].values == ["9-Mar", "19-Oct"]
    assert errors[0].rows == errors[1].rows
    assert "--repair age:9-Mar=3-9" in str(errors[0])


@pytest.mark.shared_data
def test_explicit_repairs_are_applied_logged_and_counted(val_labels, tmp_path, caplog):
    labels = tmp_path / "labels.csv"
    _excel_ages(val_labels).to_csv(labels, index=False)
    predictions = val_labels[["file"]].assign(gender_pred=val_labels["gender"])
    repairs = {"age": {"9-Mar": "3-9", "19-Oct": "10-19"}}
    with caplog.at_level("INFO", logger="fairaudit"):
        result = audit_table(predictions, labels, label_repairs=repairs)
    n_3_9 = int((val_labels["age"] == "3-9").sum())
    n_10_19 = int((val_labels["age"] == "10-19").sum())
    logged = {(r["from"], r["n_rows"]) for r in result.metadata["repairs"]}
    assert logged == {("9-Mar", n_3_9), ("19-Oct", n_10_19)}
    assert f"'9-Mar' -> '3-9' in {n_3_9} rows" in caplog.text
    assert result.attributes["age"] == FAIRFACE_AGE
    assert "9-Mar" not in _groups(result)
    by_age = result.metrics("gender", by="age").set_index("age")["support"]
    assert by_age["3-9"] == n_3_9


def test_a_repair_of_a_column_no_table_holds_is_refused():
    table = pd.DataFrame({"gender": ["Male"], "gender_pred": ["Male"]})
    with pytest.raises(DataValidationError, match="'agee'"):
        audit_table(table, label_repairs={"agee": {"9-Mar": "3-9"}})


def test_utkface_races_against_fairface_classes_suggest_the_vocabulary():
    table = pd.DataFrame({"race": ["Asian", "White"], "race_pred": ["Asian", "White"]})
    with pytest.raises(UnknownLabelError, match="--vocab utkface"):
        audit_table(table)
    assert audit_table(table, tasks="utkface").tasks["race"] == UTKFACE_RACE


# -- integer codes ------------------------------------------------------------------------


@pytest.mark.shared_data
def test_integer_codes_need_an_explicit_coding(val_labels):
    # UTKFace order (0 White, 1 Black, 2 Asian, 3 Indian, 4 Others), every one correct
    codes = np.arange(N) % 5
    table = val_labels[["file", "gender"]].assign(race=codes, race_pred=codes)
    with pytest.raises(DataValidationError) as info:
        audit_table(table)
    message = str(info.value)
    assert "column 'race'" in message and "integer codes" in message
    assert "fairface (7 classes" in message and "utkface (5 classes" in message
    assert "--coding race=utkface" in message
    result = audit_table(table, coding={"race": "utkface"})
    assert result.tasks["race"] == UTKFACE_RACE
    assert result.metrics("race")["accuracy"].item() == 1.0
    # a declared vocabulary that labels and predictions share does the same
    assert audit_table(table, tasks="utkface").metrics("race")["accuracy"].item() == 1.0


def test_integer_codes_outside_the_coding_name_rows_and_values():
    table = pd.DataFrame({"race": [0, 1, 6], "race_pred": [0, 1, 2]})
    with pytest.raises(DataValidationError, match=r"code\(s\) \[6.0\].*row\(s\) \[3\]"):
        audit_table(table, coding="utkface")


def test_a_coding_file(tmp_path):
    path = tmp_path / "coding.json"
    path.write_text(json.dumps({"0": "Male", "1": "Female"}))
    table = pd.DataFrame({"gender": [0, 1, 1], "gender_pred": [0, 1, 0]})
    result = audit_table(table, coding={"gender": str(path)})
    assert result.tasks["gender"] == GENDER
    assert result.n_rows == 3


# -- status rows ----------------------------------------------------------------------------


@pytest.mark.shared_data
def test_rows_that_are_not_ok_are_left_out_and_counted(val_labels):
    probs = np.where(val_labels["gender"].eq("Male").to_numpy()[:, None], [0.8, 0.2], [0.3, 0.7])
    table = val_labels[["file"]].assign(
        status="ok",
        error=None,
        gender_prob_Male=probs[:, 0],
        gender_prob_Female=probs[:, 1],
    )
    table.loc[:2, "status"] = "unreadable"
    table.loc[3, "status"] = "no_face"
    table.loc[:3, ["gender_prob_Male", "gender_prob_Female"]] = np.nan
    with pytest.warns(JoinWarning, match=r"3 prediction row\(s\) with status 'unreadable'"):
        result = audit_table(table, val_labels)
    assert result.n_rows == N - 4
    left_out = result.metadata["left_out"]
    assert left_out["status"] == {"unreadable": 3, "no_face": 1}
    assert left_out["labels_without_prediction"] == 0
    assert "nan" not in {c.lower() for c in _groups(result)}


# -- any subset of tasks; unknown prediction columns ---------------------------------------


@pytest.mark.shared_data
def test_any_subset_of_tasks_and_unknown_prediction_columns_are_named(val_labels):
    table = val_labels.assign(
        gender_pred=val_labels["gender"],
        age_pred=val_labels["age"],
        race_pred=val_labels["race"],
        gender_prediction=val_labels["gender"],
    )
    with pytest.warns(UnusedColumnWarning, match="gender_prediction"):
        result = audit_table(table, tasks=["gender"])
    assert list(result.tasks) == ["gender"]
    assert result.regression == {}
    # by default sliced by every attribute the labels hold
    assert list(result.attributes) == ["gender", "age", "race"]


# -- rows left out warn in Python -----------------------------------------------------------


@pytest.mark.shared_data
def test_labels_without_predictions_warn_with_counts(val_labels):
    predictions = val_labels[["file"]].head(250).assign(gender_pred=val_labels["gender"])
    with pytest.warns(JoinWarning, match=r"50 label row\(s\) without a prediction"):
        result = audit_table(predictions, val_labels)
    assert result.metadata["left_out"]["labels_without_prediction"] == 50
    assert result.n_rows == 250


def test_provenance_is_recorded():
    table = pd.DataFrame({"gender": ["Male", "Female"], "gender_pred": ["Male", "Male"]})
    result = audit_table(table, model="resnet34-fairface", description="val split")
    assert result.metadata["model"] == "resnet34-fairface"
    assert result.metadata["description"] == "val split"


# -- the FairFace authors' predict.py format ------------------------------------------------

_THEIR_ORDER = {
    "race": [
        "White",
        "Black",
        "Latino_Hispanic",
        "East Asian",
        "Southeast Asian",
        "Indian",
        "Middle Eastern",
    ],
    "gender": ["Male", "Female"],
    "age": ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"],
}


def _their_output(labels: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A file as FairFace's predict.py writes it (numpy-printed score arrays, '70+')."""
    rng = np.random.default_rng(seed)
    rows = []
    for file, age, gender, race in zip(labels.file, labels.age, labels.gender, labels.race):
        stem = file.split("/")[-1].removesuffix(".jpg")
        row = {"face_name_align": f"detected_faces/{stem}_face0.jpg"}
        truth = {"race": race, "gender": gender, "age": age.replace("more than 70", "70+")}
        for task, order in _THEIR_ORDER.items():
            scores = rng.dirichlet(np.ones(len(order))) * 0.2
            scores[order.index(truth[task])] += 0.8
            row[task] = truth[task]
            row[f"{task}_scores_fair"] = str(scores.astype(np.float32))
        row["race4"] = "White"
        row["race_scores_fair_4"] = str(np.array([0.7, 0.1, 0.1, 0.1], dtype=np.float32))
        rows.append(row)
    columns = [
        "face_name_align",
        "race",
        "race4",
        "gender",
        "age",
        "race_scores_fair",
        "race_scores_fair_4",
        "gender_scores_fair",
        "age_scores_fair",
    ]
    return pd.DataFrame(rows)[columns]


@pytest.mark.shared_data
def test_the_fairface_authors_format_is_audited_as_is(val_labels, tmp_path):
    path = tmp_path / "test_outputs.csv"
    _their_output(val_labels).to_csv(path, index=False)
    assert '"[' in path.read_text()  # score vectors are numpy prints inside quoted strings
    table = read_fairface_predictions(path, prefix="val/")
    assert table["file"].tolist() == val_labels["file"].tolist()
    result = audit_table(table, val_labels, model="FairFace ResNet-34")
    assert result.tasks == {"gender": GENDER, "age": FAIRFACE_AGE, "race": FAIRFACE_RACE}
    for task in ("gender", "age", "race"):
        assert result.metrics(task)["accuracy"].item() == 1.0
        assert task in result.calibration_sums


def test_the_fairface_format_refuses_unknown_labels_by_row():
    frame = pd.DataFrame(
        {
            "face_name_align": ["detected_faces/1_face0.jpg"],
            "race": ["Martian"],
            "gender": ["Male"],
            "age": ["70+"],
        }
    )
    with pytest.raises(DataValidationError, match=r"'Martian'.*row\(s\) \[1\]"):
        read_fairface_predictions(frame)


@pytest.mark.shared_data
def test_pairing_checks_grouping_columns_like_the_audit(val_labels):
    from fairaudit.compare import paired_counts

    mangled = _excel_ages(val_labels)
    predictions = val_labels[["file"]].assign(gender_pred=val_labels["gender"])
    with pytest.raises(UnknownLabelError, match="--repair age:9-Mar=3-9"):
        paired_counts(predictions, predictions.copy(), mangled, names=["a", "b"])
