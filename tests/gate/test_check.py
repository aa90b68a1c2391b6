"""The fairness gate: values against fairlearn and naive loops, statuses and exit codes,
relative thresholds, configuration, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.gate import check_audit, load_gate_config
from fairaudit.gate._check import GATE_METRICS
from fairaudit.gate._config import parse_thresholds
from fairaudit.model_audit import audit_predictions, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES as V
from fairaudit.vocab import Vocabulary

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")


def _rows(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Labels and predictions; group sizes and error rates differ by race and age."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"file": [f"val/{i}.jpg" for i in range(n)]})
    for task in ("gender", "age", "race"):
        classes = np.asarray(V[task].classes, dtype=object)
        p = rng.dirichlet(np.ones(len(classes)))
        frame[task] = classes[rng.choice(len(classes), n, p=p)]
    race_code = frame["race"].map(V["race"].classes.index).to_numpy()
    for task in ("gender", "age", "race"):
        classes = np.asarray(V[task].classes, dtype=object)
        right = rng.random(n) < 0.85 - 0.06 * (race_code % 4)
        frame[f"{task}_pred"] = np.where(
            right, frame[task], classes[rng.integers(0, len(classes), n)]
        )
    return frame


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return _rows()


@pytest.fixture(scope="module")
def audit(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return audit_table(rows[["file", "gender_pred", "age_pred", "race_pred"]], rows)


def _check(result, task, by, metric):
    frame = result.checks
    return frame[(frame["task"] == task) & (frame["by"] == by) & (frame["metric"] == metric)].iloc[
        0
    ]


def test_binary_gaps_equal_fairlearn(rows, audit):
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    y = (rows["gender"] == "Female").astype(int)
    p = (rows["gender_pred"] == "Female").astype(int)
    bounds = {
        "equalized_odds_difference": (equalized_odds_difference, "max"),
        "demographic_parity_difference": (demographic_parity_difference, "max"),
        "demographic_parity_ratio": (demographic_parity_ratio, "min"),
        "equalized_odds_ratio": (equalized_odds_ratio, "min"),
    }
    for attribute in ("race", "age"):
        result = check_audit(
            audit,
            max={m: 0.5 for m, (_, kind) in bounds.items() if kind == "max"},
            min={m: 0.5 for m, (_, kind) in bounds.items() if kind == "min"},
            by=[attribute],
            min_support=0,
            tasks=["gender"],
        )
        for metric, (oracle, _) in bounds.items():
            expected = oracle(y, p, sensitive_features=rows[attribute])
            assert _check(result, "gender", attribute, metric)["value"] == pytest.approx(
                expected, abs=1e-12
            ), (attribute, metric)


def test_min_support_zero_reads_exactly_the_audits_fairness(audit):
    metrics = [m for m in GATE_METRICS if m.endswith(("_difference", "_ratio"))]
    result = check_audit(
        audit, max=dict.fromkeys(metrics, 1.0), by=["gender", "age", "race"], min_support=0
    )
    for task in audit.tasks:
        for attribute in audit.attributes:
            if attribute == task:
                continue
            fair = audit.fairness(task, by=attribute)
            fair = fair[fair["class"] == "all"].set_index("metric")
            for metric in metrics:
                row = _check(result, task, attribute, metric)
                assert row["value"] == pytest.approx(fair.loc[metric, "value"], nan_ok=True)
                if row["status"] != "not judged":
                    low, high = fair.loc[metric, ["low_group", "high_group"]]
                    assert row["worst"].endswith(f"{low} vs {high}")


def _naive_gaps(rows, task, attribute, min_support, pos=None):
    """Worst-class equalized odds and demographic parity, accuracy ratio, per-rate support."""
    floor = max(min_support, 1)
    groups = [g for _, g in rows.groupby(attribute)]
    eod, dpd = {}, {}
    for cls in V[task].classes:
        tpr, fpr, sr = [], [], []
        for g in groups:
            true, pred = g[task] == cls, g[f"{task}_pred"] == cls
            if len(g) >= floor:
                sr.append(pred.mean())
            if true.sum() >= floor:
                tpr.append(pred[true].mean())
            if (~true).sum() >= floor:
                fpr.append(pred[~true].mean())
        # equalized odds is judged only when both its TPR and its FPR gaps are
        both = len(tpr) >= 2 and len(fpr) >= 2
        eod[cls] = max(max(tpr) - min(tpr), max(fpr) - min(fpr)) if both else np.nan
        dpd[cls] = max(sr) - min(sr) if len(sr) >= 2 else np.nan
    accs = [(g[task] == g[f"{task}_pred"]).mean() for g in groups if len(g) >= floor]
    if pos is not None:
        return eod[pos], dpd[pos], min(accs) / max(accs)

    def worst(values):
        judged = [v for v in values if not np.isnan(v)]
        return max(judged) if judged else np.nan

    return worst(eod.values()), worst(dpd.values()), min(accs) / max(accs)


@pytest.mark.parametrize("min_support", [0, 60, 150, 300])
def test_gaps_equal_a_naive_loop_that_judges_only_rates_with_enough_rows(rows, audit, min_support):
    result = check_audit(
        audit,
        max={"equalized_odds_difference": 1, "demographic_parity_difference": 1},
        min={"accuracy_ratio": 0},
        by=["gender", "age", "race"],
        min_support=min_support,
    )
    for task in ("gender", "race", "age"):
        for attribute in ("gender", "age", "race"):
            if attribute == task:
                continue
            pos = "Female" if task == "gender" else None
            eod, dpd, ratio = _naive_gaps(rows, task, attribute, min_support, pos)
            where = (task, attribute, min_support)
            got = _check(result, task, attribute, "equalized_odds_difference")["value"]
            assert got == pytest.approx(eod, nan_ok=True), where
            got = _check(result, task, attribute, "demographic_parity_difference")["value"]
            assert got == pytest.approx(dpd, nan_ok=True), where
            got = _check(result, task, attribute, "accuracy_ratio")["value"]
            assert got == pytest.approx(ratio), where
    if min_support == 150:  # rates on fewer rows were left out: other values than the audit's
        fair = audit.fairness("age", by="race").set_index(["metric", "class"])
        judged = _check(result, "age", "race", "equalized_odds_difference")["value"]
        assert judged < fair.loc[("equalized_odds_difference", "all"), "value"]


def test_unjudged_notes_name_the_rates_that_lack_rows(rows, audit):
    """At 300 rows, half of some equalized odds is judged: not judged, and the note says why."""
    result = check_audit(
        audit, max={"equalized_odds_difference": 1}, by=["age", "race"], min_support=300
    )
    unjudged = result.unjudged.set_index(["task", "by"])
    assert result.exit_code == 3 and len(unjudged) == 4
    for (task, attribute), row in unjudged.iterrows():
        groups = {name: g for name, g in rows.groupby(attribute)}
        judged = {}  # class -> (groups whose TPR, FPR rest on 300 rows)
        for cls in V[task].classes:
            tpr = [n for n, g in groups.items() if (g[task] == cls).sum() >= 300]
            fpr = [n for n, g in groups.items() if (g[task] != cls).sum() >= 300]
            judged[cls] = (tpr, fpr)
        if task == "gender":
            tpr, fpr = judged["Female"]
            assert len(tpr) >= 2 and len(fpr) == 1
            assert row["note"] == (
                "fewer than two groups whose FPR of class Female rests on at least 300 rows "
                f"(judged only in {fpr[0]}); its TPR is judged in {len(tpr)} groups, but half "
                "an equalized odds is no verdict"
            )
            continue
        assert all(min(len(t), len(f)) < 2 for t, f in judged.values())
        best = max(judged, key=lambda c: (min(map(len, judged[c])), sum(map(len, judged[c]))))
        tpr, fpr = judged[best]
        assert row["note"] == (
            "for no class do two groups have a TPR and an FPR resting on at least 300 rows "
            f"(closest: class {best}, judged TPR in {len(tpr)}, FPR in {len(fpr)} of "
            f"{len(groups)} groups)"
        )


def test_worst_slice_metrics_and_small_groups(rows, audit):
    result = check_audit(
        audit, min={"accuracy": 0.5}, max={"error_rate": 0.9}, by=["age"], min_support=100
    )
    sizes = rows["age"].value_counts()
    small = sizes[sizes < 100]
    assert len(small) > 0
    for task in ("gender", "race"):
        accs = {
            a: (g[task] == g[f"{task}_pred"]).mean()
            for a, g in rows.groupby("age")
            if len(g) >= 100
        }
        worst = min(accs, key=accs.get)
        row = _check(result, task, "age", "accuracy")
        assert row["value"] == pytest.approx(accs[worst])
        assert row["worst"] == f"worst slice {worst}"
        assert _check(result, task, "age", "error_rate")["value"] == pytest.approx(1 - accs[worst])
        for group, size in small.items():
            assert f"{group} ({size} rows)" in row["not_judged"]
        assert row["groups_judged"] == len(accs)
    assert "groups left out of the checks (a rate needs 100 rows or more)" in result.format()


def test_a_gap_leaves_out_the_groups_with_few_rows_of_its_class(rows, audit):
    """A TPR (FPR) gap rests on each group's rows of (not of) its class, not all its rows."""
    result = check_audit(
        audit,
        max={
            "equal_opportunity_difference": 0.9,
            "equalized_odds_difference": 0.9,
            "accuracy_difference": 0.9,
        },
        tasks=["gender"],
        by=["race"],
        min_support=150,
    )
    female = {r: int((g["gender"] == "Female").sum()) for r, g in rows.groupby("race")}
    male = {r: len(g) - female[r] for r, g in rows.groupby("race")}
    sizes = rows["race"].value_counts()
    tpr_out = {r for r in female if female[r] < 150}
    assert any(sizes[r] >= 150 for r in tpr_out)  # a large group with few women
    opportunity = _check(result, "gender", "race", "equal_opportunity_difference")
    assert opportunity["not_judged"] == "; ".join(
        f"{r} ({female[r]} rows of class Female)" for r in V["race"].classes if r in tpr_out
    )
    assert opportunity["groups_judged"] == len(female) - len(tpr_out)
    odds = _check(result, "gender", "race", "equalized_odds_difference")
    for r in female:  # the TPR's shortfall is named first, then the FPR's
        if female[r] < 150:
            assert f"{r} ({female[r]} rows of class Female)" in odds["not_judged"]
        elif male[r] < 150:
            assert f"{r} ({male[r]} rows of class Male)" in odds["not_judged"]
        else:
            assert f"{r} (" not in odds["not_judged"]
    accuracy = _check(result, "gender", "race", "accuracy_difference")
    assert accuracy["not_judged"] == "; ".join(
        f"{r} ({sizes[r]} rows)" for r in V["race"].classes if sizes[r] < 150
    )
    text = result.format()
    assert "by race (gender equal_opportunity_difference, gender equalized_odds_difference)" in text


