"""Suspect labels per group in the dataset audit: label issues and near-duplicate conflicts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairaudit.attributes._colour import SKIN_TYPE
from fairaudit.attributes._label_quality import ANY_LABEL_ISSUE
from fairaudit.cli import main
from fairaudit.dataset_audit import audit_dataset
from fairaudit.dataset_audit._text import format_dataset_audit
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import FAIRFACE_VOCABULARIES

CONFIDENCE = 0.9


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({"file": [f"val/{k}.jpg" for k in range(1, n + 1)]})
    for task in ("gender", "age", "race"):
        frame[task] = rng.choice(FAIRFACE_VOCABULARIES[task].classes, n)
    frame["skin_type"] = pd.Categorical(rng.choice(["lighter", "darker"], n), dtype=SKIN_TYPE.dtype)
    return frame


@pytest.fixture(scope="module")
def issues(labels: pd.DataFrame) -> pd.DataFrame:
    """find_label_issues' shape: per-task flags, 30 rows unchecked, more flags for Black."""
    rng = np.random.default_rng(9)
    n = len(labels)
    p = np.where(labels["race"] == "Black", 0.3, 0.08)
    gender = pd.array(rng.random(n) < p, dtype="boolean")
    race = pd.array(rng.random(n) < 0.05, dtype="boolean")
    unchecked = np.arange(n) % 13 == 0
    gender[unchecked] = pd.NA
    race[unchecked] = pd.NA
    flagged = (gender.fillna(False) | race.fillna(False)).to_numpy(bool)
    return pd.DataFrame(
        {
            "file": labels["file"],
            "gender_label_issue": gender,
            "race_label_issue": race,
            ANY_LABEL_ISSUE: flagged,
        }
    )


@pytest.fixture(scope="module")
def pairs(labels: pd.DataFrame) -> pd.DataFrame:
    """Near-duplicate pairs, some conflicting, one reaching outside the labels (train/)."""
    files = labels["file"].tolist()
    rows = [
        (files[0], files[1], True),
        (files[2], files[3], False),
        (files[4], files[1], True),
        (files[10], "train/77.jpg", True),
        (files[20], files[21], False),
        (files[30], files[31], True),
    ]
    return pd.DataFrame(rows, columns=["file_a", "file_b", "conflict"])


def _oracle(labels: pd.DataFrame, flagged: set[str], checked: set[str], attribute: str) -> dict:
    """Naive per-group loop: (n, flagged) per group."""
    out = {}
    for group in labels[attribute].astype(str).unique():
        rows = labels[labels[attribute].astype(str) == group]
        in_checked = [f for f in rows["file"] if f in checked]
        out[group] = (len(in_checked), sum(f in flagged for f in in_checked))
    return out


def _check(table: pd.DataFrame, kind: str, labels, flagged, checked) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels oracle")
    part = table[table["kind"] == kind]
    assert set(part["attribute"]) == {"gender", "age", "race", "skin_type"}
    for attribute in ("gender", "age", "race", "skin_type"):
        expected = _oracle(labels, flagged, checked, attribute)
        rows = part[part["attribute"] == attribute]
        got = {r.group: (r.n, r.flagged) for r in rows.itertuples() if r.n > 0}
        assert got == {g: v for g, v in expected.items() if v[0] > 0}
        for r in rows.itertuples():
            if r.n == 0:
                continue
            low, high = proportion.proportion_confint(
                r.flagged, r.n, alpha=1 - CONFIDENCE, method="beta"
            )
            assert r.rate == pytest.approx(r.flagged / r.n)
            assert (r.lower, r.upper) == pytest.approx((low, high), abs=1e-12)
    skin = part[part["attribute"] == "skin_type"]["group"].tolist()
    assert skin == ["lighter", "darker"]  # the vocabulary's order
    age = part[part["attribute"] == "age"]["group"].tolist()
    assert age == list(FAIRFACE_VOCABULARIES["age"].classes)  # not sorted as text


