"""An audit re-run without the suspect rows: left out under their own status, never dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.attributes._label_quality import (
    ANY_LABEL_ISSUE,
    SUSPECT_LABEL_STATUS,
    exclude_suspect_rows,
    suspect_files,
)
from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, audit_table


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Predictions with a planted gap that the suspect rows alone make (race B)."""
    rng = np.random.default_rng(2)
    n = 300
    files = [f"img{k}.jpg" for k in range(n)]
    race = np.where(np.arange(n) % 2 == 0, "White", "Black")
    gender = rng.choice(["Male", "Female"], n)
    pred = gender.copy()
    suspect = (race == "Black") & (rng.random(n) < 0.25)
    pred[suspect] = np.where(gender[suspect] == "Male", "Female", "Male")
    status = np.full(n, "ok", dtype=object)
    status[3] = "unreadable"
    predictions = pd.DataFrame({"file": files, "gender_pred": pred, "status": status})
    labels = pd.DataFrame({"file": files, "gender": gender, "race": race})
    suspects = [f for f, s in zip(files, suspect, strict=True) if s] + ["img3.jpg"]
    return predictions, labels, suspects


def _naive_accuracy(predictions, labels, leave_out: set[str]) -> dict[str, tuple[int, float]]:
    rows = predictions.merge(labels, on="file")
    rows = rows[(rows["status"] == "ok") & ~rows["file"].isin(leave_out)]
    return {
        race: (len(part), float((part["gender"] == part["gender_pred"]).mean()))
        for race, part in rows.groupby("race")
    }


def test_the_rows_are_left_out_and_counted(tables):
    predictions, labels, suspects = tables
    table, report = exclude_suspect_rows(predictions, suspects)
    assert report == {
        "requested": len(suspects),
        "left_out": len(suspects) - 1,  # img3.jpg was unreadable already
        "already_left_out": 1,
        "status": SUSPECT_LABEL_STATUS,
    }
    assert len(table) == len(predictions)  # marked, not deleted
    assert predictions["status"].eq("ok").sum() == len(predictions) - 1  # input untouched
    with pytest.warns(UserWarning):
        audit = audit_table(table, labels, attributes=["race"])
    assert audit.metadata["left_out"]["status"] == {
        SUSPECT_LABEL_STATUS: len(suspects) - 1,
        "unreadable": 1,
    }
    assert audit.metadata["left_out"]["labels_without_prediction"] == 0
    expected = _naive_accuracy(predictions, labels, set(suspects))
    metrics = audit.metrics("gender", by="race", min_support=0)
    metrics = metrics[metrics["support"] > 0]
    assert sorted(map(str, metrics["race"])) == sorted(expected)
    for row in metrics.itertuples(index=False):
        n, acc = expected[str(row.race)]
        assert row.support == n and row.accuracy == pytest.approx(acc)
    # without the suspect rows the planted gap is gone
    assert metrics["accuracy"].min() == pytest.approx(1.0)


def test_suspect_files_from_every_form(tables, tmp_path):
    predictions, _, suspects = tables
    issues = pd.DataFrame(
        {"file": predictions["file"], ANY_LABEL_ISSUE: predictions["file"].isin(suspects)}
    )
    assert suspect_files(issues) == [f for f in predictions["file"] if f in set(suspects)]
    (tmp_path / "list.txt").write_text("\n".join(suspects) + "\n\n")
    assert suspect_files(tmp_path / "list.txt") == suspects
    pd.DataFrame({"file": suspects + suspects[:2]}).to_csv(tmp_path / "f.csv", index=False)
    assert suspect_files(tmp_path / "f.csv") == suspects  # each once


def test_unknown_suspect_files_are_an_error(tables):
    predictions, _, _ = tables
    with pytest.raises(DataValidationError, match=r"1 suspect row.*nope\.jpg"):
        exclude_suspect_rows(predictions, ["img1.jpg", "nope.jpg"])
    with pytest.raises(DataValidationError, match="no 'file' column"):
        suspect_files(pd.DataFrame({"name": ["a"]}))


def test_cli_audit_exclude(tables, tmp_path, capsys):
    predictions, labels, suspects = tables
    predictions.to_csv(tmp_path / "pred.csv", index=False)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    (tmp_path / "suspects.txt").write_text("\n".join(suspects))
    argv = ["audit", "--predictions", str(tmp_path / "pred.csv"), "--labels"]
    argv += [str(tmp_path / "labels.csv"), "--by", "race", "-o", str(tmp_path / "a.json")]
    assert main([*argv, "--exclude", str(tmp_path / "suspects.txt")]) == 0
    err = capsys.readouterr().err
    assert f"leaving out {len(suspects) - 1} suspect row(s)" in err
    audit = AuditResult.load(tmp_path / "a.json")
    assert audit.metadata["left_out"]["status"][SUSPECT_LABEL_STATUS] == len(suspects) - 1
    assert audit.n_rows == len(predictions) - len(suspects)
