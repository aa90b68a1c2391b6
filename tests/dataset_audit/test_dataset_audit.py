"""Dataset audit: every figure against an independent computation in the test."""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from fairaudit.dataset_audit import (
    LabelCounts,
    audit_dataset,
    compare_splits,
    fairface_label_counts,
    imbalance_statistics,
)
from fairaudit.dataset_audit._embedded import build_fairface_label_counts
from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS
from fairaudit.dataset_audit._plots import plot_distributions, plot_joint_heatmap
from fairaudit.dataset_audit._text import format_dataset_audit
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.vocab import FAIRFACE_VOCABULARIES, GENDER, Vocabulary


def naive_statistics(counts: list[int]) -> dict[str, float]:
    """The six statistics written out from their definitions, in plain Python."""
    total = sum(counts)
    shares = [c / total for c in counts]
    return {
        "max_ratio": max(shares),
        "min_ratio": min(shares),
        "ratio_range": max(shares) - min(shares),
        "cv": statistics.pstdev(counts) / statistics.fmean(counts),
        "entropy_bits": -sum(p * math.log2(p) for p in shares if p > 0),
        "gini": 1 - sum(p * p for p in shares),
    }


def random_labels(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: rng.choice(vocab.classes, size=n, p=rng.dirichlet(np.ones(len(vocab))))
            for name, vocab in FAIRFACE_VOCABULARIES.items()
        }
    )


# --------------------------------------------------------------------------- real data
@pytest.mark.shared_data
def test_fairface_train_imbalance_figures(fairface_root, capsys):
    """The 18 figures (6 statistics x 3 attributes) of the real train label file."""
    path = fairface_root / "labels" / "fairface_label_train.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 86_744
    audit = audit_dataset(pd.read_csv(path), name="FairFace train")
    table = audit.imbalance()
    print(f"\n{'attribute':<10}" + "".join(f"{s:>14}" for s in IMBALANCE_STATISTICS))
    for attribute, vocab in FAIRFACE_VOCABULARIES.items():
        counter = Counter(row[attribute] for row in rows)
        assert set(counter) <= set(vocab.classes)
        expected = naive_statistics([counter[c] for c in vocab.classes])
        for stat in IMBALANCE_STATISTICS:
            assert table.loc[attribute, stat] == pytest.approx(expected[stat], rel=1e-12)
        print(
            f"{attribute:<10}"
            + "".join(f"{table.loc[attribute, s]:>14.6f}" for s in IMBALANCE_STATISTICS)
        )
    # the figures the CLI prints, to 6 decimals, are these same numbers
    text = format_dataset_audit(audit)
    for attribute in FAIRFACE_VOCABULARIES:
        for stat in IMBALANCE_STATISTICS:
            assert f"{table.loc[attribute, stat]:.6f}" in text


@pytest.mark.shared_data
def test_embedded_counts_equal_the_shared_label_files(fairface_root):
    """The aggregate counts shipped in the package are rebuilt exactly from the CSVs."""
    rebuilt = build_fairface_label_counts(fairface_root / "labels")
    for split, n_rows in [("train", 86_744), ("val", 10_954)]:
        shipped = fairface_label_counts(split=split)
        part = rebuilt[rebuilt["split"] == split].drop(columns="split")
        assert LabelCounts.from_frame(part) == shipped
        assert shipped.total == n_rows
        # and independently of our own counting code: a plain Counter over the rows
        with (fairface_root / "labels" / f"fairface_label_{split}.csv").open(newline="") as f:
            counter = Counter((r["gender"], r["age"], r["race"]) for r in csv.DictReader(f))
        frame = shipped.to_frame()
        for gender, age, race, count in frame.itertuples(index=False):
            assert counter[(gender, age, race)] == count


