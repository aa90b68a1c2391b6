"""PairedCounts: the 2x2 tables against a per-row loop, the McNemar table, the file, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairaudit.compare import PairedCounts, paired_counts
from fairaudit.compare._paired import PAIRED_FORMAT
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.functional._intervals import paired_difference_interval
from fairaudit.model_audit import JoinWarning, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES as V

from .conftest import TASKS, joined

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")


def test_counts_equal_a_per_row_loop(versions, pairs):
    rows = joined(versions)
    shape = tuple(len(V[a]) for a in TASKS)
    for task in TASKS:
        expected = np.zeros((int(np.prod(shape)), len(V[task]), 2, 2), dtype=np.int64)
        for row in rows.itertuples(index=False):
            cell = np.ravel_multi_index(
                tuple(V[a].classes.index(getattr(row, a)) for a in TASKS), shape
            )
            true = getattr(row, task)
            expected[
                cell,
                V[task].classes.index(true),
                int(getattr(row, f"{task}_a") == true),
                int(getattr(row, f"{task}_b") == true),
            ] += 1
        np.testing.assert_array_equal(pairs.counts[task], expected)
    assert pairs.n_rows == len(rows)
    assert pairs.names == ("A", "B")
    assert pairs.metadata["join"]["paired_rows"] == len(rows)
    assert list(pairs.attributes) == list(TASKS)


def test_counts_agree_with_the_audits_of_both_versions(pairs, audits):
    pairs.check_audits(*audits)  # no error
    for task in TASKS:
        for side, audit in enumerate(audits):
            acc = audit.metrics(task, by="race")["accuracy"].to_numpy()
            table = pairs.mcnemar(task, by="race")
            column = "accuracy_a" if side == 0 else "accuracy_b"
            np.testing.assert_allclose(table[column].to_numpy(), acc, rtol=0, atol=1e-15)


def test_mcnemar_table_equals_naive_counts_scipy_and_newcombe(versions, pairs):
    rows = joined(versions)
    table = pairs.mcnemar("race", by="gender", min_support=0)
    assert list(table["gender"].astype(str)) == list(V["gender"].classes)
    for record in table.itertuples(index=False):
        sub = rows[rows["gender"] == record.gender]
        a_right = (sub["race_a"] == sub["race"]).to_numpy()
        b_right = (sub["race_b"] == sub["race"]).to_numpy()
        a_only, b_only = int((a_right & ~b_right).sum()), int((~a_right & b_right).sum())
        both, neither = int((a_right & b_right).sum()), int((~a_right & ~b_right).sum())
        assert (record.n, record.a_only, record.b_only, record.both, record.neither) == (
            len(sub),
            a_only,
            b_only,
            both,
            neither,
        )
        assert record.accuracy_a == pytest.approx(a_right.mean(), abs=1e-15)
        assert record.accuracy_b == pytest.approx(b_right.mean(), abs=1e-15)
        assert record.difference == pytest.approx(b_right.mean() - a_right.mean(), abs=1e-15)
        expected_p = stats.binomtest(a_only, a_only + b_only, 0.5).pvalue
        assert record.p_value == pytest.approx(expected_p, rel=1e-12)
        low, high = paired_difference_interval(both, a_only, b_only, neither)
        assert (record.ci_low, record.ci_high) == pytest.approx((float(low), float(high)))
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.maximum.accumulate(np.minimum(1, (len(p) - np.arange(len(p))) * p[order]))
    np.testing.assert_allclose(table["p_holm"].to_numpy()[order], holm)


def test_per_class_rows_are_recalls(versions, pairs):
    from sklearn.metrics import recall_score

    rows = joined(versions)
    table = pairs.mcnemar("race", by="gender", per_class=True, min_support=0)
    assert len(table) == 2 * 7
    for gender in V["gender"].classes:
        sub = rows[rows["gender"] == gender]
        for version, column in (("a", "accuracy_a"), ("b", "accuracy_b")):
            expected = recall_score(
                sub["race"], sub[f"race_{version}"], labels=list(V["race"].classes), average=None
            )
            got = table[table["gender"] == gender][column].to_numpy()
            np.testing.assert_allclose(got, expected, atol=1e-15)
    black = table[(table["class"] == "Black")]
    assert (black["difference"] > 0).all() and (black["a_only"] == 0).all()
    others = table[~table["class"].isin(["Black", "White"])]
    assert (others["difference"] == 0).all() and (others["p_value"] == 1).all()


def test_save_load_round_trip_and_bad_files(tmp_path, pairs):
    path = pairs.save(tmp_path / "paired.json")
    loaded = PairedCounts.load(path)
    assert loaded == pairs and loaded.metadata["join"] == pairs.metadata["join"]
    obj = json.loads(path.read_text())
    assert obj["format"] == PAIRED_FORMAT and obj["format_version"] == 1
    # aggregates only: no file name or per-row label ships
    assert "val/1.jpg" not in path.read_text().replace('"examples', "")

    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(path.read_text()[:100])
    with pytest.raises(DataValidationError, match="corrupt.json: not a JSON"):
        PairedCounts.load(corrupt)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(obj | {"format_version": 99}))
    with pytest.raises(DataValidationError, match="format_version 99 is not supported"):
        PairedCounts.load(newer)
    other = tmp_path / "audit.json"
    other.write_text(json.dumps({"format": "fairaudit-audit", "format_version": 1}))
    with pytest.raises(DataValidationError, match="not fairaudit paired counts"):
        PairedCounts.load(other)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(obj | {"counts": {"gender": [[1, 2]]}}))
    with pytest.raises(DataValidationError, match="broken.json"):
        PairedCounts.load(broken)
    with pytest.raises(DataValidationError, match="not found"):
        PairedCounts.load(tmp_path / "missing.json")


def test_rows_that_cannot_be_paired_are_counted_and_reported(versions):
    labels = versions["labels"]
    a = versions["a"].copy()
    b = versions["b"].copy()
    a["status"] = "ok"
    a.loc[a.index[:3], "status"] = "unreadable"
    a.loc[a.index[:3], ["gender_pred", "age_pred", "race_pred"]] = None
    b = b[~b["file"].isin(a["file"].iloc[3:8])]  # 5 rows only A predicted
    extra = b.iloc[:2].assign(file=["val/x1.jpg", "val/x2.jpg"])  # 2 rows without labels
    b = pd.concat([b, extra], ignore_index=True)
    with pytest.warns(JoinWarning, match="cannot be paired"):
        result = paired_counts(a, b, labels)
    join = result.metadata["join"]
    assert join["a"]["unreadable_rows"] == 3
    assert join["a"]["rows_not_in_other"] == 5
    assert join["b"]["rows_without_label"] == 2
    assert join["b"]["examples_without_label"] == ["val/x1.jpg", "val/x2.jpg"]
    # B's rows for A's three unreadable images are not in A
    assert join["b"]["rows_not_in_other"] == 3
    assert result.n_rows == len(labels) - 3 - 5
    with pytest.raises(DataValidationError, match="pass unmatched='report'"):
        paired_counts(a, b, labels, unmatched="error")


def test_labels_outside_the_vocabulary_are_errors_as_in_an_audit(versions):
    b = versions["b"].copy()
    b.loc[b.index[4], "race_pred"] = "Martian"
    with pytest.raises(UnknownLabelError, match="Martian"):
        paired_counts(versions["a"], b, versions["labels"])
    with (
        pytest.raises(DataValidationError, match="no row was predicted by both"),
        pytest.warns(JoinWarning),
    ):
        paired_counts(versions["a"].iloc[:0], versions["b"], versions["labels"])
    with pytest.raises(DataValidationError, match="two different names"):
        paired_counts(versions["a"], versions["b"], versions["labels"], names=("x", "x"))


def test_check_audits_refuses_other_predictions(versions, pairs, audits):
    other = versions["b"].copy()
    other["age_pred"] = other["age_pred"].sample(frac=1.0, random_state=1).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shuffled = audit_table(other, versions["labels"])
    with pytest.raises(DataValidationError, match="do not match audit 'B' for task 'age'"):
        pairs.check_audits(audits[0], shuffled)
    # the same audits in the wrong order do not match either (race differs)
    with pytest.raises(DataValidationError, match="task 'race'"):
        pairs.check_audits(audits[1], audits[0])
    pairs.swapped().check_audits(audits[1], audits[0])


def test_attributes_default_and_explicit(versions):
    # (audit_table would take the other tasks' *_pred columns for regression targets)
    a, b = (versions[v][["file", "race_pred"]] for v in "ab")
    result = paired_counts(a, b, versions["labels"], attributes=["race"], tasks=["race"])
    assert list(result.attributes) == ["race"] and list(result.tasks) == ["race"]
    assert result.counts["race"].shape == (7, 7, 2, 2)
    full = paired_counts(versions["a"], versions["b"], versions["labels"])
    np.testing.assert_array_equal(result.counts["race"], full.grouped("race", by="race"))
