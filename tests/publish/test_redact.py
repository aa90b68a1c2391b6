"""A published audit reveals no small group: an attacker with the file cannot recover one."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from scipy.optimize import linprog

from fairaudit.demo import load_demo_audits
from fairaudit.exceptions import DataValidationError
from fairaudit.metrics import AuditResult
from fairaudit.publish import PublishedAudit, redact_audit
from fairaudit.vocab import Vocabulary


@pytest.fixture(scope="module")
def demo_audit() -> AuditResult:
    return load_demo_audits().audits["fairface-lightweight-112"]


def _full_cells(audit: AuditResult) -> list[dict[str, str]]:
    """Every full cell as {attribute: class}, in the audit's C order."""
    names = list(audit.attributes)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(audit.attributes[a].classes for a in names))
    ]


def _indicator(audit: AuditResult, conditions: dict[str, str]) -> np.ndarray:
    return np.array(
        [all(cell[a] == v for a, v in conditions.items()) for cell in _full_cells(audit)], float
    )


def _conditions(audit: AuditResult, grouping: str, cell: str) -> dict[str, str]:
    if grouping == "overall":
        return {}
    names = grouping.split(" x ")
    return dict(zip(names, cell.split(" & "), strict=True))


def _attack(audit: AuditResult, published: dict, min_count: int):
    """What a reader of the file learns: exact derivations and LP bounds of hidden counts."""
    rows, values = [], []
    for entry in published["counts"]:
        row = _indicator(audit, _conditions(audit, entry["grouping"], entry["cell"]))
        rows.append(row)
        values.append(entry["n"])
        if entry["n"] == 0:  # a zero margin makes every cell inside it zero
            for j in np.flatnonzero(row):
                rows.append(np.eye(len(row))[j])
                values.append(0)
    matrix, values = np.array(rows), np.array(values, float)
    truth = (
        audit.grouped_counts(next(iter(audit.tasks)), by=tuple(audit.attributes))
        .sum(axis=(-2, -1))
        .ravel()
    )
    assert np.allclose(matrix @ truth, values)  # the published counts are the audit's
    hidden = []
    names = list(audit.attributes)
    for k in range(len(names) + 1):
        for by in itertools.combinations(names, k):
            for combo in itertools.product(*(audit.attributes[a].classes for a in by)):
                target = _indicator(audit, dict(zip(by, combo, strict=True)))
                n = float(target @ truth)
                if 1 <= n < min_count:
                    hidden.append((by, combo, n, target))
    results = []
    for by, combo, n, target in hidden:
        # exact: is the target a linear combination of the published rows?
        weights, *_ = np.linalg.lstsq(matrix.T, target, rcond=None)
        derivable = np.allclose(matrix.T @ weights, target, atol=1e-8)
        low = linprog(target, A_eq=matrix, b_eq=values, bounds=(0, None), method="highs").fun
        high = -linprog(-target, A_eq=matrix, b_eq=values, bounds=(0, None), method="highs").fun
        results.append({"cell": (by, combo), "n": n, "derivable": derivable, "bounds": (low, high)})
    return results


@pytest.mark.parametrize("min_count", [5, 10, 20])
def test_no_suppressed_count_can_be_recovered(demo_audit, min_count, tmp_path):
    published = redact_audit(demo_audit, min_count=min_count)
    path = published.save(tmp_path / "published.json")
    saved = json.loads(path.read_text())
    assert all(entry["n"] == 0 or entry["n"] >= min_count for entry in saved["counts"])
    results = _attack(demo_audit, saved, min_count)
    assert len(results) > 0  # there are small groups to protect
    for result in results:
        assert not result["derivable"], result["cell"]
        low, high = result["bounds"]
        assert low <= result["n"] <= high
        assert high - low >= min_count, result
    assert saved["metadata"]["protection"]["targets"] == len(results)
    assert PublishedAudit.load(path).to_dict()["counts"] == saved["counts"]


