"""compare_audits: values vs sklearn/fairlearn, intervals vs row bootstraps, directions."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_recall_fscore_support,
)
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from fairaudit.compare import Comparison, compare_audits
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._intervals import paired_difference_interval
from fairaudit.model_audit import AuditResult, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES as V
from fairaudit.vocab import Vocabulary
from tests.claims._oracles import exact_square_and_add

from .conftest import joined

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")

RESAMPLES = 200


@pytest.fixture(scope="module")
def unpaired(audits) -> Comparison:
    return compare_audits(
        audits, names=["A", "B"], n_resamples=RESAMPLES, random_state=0, progress=False
    )


@pytest.fixture(scope="module")
def paired(audits, pairs) -> Comparison:
    return compare_audits(
        audits,
        names=["A", "B"],
        paired=pairs,
        n_resamples=RESAMPLES,
        random_state=0,
        progress=False,
    )


def _rows(comparison, **where) -> pd.DataFrame:
    frame = comparison.changes
    for key, value in where.items():
        frame = frame[frame[key] == value]
    return frame


@pytest.mark.parametrize("kind", ["paired", "unpaired"])
def test_known_changes_get_exactly_their_directions(kind, request):
    comparison = request.getfixturevalue(kind)
    by_race = _rows(comparison, task="race", metric="accuracy", by="race").set_index("slice")
    assert by_race.loc["Black", "direction"] == "improved"
    assert by_race.loc["White", "direction"] == "regressed"
    others = by_race.drop(index=["Black", "White"])
    assert (others["change"] == 0).all()
    assert (others["direction"] == "no clear change").all()
    # the tasks B did not touch are unchanged everywhere, gaps included
    untouched = comparison.changes[comparison.changes["task"].isin(["gender", "age"])]
    assert len(untouched) > 500
    assert (untouched["change"].fillna(0) == 0).all()
    assert (untouched["direction"] == "no clear change").all()
    assert set(comparison.improved()["task"]) == {"race"}
    assert set(comparison.regressed()["task"]) == {"race"}
    # lower is better for gaps: the direction follows the sign and the metric
    gaps = comparison.changes[comparison.changes["kind"] == "gap"]
    worse = gaps[(gaps["direction"] == "regressed")]
    assert ((worse["change"] > 0) == worse["metric"].str.endswith("_difference")).all()


def test_paired_flags(paired, unpaired):
    assert not unpaired.changes["paired"].any()
    assert set(unpaired.changes["test"]) <= {"rate", "gap", "bootstrap"}
    assert not unpaired.is_paired("B") and paired.is_paired("B")
    assert "unpaired" in unpaired.pairing_notes()[0]
    assert "paired on the 4,000 rows" in paired.pairing_notes()[0]
    flagged = paired.changes[paired.changes["paired"]]
    assert set(flagged["metric"]) == {"accuracy", "recall"}
    assert (flagged["test"] == "paired").all()
    rest = paired.changes[~paired.changes["metric"].isin(["accuracy", "recall"])]
    assert not rest["paired"].any()
    assert paired.summary()["paired"].all() and not unpaired.summary()["paired"].any()


def test_per_slice_values_equal_sklearn(versions, unpaired):
    rows = joined(versions)
    frame = _rows(unpaired, task="age", by="gender x race")
    for (gender, race), sub in rows.groupby(["gender", "race"]):
        name = f"{gender} & {race}"
        got = frame[frame["slice"] == name].set_index(["metric", "class"])
        for version, column in (("a", "value_a"), ("b", "value_b")):
            y, p = sub["age"], sub[f"age_{version}"]
            assert got.loc[("accuracy", ""), column] == pytest.approx(accuracy_score(y, p))
            assert got.loc[("balanced_accuracy", ""), column] == pytest.approx(
                balanced_accuracy_score(y, p)
            )
            assert got.loc[("f1_macro", ""), column] == pytest.approx(
                f1_score(y, p, average="macro", zero_division=0)
            )
            precision, recall, f1, support = precision_recall_fscore_support(
                y, p, labels=list(V["age"].classes), zero_division=np.nan
            )
            for k, cls in enumerate(V["age"].classes):
                for metric, expected in (("recall", recall), ("precision", precision)):
                    value = got.loc[(metric, cls), column] if (metric, cls) in got.index else np.nan
                    assert value == pytest.approx(expected[k], nan_ok=True), (name, metric, cls)
                assert got.loc[("recall", cls), "n"] == support[k]
                if ("precision", cls) in got.index:  # rows predicted as cls, fewer version
                    predicted = min((sub[f"age_{v}"] == cls).sum() for v in "ab")
                    assert got.loc[("precision", cls), "n"] == predicted


def test_gaps_equal_fairlearn_and_a_naive_loop(versions, unpaired):
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    rows = joined(versions)
    gaps = _rows(unpaired, kind="gap").set_index(["task", "by", "metric"])
    for version, column in (("a", "value_a"), ("b", "value_b")):
        y = (rows["gender"] == "Female").astype(int)
        p = (rows[f"gender_{version}"] == "Female").astype(int)
        assert gaps.loc[("gender", "race", "equalized_odds_difference"), column] == pytest.approx(
            equalized_odds_difference(y, p, sensitive_features=rows["race"])
        )
        assert gaps.loc[
            ("gender", "age", "demographic_parity_difference"), column
        ] == pytest.approx(demographic_parity_difference(y, p, sensitive_features=rows["age"]))
        accs = [(sub["race"] == sub[f"race_{version}"]).mean() for _, sub in rows.groupby("age")]
        assert gaps.loc[("race", "age", "accuracy_difference"), column] == pytest.approx(
            max(accs) - min(accs)
        )
    # a gap rests on its smallest group
    assert gaps.loc[("race", "age", "accuracy_difference"), "n"] == rows["age"].value_counts().min()
    # grouped by its own true label, a task keeps only its accuracy gaps
    own = set(gaps.sort_index().loc[("race", "race")].index)
    assert own == {"accuracy_difference", "accuracy_ratio"}
    assert "race x gender" not in set(unpaired.changes["by"])


def test_unpaired_rate_and_gap_intervals_from_the_rows(versions, audits):
    """A slice's accuracy: exact square-and-add; a gap: both versions' gap intervals."""
    rows = joined(versions)
    comparison = compare_audits(
        audits, n_resamples=200, random_state=1, progress=False, tasks=["race"], by=["race"]
    )
    white = _rows(comparison, metric="accuracy", slice="White").iloc[0]
    alpha = 1 - white["level"]
    sub = rows[rows["race"] == "White"]
    hits = {v: int((sub[f"race_{v}"] == sub["race"]).sum()) for v in "ab"}
    low, high = exact_square_and_add(hits["b"], len(sub), hits["a"], len(sub), alpha)
    assert (white["ci_low"], white["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert white["test"] == "rate" and not white["paired"]
    # the gap: each version's Newcombe intervals of every pair and every group against
    # the rest at alpha / (2 m), combined
    gap = _rows(comparison, metric="accuracy_difference", by="race").iloc[0]
    alpha = 1 - gap["level"]
    bounds = {}
    for v in "ab":
        right = rows[f"race_{v}"] == rows["race"]
        counts = [
            (int(right[rows["race"] == r].sum()), int((rows["race"] == r).sum()))
            for r in V["race"].classes
        ]
        hits_all, n_all = sum(c[0] for c in counts), sum(c[1] for c in counts)
        contrasts = [
            (counts[i], counts[j], True) for i, j in itertools.combinations(range(len(counts)), 2)
        ] + [((x, n), (hits_all - x, n_all - n), False) for x, n in counts]
        m = len(contrasts)
        lows, highs = [], []
        for (xi, ni), (xj, nj), is_pair in contrasts:
            lo, hi = confint_proportions_2indep(
                xi, ni, xj, nj, method="newcomb", compare="diff", alpha=alpha / 2 / m
            )
            lows.append(max(lo, -hi, 0.0))
            if is_pair:
                highs.append(max(hi, -lo))
        bounds[v] = (max(lows), max(highs))
    expected = (bounds["b"][0] - bounds["a"][1], bounds["b"][1] - bounds["a"][0])
    assert (gap["ci_low"], gap["ci_high"]) == pytest.approx(expected, abs=1e-6)
    assert gap["ci_low"] <= gap["change"] <= gap["ci_high"]
    # every claim agrees with itself: significant exactly when its interval excludes 0
    changes = comparison.changes
    excludes = (changes["ci_low"] > 0) | (changes["ci_high"] < 0)
    np.testing.assert_array_equal(changes["significant"], excludes)
    inside = changes.dropna(subset=["ci_low"])
    assert (
        (inside["ci_low"] <= inside["change"] + 1e-12)
        & (inside["change"] <= inside["ci_high"] + 1e-12)
    ).all()


def test_paired_rows_use_newcombe_paired(versions, paired, unpaired):
    rows = joined(versions)
    for race in ("White", "Black", "Indian"):
        sub = rows[rows["race"] == race]
        a_right = (sub["race_a"] == sub["race"]).to_numpy()
        b_right = (sub["race_b"] == sub["race"]).to_numpy()
        a_only, b_only = int((a_right & ~b_right).sum()), int((~a_right & b_right).sum())
        both, neither = int((a_right & b_right).sum()), int((~a_right & ~b_right).sum())
        row = _rows(paired, task="race", metric="accuracy", by="race", slice=race).iloc[0]
        low, high = paired_difference_interval(
            both, a_only, b_only, neither, confidence=row["level"]
        )
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((float(low), float(high)))
        # the p-value is the level at which that interval reaches 0
        if row["p_value"] < 1:

            def bound(log_alpha, args=(both, a_only, b_only, neither), up=row["change"] > 0):
                lo, hi = paired_difference_interval(*args, confidence=1 - np.exp(log_alpha))
                return float(lo) if up else -float(hi)

            if bound(np.log(1e-15)) > 0:  # beyond a double's levels: p is tiny
                assert row["p_value"] < 1e-14
            else:
                expected = np.exp(brentq(bound, np.log(1e-15), np.log(0.999999), xtol=1e-12))
                assert row["p_value"] == pytest.approx(expected, rel=2e-3)
        assert row["change"] == pytest.approx(b_right.mean() - a_right.mean(), abs=1e-15)
        assert row["test"] == "paired" and row["paired"]
    # pairing removes the variance both versions share: a narrower interval
    for race in ("White", "Black"):
        one = _rows(paired, task="race", metric="accuracy", by="race", slice=race).iloc[0]
        two = _rows(unpaired, task="race", metric="accuracy", by="race", slice=race).iloc[0]
        assert one["change"] == two["change"]
        assert one["ci_high"] - one["ci_low"] < 0.8 * (two["ci_high"] - two["ci_low"])


def test_benjamini_hochberg_within_each_candidates_task(unpaired):
    frame = unpaired.changes
    for _, group in frame.groupby(["candidate", "task"]):
        ok = (group["status"] == "ok").to_numpy()
        p = group["p_value"].to_numpy()[ok]
        if not ok.any():
            continue
        reject, q, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
        np.testing.assert_allclose(group["p_adjusted"].to_numpy()[ok], q)
        np.testing.assert_array_equal(group["significant"].to_numpy()[ok], reject)
        level = 1 - 0.05 * max(reject.sum(), 1) / ok.sum()
        np.testing.assert_allclose(group["level"].to_numpy(), level)
        assert (
            group["p_value"].to_numpy()[~ok].size == 0
            or np.isnan(group["p_value"].to_numpy()[~ok]).all()
        )
    sig = frame[frame["significant"]]
    assert (sig["p_adjusted"] <= 0.05).all() and (sig["status"] == "ok").all()
    assert ((sig["ci_low"] > 0) | (sig["ci_high"] < 0)).all()


def test_findings_are_plain_sentences_from_the_oracle(versions, paired):
    rows = joined(versions)
    sub = rows[rows["race"] == "White"]
    change = ((sub["race_b"] == sub["race"]).mean() - (sub["race_a"] == sub["race"]).mean()) * 100
    table = paired.finding_table()
    findings = paired.findings(limit=None)
    assert findings == table["sentence"].tolist()
    # overall per task first (B equals A on gender and age: no clear change), then gaps
    assert list(table["block"].head(3)) == ["overall"] * 3
    assert list(table["task"].head(3)) == ["gender", "age", "race"]
    assert findings[0].startswith("gender accuracy overall") and "no clear change" in findings[0]
    slices = table[table["block"] == "slice"]
    assert len(slices) and (slices["task"] == "race").all()
    sentences = slices["sentence"].tolist()
    white = [f for f in sentences if f.startswith("race accuracy for White people (")]
    assert len(white) == 1
    assert white[0].startswith(
        "race accuracy for White people (the same number: recall for White people) "
        f"fell {abs(change):.1f} points"
    )
    assert "paired p" in white[0] and "): regressed." in white[0]
    assert any(f.startswith("race accuracy for Black people") for f in sentences)
    # the recall of class White overall is the same number: told once, in that sentence
    assert not any(f.startswith("race recall for White people") for f in findings)
    # slice findings: largest lower bound first
    bounds = slices["lower_bound"].to_numpy()
    assert (np.diff(bounds) <= 1e-12).all()
    assert len(paired.findings(limit=3)) == 3


def test_three_versions_compare_with_the_first(audits, pairs):
    a, b = audits
    comparison = compare_audits(
        [a, b, a],
        names=["A", "B", "C"],
        paired=pairs,
        n_resamples=50,
        progress=False,
        tasks=["race"],
        by=["race"],
    )
    assert comparison.candidates == ["B", "C"]
    c_rows = _rows(comparison, candidate="C")
    assert (c_rows["change"].fillna(0) == 0).all() and not c_rows["significant"].any()
    assert comparison.is_paired("B") and not comparison.is_paired("C")
    assert all(f.startswith("B vs A: ") for f in comparison.findings())


def test_seeded_and_saved(tmp_path, audits, unpaired):
    again = compare_audits(
        audits, names=["A", "B"], n_resamples=RESAMPLES, random_state=0, progress=False
    )
    pd.testing.assert_frame_equal(again.changes, unpaired.changes)
    other = compare_audits(
        audits, names=["A", "B"], n_resamples=RESAMPLES, random_state=5, progress=False
    )
    assert not np.allclose(other.changes["ci_low"], unpaired.changes["ci_low"], equal_nan=True)
    path = unpaired.save(tmp_path / "changes.json")
    obj = json.loads(path.read_text())
    assert obj["format"] == "fairaudit-comparison" and obj["names"] == ["A", "B"]
    assert len(obj["changes"]) == len(unpaired.changes)
    assert obj["findings"] == unpaired.findings(limit=None)
    assert "NaN" not in path.read_text()


def test_names_default_from_files(tmp_path, audits):
    a, b = audits
    paths = [a.save(tmp_path / "model-v1.json"), b.save(tmp_path / "model-v2.json")]
    comparison = compare_audits(paths, n_resamples=10, progress=False, by=["race"])
    assert comparison.names == ["model-v1", "model-v2"]


def test_names_default_from_the_audits_model(tmp_path, audits):
    """A saved audit names its version by its model; files of one model keep their names."""
    a, b = (AuditResult.from_dict(x.to_dict()) for x in audits)
    a.metadata["model"], b.metadata["model"] = "abc", "  "  # blank: the file name
    paths = [a.save(tmp_path / "model-v1.json"), b.save(tmp_path / "model-v2.json")]
    comparison = compare_audits(paths, n_resamples=10, progress=False, by=["race"])
    assert comparison.names == ["abc", "model-v2"]
    b.metadata["model"] = "abc"
    paths[1] = b.save(tmp_path / "model-v2.json")
    comparison = compare_audits(paths, n_resamples=10, progress=False, by=["race"])
    assert comparison.names == ["model-v1", "model-v2"]
    del b.metadata["model"]
    b.metadata["name"] = "xyz"
    paths[1] = b.save(tmp_path / "model-v2.json")
    comparison = compare_audits(paths, n_resamples=10, progress=False, by=["race"])
    assert comparison.names == ["abc", "xyz"]
    # in memory: the model name, else v1, v2, ...
    assert compare_audits([a, audits[1]], n_resamples=10, progress=False, by=["race"]).names == [
        "abc",
        "v2",
    ]


# ------------------------------------------------------------------------ bad input
def test_fewer_than_two_audits(audits):
    with pytest.raises(DataValidationError, match="at least two audits"):
        compare_audits([audits[0]])
    with pytest.raises(DataValidationError, match="at least two audits"):
        compare_audits(audits[0])


def test_other_tasks_classes_and_attributes_are_refused(versions, audits):
    a, _ = audits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        only_race = audit_table(
            versions["b"][["file", "race_pred"]], versions["labels"], attributes=a.attributes
        )
        reordered_cells = audit_table(
            versions["b"], versions["labels"], attributes=["race", "gender", "age"]
        )
        other_attrs = audit_table(versions["b"], versions["labels"], attributes=["gender"])
    with pytest.raises(DataValidationError, match="'A' and 'B'.*other tasks"):
        compare_audits([a, only_race], names=["A", "B"])
    with pytest.raises(DataValidationError, match="other sensitive attributes"):
        compare_audits([a, other_attrs], names=["A", "B"])
    with pytest.raises(DataValidationError, match="other sensitive attributes"):
        compare_audits([a, reordered_cells], names=["A", "B"])
    renamed = Vocabulary("race", tuple(f"group {k}" for k in range(7)))
    other_classes = AuditResult(
        tasks={"gender": V["gender"], "age": V["age"], "race": renamed},
        attributes=a.attributes,
        counts=a.counts,
    )
    with pytest.raises(DataValidationError, match="other tasks or classes"):
        compare_audits([a, other_classes], names=["A", "B"])
    with pytest.raises(DataValidationError, match="task 'race' has other classes"):
        compare_audits([a, other_classes], names=["A", "B"], tasks=["race"])
    # the same tasks in another order are the same tasks
    reordered = AuditResult(
        tasks={t: a.tasks[t] for t in ("race", "gender", "age")},
        attributes=a.attributes,
        counts=a.counts,
    )
    same = compare_audits([a, reordered], by=["race"], n_resamples=10, progress=False)
    assert (same.changes["change"].fillna(0) == 0).all()
    # the shared task alone can be compared
    ok = compare_audits(
        [a, only_race],
        names=["A", "B"],
        tasks=["race"],
        by=["race"],
        n_resamples=10,
        progress=False,
    )
    assert set(ok.changes["task"]) == {"race"}


def test_other_data_is_refused(versions, audits):
    a, _ = audits
    labels = versions["labels"].iloc[:-10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fewer = audit_table(versions["b"], labels, unmatched="report")
    with pytest.raises(DataValidationError, match="not audited on the same data.*4000 vs 3990"):
        compare_audits([a, fewer], names=["v1", "v2"])


def test_bad_files_are_refused(tmp_path, audits):
    good = audits[0].save(tmp_path / "good.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(good.read_text()[:200])
    with pytest.raises(DataValidationError, match="corrupt.json: not a JSON audit"):
        compare_audits([good, corrupt])
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(json.loads(good.read_text()) | {"format_version": 7}))
    with pytest.raises(DataValidationError, match="newer.json: audit format_version 7"):
        compare_audits([good, newer])


def test_pairs_of_other_predictions_are_refused(versions, audits, pairs):
    a, b = audits
    other = versions["b"].copy()
    other["gender_pred"] = other["gender_pred"].sample(frac=1.0, random_state=3).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shuffled = audit_table(other, versions["labels"])
    with pytest.raises(DataValidationError, match="do not belong to the baseline 'A'"):
        compare_audits([a, shuffled], names=["A", "B"], paired=pairs)
    # pairs given in the other order are turned round
    swapped = compare_audits(
        [a, b],
        names=["A", "B"],
        paired=pairs.swapped(),
        n_resamples=10,
        by=["race"],
        progress=False,
    )
    assert swapped.paired["B"].names == ("A", "B")


def test_unknown_metric_or_attribute(audits):
    with pytest.raises(DataValidationError, match="unknown metric.*choose from"):
        compare_audits(audits, metrics=["acuracy"])
    with pytest.raises(DataValidationError, match="unknown sensitive attribute"):
        compare_audits(audits, by=["ethnicity"])
