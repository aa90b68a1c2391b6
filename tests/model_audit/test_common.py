"""Registry-driven common tests, in the style of scikit-learn's ``metrics/tests/test_common.py``.

Every name of :data:`fairaudit.functional.METRICS` must have an independent row-level
oracle in :data:`ORACLES` (scikit-learn, or a naive loop over rows); a metric added to
the registry without one fails :func:`test_every_registered_metric_has_an_oracle`, and
every test below is parametrised over the registry, so a new metric is tested at once.

Conventions of the core (from its docstrings), which the oracles follow:

- slice metrics of a slice without rows are NaN (scikit-learn refuses empty input);
- per-class precision, recall and F1 that are ill-defined take ``zero_division`` (0,
  as scikit-learn), also in an empty slice; FPR and selection rate are NaN when their
  denominator is 0;
- a group rate whose denominator is 0 (no rows, no true row of the class, no row of
  another class) is left out of the gap; a gap is NaN when fewer than two groups
  define the rate; a ratio is 1 when every compared rate is 0;
- equalized odds of a class is the worse of its TPR and FPR gaps, defined only when
  both are (half a metric is no verdict); the summary
  is the positive class (index 1) of a binary task and the worst class of a multiclass
  one.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
)

from fairaudit.functional import (
    METRICS,
    MetricSpec,
    class_metric_values,
    confusion_counts,
    gap_values,
    slice_metric_values,
)
from fairaudit.functional._classification import accuracy
from fairaudit.functional._fairness import RateGaps
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS
from fairaudit.functional._resampling import multinomial_replicates
from fairaudit.model_audit import AuditAccumulator, AuditResult, audit_predictions
from fairaudit.vocab import Vocabulary

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ATOL = 1e-12


# ---------------------------------------------------------------------------- oracles
def _quiet(fn: Callable, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _sklearn_slice(fn: Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    def oracle(t: np.ndarray, p: np.ndarray, n_classes: int) -> float:
        if len(t) == 0:
            return math.nan  # convention: an empty slice has NaN metrics
        return float(_quiet(fn, t, p))

    return oracle


def _prf_averaged(index: int, average: str) -> Callable:
    return _sklearn_slice(
        lambda t, p: precision_recall_fscore_support(t, p, average=average, zero_division=0)[index]
    )


def _error_rate_loop(t: np.ndarray, p: np.ndarray, n_classes: int) -> float:
    rows = list(zip(t.tolist(), p.tolist()))
    if not rows:
        return math.nan
    return sum(a != b for a, b in rows) / len(rows)


def _prf_per_class(index: int) -> Callable:
    def oracle(t: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
        if len(t) == 0:
            # scikit-learn refuses empty input; every score is ill-defined -> zero_division
            return np.zeros(n_classes)
        scores = precision_recall_fscore_support(
            t, p, labels=list(range(n_classes)), zero_division=0
        )
        return np.asarray(scores[index], dtype=float)

    return oracle


def _fpr_loop(t: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    rows = list(zip(t.tolist(), p.tolist()))
    out = []
    for k in range(n_classes):
        negatives = [b for a, b in rows if a != k]
        out.append(sum(b == k for b in negatives) / len(negatives) if negatives else math.nan)
    return np.array(out)


def _selection_rate_loop(t: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    preds = p.tolist()
    return np.array(
        [sum(b == k for b in preds) / len(preds) if preds else math.nan for k in range(n_classes)]
    )


def _group_rates_loop(t, p, g, n_classes: int, n_groups: int) -> dict[str, np.ndarray]:
    """One-vs-rest rates per group and class by a naive loop over rows (NaN: undefined)."""
    rows = list(zip(t.tolist(), p.tolist(), g.tolist()))
    out = {name: np.full((n_groups, n_classes), math.nan) for name in ("sr", "tpr", "fpr")}
    out["accuracy"] = np.full(n_groups, math.nan)
    for j in range(n_groups):
        mine = [(a, b) for a, b, h in rows if h == j]
        if mine:
            out["accuracy"][j] = sum(a == b for a, b in mine) / len(mine)
        for k in range(n_classes):
            if mine:
                out["sr"][j, k] = sum(b == k for _, b in mine) / len(mine)
            pos = [b for a, b in mine if a == k]
            if pos:
                out["tpr"][j, k] = sum(b == k for b in pos) / len(pos)
            neg = [b for a, b in mine if a != k]
            if neg:
                out["fpr"][j, k] = sum(b == k for b in neg) / len(neg)
    return out


def _spread(values, kind: str) -> float:
    defined = [float(v) for v in values if not math.isnan(v)]
    if len(defined) < 2:
        return math.nan
    low, high = min(defined), max(defined)
    if kind == "difference":
        return high - low
    return 1.0 if high == 0 else low / high


def _worst(values, kind: str) -> float:
    defined = [float(v) for v in values if not math.isnan(v)]
    if not defined:
        return math.nan
    return max(defined) if kind == "difference" else min(defined)


def _gap_oracle(rate: str, kind: str) -> Callable:
    def oracle(t, p, g, n_classes: int, n_groups: int) -> tuple[float, np.ndarray | None]:
        rates = _group_rates_loop(t, p, g, n_classes, n_groups)
        if rate == "accuracy":
            return _spread(rates["accuracy"], kind), None
        per_class = []
        for k in range(n_classes):
            if rate == "tpr+fpr":
                both = (_spread(rates["tpr"][:, k], kind), _spread(rates["fpr"][:, k], kind))
                defined = not any(math.isnan(v) for v in both)
                per_class.append(_worst(both, kind) if defined else math.nan)
            else:
                per_class.append(_spread(rates[rate][:, k], kind))
        summary = per_class[1] if n_classes == 2 else _worst(per_class, kind)
        return summary, np.array(per_class)

    oracle.rate, oracle.kind = rate, kind  # type: ignore[attr-defined]
    return oracle


#: name -> (kind, oracle). Slice: f(t, p, C) -> float; class: f(t, p, C) -> (C,);
#: gap: f(t, p, g, C, G) -> (summary, per-class array or None).
ORACLES: dict[str, tuple[str, Callable]] = {
    "accuracy": ("slice", _sklearn_slice(accuracy_score)),
    "balanced_accuracy": ("slice", _sklearn_slice(balanced_accuracy_score)),
    "precision_macro": ("slice", _prf_averaged(0, "macro")),
    "recall_macro": ("slice", _prf_averaged(1, "macro")),
    "f1_macro": ("slice", _prf_averaged(2, "macro")),
    "precision_weighted": ("slice", _prf_averaged(0, "weighted")),
    "recall_weighted": ("slice", _prf_averaged(1, "weighted")),
    "f1_weighted": ("slice", _prf_averaged(2, "weighted")),
    "error_rate": ("slice", _error_rate_loop),
    "precision": ("class", _prf_per_class(0)),
    "recall": ("class", _prf_per_class(1)),
    "f1": ("class", _prf_per_class(2)),
    "fpr": ("class", _fpr_loop),
    "selection_rate": ("class", _selection_rate_loop),
    "demographic_parity_difference": ("gap", _gap_oracle("sr", "difference")),
    "demographic_parity_ratio": ("gap", _gap_oracle("sr", "ratio")),
    "disparate_impact_ratio": ("gap", _gap_oracle("sr", "ratio")),
    "equal_opportunity_difference": ("gap", _gap_oracle("tpr", "difference")),
    "equal_opportunity_ratio": ("gap", _gap_oracle("tpr", "ratio")),
    "fpr_difference": ("gap", _gap_oracle("fpr", "difference")),
    "fpr_ratio": ("gap", _gap_oracle("fpr", "ratio")),
    "equalized_odds_difference": ("gap", _gap_oracle("tpr+fpr", "difference")),
    "equalized_odds_ratio": ("gap", _gap_oracle("tpr+fpr", "ratio")),
    "accuracy_difference": ("gap", _gap_oracle("accuracy", "difference")),
    "accuracy_ratio": ("gap", _gap_oracle("accuracy", "ratio")),
}


def _frame(metric: Callable, method: str) -> Callable:
    def oracle(t, p, g) -> float:
        frame = MetricFrame(metrics=metric, y_true=t, y_pred=p, sensitive_features=g)
        return float(getattr(frame, method)())

    return oracle


def _fairlearn(fn: Callable) -> Callable:
    return lambda t, p, g: float(fn(t, p, sensitive_features=g))


#: Binary tasks (class 1 positive): fairlearn's value of every gap metric.
FAIRLEARN_ORACLES: dict[str, Callable] = {
    "demographic_parity_difference": _fairlearn(demographic_parity_difference),
    "demographic_parity_ratio": _fairlearn(demographic_parity_ratio),
    "disparate_impact_ratio": _fairlearn(demographic_parity_ratio),
    "equal_opportunity_difference": _frame(true_positive_rate, "difference"),
    "equal_opportunity_ratio": _frame(true_positive_rate, "ratio"),
    "fpr_difference": _frame(false_positive_rate, "difference"),
    "fpr_ratio": _frame(false_positive_rate, "ratio"),
    "equalized_odds_difference": _fairlearn(equalized_odds_difference),
    "equalized_odds_ratio": _fairlearn(equalized_odds_ratio),
    "accuracy_difference": _frame(accuracy_score, "difference"),
    "accuracy_ratio": _frame(accuracy_score, "ratio"),
}

_RATE_OF_ORACLE = {"sr": "selection_rate", "tpr": "tpr", "fpr": "fpr"}


# ------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Case:
    seed: int
    n_classes: int
    n_groups: int

    def __str__(self) -> str:
        return f"C{self.n_classes}-G{self.n_groups}-s{self.seed}"


CASES = [Case(s, c, g) for c in (2, 5, 9) for g in (2, 3) for s in (0, 1, 2)]
BINARY_CASES = [Case(s, 2, g) for g in (2, 3) for s in (0, 1, 2)]


def task_vocab(n_classes: int) -> Vocabulary:
    return Vocabulary("y", tuple(f"c{k}" for k in range(n_classes)))


def group_vocab(n_groups: int) -> Vocabulary:
    return Vocabulary("g", tuple(f"g{j}" for j in range(n_groups)))


@functools.cache
def make_rows(case: Case, *, both_classes: bool = False) -> tuple[np.ndarray, ...]:
    """Codes (true, pred, group); groups differ in size, classes and error rates.

    Group 0 has every true class but never has class C-1 as a wrong prediction;
    group 1 has no true row of class 0 (a single-class slice when C = 2); group 2
    draws its true labels from a random half of the classes. With ``both_classes``
    every group gets rows of every true class and any wrong prediction (for fairlearn).
    """
    rng = np.random.default_rng([case.seed, case.n_classes, case.n_groups])
    c = case.n_classes
    parts = []
    for j in range(case.n_groups):
        n = int(rng.integers(15, 120))
        if both_classes or j == 0:
            classes = np.arange(c)
        elif j == 1:
            classes = np.arange(1, c)
        else:
            classes = rng.choice(c, size=max(1, c // 2), replace=False)
        t = rng.choice(classes, size=n, p=rng.dirichlet(np.ones(len(classes))))
        if both_classes:
            t[:c] = np.arange(c)
        wrong = rng.choice(
            np.arange(c - 1) if j == 0 and not both_classes else np.arange(c), size=n
        )
        p = np.where(rng.random(n) < 0.4 + 0.2 * j, t, wrong)
        parts.append((t, p, np.full(n, j)))
    t, p, g = (np.concatenate(a) for a in zip(*parts))
    order = rng.permutation(len(t))
    return t[order], p[order], g[order]


def run_audit(t, p, g, n_classes: int, n_groups: int) -> AuditResult:
    return audit_predictions(
        y_true={"y": t},
        y_pred={"y": p},
        sensitive_features={"g": g},
        tasks={"y": task_vocab(n_classes)},
        attributes={"g": group_vocab(n_groups)},
    )


def core_values(result: AuditResult) -> dict[str, np.ndarray]:
    """Every registered metric of an audit of task ``y`` by ``g``, as flat arrays.

    Slice metrics: ``[overall, group 0, ...]``; class metrics: the same slices x
    classes, flattened; gaps: ``[summary, class 0, ...]`` (summary only for accuracy).
    """
    metrics = [result.metrics("y", min_support=0), result.metrics("y", by="g", min_support=0)]
    per_class = [
        result.per_class("y", min_support=0),
        result.per_class("y", by="g", min_support=0),
    ]
    fair = result.fairness("y", by="g", min_support=0)
    out = {}
    for name, spec in METRICS.items():
        if spec.kind == "slice":
            out[name] = np.concatenate([f[name].to_numpy(float) for f in metrics])
        elif spec.kind == "class":
            out[name] = np.concatenate([f[name].to_numpy(float) for f in per_class])
        else:
            rows = fair[fair["metric"] == name]
            assert rows["class"].iloc[0] == "all"
            out[name] = rows["value"].to_numpy(float)
    out["n_groups"] = fair["n_groups"].to_numpy()
    return out


@functools.cache
def bundle(case: Case, both_classes: bool = False):
    t, p, g = make_rows(case, both_classes=both_classes)
    result = run_audit(t, p, g, case.n_classes, case.n_groups)
    return (t, p, g), result, core_values(result)


def oracle_values(name: str, t, p, g, n_classes: int, n_groups: int) -> np.ndarray:
    """The oracle's values in the layout of :func:`core_values`."""
    kind, oracle = ORACLES[name]
    if kind == "gap":
        summary, per_class = oracle(t, p, g, n_classes, n_groups)
        return np.array([summary, *([] if per_class is None else per_class)], dtype=float)
    masks = [np.ones(len(t), dtype=bool)] + [g == j for j in range(n_groups)]
    values = [np.atleast_1d(oracle(t[m], p[m], n_classes)) for m in masks]
    return np.concatenate(values).astype(float)


