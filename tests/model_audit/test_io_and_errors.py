"""Tables, mappings, save/load, bad input and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.model_audit import (
    AuditResult,
    SmallSliceWarning,
    audit_predictions,
    audit_table,
)
from fairaudit.vocab import (
    FAIRFACE_TO_UTKFACE_RACE,
    FAIRFACE_VOCABULARIES,
    UTKFACE_VOCABULARIES,
    age_years_to_group,
)

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


def test_class_mapping_and_age_in_years_with_regression():
    rng = np.random.default_rng(4)
    n = 200
    years = rng.integers(0, 90, n)
    pred_years = np.clip(years + rng.integers(-8, 9, n), 0, None)
    ff_race = rng.choice(V["race"].classes, n)
    labels = pd.DataFrame(
        {
            "file": [f"{i}.jpg" for i in range(n)],
            "gender": rng.choice(["Male", "Female"], n),
            "age": age_years_to_group(years).astype(str),
            "race": FAIRFACE_TO_UTKFACE_RACE.apply(ff_race).astype(str),
            "age_years": years,
        }
    )
    preds = pd.DataFrame({"file": labels["file"], "race_pred": ff_race, "age_pred": pred_years})
    result = audit_table(
        preds,
        labels,
        tasks={"race": UTKFACE_VOCABULARIES["race"], "age": V["age"]},
        mappings={"race": FAIRFACE_TO_UTKFACE_RACE, "age": age_years_to_group},
    )
    assert result.metrics("race")["accuracy"].iloc[0] == 1.0
    expected_age = (age_years_to_group(pred_years).astype(str) == labels["age"].to_numpy()).mean()
    assert result.metrics("age")["accuracy"].iloc[0] == pytest.approx(expected_age)
    reg = result.regression_metrics("age_years", by="race")
    err = pred_years - years
    for row in reg.itertuples():
        m = labels["race"].to_numpy() == row.race
        if m.any():
            assert row.mae == pytest.approx(np.abs(err[m]).mean())
            assert row.bias == pytest.approx(err[m].mean())
    bad = FAIRFACE_TO_UTKFACE_RACE.mapping | {}
    bad.pop("Indian")
    from fairaudit.vocab import ClassMapping

    with pytest.raises(UnknownLabelError):
        audit_table(
            preds,
            labels,
            tasks={"race": UTKFACE_VOCABULARIES["race"]},
            mappings={"race": ClassMapping(bad, target=UTKFACE_VOCABULARIES["race"])},
        )


def test_save_load_round_trip_and_version(tmp_path):
    preds, labels = _tables()
    result = audit_table(preds, labels, description="unit test")
    path = result.save(tmp_path / "audit.json")
    loaded = AuditResult.load(path)
    assert loaded == result and loaded.metadata == result.metadata
    pd.testing.assert_frame_equal(
        loaded.fairness("race", by="gender"), result.fairness("race", by="gender")
    )
    obj = json.loads(path.read_text())
    assert obj["format"] == "fairaudit-audit" and obj["format_version"] == 1
    obj["format_version"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(obj))
    with pytest.raises(DataValidationError, match="format_version 2"):
        AuditResult.load(tmp_path / "v2.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(DataValidationError, match="junk.json"):
        AuditResult.load(tmp_path / "junk.json")
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(DataValidationError, match="mismatched lengths"):
        audit_predictions(y_true={"gender": ["Male", "Female"]}, y_pred={"gender": ["Male"]})
    with pytest.raises(UnknownLabelError, match="'Robot'"):
        audit_predictions(y_true={"gender": ["Male", "Robot"]}, y_pred={"gender": ["Male", "Male"]})
    with pytest.raises(DataValidationError, match="codes must lie"):
        audit_predictions(y_true={"gender": [0, 2]}, y_pred={"gender": [0, 1]})
    with pytest.raises(DataValidationError, match=r"row\(s\) \[2\]"):
        audit_predictions(y_true={"gender": [0, 1]}, y_proba={"gender": [[0.5, 0.5], [0.9, 0.3]]})
    with pytest.raises(DataValidationError, match="neither predictions nor probabilities"):
        audit_predictions(y_true={"gender": [0, 1]})
    skin = ["light", None, "dark"]
    with pytest.raises(UnknownLabelError, match=r"row\(s\) \[2\]"):
        audit_predictions(
            y_true={"gender": [0, 1, 1]},
            y_pred={"gender": [0, 1, 0]},
            sensitive_features={"skin": skin},
        )


def test_missing_group_and_empty_slices_are_marked():
    result = audit_predictions(
        y_true={"gender": [0, 1, 1, 0]},
        y_pred={"gender": [0, 1, 0, 0]},
        sensitive_features=pd.DataFrame({"skin": ["light", None, "dark", None]}),
        missing="group",
    )
    with pytest.warns(SmallSliceWarning):
        frame = result.metrics("gender", by="skin")
    assert frame["skin"].astype(str).tolist() == ["dark", "light", "missing"]
    assert frame["support"].tolist() == [1, 1, 2]
    assert frame["accuracy"].tolist() == [0.0, 1.0, 1.0]
    empty = audit_predictions(y_true={"gender": [0, 0]}, y_pred={"gender": [0, 1]}).metrics(
        "gender", by="gender"
    )
    assert empty["status"].tolist() == ["small", "empty"]
    assert np.isnan(empty["accuracy"].iloc[1]) and empty["support"].iloc[1] == 0
    assert not empty.drop(index=1).isna().any().any()


def test_cli_audit_prints_saves_and_fails_cleanly(tmp_path, capsys):
    preds, labels = _tables()
    preds.to_csv(tmp_path / "p.csv", index=False)
    labels.to_csv(tmp_path / "l.csv", index=False)
    out = tmp_path / "audit.json"
    code = main(
        [
            "audit",
            "--predictions",
            str(tmp_path / "p.csv"),
            "--labels",
            str(tmp_path / "l.csv"),
            "--output",
            str(out),
            "--resamples",
            "20",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "race fairness between gender groups" in text
    assert AuditResult.load(out).n_rows == len(labels)
    code = main(["audit", "--result", str(out), "--json", "-"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["n_rows"] == len(labels)
    preds.loc[0, "file"] = "nope.jpg"
    preds.to_csv(tmp_path / "p.csv", index=False)
    code = main(
        ["audit", "--predictions", str(tmp_path / "p.csv"), "--labels", str(tmp_path / "l.csv")]
    )
    assert code == 2 and "no label row" in capsys.readouterr().err


@pytest.mark.shared_data
def test_real_fairface_labels(fairface_root):
    labels = pd.read_csv(fairface_root / "labels" / "fairface_label_val.csv").head(500)
    preds = pd.DataFrame(
        {
            "file": labels["file"],
            "gender_pred": labels["gender"],
            "age_pred": labels["age"],
            "race_pred": labels["race"].iloc[::-1].to_numpy(),
        }
    )
    result = audit_table(preds, labels)
    assert result.n_rows == 500
    assert result.metrics("age")["accuracy"].iloc[0] == 1.0
    counts = labels.groupby(["gender", "race"]).size()
    by = result.metrics("race", by=("gender", "race")).set_index(["gender", "race"])["support"]
    assert by.loc[("Female", "White")] == counts.loc[("Female", "White")]
