"""A published audit reveals no small group: an attacker with the file cannot recover one."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from fairaudit.demo import load_demo_audits
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult
from fairaudit.publish import PublishedAudit, redact_audit
from fairaudit.vocab import Vocabulary


@pytest.fixture(scope="module")
def demo_audit() -> AuditResult:
    return load_demo_audits().audits["fairface-lightweight-112"]


def _attack(audit: AuditResult, published: dict, min_count: int, *, integer: bool = False):
    """What a reader of the file learns: LP (or ILP) bounds of every hidden count.

    An attacker independent of fairaudit's: per full cell ``a`` of the attributes and per
    task ``t``, ``x[t, a, c]`` people of true class ``c`` and ``h[t, a, c] <= x[t, a, c]``
    of them classified right; the same people in every task (``sum_c x[t, a, c]`` equal);
    a task named like an attribute with its classes has that attribute as true label.
    Published counts and hits (``accuracy * n``) are equations. Hidden counts: cells of
    every grouping of the attributes, alone or crossed with a task's true class, holding
    1 to ``min_count - 1`` people.
    """
    names = list(audit.attributes)
    cells = list(itertools.product(*(range(len(audit.attributes[a])) for a in names)))
    n_cells = len(cells)
    tasks = list(audit.tasks)
    sizes = [len(audit.tasks[t]) for t in tasks]
    offsets = np.cumsum([0] + [2 * n_cells * c for c in sizes])
    n_vars = int(offsets[-1])

    def x(ti, a, c):
        return int(offsets[ti] + a * sizes[ti] + c)

    def h(ti, a, c):
        return int(offsets[ti] + n_cells * sizes[ti] + a * sizes[ti] + c)

    truth = np.zeros(n_vars)
    for ti, t in enumerate(tasks):
        cm = audit.counts[t].reshape(n_cells, sizes[ti], sizes[ti])
        for a in range(n_cells):
            for c in range(sizes[ti]):
                truth[x(ti, a, c)] = cm[a, c].sum()
                truth[h(ti, a, c)] = cm[a, c, c]
    eq, eq_b, ub = [], [], []
    upper = np.full(n_vars, np.inf)
    aligned = {
        ti
        for ti, t in enumerate(tasks)
        if t in names and audit.attributes[t].classes == audit.tasks[t].classes
    }
    for a in range(n_cells):
        for ti in range(1, len(tasks)):
            row = np.zeros(n_vars)
            row[[x(ti, a, c) for c in range(sizes[ti])]] = 1
            row[[x(0, a, c) for c in range(sizes[0])]] -= 1
            eq.append(row)
            eq_b.append(0.0)
        for ti, t in enumerate(tasks):
            for c in range(sizes[ti]):
                row = np.zeros(n_vars)
                row[h(ti, a, c)], row[x(ti, a, c)] = 1, -1
                ub.append(row)
                if ti in aligned and cells[a][names.index(t)] != c:
                    upper[x(ti, a, c)] = 0.0

    def members(grouping: str, cell: str) -> list[int]:
        if grouping == "overall":
            return list(range(n_cells))
        by = grouping.split(" x ")
        wanted = dict(zip(by, cell.split(" & "), strict=True))
        return [
            a
            for a, combo in enumerate(cells)
            if all(
                audit.attributes[k].classes[combo[names.index(k)]] == v for k, v in wanted.items()
            )
        ]

    for entry in published["counts"]:
        row = np.zeros(n_vars)
        row[
            [x(0, a, c) for a in members(entry["grouping"], entry["cell"]) for c in range(sizes[0])]
        ] = 1
        eq.append(row)
        eq_b.append(entry["n"])
    for entry in published["metrics"]:
        ti = tasks.index(entry["task"])
        row = np.zeros(n_vars)
        row[
            [
                h(ti, a, c)
                for a in members(entry["grouping"], entry["cell"])
                for c in range(sizes[ti])
            ]
        ] = 1
        eq.append(row)
        eq_b.append(round(entry["accuracy"] * entry["n"]))
    a_eq, b_eq, a_ub = sparse.csr_matrix(eq), np.array(eq_b, float), sparse.csr_matrix(ub)
    assert np.allclose(a_eq @ truth, b_eq)  # the published numbers are the audit's
    hidden, seen = [], set()
    for k in range(len(names) + 1):
        for by in itertools.combinations(names, k):
            for combo in itertools.product(*(range(len(audit.attributes[b])) for b in by)):
                inside = [
                    a
                    for a, cell in enumerate(cells)
                    if all(cell[names.index(b)] == v for b, v in zip(by, combo, strict=True))
                ]
                candidates = [
                    (
                        ("people", frozenset(inside)),
                        [x(0, a, c) for a in inside for c in range(sizes[0])],
                    )
                ]
                for ti, t in enumerate(tasks):
                    for c in range(sizes[ti]):
                        if ti in aligned:  # the people of the attribute's cell c
                            mine = [a for a in inside if cells[a][names.index(t)] == c]
                            key = ("people", frozenset(mine))
                        else:
                            key = (t, c, frozenset(inside))
                        candidates.append((key, [x(ti, a, c) for a in inside]))
                for key, cols in candidates:
                    target = np.zeros(n_vars)
                    target[cols] = 1
                    n = float(target @ truth)
                    if 1 <= n < min_count and key not in seen:  # the same people: one target
                        seen.add(key)
                        hidden.append(((by, combo), n, target))
    results = []
    for cell, n, target in hidden:
        bounds = []
        for sign in (1, -1):
            if integer:
                from scipy.optimize import Bounds, LinearConstraint, milp

                res = milp(
                    sign * target,
                    constraints=[
                        LinearConstraint(a_eq, b_eq, b_eq),
                        LinearConstraint(a_ub, -np.inf, 0),
                    ],
                    integrality=np.ones(n_vars),
                    bounds=Bounds(0, upper),
                    options={"presolve": False},  # HiGHS's MIP presolve calls some infeasible
                )
            else:
                res = linprog(
                    sign * target,
                    A_ub=a_ub,
                    b_ub=np.zeros(a_ub.shape[0]),
                    A_eq=a_eq,
                    b_eq=b_eq,
                    bounds=np.column_stack([np.zeros(n_vars), upper]),
                    method="highs",
                )
            if res.status == 3 and sign == -1:  # unbounded: nothing published bounds it
                bounds.append(np.inf)
                continue
            assert res.status == 0, res.message
            bounds.append(sign * res.fun)
        results.append({"cell": cell, "n": n, "bounds": tuple(bounds)})
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
        low, high = result["bounds"]
        assert low <= result["n"] <= high
        assert high - low >= min_count, result
    assert saved["metadata"]["protection"]["targets"] == len(results)
    widths = [r["bounds"][1] - r["bounds"][0] for r in results]
    assert saved["metadata"]["protection"]["narrowest_interval"] <= min(widths) + 1e-6
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
    results = _attack(demo_audit, {"counts": full, "metrics": []}, 10)
    assert results and all(r["bounds"][1] - r["bounds"][0] < 1e-6 for r in results)


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
    # derivable, and its bounds are wide
    results = _attack(audit, published.to_dict(), 10)
    assert [r["n"] for r in results] == [3.0, 3.0]  # the cell, and its people of class yes
    assert all(r["bounds"][1] - r["bounds"][0] >= 10 for r in results)


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


def test_a_saved_published_audit_keeps_every_digit(demo_audit, tmp_path):
    """The file holds the numbers the audit computed, bit for bit, and loads to equal tables."""
    published = redact_audit(demo_audit, min_count=10)
    loaded = PublishedAudit.load(published.save(tmp_path / "published.json"))
    for name in ("counts", "metrics", "gaps", "suppressed"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(published, name))
    rows = loaded.metrics[
        (loaded.metrics["task"] == "race") & (loaded.metrics["grouping"] == "race")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = demo_audit.metrics("race", by="race")
    full = dict(zip(table["race"], table["accuracy"], strict=True))
    assert len(rows) > 0
    for cell, accuracy in zip(rows["cell"], rows["accuracy"], strict=True):
        assert accuracy == full[cell]  # exactly: no decimal rounding on the way


def test_an_edited_table_is_what_is_saved_and_judged(demo_audit, tmp_path):
    """The tables are built from the saved rows on first use; once built they are the truth."""
    from fairaudit.gate import check_published

    published = redact_audit(demo_audit, min_count=10)
    assert published.saved_rows("metrics") == published.to_dict()["metrics"]
    published.suppressed.loc[len(published.suppressed)] = ["age", "withheld by the publisher"]
    metrics = published.metrics
    cells = metrics.index[(metrics["task"] == "gender") & (metrics["grouping"] == "race")]
    metrics.loc[cells[0], "accuracy"] = 0.25
    metrics.loc[cells[1], "accuracy"] = 1.0
    saved = PublishedAudit.load(published.save(tmp_path / "edited.json"))
    assert saved.to_dict()["suppressed"][-1] == {
        "grouping": "age",
        "reason": "withheld by the publisher",
    }
    edited = [r["accuracy"] for r in saved.saved_rows("metrics") if r["grouping"] == "race"]
    assert 0.25 in edited and 1.0 in edited
    result = check_published(
        published, max={"accuracy_difference": 0.99}, by="race", decide="point"
    )
    gender = result.checks[result.checks["task"] == "gender"].iloc[0]
    n = metrics.loc[cells[0], "n"]
    assert gender["value"] == pytest.approx(0.75, abs=1 / n)  # the edited cells' gap


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


def _always_male_audit(*, race_attribute_only: bool) -> AuditResult:
    """Issue 26: (Female, Middle Eastern) holds 1 person, every other gender x race cell 200,
    and the model always says Male."""
    from fairaudit.vocab import FAIRFACE_RACE, GENDER

    sizes = np.full((2, 7), 200)
    sizes[1, 6] = 1  # Female & Middle Eastern
    cm = np.zeros((2, 7, 2, 2), dtype=np.int64)
    cm[0, :, 0, 0] = sizes[0]  # Male, predicted Male
    cm[1, :, 1, 0] = sizes[1]  # Female, predicted Male
    if race_attribute_only:
        counts = cm.sum(axis=0)  # (race, true gender, predicted gender)
        attributes = {"race": FAIRFACE_RACE}
    else:
        counts = cm.reshape(14, 2, 2)
        attributes = {"gender": GENDER, "race": FAIRFACE_RACE}
    return AuditResult(tasks={"gender": GENDER}, attributes=attributes, counts={"gender": counts})


@pytest.mark.parametrize("min_count", [5, 11])
def test_accuracies_do_not_reveal_a_suppressed_cell(min_count, tmp_path):
    """Issue 26: race = Middle Eastern n = 201 with gender accuracy 200/201, and Female
    accuracy 0, told Female & Middle Eastern = 1 exactly."""
    audit = _always_male_audit(race_attribute_only=False)
    published = redact_audit(audit, min_count=min_count)
    saved = json.loads(published.save(tmp_path / "p.json").read_text())
    results = _attack(audit, saved, min_count, integer=True)
    assert results and {r["n"] for r in results} == {1.0}
    for result in results:
        assert result["bounds"][1] - result["bounds"][0] >= min_count, result
    assert saved["metadata"]["protection"]["narrowest_interval"] == min(
        r["bounds"][1] - r["bounds"][0] for r in results
    )
    # something had to go: the accuracies of race or of gender
    assert published.suppressed["reason"].str.startswith("accuracies withheld").any()


def test_true_labels_are_protected_when_not_an_attribute():
    """Issue 26: with race the only attribute, the gender task's true labels cross race."""
    audit = _always_male_audit(race_attribute_only=True)
    published = redact_audit(audit, min_count=11)
    protection = published.metadata["protection"]
    assert protection["targets"] == 1  # Middle Eastern & gender=Female
    results = _attack(audit, published.to_dict(), 11, integer=True)
    assert [r["n"] for r in results] == [1.0]
    assert results[0]["bounds"][1] - results[0]["bounds"][0] >= 11
    assert protection["narrowest_interval"] == results[0]["bounds"][1] - results[0]["bounds"][0]