def functional_values(name: str, t, p, g, n_classes: int, n_groups: int) -> np.ndarray:
    """The registry functions on counts built directly with ``confusion_counts``."""
    cm = confusion_counts(g, t, p, n_cells=n_groups, n_classes=n_classes)
    kind = METRICS[name].kind
    if kind == "slice":
        overall = slice_metric_values(cm.sum(axis=0), [name])[name]
        return np.concatenate([np.atleast_1d(overall), slice_metric_values(cm, [name])[name]])
    if kind == "class":
        overall = class_metric_values(cm.sum(axis=0), [name])[name]
        return np.concatenate([overall, class_metric_values(cm, [name])[name].ravel()])
    return np.atleast_1d(gap_values(cm, [name])[name])


# ------------------------------------------------------------------- the oracle table
def check_oracle_table(registry: dict[str, MetricSpec], oracles: dict) -> None:
    """Every registered metric has an oracle of its kind, and every oracle a metric."""
    missing = [name for name in registry if name not in oracles]
    if missing:
        raise AssertionError(f"registered metric(s) without an oracle in ORACLES: {missing}")
    stray = [name for name in oracles if name not in registry]
    if stray:
        raise AssertionError(f"oracle(s) of metrics the registry does not hold: {stray}")
    wrong = [name for name, spec in registry.items() if oracles[name][0] != spec.kind]
    if wrong:
        raise AssertionError(f"oracle(s) of another kind than their metric: {wrong}")


