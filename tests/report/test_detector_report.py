"""The detector comparison report against the paired counts it draws from."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from fairaudit.compare import DetectorPairs, detector_pairs
from fairaudit.exceptions import DataValidationError
from fairaudit.report import render_detector_report, write_detector_report


def _pairs(n: int = 600, seed: int = 0) -> DetectorPairs:
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame(
        {
            "file": [f"{i}.jpg" for i in range(n)],
            "gender": rng.choice(["Male", "Female"], n),
            "race": rng.choice(["White", "Black", "Indian"], n),
        }
    )
    black = (labels["race"] == "Black").to_numpy()
    found = {
        "a": rng.random(n) < np.where(black, 0.6, 0.85),
        "b": rng.random(n) < 0.95,
    }
    runs = {
        name: labels.assign(status="ok", n_faces=hit.astype(int)) for name, hit in found.items()
    }
    return detector_pairs(
        runs, attributes=("gender", "race"), metadata={"data": "synthetic faces: 600 rows"}
    )


def _marks(html: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'data-(\w+)="([^"]*)"', tag))
        for tag in re.findall(r'<g class="mark[^"]*"[^>]*>', html)
    ]


def test_headline_and_figures_hold_the_pairs_numbers():
    pairs = _pairs()
    html = render_detector_report(pairs)
    assert "Face detectors compared: a, b on synthetic faces" in html
    overall = pairs.rates().set_index("detector")
    for name in ("a", "b"):
        assert f"<strong>{100 * overall.loc[name, 'rate']:.1f}%</strong>" in html
    # naive oracle of the difference: counts of the two detectors' hits on the same rows
    table = pairs.compare("a", "b").iloc[0]
    assert table["difference"] == pytest.approx(table["rate_b"] - table["rate_a"])
    assert f"b minus a: {100 * table['difference']:+.1f} points" in html
    marks = _marks(html)
    # per attribute: the rates chart (2 panels) and the differences chart (1 panel)
    by_race = pairs.rates(by="race")
    for row in by_race[by_race["n"] > 0].itertuples():
        drawn = [
            m
            for m in marks
            if m["group"] == row.race and float(m["estimate"]) == pytest.approx(row.rate)
        ]
        assert drawn, row
    diff = pairs.compare("a", "b", by="race")
    for row in diff[diff["n"] > 0].itertuples():
        assert any(
            m["group"] == row.race
            and float(m["estimate"]) == pytest.approx(row.difference)
            and float(m["lower"]) == pytest.approx(row.ci_low)
            for m in marks
        ), row
    for m in marks:
        assert float(m["lower"]) <= float(m["estimate"]) <= float(m["upper"]), m


def test_the_gap_sentence_is_the_lowest_and_highest_judged_group():
    pairs = _pairs()
    html = render_detector_report(pairs, min_support=30)
    rates = pairs.rates(by="race")
    a = rates[rates["detector"] == "a"].set_index("race")
    low, high = a["rate"].idxmin(), a["rate"].idxmax()
    assert low == "Black"
    expected = (
        f"race {100 * a.loc[low, 'rate']:.1f}% ({low}) to {100 * a.loc[high, 'rate']:.1f}% "
        f"({high}), gap {100 * (a.loc[high, 'rate'] - a.loc[low, 'rate']):.1f} points"
    )
    assert expected in html


def test_baseline_and_errors(tmp_path):
    pairs = _pairs()
    html = render_detector_report(pairs, baseline="b")
    assert "a minus b:" in html and "difference from b" in html
    with pytest.raises(DataValidationError, match="not one of the detectors"):
        render_detector_report(pairs, baseline="c")
    with pytest.raises(DataValidationError, match="confidence"):
        render_detector_report(pairs, confidence=1.5)
    path = write_detector_report(pairs, tmp_path / "d.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