def test_the_demo_audit_is_safe_against_an_attacker_using_hits(demo_audit):
    """Issue 26: on the demo, hits <= n narrowed a cell of 3 to [0, 12] at K = 13."""
    for min_count in (13, 20):
        saved = redact_audit(demo_audit, min_count=min_count).to_dict()
        results = _attack(demo_audit, saved, min_count)
        widths = [r["bounds"][1] - r["bounds"][0] for r in results]
        assert min(widths) >= min_count
        assert saved["metadata"]["protection"]["narrowest_interval"] <= min(widths) + 1e-6


@pytest.mark.parametrize("option", ["-o", "--html"])
def test_cli_refuses_to_overwrite_its_input(demo_audit, tmp_path, capsys, option):
    from fairaudit.cli import main

    path = demo_audit.save(tmp_path / "victim.json")
    before = path.read_bytes()
    same = str(tmp_path / "." / "victim.json")  # the same file, spelled differently
    assert main(["redact", str(path), option, same]) == 2
    assert "is the audit being redacted" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.json"]


@st.composite
def _small_audits(draw) -> tuple[AuditResult, int]:
    """An audit of two attributes, a task that is the first one and a task that is none."""
    sizes = (draw(st.integers(2, 3)), draw(st.integers(2, 3)))
    attributes = {
        "a": Vocabulary("a", tuple(f"a{i}" for i in range(sizes[0]))),
        "b": Vocabulary("b", tuple(f"b{i}" for i in range(sizes[1]))),
    }
    n_cells = sizes[0] * sizes[1]
    z = draw(st.lists(st.integers(0, 40), min_size=n_cells, max_size=n_cells))
    aligned = np.zeros((n_cells, sizes[0], sizes[0]), dtype=np.int64)
    free = np.zeros((n_cells, 2, 2), dtype=np.int64)
    for cell, n in enumerate(z):
        value = cell // sizes[1]
        hits = draw(st.integers(0, n))
        aligned[cell, value, value] = hits
        aligned[cell, value, (value + 1) % sizes[0]] = n - hits
        yes = draw(st.integers(0, n))
        for c, n_c in ((0, n - yes), (1, yes)):
            right = draw(st.integers(0, n_c))
            free[cell, c, c], free[cell, c, 1 - c] = right, n_c - right
    audit = AuditResult(
        tasks={"a": attributes["a"], "t": Vocabulary("t", ("no", "yes"))},
        attributes=attributes,
        counts={"a": aligned, "t": free},
    )
    return audit, draw(st.integers(2, 12))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small_audits())