def test_every_registered_metric_has_an_oracle():
    check_oracle_table(METRICS, ORACLES)
    assert set(METRICS) == set(SLICE_METRICS) | set(CLASS_METRICS) | set(GAP_METRICS)
    assert set(FAIRLEARN_ORACLES) == set(GAP_METRICS)
    for name, (kind, oracle) in ORACLES.items():
        spec = METRICS[name]
        assert spec.kind == kind, name
        if kind == "gap":
            assert _RATE_OF_ORACLE.get(oracle.rate, oracle.rate) == spec.rate, name
            assert oracle.kind == spec.gap_kind, name


def test_a_metric_without_a_function_or_an_oracle_fails_loudly():
    with pytest.raises(TypeError, match="'new' has no function"):
        MetricSpec("new", "slice", "new", "A new metric.", True, None)
    with pytest.raises(TypeError, match="function"):
        MetricSpec("new", "slice", "new", "A new metric.", True)  # type: ignore[call-arg]
    spec = MetricSpec("new", "slice", "new", "A new metric.", True, lambda cm, **_: accuracy(cm))
    with pytest.raises(AssertionError, match=r"without an oracle in ORACLES: \['new'\]"):
        check_oracle_table({**METRICS, "new": spec}, ORACLES)
    with pytest.raises(AssertionError, match="does not hold"):
        check_oracle_table({k: v for k, v in METRICS.items() if k != "f1"}, ORACLES)