def test_pass_fail_and_task_overrides(audit):
    # the threshold logic, on point estimates (tests/gate/test_verdicts.py: on intervals)
    value = _check(
        check_audit(audit, max={"equalized_odds_difference": 1}, by=["race"], decide="point"),
        "age",
        "race",
        "equalized_odds_difference",
    )["value"]
    assert 0 < value < 1
    below = check_audit(
        audit, max={"age:equalized_odds_difference": value - 1e-9}, by=["race"], decide="point"
    )
    above = check_audit(
        audit, max={"age:equalized_odds_difference": value + 1e-9}, by=["race"], decide="point"
    )
    assert not below.passed and above.passed and bool(above)
    assert _check(below, "age", "race", "equalized_odds_difference")["status"] == "fail"
    assert list(below.violations["task"]) == ["age"]
    # a task's own threshold wins over the general one
    mixed = check_audit(
        audit,
        max={"equalized_odds_difference": 0.0, "age:equalized_odds_difference": 1.0},
        by=["race"],
        decide="point",
    )
    thresholds = mixed.checks.set_index("task")["threshold"]
    assert thresholds["age"] == 1.0 and thresholds["gender"] == 0.0
    assert set(mixed.violations["task"]) == {"gender"}  # race by race does not apply
    assert _check(mixed, "race", "race", "equalized_odds_difference")["status"] == "not applicable"
    # default groupings: every attribute but the task's own
    default = check_audit(audit, max={"equalized_odds_difference": 1})
    assert set(default.checks[default.checks["task"] == "race"]["by"]) == {"gender", "age"}