def test_no_attacker_narrows_a_hidden_count_below_k(case):
    """Property (issue 26): an LP attacker over every published number (counts, hits
    behind the accuracies, 0 <= hits <= n, true labels as attributes) never narrows a
    hidden count below K, and the stated narrowest interval is the exact integer one."""
    audit, min_count = case
    if audit.n_rows == 0:
        return
    published = redact_audit(audit, min_count=min_count)
    saved = json.loads(json.dumps(published.to_dict()))
    assert all(e["n"] == 0 or e["n"] >= min_count for e in saved["counts"])
    results = _attack(audit, saved, min_count)
    for result in results:
        assert result["bounds"][1] - result["bounds"][0] >= min_count - 1e-6, result
    stated = saved["metadata"]["protection"]["narrowest_interval"]
    if not results:
        assert stated is None
        return
    exact = min(
        r["bounds"][1] - r["bounds"][0] for r in _attack(audit, saved, min_count, integer=True)
    )
    assert stated == (None if np.isinf(exact) else round(exact))


def _fairface_sized_audit(seed: int) -> AuditResult:
    """Gender x age x race (126 cells), uneven shares (many cells of 1 to 9 people), the
    three tasks' true labels the attributes, a model right 80% of the time."""
    from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER

    rng = np.random.default_rng(seed)
    attributes = {"gender": GENDER, "age": FAIRFACE_AGE, "race": FAIRFACE_RACE}
    shape = tuple(len(v) for v in attributes.values())
    z = rng.multinomial(6_000, rng.dirichlet(np.full(int(np.prod(shape)), 0.7)))
    index = np.unravel_index(np.arange(z.size), shape)
    counts = {}
    for axis, task in enumerate(attributes):
        n_classes = shape[axis]
        cm = np.zeros((z.size, n_classes, n_classes), dtype=np.int64)
        for cell, n in enumerate(z):
            true = index[axis][cell]
            hits = rng.binomial(n, 0.8)
            cm[cell, true, true] = hits
            cm[cell, true, (true + 1) % n_classes] = n - hits
        counts[task] = cm
    return AuditResult(tasks=dict(attributes), attributes=attributes, counts=counts)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_fairface_sized_audit_is_safe_and_quick(seed):
    """126 cells: every hidden count keeps an LP interval of at least K, the stated
    narrowest interval is no wider than the LP attacker's, and the integer witnesses come
    from moves and nearby tables, not from integer programmes over the whole table."""
    audit = _fairface_sized_audit(seed)
    published = redact_audit(audit, min_count=10)
    saved = json.loads(json.dumps(published.to_dict()))
    results = _attack(audit, saved, 10)
    assert len(results) >= 10
    widths = [r["bounds"][1] - r["bounds"][0] for r in results]
    assert min(widths) >= 10 - 1e-6
    protection = saved["metadata"]["protection"]
    assert protection["narrowest_interval"] <= min(widths) + 1e-6
    assert protection["programmes"]["moved"] > 0