def test_rates_per_group_against_a_naive_loop(labels, issues, pairs):
    audit = audit_dataset(
        labels, label_issues=issues, near_duplicates=pairs, confidence=CONFIDENCE, name="val"
    )
    table = audit.suspect_labels
    checked = set(
        issues.loc[issues[["gender_label_issue", "race_label_issue"]].notna().any(axis=1), "file"]
    )
    flagged = set(issues.loc[issues[ANY_LABEL_ISSUE], "file"])
    _check(table, "label_issue", labels, flagged, checked)
    conflicting = set(pairs.loc[pairs["conflict"], "file_a"]) | set(
        pairs.loc[pairs["conflict"], "file_b"]
    )
    _check(table, "near_duplicate_conflict", labels, conflicting, set(labels["file"]))
    assert audit.suspect_notes["label_issue"] == {"checked": 369, "not_checked": 31}
    assert audit.suspect_notes["near_duplicate_conflict"] == {
        "pairs": 6,
        "conflicting_pairs": 4,
        "conflicting_files_outside_labels": 1,
    }
    # the planted difference: Black rows flagged most often
    race = table[(table["kind"] == "label_issue") & (table["attribute"] == "race")]
    assert race.loc[race["rate"].idxmax(), "group"] == "Black"
    # shown in the text and the JSON
    text = format_dataset_audit(audit)
    assert "Suspect labels per group" in text and "near_duplicate_conflict" in text
    assert "checked: 369, not checked: 31" in text
    payload = json.loads(json.dumps(audit.to_dict()))
    assert len(payload["suspect_labels"]) == len(table)
    # without them, the audit is as before
    plain = audit_dataset(labels, name="val")
    assert plain.suspect_labels is None and "suspect_labels" not in plain.to_dict()
    assert "Suspect labels" not in format_dataset_audit(plain)


def test_a_list_of_flagged_files_is_rated_over_every_row(labels):
    files = labels["file"].iloc[::7].tolist()
    audit = audit_dataset(labels, label_issues=files, confidence=CONFIDENCE)
    _check(audit.suspect_labels, "label_issue", labels, set(files), set(labels["file"]))


def test_bad_input_is_named(labels, issues):
    with pytest.raises(DataValidationError, match=r"val/9999\.jpg"):
        audit_dataset(labels, label_issues=["val/1.jpg", "val/9999.jpg"])
    with pytest.raises(DataValidationError, match="aggregate counts"):
        counts = labels.groupby(["gender", "age", "race"]).size().rename("count").reset_index()
        audit_dataset(counts, label_issues=issues)
    with pytest.raises(DataValidationError, match="conflict"):
        audit_dataset(labels, near_duplicates=pd.DataFrame({"file_a": [], "file_b": []}))


def test_cli_audit_data_with_suspect_labels(labels, issues, pairs, tmp_path, capsys):
    plain = labels.drop(columns="skin_type")
    plain.to_csv(tmp_path / "labels.csv", index=False)
    issues.to_csv(tmp_path / "issues.csv", index=False)
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    labels[["file", "skin_type"]].to_csv(tmp_path / "derived.csv", index=False)
    out = tmp_path / "audit.json"
    argv = ["audit-data", str(tmp_path / "labels.csv"), "--label-issues"]
    argv += [str(tmp_path / "issues.csv"), "--near-duplicates", str(tmp_path / "pairs.csv")]
    argv += ["--derived", str(tmp_path / "derived.csv"), "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Suspect labels per group" in text
    rows = pd.DataFrame(json.loads(out.read_text())["audits"][0]["suspect_labels"])
    expected = audit_dataset(labels, label_issues=issues, near_duplicates=pairs).suspect_labels
    got = rows.set_index(["kind", "attribute", "group"])[["n", "flagged"]]
    want = expected.set_index(["kind", "attribute", "group"])[["n", "flagged"]]
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)