def test_publishing_the_full_table_would_be_caught(demo_audit):
    """The attack can succeed: with the full intersection's counts every cell is exact."""
    full = [
        {"grouping": " x ".join(demo_audit.attributes), "cell": name, "n": int(n)}
        for name, n in zip(
            demo_audit.group_names(tuple(demo_audit.attributes)),
            demo_audit.grouped_counts("gender", by=tuple(demo_audit.attributes))
            .sum(axis=(-2, -1))
            .ravel(),
            strict=True,
        )
    ]
    results = _attack(demo_audit, {"counts": full}, 10)
    assert results and all(r["derivable"] for r in results)


def test_subtracting_margins_is_blocked():
    """Two attributes: publishing both margins and all but one joint cell would reveal it."""
    rng = np.random.default_rng(0)
    attributes = {"a": Vocabulary("a", ("a0", "a1")), "b": Vocabulary("b", ("b0", "b1", "b2"))}
    sizes = np.array([40, 50, 3, 60, 45, 55])  # a0 & b2 holds 3 people
    counts = np.zeros((6, 2, 2), dtype=np.int64)
    for cell, n in enumerate(sizes):
        hits = rng.binomial(n, 0.8)
        counts[cell, 1, 1], counts[cell, 1, 0] = hits, n - hits
    audit = AuditResult(
        tasks={"t": Vocabulary("t", ("no", "yes"))}, attributes=attributes, counts={"t": counts}
    )
    published = redact_audit(audit, min_count=10)
    groupings = set(published.counts["grouping"])
    assert "a x b" not in groupings
    # a and b margins together leave the 2 x 3 table with 2 free parameters: a0 & b2 is not
    # derivable, and its bounds [0, 58] (b2's 58 people) are wide
    results = _attack(audit, published.to_dict(), 10)
    assert [r["n"] for r in results] == [3.0]
    assert not results[0]["derivable"] and results[0]["bounds"][1] - results[0]["bounds"][0] >= 10


def test_metrics_are_those_of_the_full_audit(demo_audit):
    published = redact_audit(demo_audit, min_count=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = demo_audit.metrics("race", by="gender")
    rows = published.metrics[
        (published.metrics["task"] == "race") & (published.metrics["grouping"] == "gender")
    ]
    assert rows["accuracy"].to_numpy() == pytest.approx(table["accuracy"].to_numpy(), abs=1e-12)
    assert (rows["ci_low"] <= rows["accuracy"]).all() and (
        rows["accuracy"] <= rows["ci_high"]
    ).all()
    assert (published.metrics["n"] >= 10).all()
    gaps = published.gaps.dropna()
    assert (
        (gaps["ci_low"] <= gaps["accuracy_difference"])
        & (gaps["accuracy_difference"] <= gaps["ci_high"])
    ).all()
    assert set(published.suppressed["grouping"]) == {"age x race", "gender x age x race"}


def test_html_and_errors(demo_audit, tmp_path):
    published = redact_audit(demo_audit, min_count=10)
    html = published.write_html(tmp_path / "p.html").read_text()
    assert "Suppressed groupings and why" in html and "gender x age x race" in html
    assert "<script>alert" not in html
    with pytest.raises(DataValidationError, match="min_count must be an integer >= 2"):
        redact_audit(demo_audit, min_count=1)
    with pytest.raises(DataValidationError, match="not a fairaudit published audit"):
        PublishedAudit.from_dict({"format": "x"})


def test_cli_writes_the_published_audit_and_page(demo_audit, tmp_path, capsys):
    from fairaudit.cli import main

    path = demo_audit.save(tmp_path / "audit.json")
    assert main(["redact", str(path), "--min-count", "10", "--html", str(tmp_path / "p.html")]) == 0
    out = capsys.readouterr().out
    written = tmp_path / "audit.published.json"
    assert f"published audit written to {written}" in out
    assert "suppressed gender x age x race: 35 cell(s) under 10" in out
    again = PublishedAudit.load(written)
    assert again.to_dict()["counts"] == redact_audit(demo_audit, min_count=10).to_dict()["counts"]
    assert (tmp_path / "p.html").stat().st_size > 10_000
