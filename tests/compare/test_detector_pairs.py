"""DetectorPairs: paired detector comparison counts against a row-level oracle."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from fairaudit.compare import DetectorPairs, detector_pairs
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._intervals import paired_difference_interval
from fairaudit.model_audit import audit_detection
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER

DETECTORS = ("haar", "dlib-hog", "dlib-cnn")


def _runs(n: int = 600, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame(
        {
            "file": [f"val/{i}.jpg" for i in range(1, n + 1)],
            "gender": rng.choice(GENDER.classes, n),
            "age": rng.choice(FAIRFACE_AGE.classes, n),
            "race": rng.choice(FAIRFACE_RACE.classes, n),
        }
    )
    black = (labels["race"] == "Black").to_numpy()
    rates = {"haar": 0.8 - 0.1 * black, "dlib-hog": 0.72, "dlib-cnn": 0.97}
    runs = {}
    for name in DETECTORS:
        found = rng.random(n) < rates[name]
        faces = np.where(found, rng.integers(1, 3, n), 0)
        runs[name] = labels.assign(n_faces=faces, status="ok")
    return runs


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    return _runs()


@pytest.fixture(scope="module")
def pairs(runs: dict[str, pd.DataFrame]) -> DetectorPairs:
    return detector_pairs(runs)


def test_rates_equal_each_detectors_audit(runs, pairs: DetectorPairs) -> None:
    for name, table in runs.items():
        audit = audit_detection(table)
        pairs.check_audit(name, audit)
        for by in (None, "race", ("race", "gender")):
            mine = pairs.rates(by=by)
            mine = mine[mine["detector"] == name].reset_index(drop=True)
            theirs = audit.detection_rates(by=by, min_support=1)
            for column in ("n", "detected", "rate", "ci_low", "ci_high"):
                np.testing.assert_allclose(
                    mine[column].to_numpy(float), theirs[column].to_numpy(float), equal_nan=True
                )


@pytest.mark.parametrize("by", [None, "race", "age", ("gender", "race")])
def test_paired_comparison_against_rows(runs, pairs: DetectorPairs, by) -> None:
    by_list = [] if by is None else [by] if isinstance(by, str) else list(by)
    for a, b in itertools.combinations(DETECTORS, 2):
        frame = pairs.compare(a, b, by=by)
        rows = runs[a][["file", *["gender", "age", "race"]]].copy()
        rows["a"] = runs[a]["n_faces"].to_numpy() >= 1
        rows["b"] = runs[b]["n_faces"].to_numpy() >= 1
        groups = rows.groupby(by_list, observed=False) if by_list else [((), rows)]
        expected = {}
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            expected[tuple(str(k) for k in key)] = (
                int((group.a & group.b).sum()),
                int((group.a & ~group.b).sum()),
                int((~group.a & group.b).sum()),
                int((~group.a & ~group.b).sum()),
            )
        for _, row in frame.iterrows():
            key = tuple(str(row[c]) for c in by_list)
            both, a_only, b_only, neither = expected.get(key, (0, 0, 0, 0))
            assert (row.both, row.a_only, row.b_only, row.neither) == (
                both,
                a_only,
                b_only,
                neither,
            )
            n = both + a_only + b_only + neither
            if n == 0:
                assert np.isnan(row.difference) and np.isnan(row.p_mcnemar)
                continue
            assert row.difference == pytest.approx((b_only - a_only) / n)
            if a_only + b_only:
                p = stats.binomtest(a_only, a_only + b_only, 0.5).pvalue
                assert row.p_mcnemar == pytest.approx(p)
            else:
                assert row.p_mcnemar == 1.0
            low, high = paired_difference_interval(both, a_only, b_only, neither)
            assert (row.ci_low, row.ci_high) == pytest.approx((float(low), float(high)))
            assert row.ci_low <= row.difference <= row.ci_high
        assert (frame["p_holm"].dropna() >= frame["p_mcnemar"].dropna()).all()


def test_known_table() -> None:
    # 2x2 by hand: both 5, only a 1, only b 6, neither 2 -> p = binomtest(1, 7)
    rows = [(1, 1)] * 5 + [(1, 0)] * 1 + [(0, 1)] * 6 + [(0, 0)] * 2
    table = pd.DataFrame(
        {
            "file": [f"{i}.jpg" for i in range(len(rows))],
            "gender": "Male",
            "age": "20-29",
            "race": "Black",
            "status": "ok",
        }
    )
    runs = {
        "a": table.assign(n_faces=[r[0] for r in rows]),
        "b": table.assign(n_faces=[r[1] for r in rows]),
    }
    pairs = detector_pairs(runs)
    (row,) = pairs.compare("a", "b").itertuples()
    assert (row.both, row.a_only, row.b_only, row.neither) == (5, 1, 6, 2)
    assert row.rate_a == pytest.approx(6 / 14) and row.rate_b == pytest.approx(11 / 14)
    assert row.p_mcnemar == pytest.approx(0.125)  # 2 * P(X <= 1), X ~ Bin(7, 1/2) = 16/128
    rates = pairs.rates()
    low, high = proportion_confint(11, 14, alpha=0.05, method="beta")  # exact
    assert rates.loc[rates.detector == "b", ["ci_low", "ci_high"]].to_numpy().ravel() == (
        pytest.approx([float(low), float(high)])
    )


def test_counts_add_up_over_chunks(runs) -> None:
    whole = detector_pairs(runs)
    first = detector_pairs({k: v.iloc[:250] for k, v in runs.items()})
    rest = detector_pairs({k: v.iloc[250:] for k, v in runs.items()})
    assert first + rest == whole
    assert first.n_images == 250


def test_save_and_load(pairs: DetectorPairs, tmp_path) -> None:
    path = pairs.save(tmp_path / "pairs.json")
    again = DetectorPairs.load(path)
    assert again == pairs and again.metadata == pairs.metadata
    with pytest.raises(DataValidationError, match="shape"):
        DetectorPairs(pairs.detectors, pairs.attributes, pairs.joint[:, :4])


def test_unreadable_images_are_left_out_and_counted(runs) -> None:
    broken = {k: v.copy() for k, v in runs.items()}
    broken["haar"].loc[3, "status"] = "unreadable"
    broken["haar"].loc[3, "n_faces"] = np.nan
    pairs = detector_pairs(broken)
    assert pairs.n_images == len(runs["haar"]) - 1
    assert pairs.metadata["unreadable"] == 1


def test_different_images_or_labels_are_refused(runs) -> None:
    shorter = dict(runs) | {"dlib-hog": runs["dlib-hog"].iloc[1:]}
    with pytest.raises(DataValidationError, match="not of the same images"):
        detector_pairs(shorter)
    relabelled = runs["dlib-cnn"].copy()
    relabelled.loc[0, "race"] = "White" if relabelled.loc[0, "race"] != "White" else "Black"
    with pytest.raises(DataValidationError, match="different 'race' labels"):
        detector_pairs(dict(runs) | {"dlib-cnn": relabelled})
    with pytest.raises(DataValidationError, match="unknown detector"):
        detector_pairs(runs).compare("haar", "mtcnn")


def test_check_audit_names_the_disagreeing_cells(runs, pairs: DetectorPairs) -> None:
    other = audit_detection(runs["dlib-hog"])
    with pytest.raises(DataValidationError, match="do not match the audit of 'haar'"):
        pairs.check_audit("haar", other)