@pytest.mark.shared_data
def test_train_vs_val_comparison_on_real_labels(fairface_root):
    train = audit_dataset(fairface_label_counts(split="train"), name="train")
    val = audit_dataset(fairface_label_counts(split="val"), name="val")
    comparison = compare_splits(train, val)
    from scipy.stats import chi2 as chi2_dist

    for attribute in FAIRFACE_VOCABULARIES:
        a = train.counts.marginal(attribute).to_numpy(float)
        b = val.counts.marginal(attribute).to_numpy(float)
        n = a.sum() + b.sum()
        col = a + b
        expected = np.vstack([a.sum() * col / n, b.sum() * col / n])
        stat = float((((np.vstack([a, b]) - expected) ** 2) / expected).sum())
        row = comparison.tests.loc[attribute]
        assert row["chi2"] == pytest.approx(stat, rel=1e-10)
        assert row["p_value"] == pytest.approx(chi2_dist.sf(stat, len(a) - 1), rel=1e-8)


# --------------------------------------------------------------------------- statistics
def test_imbalance_statistics_match_definitions_on_random_counts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        counts = rng.integers(1, 1000, size=rng.integers(2, 10)).tolist()
        got = imbalance_statistics(counts)
        expected = naive_statistics(counts)
        for stat in IMBALANCE_STATISTICS:
            assert got[stat] == pytest.approx(expected[stat], rel=1e-12)
        assert got["imbalance_ratio"] == pytest.approx(max(counts) / min(counts))


@pytest.mark.parametrize("k", [2, 7, 9])
def test_balanced_attribute_has_the_extreme_values(k):
    got = imbalance_statistics([50] * k)
    assert got["max_ratio"] == got["min_ratio"] == pytest.approx(1 / k)
    assert got["ratio_range"] == 0 and got["cv"] == 0
    assert got["entropy_bits"] == pytest.approx(math.log2(k))
    assert got["gini"] == pytest.approx(1 - 1 / k)
    assert got["normalized_entropy"] == pytest.approx(1.0)


def test_an_absent_class_counts_as_zero_not_as_missing():
    got = imbalance_statistics([10, 0, 30])
    assert got["min_ratio"] == 0 and got["imbalance_ratio"] == math.inf
    assert got["entropy_bits"] == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))


@pytest.mark.parametrize("bad", [[], [0, 0], [3, -1], [np.nan, 2]])
def test_imbalance_statistics_refuse_degenerate_counts(bad):
    with pytest.raises(DataValidationError):
        imbalance_statistics(bad)


# --------------------------------------------------------------------------- counts and joints
def test_counts_from_table_and_from_aggregates_agree_with_crosstab():
    table = random_labels(np.random.default_rng(1), 5000)
    counts = LabelCounts.from_table(table)
    aggregated = table.value_counts().rename("count").reset_index()
    assert LabelCounts.from_frame(aggregated) == counts
    audit = audit_dataset(aggregated)
    for rows, columns in [("gender", "age"), ("gender", "race"), ("age", "race")]:
        expected = pd.crosstab(table[rows], table[columns])
        got = audit.joint([rows, columns])
        for r in expected.index:
            for c in expected.columns:
                assert got.loc[r, c] == expected.loc[r, c]
        assert got.to_numpy().sum() == len(table)
    long = audit.joint(["gender", "age", "race"])
    assert len(long) == 2 * 9 * 7 and long["count"].sum() == len(table)


def test_cells_expected_counts_and_smallest_cells():
    table = random_labels(np.random.default_rng(2), 3000)
    audit = audit_dataset(table, min_cell_count=25)
    cells = audit.cells()
    n = len(table)
    marg = {a: table[a].value_counts() for a in ("gender", "age", "race")}
    for row in cells.sample(20, random_state=0).itertuples(index=False):
        observed = int(
            ((table.gender == row.gender) & (table.age == row.age) & (table.race == row.race)).sum()
        )
        assert row.count == observed
        expected = (
            n
            * (marg["gender"].get(row.gender, 0) / n)
            * (marg["age"].get(row.age, 0) / n)
            * (marg["race"].get(row.race, 0) / n)
        )
        assert row.expected == pytest.approx(expected)
        assert row.small == (observed < 25)
    smallest = audit.smallest_cells(7)
    assert smallest["count"].tolist() == sorted(cells["count"])[:7]


