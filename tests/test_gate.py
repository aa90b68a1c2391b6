"""The fairness gate: values against fairlearn and naive loops, configuration, the CLI."""

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
from fairaudit.gate import GATE_METRICS, check_audit, load_gate_config, parse_thresholds
from fairaudit.metrics import audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES as V

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.metrics.SmallSliceWarning")


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
        spread = [max(v) - min(v) for v in (tpr, fpr) if len(v) >= 2]
        eod[cls] = max(spread) if spread else np.nan
        dpd[cls] = max(sr) - min(sr) if len(sr) >= 2 else np.nan
    accs = [(g[task] == g[f"{task}_pred"]).mean() for g in groups if len(g) >= floor]
    if pos is not None:
        return eod[pos], dpd[pos], min(accs) / max(accs)
    return np.nanmax(list(eod.values())), np.nanmax(list(dpd.values())), min(accs) / max(accs)


@pytest.mark.parametrize("min_support", [0, 60, 150])
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
    assert "groups under 100 rows, left out of the checks" in result.format()


def test_pass_fail_and_task_overrides(audit):
    value = _check(
        check_audit(audit, max={"equalized_odds_difference": 1}, by=["race"]),
        "age",
        "race",
        "equalized_odds_difference",
    )["value"]
    assert 0 < value < 1
    below = check_audit(audit, max={"age:equalized_odds_difference": value - 1e-9}, by=["race"])
    above = check_audit(audit, max={"age:equalized_odds_difference": value + 1e-9}, by=["race"])
    assert not below.passed and above.passed and bool(above)
    assert _check(below, "age", "race", "equalized_odds_difference")["status"] == "fail"
    assert list(below.violations["task"]) == ["age"]
    # a task's own threshold wins over the general one
    mixed = check_audit(
        audit,
        max={"equalized_odds_difference": 0.0, "age:equalized_odds_difference": 1.0},
        by=["race"],
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
    assert (huge.checks["status"] == "not judged").all() and huge.passed
    strict = check_audit(
        audit,
        max={"equalized_odds_difference": 1},
        by=["age"],
        tasks=["race"],
        min_support=10**6,
        strict=True,
    )
    assert not strict.passed and len(strict.violations) == len(strict.checks)


def test_summary_outputs(audit):
    result = check_audit(audit, max={"equalized_odds_difference": 0.05}, by=["race"])
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
        ]
    )
    assert status == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "FAIL gender by race: equalized_odds_difference" in out
    saved = json.loads(summary.read_text())
    expected = check_audit(
        audit, max={"equalized_odds_difference": 0.01}, min={"accuracy": 0.2}, by=["race"]
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
