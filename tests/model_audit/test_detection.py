"""The detector audit in AuditResult: rates, exact intervals, gaps, format, merging.

Oracles: a naive loop over the per-image rows for the counts, the exact interval as
Clopper and Pearson wrote it (scipy's beta quantiles, scalar by scalar), the Wilson
interval's closed form for :func:`fairaudit.functional.wilson_interval` (and statsmodels),
and scipy's chi-square test built from the loop's own table.
"""

from __future__ import annotations

import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.functional import wilson_interval
from fairaudit.functional._detection import detection_gap
from fairaudit.model_audit import AuditResult, audit_detection, audit_predictions
from fairaudit.vocab import FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")

V = FAIRFACE_VOCABULARIES
ATTRS = ("gender", "age", "race")


def make_detections(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Per-image rows: labels, faces found (the rate depends on race and age), status."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(V["gender"].classes, n, p=[0.6, 0.4])
    age = rng.choice(V["age"].classes, n, p=rng.dirichlet(np.ones(9) * 2))
    race = rng.choice(V["race"].classes, n, p=rng.dirichlet(np.ones(7) * 2))
    race_code = np.array([V["race"].classes.index(r) for r in race])
    p_detect = 0.55 + 0.05 * race_code - 0.1 * np.isin(age, ["0-2", "more than 70"])
    found = rng.random(n) < p_detect
    n_faces = np.where(found, rng.integers(1, 3, n), 0)
    status = np.where(rng.random(n) < 0.03, "unreadable", "ok")
    return pd.DataFrame(
        {
            "file": [f"img/{i}.jpg" for i in range(n)],
            "gender": gender,
            "age": age,
            "race": race,
            "n_faces": np.where(status == "ok", n_faces, -1),
            "status": status,
        }
    ).astype({"n_faces": "Int64"})


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    table = make_detections()
    table.loc[table["status"] == "unreadable", "n_faces"] = pd.NA
    return table


@pytest.fixture(scope="module")
def audit(rows: pd.DataFrame) -> AuditResult:
    return audit_detection(rows)


def naive_groups(rows: pd.DataFrame, by: tuple[str, ...]) -> list[tuple[tuple, int, int]]:
    """(group, images, detected) per group of ``by`` in C order, by a plain loop."""
    readable = [r for r in rows.itertuples(index=False) if r.status == "ok"]
    out = []
    for combo in product(*(V[b].classes for b in by)):
        n = hits = 0
        for r in readable:
            if all(getattr(r, b) == value for b, value in zip(by, combo)):
                n += 1
                hits += int(r.n_faces) >= 1
        out.append((combo, n, hits))
    return out


def clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The exact interval of k successes in n: beta quantiles, as Clopper and Pearson wrote it."""
    tail = (1 - confidence) / 2
    low = stats.beta.ppf(tail, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(1 - tail, k + 1, n - k) if k < n else 1.0
    return (float(low), float(high))


# --- rates and intervals --------------------------------------------------------------


@pytest.mark.parametrize("by", [(), ("race",), ("age",), ("gender", "race"), ("race", "gender")])
def test_detection_rates_equal_a_naive_loop(
    rows: pd.DataFrame, audit: AuditResult, by: tuple[str, ...]
) -> None:
    frame = audit.detection_rates(by=by or None, confidence=0.9, min_support=20)
    expected = naive_groups(rows, by)
    assert len(frame) == len(expected)
    assert list(frame.columns) == [*by, "n", "detected", "rate", "ci_low", "ci_high", "status"]
    for row, (combo, n, hits) in zip(frame.itertuples(index=False), expected):
        assert tuple(str(getattr(row, b)) for b in by) == combo
        assert (row.n, row.detected) == (n, hits)
        if n == 0:
            assert math.isnan(row.rate) and math.isnan(row.ci_low) and row.status == "empty"
            continue
        assert row.rate == pytest.approx(hits / n, abs=1e-12)
        low, high = clopper_pearson(hits, n, 0.9)  # a group's rate: the exact interval
        assert row.ci_low == pytest.approx(low, abs=1e-12)
        assert row.ci_high == pytest.approx(high, abs=1e-12)
        assert row.ci_low <= row.rate <= row.ci_high
        assert row.status == ("ok" if n >= 20 else "small")
    # the unreadable images are in no cell
    assert frame["n"].sum() == (rows["status"] == "ok").sum()


def test_wilson_matches_statsmodels_when_installed() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    k = np.array([0, 1, 5, 37, 99, 100, 3])
    n = np.array([10, 10, 20, 50, 100, 100, 3])
    for confidence in (0.8, 0.95, 0.99):
        low, high = wilson_interval(k, n, confidence=confidence)
        ref_low, ref_high = proportion.proportion_confint(
            k, n, alpha=1 - confidence, method="wilson"
        )
        np.testing.assert_allclose(low, ref_low, atol=1e-12)
        np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_wilson_interval_edges_and_errors() -> None:
    low, high = wilson_interval(np.array([0, 10, 0]), np.array([10, 10, 0]))
    assert low[0] == 0.0 and 0 < high[0] < 0.35  # not zero-width at p = 0
    assert high[1] == 1.0 and 0.65 < low[1] < 1
    assert math.isnan(low[2]) and math.isnan(high[2])
    # the interval narrows as n grows, around the same rate
    widths = [np.subtract(*wilson_interval(n // 2, n)[::-1]) for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2] > 0
    with pytest.raises(DataValidationError, match="confidence"):
        wilson_interval(1, 2, confidence=1.0)
    with pytest.raises(DataValidationError, match="successes <= n"):
        wilson_interval(3, 2)


# --- gaps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "min_support"), [(("race",), 30), (("age",), 30), (("gender", "race"), 40)]
)
def test_detection_gaps_equal_a_naive_loop(
    rows: pd.DataFrame, audit: AuditResult, by: tuple[str, ...], min_support: int
) -> None:
    gaps = audit.detection_gaps(by=by if len(by) > 1 else by[0], min_support=min_support)
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    groups = naive_groups(rows, by)
    judged = [(" & ".join(c), n, h) for c, n, h in groups if n >= min_support]
    small = sum(1 for _, n, _ in groups if 0 < n < min_support)
    rates = [(h / n, name) for name, n, h in judged]
    low = min(rates, key=lambda t: t[0])
    high = max(rates, key=lambda t: t[0])
    assert gap["by"] == " x ".join(by)
    assert (gap["low_group"], gap["high_group"]) == (low[1], high[1])
    assert gap["low_rate"] == pytest.approx(low[0])
    assert gap["high_rate"] == pytest.approx(high[0])
    assert gap["difference"] == pytest.approx(high[0] - low[0])
    assert gap["ratio"] == pytest.approx(low[0] / high[0])
    assert gap["n_groups"] == len(judged) and gap["small_groups"] == small
    table = np.array([[h, n - h] for _, n, h in judged])
    assert gap["p_value"] == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9
    )
    # Pearson's statistic by hand, as a second oracle
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = ((table - expected) ** 2 / expected).sum()
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    assert gap["p_value"] == pytest.approx(stats.chi2.sf(statistic, dof), rel=1e-9)


def test_rates_differ_by_race_as_simulated(audit: AuditResult) -> None:
    gap = audit.detection_gaps(by="race").iloc[0]
    # detection rises with the race code in the simulation: first vs last class
    assert (gap["low_group"], gap["high_group"]) == ("White", "Middle Eastern")
    assert gap["p_value"] < 1e-6
    assert audit.detection_gaps(by="gender").iloc[0]["p_value"] > 1e-3


def test_detection_gap_edge_cases() -> None:
    # fewer than two judged groups: NaN values, no group names
    gap = detection_gap(np.array([50, 10, 0]), np.array([40, 5, 0]), min_support=30)
    assert (gap.n_groups, gap.small_groups, gap.low, gap.high) == (1, 1, -1, -1)
    assert math.isnan(gap.difference) and math.isnan(gap.p_value)
    # all detected: equal rates, p = 1; none detected: ratio undefined
    everything = detection_gap(np.array([40, 50]), np.array([40, 50]), min_support=30)
    assert (everything.difference, everything.ratio, everything.p_value) == (0.0, 1.0, 1.0)
    nothing = detection_gap(np.array([40, 50]), np.array([0, 0]), min_support=30)
    assert nothing.p_value == 1.0 and math.isnan(nothing.ratio)
    # ties go to the first group; min_support 0 still leaves empty groups out
    tie = detection_gap(np.array([10, 0, 10, 20]), np.array([5, 0, 5, 10]), min_support=0)
    assert (tie.low, tie.high, tie.n_groups) == (0, 0, 3)


def test_gaps_on_a_result_frame(audit: AuditResult) -> None:
    frame = audit.detection_gaps(by=["gender", "age"], min_support=10_000)
    assert frame.iloc[0]["n_groups"] == 0 and frame.iloc[0]["low_group"] == ""
    assert list(frame.columns) == [
        "by",
        "low_group",
        "high_group",
        "low_rate",
        "high_rate",
        "difference",
        "ratio",
        "p_value",
        "n_groups",
        "small_groups",
    ]
    with pytest.raises(DataValidationError, match="at least one attribute"):
        audit.detection_gaps(by=[])
    with pytest.raises(DataValidationError, match="unknown sensitive attribute"):
        audit.detection_rates(by="skin")


# --- the AuditResult field ------------------------------------------------------------


def test_detection_only_result_saves_loads_and_prints(tmp_path, audit: AuditResult) -> None:
    assert audit.tasks == {} and audit.has_detection and audit.n_rows == 0
    assert audit.detection.dtype == np.int64 and audit.detection.shape == (2 * 9 * 7, 2)
    assert "detection=" in repr(audit)
    path = audit.save(tmp_path / "det.json")
    saved = json.loads(path.read_text())
    assert saved["format_version"] == 1
    assert saved["detection"]["n"] == audit.detection[:, 0].tolist()
    assert saved["detection"]["detected"] == audit.detection[:, 1].tolist()
    loaded = AuditResult.load(path)
    assert loaded == audit and loaded.has_detection
    pd.testing.assert_frame_equal(
        loaded.detection_rates(by="race"), audit.detection_rates(by="race")
    )
    assert loaded.metadata["detection"]["unreadable"] == audit.metadata["detection"]["unreadable"]


def classifier_audit(rows: pd.DataFrame, seed: int = 1) -> AuditResult:
    rng = np.random.default_rng(seed)
    flipped = np.where(rng.random(len(rows)) < 0.2, "Male", rows["gender"])
    return audit_predictions(
        y_true={"gender": rows["gender"]},
        y_pred={"gender": flipped},
        sensitive_features=rows[list(ATTRS)],
        attributes={a: V[a] for a in ATTRS},
    )


def test_without_detection_nothing_changes(rows: pd.DataFrame) -> None:
    plain = classifier_audit(rows)
    assert not plain.has_detection and plain.detection is None
    assert "detection" not in plain.to_dict()
    assert "detection=" not in repr(plain)
    with pytest.raises(DataValidationError, match="no detector audit"):
        plain.detection_rates()


def test_with_detection_joins_the_two_audits(rows: pd.DataFrame, audit: AuditResult) -> None:
    plain = classifier_audit(rows)
    both = plain.with_detection(audit)
    assert both.has_detection and not plain.has_detection
    np.testing.assert_array_equal(both.detection, audit.detection)
    np.testing.assert_array_equal(both.counts["gender"], plain.counts["gender"])
    assert both.metadata["detection"] == audit.metadata["detection"]
    assert both != plain and both.to_dict()["detection"] == audit.to_dict()["detection"]
    pd.testing.assert_frame_equal(
        both.metrics("gender", by="race"), plain.metrics("gender", by="race")
    )
    # the detector audit's attributes in another order: its cells are reordered
    shuffled = audit_detection(rows, attributes=("race", "gender", "age"))
    assert list(shuffled.attributes) != list(audit.attributes)
    again = plain.with_detection(shuffled)
    np.testing.assert_array_equal(again.detection, audit.detection)
    for by in ("race", ("gender", "age")):
        pd.testing.assert_frame_equal(again.detection_rates(by=by), audit.detection_rates(by=by))


def test_with_detection_refuses_other_cells(rows: pd.DataFrame, audit: AuditResult) -> None:
    plain = classifier_audit(rows)
    with pytest.raises(DataValidationError, match="no detector audit"):
        plain.with_detection(plain)
    with pytest.raises(DataValidationError, match="attributes differ"):
        plain.with_detection(audit_detection(rows, attributes=("gender", "race")))
    utk_race = {"race": UTKFACE_VOCABULARIES["race"], "gender": V["gender"], "age": V["age"]}
    other = rows.assign(race=np.where(rows["race"] == "White", "White", "Others"))
    with pytest.raises(DataValidationError, match="attributes differ"):
        plain.with_detection(audit_detection(other, attributes=utk_race))
    with pytest.raises(TypeError):
        plain.with_detection("audit.json")  # type: ignore[arg-type]


def test_merge_sums_detection(rows: pd.DataFrame) -> None:
    first, second = rows.iloc[:700], rows.iloc[700:]
    a, b = audit_detection(first), audit_detection(second)
    whole = audit_detection(rows)
    merged = a + b
    assert merged == whole and a.merge(b) == whole
    np.testing.assert_array_equal(merged.detection, a.detection + b.detection)
    meta = merged.metadata["detection"]
    assert meta["unreadable"] == whole.metadata["detection"]["unreadable"]
    assert meta["n_images"] == whole.metadata["detection"]["n_images"]
    # with task counts too
    ca, cb = classifier_audit(first), classifier_audit(second, seed=2)
    summed = ca.with_detection(a) + cb.with_detection(b)
    np.testing.assert_array_equal(summed.detection, whole.detection)
    with pytest.raises(DataValidationError, match="one without"):
        ca.with_detection(a) + cb
    with pytest.raises(DataValidationError, match="one without"):
        ca.merge(cb.with_detection(b))


def test_equality_compares_detection(audit: AuditResult) -> None:
    changed = audit.detection.copy()
    changed[0] = [changed[0, 0] + 1, changed[0, 1]]
    other = AuditResult(tasks={}, attributes=audit.attributes, counts={}, detection=changed)
    assert other != audit
    same = AuditResult(
        tasks={}, attributes=audit.attributes, counts={}, detection=audit.detection.copy()
    )
    assert same == audit


@pytest.mark.parametrize(
    ("detection", "message"),
    [
        (np.zeros((3, 2), dtype=np.int64), "shape"),
        (np.zeros((14, 3), dtype=np.int64), "shape"),
        (np.full((14, 2), 0.5), "integers"),
        (np.tile([[-1, 0]], (14, 1)), "non-negative"),
        (np.tile([[2, 3]], (14, 1)), "more detected"),
    ],
)
def test_detection_counts_are_validated(detection: np.ndarray, message: str) -> None:
    attributes = {"gender": V["gender"], "race": V["race"]}
    with pytest.raises(DataValidationError, match=message):
        AuditResult(tasks={}, attributes=attributes, counts={}, detection=detection)


def test_malformed_detection_field_in_a_file(audit: AuditResult) -> None:
    saved = audit.to_dict()
    saved["detection"] = {"n": saved["detection"]["n"]}
    with pytest.raises(DataValidationError, match="malformed"):
        AuditResult.from_dict(saved, source="bad.json")
    saved["detection"] = {"n": [1] * 126, "detected": [2] * 126}
    with pytest.raises(DataValidationError, match="bad.json.*more detected"):
        AuditResult.from_dict(saved, source="bad.json")


# --- audit_detection: joins and bookkeeping -------------------------------------------


def test_audit_detection_counts_what_it_leaves_out(rows: pd.DataFrame) -> None:
    detections = rows.drop(columns=list(ATTRS)).iloc[:-5]  # the last 5 images never searched
    labels = rows[["file", *ATTRS]]
    extra = pd.DataFrame({"file": ["x/1.jpg", "x/2.jpg"], "n_faces": [1, 0], "status": "ok"})
    with pytest.raises(DataValidationError, match=r"2 detection row\(s\) have no label.*x/1"):
        audit_detection(pd.concat([detections, extra]), labels)
    result = audit_detection(pd.concat([detections, extra]), labels, unmatched="report")
    meta = result.metadata["detection"]
    unreadable = int((rows["status"].iloc[:-5] == "unreadable").sum())
    assert meta["unreadable"] == unreadable
    assert meta["labels_without_detection"] == 5
    assert meta["labels_without_detection_examples"] == rows["file"].iloc[-5:].tolist()
    assert meta["unmatched_detection_rows"] == 2 and meta["unmatched_examples"] == [
        "x/1.jpg",
        "x/2.jpg",
    ]
    assert meta["n_images"] == len(rows) - 5 - unreadable
    assert result.detection[:, 0].sum() == meta["n_images"]
    expected = audit_detection(rows.iloc[:-5])
    np.testing.assert_array_equal(result.detection, expected.detection)


def test_audit_detection_bad_input(rows: pd.DataFrame, tmp_path) -> None:
    with pytest.raises(DataValidationError, match="missing column 'n_faces'"):
        audit_detection(rows.drop(columns="n_faces"))
    with pytest.raises(DataValidationError, match="listed twice"):
        audit_detection(pd.concat([rows.iloc[:3], rows.iloc[:1]]))
    with pytest.raises(DataValidationError, match="no label column"):
        audit_detection(rows.drop(columns="race"))
    bad_status = rows.assign(status=rows["status"].replace("ok", "fine"))
    with pytest.raises(DataValidationError, match="status must be"):
        audit_detection(bad_status)
    unknown = rows.copy()
    unknown.loc[3, "race"] = "Martian"
    with pytest.raises(UnknownLabelError, match="Martian"):
        audit_detection(unknown[unknown["status"] == "ok"])
    negative = rows[rows["status"] == "ok"].copy()
    negative.iloc[2, negative.columns.get_loc("n_faces")] = -1
    with pytest.raises(DataValidationError, match="n_faces"):
        audit_detection(negative)
    with pytest.raises(DataValidationError, match="no readable"):
        audit_detection(rows[rows["status"] == "unreadable"])
    with pytest.raises(DataValidationError, match="unmatched must be"):
        audit_detection(rows, unmatched="ignore")
    with pytest.raises(DataValidationError, match="not found"):
        audit_detection(tmp_path / "none.csv")
    with pytest.raises(DataValidationError, match="got list"):
        audit_detection([1, 2])


def test_audit_detection_reads_saved_tables(rows: pd.DataFrame, tmp_path, audit) -> None:
    path = tmp_path / "detections.csv"
    rows.drop(columns=list(ATTRS)).to_csv(path, index=False)
    labels = tmp_path / "labels.csv"
    rows[["file", *ATTRS]].to_csv(labels, index=False)
    from_files = audit_detection(path, labels)
    np.testing.assert_array_equal(from_files.detection, audit.detection)
    assert from_files.metadata["detection"]["source"] == str(labels)


def test_audit_detection_names_its_detector(rows: pd.DataFrame, tmp_path) -> None:
    from fairaudit.detect._dataset import DetectionRun, DetectionSummary

    # a table does not say which detector made it: empty unless named
    assert audit_detection(rows).metadata["detection"]["detector"] == ""
    named = audit_detection(rows, detector="haar (crops preset)")
    assert named.metadata["detection"]["detector"] == "haar (crops preset)"
    # the name survives a save and a load
    back = AuditResult.load(named.save(tmp_path / "named.json"))
    assert back.metadata["detection"]["detector"] == "haar (crops preset)"
    # a run names its own detector (its repr), unless told otherwise
    summary = DetectionSummary(
        source="s", detector="Stub(kind=1)", n_images=len(rows), n_detected=0, n_faces=0
    )
    run = DetectionRun(rows, summary)
    assert audit_detection(run).metadata["detection"]["detector"] == "Stub(kind=1)"
    assert audit_detection(run, detector="x").metadata["detection"]["detector"] == "x"
    with pytest.raises(DataValidationError, match="detector must be a name"):
        audit_detection(rows, detector=3)