def test_unknown_labels_name_the_value_and_row():
    table = pd.DataFrame(
        {"gender": ["Male", "Female", "Femal"], "age": ["3-9"] * 3, "race": ["White"] * 3}
    )
    with pytest.raises(UnknownLabelError, match=r"'Femal'.*row\(s\) \[3\]"):
        audit_dataset(table)
    with pytest.raises(UnknownLabelError, match="<missing>"):
        audit_dataset(table.assign(gender=["Male", None, "Female"]))


def test_missing_column_and_empty_input_are_clear_errors():
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['race'\]"):
        audit_dataset(pd.DataFrame({"gender": ["Male"], "age": ["3-9"]}))
    with pytest.raises(DataValidationError, match="no rows"):
        audit_dataset(pd.DataFrame({"gender": [], "age": [], "race": []}))
    with pytest.raises(DataValidationError, match="non-negative integers"):
        audit_dataset(
            pd.DataFrame({"gender": ["Male"], "age": ["3-9"], "race": ["White"], "count": [-1]})
        )


def test_custom_vocabulary_and_single_attribute():
    vocab = Vocabulary("race", ("A", "B", "C"))
    table = pd.DataFrame({"race": ["A", "A", "B"]})
    audit = audit_dataset(table, attributes=["race"], vocabularies={"race": vocab})
    assert audit.distribution("race")["count"].tolist() == [2, 1, 0]
    assert audit.imbalance().loc["race", "min_ratio"] == 0


def test_compare_splits_divergence_and_identical_splits():
    table = random_labels(np.random.default_rng(3), 4000)
    a = audit_dataset(table.iloc[:2000], name="a")
    same = compare_splits(a, audit_dataset(table.iloc[:2000], name="a2"))
    assert (same.tests["chi2"] == 0).all() and (
        same.tests["js_divergence_bits"].abs() < 1e-12
    ).all()
    b = audit_dataset(table.iloc[2000:], name="b")
    comparison = compare_splits(a, b)
    p = a.distribution("race")["proportion"].to_numpy()
    q = b.distribution("race")["proportion"].to_numpy()
    m = (p + q) / 2
    js = 0.5 * sum(x * math.log2(x / y) for x, y in zip(p, m) if x > 0) + 0.5 * sum(
        x * math.log2(x / y) for x, y in zip(q, m) if x > 0
    )
    assert comparison.tests.loc["race", "js_divergence_bits"] == pytest.approx(js, abs=1e-12)
    assert comparison.tests.loc["race", "total_variation"] == pytest.approx(
        0.5 * np.abs(p - q).sum()
    )
    assert list(comparison.statistics.index.get_level_values("split")[:2]) == ["a", "b"]
    with pytest.raises(DataValidationError):
        compare_splits(a, audit_dataset(table, attributes=["gender"]))


def test_plots_are_returned_not_shown():
    audit = audit_dataset(fairface_label_counts(split="val"), name="val")
    fig = plot_distributions(audit)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    heat = plot_joint_heatmap(audit, "age", "race")
    assert isinstance(heat, Figure)
    # the annotated numbers are the joint counts
    texts = {t.get_text() for t in heat.axes[0].texts}
    assert str(int(audit.joint(["age", "race"]).iloc[0, 0])) in texts


def test_embedded_counts_are_aggregates_only():
    counts = fairface_label_counts(split="val")
    assert counts.attributes == ("gender", "age", "race") and counts.total == 10_954
    assert counts.vocabulary("gender") == GENDER
    with pytest.raises(DataValidationError):
        fairface_label_counts(split="test")


def test_to_dict_is_json_serialisable():
    import json

    audit = audit_dataset(fairface_label_counts(split="val"))
    payload = json.loads(json.dumps(audit.to_dict()))
    assert payload["n"] == 10_954
    assert payload["imbalance"]["age"]["n_classes"] == 9
    assert sum(c["count"] for c in payload["joint_counts"]) == 10_954