def test_a_registered_spec_is_computed_by_its_function(monkeypatch):
    """One spec is all a new metric needs to be computed (the oracle test then covers it)."""
    cm = _random_counts(5, seed=3)
    spec = MetricSpec(
        "twice_accuracy",
        "slice",
        "twice",
        "2 accuracy.",
        True,
        lambda cm, *, zero_division=0.0: 2 * accuracy(cm),
    )
    monkeypatch.setitem(SLICE_METRICS, spec.name, spec)
    values = slice_metric_values(cm)
    assert list(values) == list(SLICE_METRICS)
    _assert_same(values["twice_accuracy"], 2 * values["accuracy"], "a new spec")
    gap = METRICS["equalized_odds_difference"]
    _assert_same(gap_values(cm)[gap.name], gap.function(cm, pos_index=None, min_support=0), "gap")
    with pytest.raises(ValueError, match="other counts"):
        gap.function(cm, pos_index=None, min_support=0, shared=RateGaps(cm[::-1]))


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("name", list(METRICS))
def test_metric_matches_oracle(name, case):
    (t, p, g), result, core = bundle(case)
    c, n_groups = case.n_classes, case.n_groups
    expected = oracle_values(name, t, p, g, c, n_groups)
    # the AuditResult tables (metrics / per_class / fairness)
    np.testing.assert_allclose(core[name], expected, rtol=0, atol=ATOL, err_msg=f"{name} {case}")
    # the functional API on counts; a gap's registry value is its summary
    direct = functional_values(name, t, p, g, c, n_groups)
    want = expected[:1] if METRICS[name].kind == "gap" else expected
    np.testing.assert_allclose(direct, want, rtol=0, atol=ATOL, err_msg=f"{name} {case}")


