"""Each metric name is defined once: what results, bootstrap, reports, comparisons and the
gate show is exactly the registry's names, with the registry's definitions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fairaudit.compare import compare_audits
from fairaudit.compare._constants import DEFAULT_METRICS
from fairaudit.compare._inputs import check_metrics
from fairaudit.compare._wording import metric_label
from fairaudit.findings._disparities import RANKED_GAPS
from fairaudit.functional import METRICS
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS
from fairaudit.gate import check_audit
from fairaudit.gate._check import FAIRNESS_GATE_METRICS, GATE_METRICS, SLICE_GATE_METRICS
from fairaudit.model_audit import audit_predictions
from fairaudit.report._compare_render import DEFAULT_SLICE_METRICS
from fairaudit.report._glossary import GLOSSARY
from fairaudit.report.sections._task import _GROUP_METRICS, _OVERALL_METRICS
from fairaudit.vocab import FAIRFACE_VOCABULARIES
from tests.model_audit.conftest import make_data


@pytest.fixture(scope="module")
def audits():
    y_true, y_pred = make_data(1500, 3)
    _, y_other = make_data(1500, 4)
    attrs = {"gender": y_true["gender"], "race": y_true["race"]}
    tasks = {t: FAIRFACE_VOCABULARIES[t] for t in ("gender", "race")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = audit_predictions(
            y_true={t: y_true[t] for t in tasks},
            y_pred={t: y_pred[t] for t in tasks},
            sensitive_features=attrs,
            tasks=tasks,
        )
        b = audit_predictions(
            y_true={t: y_true[t] for t in tasks},
            y_pred={t: y_other[t] for t in tasks},
            sensitive_features=attrs,
            tasks=tasks,
        )
    return a, b


def test_registry_names_are_unique_and_complete() -> None:
    assert len(METRICS) == len(SLICE_METRICS) + len(CLASS_METRICS) + len(GAP_METRICS)
    for name, spec in METRICS.items():
        assert spec.name == name and spec.definition and spec.label
    assert all(spec.rate and spec.gap_kind for spec in GAP_METRICS.values())


def test_result_tables_show_the_registry(audits) -> None:
    a, _ = audits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = a.metrics("race", by="gender")
        per_class = a.per_class("race", by="gender")
        fairness = a.fairness("race", by="gender")
        boot = a.bootstrap(n_resamples=5, random_state=0, progress=False, by="gender")
    assert [c for c in table.columns if c not in ("gender", "support", "status")] == list(
        SLICE_METRICS
    )
    assert set(CLASS_METRICS) <= set(per_class.columns)
    assert list(dict.fromkeys(fairness["metric"])) == list(GAP_METRICS)
    assert set(boot["metric"]) <= set(METRICS)
    assert set(boot["metric"]) == (set(SLICE_METRICS) - {"error_rate"}) | set(GAP_METRICS)


def test_gate_accepts_exactly_the_registry(audits) -> None:
    assert FAIRNESS_GATE_METRICS == tuple(GAP_METRICS)
    assert SLICE_GATE_METRICS == tuple(SLICE_METRICS)
    assert set(GATE_METRICS) == set(GAP_METRICS) | set(SLICE_METRICS)
    a, _ = audits
    result = check_audit(a, max={"accuracy_difference": 1.0, "accuracy": 1.0}, min_support=0)
    assert set(result.checks["metric"]) <= set(METRICS)


def test_comparison_shows_only_registered_metrics(audits) -> None:
    assert set(DEFAULT_METRICS) <= set(METRICS)
    assert check_metrics(list(METRICS)) == list(METRICS)
    with pytest.raises(ValueError, match="unknown metric"):
        check_metrics(["accuracy", "no_such_metric"])
    a, b = audits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = compare_audits([a, b], n_resamples=5, random_state=0, progress=False)
    assert set(comparison.changes["metric"]) <= set(METRICS)
    assert all(metric_label(m) == METRICS[m].label for m in METRICS)


def test_report_names_and_glossary_come_from_the_registry() -> None:
    assert set(_GROUP_METRICS) - {"support"} <= set(SLICE_METRICS)
    assert set(_OVERALL_METRICS) <= set(SLICE_METRICS)
    assert set(RANKED_GAPS) <= set(GAP_METRICS)
    assert all(GAP_METRICS[m].gap_kind == "difference" for m in RANKED_GAPS)
    assert set(DEFAULT_SLICE_METRICS) <= set(METRICS)
    for name, spec in METRICS.items():
        assert GLOSSARY[name] == spec.definition, name


def test_leading_axes_give_point_estimates_and_replicates() -> None:
    from fairaudit.functional import slice_metric_values

    rng = np.random.default_rng(0)
    cm = rng.integers(0, 20, size=(4, 3, 5, 5))
    stacked = slice_metric_values(cm)
    for r in range(4):
        single = slice_metric_values(cm[r])
        for name in SLICE_METRICS:
            np.testing.assert_array_equal(stacked[name][r], single[name])