def test_own_attribute_and_unjudged_checks(audit):
    result = check_audit(
        audit,
        max={"race:equalized_odds_difference": 0.1, "race:accuracy_difference": 1},
        by=["race", "gender*race"],
        tasks=["race"],
    )
    own = _check(result, "race", "race", "equalized_odds_difference")
    assert own["status"] == "not applicable" and "own true label" in own["note"]
    assert _check(result, "race", "race", "accuracy_difference")["status"] == "pass"
    assert "gender x race" in set(result.checks["by"])
    huge = check_audit(
        audit, max={"equalized_odds_difference": 1}, by=["age"], tasks=["race"], min_support=10**6
    )
    # a check that cannot be judged fails the gate unless allowed (it used to pass)
    assert (huge.checks["status"] == "not judged").all() and not huge.passed
    assert huge.exit_code == 3 and len(huge.violations) == len(huge.checks)
    assert huge.checks["note"].eq("fewer than two groups with at least 1000000 rows").all()
    allowed = check_audit(
        audit,
        max={"equalized_odds_difference": 1},
        by=["age"],
        tasks=["race"],
        min_support=10**6,
        allow_unjudged=True,
    )
    # allowing unjudged checks lets them through beside judged ones, but a gate that
    # judged nothing at all does not pass
    assert allowed.judged_nothing and not allowed.passed and allowed.exit_code == 3
    assert allowed.violations.empty and len(allowed.unjudged) == len(allowed.checks)


def test_summary_outputs(audit):
    result = check_audit(
        audit, max={"equalized_odds_difference": 0.05}, by=["race"], decide="point"
    )
    text = result.format()
    assert text.startswith("fairness gate on audit: FAILED")
    assert "FAIL race by race" not in text  # own attribute: not applicable
    assert "FAIL gender by race: equalized_odds_difference = " in text
    summary = result.to_dict()
    json.dumps(summary)  # serialisable
    assert summary["passed"] is False
    assert summary["n_failed"] == len(result.violations)
    assert {c["metric"] for c in summary["checks"]} == {"equalized_odds_difference"}


def test_configuration_files(tmp_path, audit):
    toml = tmp_path / "gate.toml"
    toml.write_text(
        "min_support = 50\nby = ['race', 'gender*age']\n\n[max]\n"
        "equalized_odds_difference = 0.2\n\n[min]\ndisparate_impact_ratio = 0.5\n\n"
        "[tasks.race.max]\nequalized_odds_difference = 0.4\n"
    )
    config = load_gate_config(toml)
    assert config.max == {"equalized_odds_difference": 0.2, "race:equalized_odds_difference": 0.4}
    assert config.min == {"disparate_impact_ratio": 0.5}
    assert config.by == ["race", "gender*age"] and config.min_support == 50
    as_json = tmp_path / "gate.json"
    as_json.write_text(
        json.dumps(
            {
                "min_support": 50,
                "by": ["race", "gender*age"],
                "max": {"equalized_odds_difference": 0.2},
                "min": {"disparate_impact_ratio": 0.5},
                "tasks": {"race": {"max": {"equalized_odds_difference": 0.4}}},
            }
        )
    )
    a = check_audit(audit, config=toml)
    b = check_audit(audit, config=as_json)
    pd.testing.assert_frame_equal(a.checks, b.checks)
    assert a.min_support == 50 and set(a.checks["by"]) == {"race", "gender x age"}
    # explicit arguments win over the file
    c = check_audit(audit, config=toml, max={"equalized_odds_difference": 0.9}, min_support=0)
    assert c.min_support == 0
    assert set(c.checks[c.checks["task"] == "gender"]["threshold"]) == {0.9, 0.5}