def test_cases_exercise_missing_classes_and_undefined_rates():
    """The random cases really hold slices with absent classes and NaN gaps."""
    absent = undefined_gap = 0
    for case in CASES:
        (t, p, g), _, core = bundle(case)
        for j in range(case.n_groups):
            absent += len(np.unique(t[g == j])) < case.n_classes
        undefined_gap += int(np.isnan(core["equal_opportunity_difference"]).any())
    assert absent >= len(CASES)
    assert undefined_gap >= 1


@pytest.mark.parametrize("case", BINARY_CASES, ids=str)
@pytest.mark.parametrize("name", list(GAP_METRICS))
def test_binary_gap_matches_fairlearn(name, case):
    """Binary task, every group with rows of both true classes: fairlearn's value."""
    (t, p, g), _, core = bundle(case, both_classes=True)
    for j in range(case.n_groups):
        assert set(t[g == j].tolist()) == {0, 1}
    expected = _quiet(FAIRLEARN_ORACLES[name], t, p, g)
    assert core[name][0] == pytest.approx(expected, abs=ATOL, rel=0)
    direct = functional_values(name, t, p, g, 2, case.n_groups)[0]
    assert direct == pytest.approx(expected, abs=ATOL, rel=0)


def test_group_without_positives_differs_from_fairlearn():
    """Convention: fairaudit leaves a group with no positive row out of the TPR gap.

    fairlearn gives that group a TPR of 0 (zero_division) and compares it; fairaudit
    treats the rate as undefined (NaN), so with two groups the TPR gap is NaN, and so is
    the equalized odds gap: half of it cannot be judged (fairlearn reports 0.5).
    """
    t = np.array([0, 1, 1, 0, 0, 0, 0])
    p = np.array([0, 1, 0, 1, 1, 0, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1])
    ours = core_values(run_audit(t, p, g, 2, 2))
    assert _quiet(FAIRLEARN_ORACLES["equal_opportunity_difference"], t, p, g) == 0.5
    assert np.isnan(ours["equal_opportunity_difference"][0])
    assert _quiet(FAIRLEARN_ORACLES["equalized_odds_difference"], t, p, g) == 0.5
    assert np.isnan(ours["equalized_odds_difference"][0])
    assert ours["fpr_difference"][0] == pytest.approx(0.5 - 1 / 3, abs=ATOL)
    assert _quiet(FAIRLEARN_ORACLES["equalized_odds_ratio"], t, p, g) == 0.0
    assert np.isnan(ours["equalized_odds_ratio"][0])


