"""The disparity ranking: what the data support, over groups with enough rows, no duplicates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fairaudit.demo import load_demo_audits
from fairaudit.findings import rank_disparities
from fairaudit.findings._disparities import RANKED_GAPS, class_recall
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT


@pytest.fixture(scope="module")
def demo():
    return load_demo_audits()


@pytest.fixture(scope="module")
def rankings(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: rank_disparities(audit) for name, audit in demo.audits.items()}


def _naive_gap(audit, task, attribute, metric, floor):
    """max - min of the rate over groups with >= floor rows in its denominator (a loop)."""
    cm = audit.grouped_counts(task, by=attribute)
    classes = range(cm.shape[-1])
    values = {}
    for k in classes:
        rates = []
        for g in range(cm.shape[0]):
            m = cm[g]
            n, tp = m.sum(), m[k, k]
            true, pred = m[k].sum(), m[:, k].sum()
            num, den = {
                "accuracy_difference": (np.trace(m), n),
                "demographic_parity_difference": (pred, n),
                "equal_opportunity_difference": (tp, true),
                "fpr_difference": (pred - tp, n - true),
            }[metric]
            if den >= floor:
                rates.append(num / den)
        values[k] = max(rates) - min(rates) if len(rates) >= 2 else np.nan
    if metric == "accuracy_difference":
        return values[0]
    if cm.shape[-1] == 2:
        return values[1]
    return np.nanmax(list(values.values()))


def test_values_match_a_naive_loop_over_the_judged_groups(demo, rankings):
    for name, ranking in rankings.items():
        audit = demo.audits[name]
        for row in ranking.itertuples():
            expected = _naive_gap(audit, row.task, row.attribute, row.metric, DEFAULT_MIN_SUPPORT)
            assert row.gap == pytest.approx(expected, abs=1e-12, nan_ok=True), row
        assert set(ranking["metric"]) <= set(RANKED_GAPS)


def test_every_estimate_lies_inside_its_interval(rankings):
    for ranking in rankings.values():
        defined = ranking.dropna(subset=["gap"])
        assert len(defined) > 0
        assert (defined["gap_lower"] <= defined["gap"] + 1e-12).all()
        assert (defined["gap"] <= defined["gap_upper"] + 1e-12).all()
        assert (defined["gap_lower"] >= 0).all()


def test_the_top_five_involve_no_own_attribute_and_no_small_group(demo, rankings):
    for name, ranking in rankings.items():
        audit = demo.audits[name]
        top = ranking.head(5)
        assert not (top["task"] == top["attribute"]).any()
        for row in top.itertuples():
            rows = dict(
                zip(
                    audit.group_names(row.attribute),
                    audit.grouped_counts(row.task, by=row.attribute).sum(axis=(1, 2)),
                    strict=True,
                )
            )
            assert rows[row.low_group] >= DEFAULT_MIN_SUPPORT
            assert rows[row.high_group] >= DEFAULT_MIN_SUPPORT
            assert row.supported and row.gap_lower > 0


def test_ranked_by_the_lower_bound_one_finding_per_pair_of_groups(rankings):
    for ranking in rankings.values():
        lower = ranking["gap_lower"].dropna().to_numpy()
        assert (np.diff(lower) <= 1e-15).all()
        key = ["task", "attribute", "class", "low_group", "high_group"]
        defined = ranking[ranking["low_group"] != ""]
        assert not defined.duplicated(key).any()


def test_the_race_regression_between_genders_is_supported(rankings):
    """The MobileNetV2 model's race TPR gap between genders (0.366) is a supported finding."""
    ranking = rankings["fairface-mobilenet_v2-112"]
    row = ranking[(ranking["task"] == "race") & (ranking["attribute"] == "gender")].iloc[0]
    assert row["metric"] == "equal_opportunity_difference"
    assert row["gap"] == pytest.approx(0.3658, abs=5e-4)
    assert row["supported"]


def test_class_recall_is_the_per_class_recall_with_exact_intervals(demo):
    from statsmodels.stats.proportion import proportion_confint

    audit = demo.audits["fairface-lightweight-112"]
    table = class_recall(audit, "age")
    cm = audit.grouped_counts("age")
    true = cm.sum(axis=1)
    np.testing.assert_allclose(table["recall"], np.diag(cm) / true)
    low, high = proportion_confint(np.diag(cm), true, method="beta")
    np.testing.assert_allclose(table["ci_low"], low, atol=1e-12)
    np.testing.assert_allclose(table["ci_high"], high, atol=1e-12)


def test_fairaudit_audit_ends_with_the_best_supported_disparities(demo, tmp_path, capsys):
    from fairaudit.cli import main
    from fairaudit.report import terminal_summary

    audit = demo.audits["fairface-mobilenet_v2-112"]
    path = audit.save(tmp_path / "audit.json")
    assert main(["audit", "--result", str(path)]) == 0
    err = capsys.readouterr().err
    assert terminal_summary(audit, min_support=DEFAULT_MIN_SUPPORT) in err
    top = rank_disparities(audit).iloc[0]
    assert f"{top['gap']:.3f} [{top['gap_lower']:.3f}, {top['gap_upper']:.3f}]" in err


def test_groups_left_out_name_the_count_that_left_them_out(demo, rankings):
    """A group left out of a class's TPR (FPR) gap is named with its true rows of that
    class (of the other classes), counted here from the confusion matrix by a loop."""
    seen = set()
    for name, ranking in rankings.items():
        audit = demo.audits[name]
        for row in ranking.to_dict("records"):
            cm = audit.grouped_counts(row["task"], by=row["attribute"])
            classes = list(audit.tasks[row["task"]].classes)
            expected = []
            for g, group in enumerate(audit.group_names(row["attribute"])):
                m = cm[g]
                if m.sum() == 0:
                    continue
                if row["metric"] == "accuracy_difference":
                    count, what = int(m.sum()), "rows"
                else:
                    k = classes.index(row["class"])
                    if row["metric"] == "equal_opportunity_difference":
                        count, what = int(m[k].sum()), f"rows of class {classes[k]}"
                    else:
                        others = [c for c in classes if c != classes[k]]
                        count = int(m.sum() - m[k].sum())
                        what = (
                            f"rows of class {others[0]}"
                            if len(others) == 1
                            else f"rows not of class {classes[k]}"
                        )
                if count < DEFAULT_MIN_SUPPORT:
                    expected.append(f"{group} ({count:,} {what}, under {DEFAULT_MIN_SUPPORT})")
                    seen.add(row["metric"])
            assert row["groups_left_out"] == "; ".join(expected), row
    # the demo audits leave groups out of TPR and FPR gaps (e.g. gender's 70+, 24 women)
    assert {"equal_opportunity_difference", "fpr_difference"} <= seen