def test_bad_thresholds_and_configuration(tmp_path, audit):
    with pytest.raises(ConfigurationError, match="unknown metric 'eq_odds'.*equalized_odds_differ"):
        check_audit(audit, max={"eq_odds": 0.1})
    with pytest.raises(ConfigurationError, match="unknown task 'ethnicity'.*gender"):
        check_audit(audit, max={"ethnicity:accuracy_difference": 0.1})
    with pytest.raises(ConfigurationError, match="no thresholds"):
        check_audit(audit)
    with pytest.raises(ConfigurationError, match="not a number"):
        parse_thresholds(["accuracy=high"])
    with pytest.raises(ConfigurationError, match="expected METRIC=VALUE"):
        parse_thresholds(["accuracy"], option="--min")
    bad = tmp_path / "bad.toml"
    bad.write_text("[max\nx = 1")
    with pytest.raises(DataValidationError, match="bad.toml: not a valid TOML"):
        load_gate_config(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[maximum]\naccuracy = 1\n")
    with pytest.raises(ConfigurationError, match=r"unknown key\(s\) \['maximum'\]"):
        load_gate_config(typo)
    text = tmp_path / "text.toml"
    text.write_text("[max]\naccuracy_difference = 'small'\n")
    with pytest.raises(ConfigurationError, match="must be a number"):
        load_gate_config(text)
    with pytest.raises(DataValidationError, match="not found"):
        load_gate_config(tmp_path / "missing.toml")
    with pytest.raises(DataValidationError, match="unknown sensitive attribute"):
        check_audit(audit, max={"accuracy_difference": 1}, by=["ethnicity"])
    with pytest.raises(ConfigurationError, match="nothing to check"):
        check_audit(audit, max={"accuracy_difference": 1}, by=[])
    assert "accuracy" in GATE_METRICS and "equalized_odds_difference" in GATE_METRICS


def test_cli_exit_status_and_outputs(tmp_path, audit, capsys):
    path = audit.save(tmp_path / "audit.json")
    assert main(["check", str(path), "--max", "equalized_odds_difference=0.99"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out
    summary = tmp_path / "summary.json"
    status = main(
        [
            "check",
            str(path),
            "--max",
            "equalized_odds_difference=0.01",
            "--min",
            "accuracy=0.2",
            "--by",
            "race",
            "--json",
            str(summary),
            "--decide",
            "point",
        ]
    )
    assert status == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "FAIL gender by race: equalized_odds_difference" in out
    saved = json.loads(summary.read_text())
    expected = check_audit(
        audit,
        max={"equalized_odds_difference": 0.01},
        min={"accuracy": 0.2},
        by=["race"],
        decide="point",
    )
    assert saved["passed"] is False and saved["n_failed"] == len(expected.violations)
    values = [np.nan if c["value"] is None else c["value"] for c in saved["checks"]]
    assert values == pytest.approx(expected.checks["value"].tolist(), nan_ok=True)
    # bad input: one clear line, exit status 2
    assert main(["check", str(path), "--max", "eq_odds=0.1"]) == 2
    err = capsys.readouterr().err
    assert "fairaudit check: error: unknown metric 'eq_odds'" in err
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{")
    assert main(["check", str(corrupt), "--max", "accuracy_difference=0.1"]) == 2
    assert "corrupt.json: not a JSON audit" in capsys.readouterr().err
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(json.loads(path.read_text()) | {"format_version": 2}))
    assert main(["check", str(newer), "--max", "accuracy_difference=0.1"]) == 2
    assert "format_version 2 is not supported" in capsys.readouterr().err


def test_cli_in_a_subprocess(tmp_path, audit):
    path = audit.save(tmp_path / "audit.json")
    config = tmp_path / "gate.toml"
    config.write_text("[max]\nequalized_odds_difference = 0.01\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairaudit",
            "check",
            str(path),
            "--config",
            str(config),
            "--json",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["passed"] is False and summary["n_failed"] >= 1


# ---------------------------------------------------------------- synthetic audits
SITE = Vocabulary("site", ("A", "B"))


def _synthetic(cells, attribute=SITE):
    """A gender audit (positive Female) by ``attribute`` from ``{group: (tp, fn, fp, tn)}``."""
    y_true, y_pred, group = [], [], []
    for name, (tp, fn, fp, tn) in cells.items():
        for true, pred, k in (
            ("Female", "Female", tp),
            ("Female", "Male", fn),
            ("Male", "Female", fp),
            ("Male", "Male", tn),
        ):
            y_true += [true] * k
            y_pred += [pred] * k
            group += [name] * k
    return audit_predictions(
        y_true={"gender": y_true},
        y_pred={"gender": y_pred},
        sensitive_features={attribute.name: group},
        tasks=["gender"],
        attributes={attribute.name: attribute},
    )


def _run(capsys, *argv):
    status = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return status, out.out, out.err


def _only(result, metric, kind=None):
    frame = result.checks[result.checks["metric"] == metric]
    if kind is not None:
        frame = frame[frame["kind"] == kind]
    assert len(frame) == 1, frame
    return frame.iloc[0]


# A: TPR 0.8, FPR 0.2; B: TPR 0.7, FPR 0.3 -> equalized odds difference 0.1
FAIR = {"A": (40, 10, 10, 40), "B": (35, 15, 15, 35)}


def test_exit_0_when_every_check_is_judged_and_passes(tmp_path, capsys):
    path = _synthetic(FAIR).save(tmp_path / "audit.json")
    status, out, _ = _run(
        capsys, path, "--max", "equalized_odds_difference=0.15", "--decide", "point"
    )
    assert status == 0
    assert out.startswith(f"fairness gate on {path}: PASSED: all 1 judged check(s) within")
    assert "gender by site: equalized_odds_difference = 0.1000 (needs <= 0.15)" in out
    result = check_audit(path, max={"equalized_odds_difference": 0.15}, decide="point")
    row = _only(result, "equalized_odds_difference")
    assert row["value"] == pytest.approx(0.1) and row["status"] == "pass" and row["note"] == ""
    assert row["worst"] == "class Female: B vs A"  # FPR 0.3 vs 0.2 (ties go to the FPR)
    assert result.passed and result.exit_code == 0 and np.isnan(row["baseline_value"])
    # on 50 rows per group the data cannot show 0.1 within 0.15: inconclusive, exit 4
    status, out, _ = _run(capsys, path, "--max", "equalized_odds_difference=0.15")
    assert status == 4 and "INCONCLUSIVE: 1 of 1 check(s)" in out
    assert "rows per group would settle it" in out


def test_exit_1_when_a_threshold_is_exceeded(tmp_path, capsys):
    path = _synthetic(FAIR).save(tmp_path / "audit.json")
    status, out, _ = _run(
        capsys, path, "--max", "equalized_odds_difference=0.05", "--decide", "point"
    )
    assert status == 1
    assert "FAILED: 1 of 1 check(s) exceeded their threshold" in out
    assert "FAIL gender by site: equalized_odds_difference = 0.1000 (needs <= 0.05)" in out
    row = _only(
        check_audit(path, max={"equalized_odds_difference": 0.05}, decide="point"),
        "equalized_odds_difference",
    )
    assert row["status"] == "fail" and row["value"] == pytest.approx(0.1)


def test_failures_win_over_unjudged_checks(capsys, tmp_path):
    # B has no true Female: its TPR is undefined, its selection rate is not
    path = _synthetic({"A": (40, 10, 10, 40), "B": (0, 0, 20, 180)}).save(tmp_path / "a.json")
    argv = ["--max", "equal_opportunity_difference=0.5", "demographic_parity_difference=0.1"]
    status, out, _ = _run(capsys, path, *argv)
    assert status == 1
    assert "FAILED: the data show 1 of 2 check(s) beyond their threshold; 1 could not" in out
    assert "FAIL gender by site: demographic_parity_difference = 0.4000" in out  # 0.5 vs 0.1
    assert "NOT JUDGED gender by site: equal_opportunity_difference" in out
    # with the failure fixed and the unjudged check allowed, the gate passes
    argv = ["--max", "equal_opportunity_difference=0.5", "demographic_parity_difference=0.5"]
    status, out, _ = _run(capsys, path, *argv, "--allow-unjudged", "--decide", "point")
    assert status == 0
    assert "PASSED: all 1 judged check(s) within thresholds; 1 not judged (allowed)" in out
    assert "1 check(s) could not be judged (allowed, they do not fail the gate):" in out


UNJUDGED = {
    # a large group with no positives: B's TPR is undefined, whatever min_support
    "undefined": (
        {"A": (40, 10, 10, 40), "B": (0, 0, 20, 180)},
        SITE,
        "equal_opportunity_difference",
        "fewer than two groups whose TPR of class Female rests on at least 30 rows "
        "(judged only in A)",
    ),
    "every group under min support": (
        {"A": (5, 5, 5, 5), "B": (4, 6, 6, 4)},
        SITE,
        "equalized_odds_difference",
        "fewer than two groups with at least 30 rows",
    ),
    "one group": (
        {"A": (40, 10, 10, 40)},
        Vocabulary("site", ("A",)),
        "equalized_odds_difference",
        "only one group (A): nothing to compare",
    ),
    "one group with rows": (
        {"A": (40, 10, 10, 40)},
        SITE,
        "demographic_parity_difference",
        "only one group has rows (A, 100 rows)",
    ),
}


@pytest.mark.parametrize("case", list(UNJUDGED))
def test_exit_3_when_a_check_cannot_be_judged_and_0_when_allowed(case, tmp_path, capsys):
    cells, attribute, metric, why = UNJUDGED[case]
    path = _synthetic(cells, attribute).save(tmp_path / "audit.json")
    status, out, _ = _run(capsys, path, "--max", f"{metric}=0.5")
    assert status == 3, out
    lines = out.splitlines()
    assert lines[0] == (
        f"fairness gate on {path}: NOT JUDGED: 1 of 1 check(s) could not be judged, "
        "which fails the gate"
    )
    assert lines[1].startswith("1 check(s) could not be judged (each fails the gate")
    assert lines[2] == f"  NOT JUDGED gender by site: {metric} (needs <= 0.5): {why}"
    result = check_audit(path, max={metric: 0.5})
    row = _only(result, metric)
    assert row["status"] == "not judged" and np.isnan(row["value"]) and row["note"] == why
    assert not row["passed"] and not result.passed and result.exit_code == 3
    # --allow-unjudged lets unjudged checks through beside judged ones; a gate that
    # judged nothing at all still does not pass
    status, out, _ = _run(capsys, path, "--max", f"{metric}=0.5", "--allow-unjudged")
    assert status == 3
    assert "NOT JUDGED: none of the 1 check(s) could be judged" in out
    assert f"NOT JUDGED gender by site: {metric} (needs <= 0.5): {why}" in out
    allowed = check_audit(path, max={metric: 0.5}, allow_unjudged=True)
    assert not allowed.passed and allowed.exit_code == 3 and allowed.judged_nothing
    assert _only(allowed, metric)["status"] == "not judged"
    assert allowed.to_dict()["allow_unjudged"] is True and allowed.to_dict()["exit_code"] == 3


@pytest.mark.parametrize(
    ("cells", "why"),
    [
        # the issue: both TPRs 1.0 (a gap of 0, "20-29 vs 20-29"), B's FPR on 10 rows only
        (
            {"A": (30, 0, 8, 32), "B": (30, 0, 5, 5)},
            "fewer than two groups whose FPR of class Female rests on at least 30 rows "
            "(judged only in A); its TPR is judged in 2 groups, but half an equalized odds "
            "is no verdict",
        ),
        # B's positives under min_support: its TPR is not judged, its FPR is
        (
            {"A": (40, 10, 10, 40), "B": (10, 5, 20, 180)},
            "fewer than two groups whose TPR of class Female rests on at least 30 rows "
            "(judged only in A); its FPR is judged in 2 groups, but half an equalized odds "
            "is no verdict",
        ),
    ],
)
def test_equalized_odds_does_not_pass_on_half_a_metric(cells, why, tmp_path, capsys):
    audit = _synthetic(cells)
    path = audit.save(tmp_path / "audit.json")
    status, out, _ = _run(capsys, path, "--max", "equalized_odds_difference=0.5")
    assert status == 3, out
    assert f"NOT JUDGED gender by site: equalized_odds_difference (needs <= 0.5): {why}" in out
    row = _only(
        check_audit(audit, max={"equalized_odds_difference": 0.5}), "equalized_odds_difference"
    )
    assert row["status"] == "not judged" and np.isnan(row["value"]) and row["note"] == why
    # the judged half alone is still a judged check of its own
    half = "equal_opportunity_difference" if "its TPR is judged" in why else "fpr_difference"
    result = check_audit(audit, max={half: 0.5})
    assert _only(result, half)["status"] == "pass" and result.exit_code == 0


def test_a_gap_of_zero_names_no_single_group_twice(tmp_path):
    audit = _synthetic({"A": (30, 0, 8, 32), "B": (30, 0, 5, 5)})
    row = _only(
        check_audit(audit, max={"equal_opportunity_difference": 0.5}),
        "equal_opportunity_difference",
    )
    assert row["value"] == 0.0 and row["worst"] == "class Female: all 2 judged groups equal"


def test_worst_slice_metrics_are_judged_even_for_one_group(tmp_path):
    audit = _synthetic({"A": (40, 10, 10, 40)}, Vocabulary("site", ("A",)))
    row = _only(check_audit(audit, min={"accuracy": 0.7}), "accuracy")
    assert row["status"] == "pass" and row["value"] == pytest.approx(0.8)
    tiny = _synthetic({"A": (5, 5, 5, 5), "B": (4, 6, 6, 4)})
    row = _only(check_audit(tiny, min={"accuracy": 0.1}), "accuracy")
    assert row["status"] == "not judged" and row["note"] == "no slice with at least 30 rows"


# ---------------------------------------------------------------- relative thresholds
# baseline: EO 0.04 (TPR 0.8 / 0.76, FPR 0.2 / 0.24), worst accuracy 0.76 (B)
BASELINE = {"A": (40, 10, 10, 40), "B": (38, 12, 12, 38)}
# candidate: EO 0.08 (B: TPR 0.72, FPR 0.28), worst accuracy 0.72 (B)
CANDIDATE = {"A": (40, 10, 10, 40), "B": (36, 14, 14, 36)}


@pytest.fixture
def versions(tmp_path):
    baseline = _synthetic(BASELINE).save(tmp_path / "baseline.json")
    candidate = _synthetic(CANDIDATE).save(tmp_path / "candidate.json")
    return baseline, candidate


def test_relative_thresholds_pass_and_fail(versions):
    baseline, candidate = versions
    loose = check_audit(
        candidate,
        baseline=baseline,
        max_increase={"equalized_odds_difference": 0.05},
        max_decrease={"accuracy": 0.05},
        decide="point",
    )
    eo = _only(loose, "equalized_odds_difference")
    acc = _only(loose, "accuracy")
    assert eo["kind"] == "max_increase" and acc["kind"] == "max_decrease"
    assert eo["value"] == pytest.approx(0.08) and eo["baseline_value"] == pytest.approx(0.04)
    assert acc["value"] == pytest.approx(0.72) and acc["baseline_value"] == pytest.approx(0.76)
    assert eo["status"] == acc["status"] == "pass" and loose.passed and loose.exit_code == 0
    assert acc["worst"] == "worst slice B (baseline: worst slice B)"
    assert loose.baseline == str(baseline)
    tight = check_audit(
        candidate,
        baseline=baseline,
        max_increase={"equalized_odds_difference": 0.02},
        max_decrease={"accuracy": 0.01},
        max={"equalized_odds_difference": 0.1},
        decide="point",
    )
    assert list(tight.checks["kind"]) == ["max", "max_increase", "max_decrease"]
    assert list(tight.checks["status"]) == ["pass", "fail", "fail"]
    assert tight.exit_code == 1 and list(tight.violations["kind"]) == [
        "max_increase",
        "max_decrease",
    ]
    text = tight.format()
    assert (
        "FAIL gender by site: equalized_odds_difference = 0.0800, baseline 0.0400 (+0.0400) "
        "(needs an increase <= 0.02 over the baseline)" in text
    )
    assert (
        "FAIL gender by site: accuracy = 0.7200, baseline 0.7600 (-0.0400) "
        "(needs a decrease <= 0.01 from the baseline)" in text
    )
    # the same audit as its own baseline: no change, passes any non-negative bound
    same = check_audit(
        candidate,
        baseline=candidate,
        max_increase={"equalized_odds_difference": 0},
        decide="point",
    )
    assert _only(same, "equalized_odds_difference")["status"] == "pass"
    # on intervals, 100 rows per version cannot show a change of at most 0.02 either way
    judged = check_audit(
        candidate, baseline=baseline, max_increase={"equalized_odds_difference": 0.02}
    )
    row = _only(judged, "equalized_odds_difference")
    assert row["status"] == "inconclusive" and row["lower"] <= 0.04 <= row["upper"]
    # an improvement passes a bound that demands one
    better = check_audit(
        baseline,
        baseline=candidate,
        max_increase={"equalized_odds_difference": -0.03},
        decide="point",
    )
    row = _only(better, "equalized_odds_difference")
    assert row["status"] == "pass" and row["value"] == pytest.approx(0.04)


def test_relative_thresholds_on_the_command_line(versions, capsys):
    baseline, candidate = versions
    argv = [candidate, "--baseline", baseline, "--max-increase", "equalized_odds_difference=0.05"]
    argv += ["--decide", "point"]
    status, out, _ = _run(capsys, *argv, "--max-decrease", "accuracy=0.05")
    assert status == 0
    assert f"relative thresholds against the baseline {baseline}" in out
    assert "pass gender by site: equalized_odds_difference = 0.0800, baseline 0.0400" in out
    status, out, _ = _run(capsys, *argv, "--max-decrease", "accuracy=0.01", "--json", "-")
    assert status == 1
    summary = json.loads(out)
    assert summary["exit_code"] == 1 and summary["baseline"] == str(baseline)
    (acc,) = [c for c in summary["checks"] if c["metric"] == "accuracy"]
    assert acc["kind"] == "max_decrease" and acc["status"] == "fail"
    assert acc["value"] == pytest.approx(0.72) and acc["baseline_value"] == pytest.approx(0.76)


def test_relative_check_not_judged_when_the_baseline_cannot_be_judged(tmp_path, capsys):
    baseline = _synthetic({"A": (40, 10, 10, 40), "B": (5, 5, 5, 5)}).save(tmp_path / "b.json")
    candidate = _synthetic(CANDIDATE).save(tmp_path / "c.json")
    result = check_audit(
        candidate, baseline=baseline, max_increase={"equalized_odds_difference": 0.02}
    )
    row = _only(result, "equalized_odds_difference")
    assert row["status"] == "not judged" and row["value"] == pytest.approx(0.08)
    assert np.isnan(row["baseline_value"])
    assert row["note"] == "baseline: fewer than two groups with at least 30 rows"
    status, out, _ = _run(
        capsys, candidate, "--baseline", baseline, "--max-increase", "equalized_odds_difference=1"
    )
    assert status == 3 and "baseline: fewer than two groups with at least 30 rows" in out
    # ... and when both cannot be judged, both reasons are given
    both = check_audit(
        baseline, baseline=baseline, max_increase={"equalized_odds_difference": 0.02}
    )
    assert _only(both, "equalized_odds_difference")["note"] == (
        "audit: fewer than two groups with at least 30 rows; "
        "baseline: fewer than two groups with at least 30 rows"
    )


def test_relative_thresholds_in_a_configuration_file(versions, tmp_path, capsys):
    baseline, candidate = versions
    folder = tmp_path / "ci"
    folder.mkdir()
    config = folder / "gate.toml"
    config.write_text(
        "baseline = '../baseline.json'\n\n[max_increase]\nequalized_odds_difference = 0.05\n\n"
        "[tasks.gender.max_decrease]\naccuracy = 0.01\n"
    )
    loaded = load_gate_config(config)
    assert loaded.baseline == str(folder / "../baseline.json")  # the file's folder
    assert loaded.max_increase == {"equalized_odds_difference": 0.05}
    assert loaded.max_decrease == {"gender:accuracy": 0.01}
    result = check_audit(candidate, config=config, decide="point")
    assert list(result.checks["status"]) == ["pass", "fail"]
    assert _only(result, "accuracy")["baseline_value"] == pytest.approx(0.76)
    status, out, _ = _run(capsys, candidate, "--config", config, "--decide", "point")
    assert status == 1 and "FAIL gender by site: accuracy = 0.7200, baseline 0.7600" in out
    as_json = folder / "gate.json"
    as_json.write_text(
        json.dumps(
            {
                "baseline": str(baseline),
                "allow_unjudged": True,
                "max_increase": {"equalized_odds_difference": 0.05},
            }
        )
    )
    result = check_audit(candidate, config=as_json, decide="point")
    assert result.allow_unjudged and _only(result, "equalized_odds_difference")["status"] == "pass"


def test_an_incompatible_baseline_is_bad_input(versions, tmp_path, capsys):
    baseline, candidate = versions
    other_sites = _synthetic(
        {"A": (40, 10, 10, 40), "B": (38, 12, 12, 38), "C": (30, 10, 10, 30)},
        Vocabulary("site", ("A", "B", "C")),
    ).save(tmp_path / "other-sites.json")
    argv = ["--max-increase", "equalized_odds_difference=0.05"]
    status, _, err = _run(capsys, candidate, "--baseline", other_sites, *argv)
    assert status == 2
    assert (
        f"fairaudit check: error: baseline {other_sites} is not comparable with the audit: "
        "other sensitive attributes (audit: site: ['A', 'B']; baseline: site: ['A', 'B', 'C'])"
    ) in err
    other_task = audit_predictions(
        y_true={"race": ["White", "Black"] * 40},
        y_pred={"race": ["White", "White"] * 40},
        sensitive_features={"site": ["A", "B"] * 40},
        tasks=["race"],
        attributes={"site": SITE},
    ).save(tmp_path / "other-task.json")
    status, _, err = _run(capsys, candidate, "--baseline", other_task, *argv)
    assert status == 2 and "is not comparable with the audit: other tasks or classes" in err
    with pytest.raises(DataValidationError, match="not comparable.*other tasks"):
        check_audit(candidate, baseline=other_task, max_increase={"accuracy": 0.1})
    status, _, err = _run(capsys, candidate, "--baseline", tmp_path / "missing.json", *argv)
    assert status == 2 and "missing.json" in err
    # relative thresholds and a baseline go together
    status, _, err = _run(capsys, candidate, *argv)
    assert status == 2 and "compare with a baseline audit" in err
    status, _, err = _run(capsys, candidate, "--baseline", baseline, "--max", "accuracy=1")
    assert status == 2 and "a baseline audit is only read by max_increase" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max", "eq_odds=0.1"], "unknown metric 'eq_odds' in max threshold"),
        (["--max-increase", "eq_odds=0.1"], "unknown metric 'eq_odds' in max_increase"),
        (["--max", "equalized_odds_difference"], "expected METRIC=VALUE"),
        (["--min", "accuracy=high"], "--min 'accuracy=high': 'high' is not a number"),
        (["--max", "accuracy=nan"], "threshold must be finite"),
        (["--max", "accuracy=1", "--by", "ethnicity"], "unknown sensitive attribute"),
        (["--max", "ethnicity:accuracy=1"], "unknown task 'ethnicity'"),
        ([], "no thresholds"),
        (["--max", "accuracy=1", "--strict", "--allow-unjudged"], "contradict each other"),
    ],
)
def test_bad_configuration_exits_2(argv, message, tmp_path, capsys):
    path = _synthetic(FAIR).save(tmp_path / "audit.json")
    status, out, err = _run(capsys, path, *argv)
    assert status == 2 and out == ""
    assert err.startswith("fairaudit check: error: ") and message in err


def test_unreadable_files_exit_2(tmp_path, capsys):
    path = _synthetic(FAIR).save(tmp_path / "audit.json")
    status, _, err = _run(capsys, tmp_path / "none.json", "--max", "accuracy=1")
    assert status == 2 and "none.json" in err
    config = tmp_path / "gate.toml"
    config.write_text("[max\n")
    status, _, err = _run(capsys, path, "--config", config)
    assert status == 2 and "gate.toml: not a valid TOML gate configuration" in err
    # the removed strict key says what replaced it
    config.write_text("strict = false\n[max]\naccuracy = 1\n")
    status, _, err = _run(capsys, path, "--config", config)
    assert status == 2 and "'strict' was removed" in err and "allow_unjudged = true" in err
    config.write_text("allow_unjudged = 'yes'\n[max]\naccuracy = 1\n")
    with pytest.raises(ConfigurationError, match="allow_unjudged must be true or false"):
        load_gate_config(config)


def test_strict_is_a_deprecated_no_op(tmp_path, capsys):
    path = _synthetic({"A": (5, 5, 5, 5), "B": (4, 6, 6, 4)}).save(tmp_path / "audit.json")
    status, out, err = _run(capsys, path, "--max", "equalized_odds_difference=1", "--strict")
    assert status == 3 and "--strict is deprecated" in err
    assert "NOT JUDGED gender by site: equalized_odds_difference" in out