def test_all_zero_selection_ratio_differs_from_fairlearn():
    """Convention: every group selecting nobody is parity, ratio 1 (fairlearn: NaN)."""
    t = np.array([0, 1, 1, 0, 1, 0])
    p = np.zeros(6, dtype=int)
    g = np.array([0, 0, 0, 1, 1, 1])
    ours = core_values(run_audit(t, p, g, 2, 2))
    assert np.isnan(_quiet(FAIRLEARN_ORACLES["demographic_parity_ratio"], t, p, g))
    assert ours["demographic_parity_ratio"][0] == 1.0
    assert ours["demographic_parity_difference"][0] == 0.0


# ------------------------------------------------------------------------- invariances
INVARIANCE_CASES = [Case(3, 2, 3), Case(4, 9, 3)]


def _assert_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Exactly equal, NaN where NaN (an invariance is not a tolerance)."""
    assert a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what)


@pytest.fixture(scope="module", params=INVARIANCE_CASES, ids=str)
def inv(request):
    case = request.param
    (t, p, g), result, values = bundle(case)
    return case, (t, p, g), result, values


@pytest.fixture(scope="module")
def variants(inv):
    """The same rows audited in other ways, each with its values."""
    case, (t, p, g), base, _ = inv
    c, n_groups = case.n_classes, case.n_groups
    out = {}
    order = np.random.default_rng(7).permutation(len(t))
    shuffled = run_audit(t[order], p[order], g[order], c, n_groups)
    assert shuffled == base
    out["row_order"] = shuffled
    ty, gy = task_vocab(c), group_vocab(n_groups)
    as_strings = audit_predictions(
        y_true={"y": [ty.classes[k] for k in t]},
        y_pred={"y": pd.Series(np.array(ty.classes, dtype=object)[p])},
        sensitive_features={"g": np.array(gy.classes, dtype=object)[g]},
        tasks={"y": ty},
        attributes={"g": gy},
    )
    out["label_encoding"] = as_strings
    acc = AuditAccumulator(tasks={"y": ty}, attributes={"g": gy})
    for idx in np.array_split(np.arange(len(t)), [len(t) // 5, len(t) // 2]):
        acc.update(y_true={"y": t[idx]}, y_pred={"y": p[idx]}, sensitive_features={"g": g[idx]})
    assert acc.n_batches == 3
    out["accumulator"] = acc.compute()
    half = len(t) // 2
    out["merge"] = run_audit(t[:half], p[:half], g[:half], c, n_groups) + run_audit(
        t[half:], p[half:], g[half:], c, n_groups
    )
    return {key: (res, core_values(res)) for key, res in out.items()}


@pytest.fixture(scope="module")
def dask_variant(inv):
    dd = pytest.importorskip("dask.dataframe", reason="dask is not installed")
    from fairaudit.model_audit import audit_dask

    case, (t, p, g), _, _ = inv
    ty, gy = task_vocab(case.n_classes), group_vocab(case.n_groups)
    frame = pd.DataFrame(
        {
            "y": np.array(ty.classes, dtype=object)[t],
            "y_pred": np.array(ty.classes, dtype=object)[p],
            "g": np.array(gy.classes, dtype=object)[g],
        }
    )
    got = audit_dask(
        dd.from_pandas(frame, npartitions=3),
        tasks={"y": ty},
        attributes={"g": gy},
        scheduler="sync",
        progress=False,
    )
    assert got.metadata["data"]["partitions"] == 3
    return got, core_values(got)


@pytest.mark.parametrize("how", ["row_order", "label_encoding", "accumulator", "merge"])
@pytest.mark.parametrize("name", list(METRICS))
def test_invariance(name, how, inv, variants):
    _, _, base, base_values = inv
    other, values = variants[how]
    np.testing.assert_array_equal(other.counts["y"], base.counts["y"])
    assert other.n_rows == base.n_rows
    _assert_same(values[name], base_values[name], f"{name} under {how}")


@pytest.mark.parametrize("name", list(METRICS))
def test_dask_equals_in_memory(name, inv, dask_variant):
    _, _, base, base_values = inv
    other, values = dask_variant
    np.testing.assert_array_equal(other.counts["y"], base.counts["y"])
    _assert_same(values[name], base_values[name], f"{name} with dask")


@pytest.fixture(scope="module")
def with_empty_group(inv):
    """The same rows with one more group, declared in the vocabulary but without rows."""
    case, (t, p, g), _, _ = inv
    result = run_audit(t, p, g, case.n_classes, case.n_groups + 1)
    return result, core_values(result)


@pytest.mark.parametrize("name", list(METRICS))
def test_empty_slice(name, inv, with_empty_group):
    case, _, _, base_values = inv
    _, values = with_empty_group
    c, kind = case.n_classes, METRICS[name].kind
    got, base = values[name], base_values[name]
    if kind == "slice":
        assert np.isnan(got[-1])  # the empty group
        _assert_same(got[:-1], base, name)
    elif kind == "class":
        empty = got[-c:]
        if name in ("fpr", "selection_rate"):
            assert np.isnan(empty).all()
        else:  # ill-defined precision / recall / F1 take zero_division = 0
            np.testing.assert_array_equal(empty, np.zeros(c))
        _assert_same(got[:-c], base, name)
    else:  # the empty group takes no part in any gap
        _assert_same(got, base, name)
        _assert_same(values["n_groups"], base_values["n_groups"], "n_groups")
        t, p, g = make_rows(case)
        cm = confusion_counts(g, t, p, n_cells=case.n_groups + 1, n_classes=c)
        assert cm[-1].sum() == 0
        _assert_same(
            np.atleast_1d(gap_values(cm, [name])[name]),
            functional_values(name, t, p, g, c, case.n_groups),
            name,
        )


@functools.cache
def single_class_rows(n_classes: int) -> tuple[np.ndarray, ...]:
    """Group 0 mixed; group 1 all true class 2 (mixed predictions); group 2 all true and
    predicted class 0 (a perfect single-class slice)."""
    rng = np.random.default_rng(n_classes)
    k = min(2, n_classes - 1)
    t0 = rng.integers(0, n_classes, 80)
    p0 = np.where(rng.random(80) < 0.6, t0, rng.integers(0, n_classes, 80))
    t1 = np.full(40, k)
    p1 = np.where(rng.random(40) < 0.5, k, rng.integers(0, n_classes, 40))
    t2 = p2 = np.zeros(25, dtype=np.int64)
    t = np.concatenate([t0, t1, t2])
    p = np.concatenate([p0, p1, p2])
    g = np.repeat([0, 1, 2], [80, 40, 25])
    return t, p, g


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("name", list(METRICS))
def test_single_class_slices_match_oracle(name, n_classes):
    t, p, g = single_class_rows(n_classes)
    values = core_values(run_audit(t, p, g, n_classes, 3))
    expected = oracle_values(name, t, p, g, n_classes, 3)
    np.testing.assert_allclose(values[name], expected, rtol=0, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_single_class_slice_balanced_accuracy_is_its_recall(n_classes):
    t, p, g = single_class_rows(n_classes)
    k = min(2, n_classes - 1)
    frame = run_audit(t, p, g, n_classes, 3).metrics("y", by="g", min_support=0)
    mask = g == 1
    recall_k = float(np.mean(p[mask] == k))
    assert 0 < recall_k < 1
    assert frame["balanced_accuracy"].iloc[1] == pytest.approx(recall_k, abs=ATOL)
    assert frame["balanced_accuracy"].iloc[2] == 1.0
    # macro averages run over the classes present (true or predicted), as scikit-learn
    present = np.union1d(t[mask], p[mask])
    per = precision_recall_fscore_support(
        t[mask], p[mask], labels=list(range(n_classes)), zero_division=0
    )
    for i, score in enumerate(("precision", "recall", "f1")):
        assert frame[f"{score}_macro"].iloc[1] == pytest.approx(per[i][present].mean(), abs=ATOL)
    assert frame["recall_weighted"].iloc[1] == pytest.approx(recall_k, abs=ATOL)
    assert frame["f1_macro"].iloc[2] == 1.0


# ------------------------------------------------------------------ leading-axis invariance
def _random_counts(n_classes: int, seed: int) -> np.ndarray:
    """Counts (R=4, G=3, C, C) with empty groups, absent classes and zero cells."""
    rng = np.random.default_rng(seed)
    base = rng.poisson(3.0, size=(3, n_classes, n_classes)) * (
        rng.random((3, n_classes, n_classes)) < 0.6
    )
    base[1, 0, :] = 0  # group 1: no true row of class 0
    base[2, :, -1] = 0  # group 2: class C-1 never predicted
    reps = multinomial_replicates(base, 3, rng)
    cm = np.concatenate([base[None], reps])
    cm[1, 2] = 0  # replicate 1: group 2 empty
    cm[2, :, 1:, :] = 0  # replicate 2: every group holds only true class 0
    return cm.astype(np.int64)


def _registry_values(name: str, cm: np.ndarray) -> np.ndarray:
    kind = METRICS[name].kind
    fn = {"slice": slice_metric_values, "class": class_metric_values, "gap": gap_values}[kind]
    return fn(cm, [name])[name]


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("name", list(METRICS))
def test_leading_axes_are_independent(name, n_classes):
    cm = _random_counts(n_classes, seed=n_classes)
    stacked = _registry_values(name, cm)
    kind = METRICS[name].kind
    lead = {"slice": (4, 3), "class": (4, 3, n_classes), "gap": (4,)}[kind]
    assert stacked.shape == lead
    each = np.stack([_registry_values(name, cm[r]) for r in range(len(cm))])
    _assert_same(stacked, each, f"{name}: (R, G, C, C) vs each (G, C, C)")
    # two leading axes, and a metric asked alone equals it asked with all the others
    deeper = _registry_values(name, np.stack([cm, cm[::-1]]))
    _assert_same(deeper, np.stack([stacked, stacked[::-1]]), f"{name}: (2, R, G, C, C)")
    fn = {"slice": slice_metric_values, "class": class_metric_values, "gap": gap_values}[kind]
    _assert_same(fn(cm)[name], stacked, f"{name}: alone vs all")
    if kind != "gap":  # per-slice metrics: a group axis is one more leading axis
        per_slice = np.stack(
            [np.stack([_registry_values(name, cm[r, j]) for j in range(3)]) for r in range(4)]
        )
        _assert_same(stacked, per_slice, f"{name}: (R, G, C, C) vs each (C, C)")
