"""The numbers of a rendered report equal the audit's own values and a row-level oracle.

Each table is found by its id and read through the exact ``data-value`` of its
numeric cells; the oracle is scikit-learn (accuracy, confusion matrices), fairlearn
and naive loops over the synthetic rows.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix
from statsmodels.stats.proportion import proportion_confint

from fairaudit.report._render import default_heatmaps, task_random_state
from fairaudit.vocab import FAIRFACE_VOCABULARIES
from tests.claims._oracles import naive_calibration

from ._parse import table_by_id
from .conftest import N_RESAMPLES, TASKS, TITLE

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _close(cell, expected, *, tol=1e-12):
    value = cell.number
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value), f"{cell.text} is not undefined"
    else:
        assert value == pytest.approx(expected, abs=tol), cell.text


@pytest.fixture(scope="module")
def boot(audit):
    """The intervals the report must show: task i resampled by task_random_state(0, i)."""
    import pandas as pd

    frames = []
    heatmaps = default_heatmaps(audit)
    for i, task in enumerate(audit.tasks):
        by = [(), ("gender",), ("age",), ("race",), *heatmaps[task]]
        frames.append(
            audit.bootstrap(
                n_resamples=N_RESAMPLES,
                tasks=[task],
                by=by,
                random_state=task_random_state(0, i),
                progress=False,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _boot(boot, task, by, group, metric, cls=""):
    row = boot[
        (boot.task == task)
        & (boot["by"] == by)
        & (boot.group == group)
        & (boot.metric == metric)
        & (boot["class"] == cls)
    ]
    assert len(row) == 1
    return row.iloc[0]


@pytest.mark.parametrize("task", TASKS)
def test_overall_metrics_equal_sklearn_and_the_bootstrap(parsed, rows, boot, task):
    frame, _ = rows
    table = {
        r["metric"].text: r for r in table_by_id(parsed, f"table-task-{task}-overall").records()
    }
    assert table["support"]["estimate"].number == len(frame)
    _close(table["accuracy"]["estimate"], accuracy_score(frame[task], frame[f"{task}_pred"]))
    _close(
        table["balanced_accuracy"]["estimate"],
        balanced_accuracy_score(frame[task], frame[f"{task}_pred"]),
    )
    for metric in ("accuracy", "balanced_accuracy", "f1_macro", "recall_weighted"):
        expected = _boot(boot, task, "", "all", metric)
        _close(table[metric]["CI low"], expected["lower"])
        _close(table[metric]["CI high"], expected["upper"])
        assert table[metric]["CI low"].number < table[metric]["CI high"].number


@pytest.mark.parametrize(("task", "attribute"), list(itertools.product(TASKS, ("gender", "race"))))
def test_group_tables_equal_sklearn_per_group(parsed, rows, audit, boot, task, attribute):
    frame, _ = rows
    table = table_by_id(parsed, f"table-task-{task}-by-{attribute}")
    classes = FAIRFACE_VOCABULARIES[attribute].classes
    assert [r[attribute].text for r in table.records()] == list(classes)
    for record in table.records():
        group = record[attribute].text
        mask = frame[attribute] == group
        assert record["support"].number == mask.sum()
        _close(
            record["accuracy"],
            accuracy_score(frame.loc[mask, task], frame.loc[mask, f"{task}_pred"]),
        )
        expected = _boot(boot, task, attribute, group, "accuracy")
        _close(record["accuracy CI low"], expected["lower"])
        _close(record["accuracy CI high"], expected["upper"])
        assert record["status"].text == ("ok" if mask.sum() >= 30 else "small")


@pytest.mark.parametrize("task", TASKS)
def test_confusion_tables_equal_sklearn_overall_and_per_gender(parsed, rows, task):
    frame, _ = rows
    classes = list(FAIRFACE_VOCABULARIES[task].classes)
    panels = [np.ones(len(frame), dtype=bool)] + [
        (frame["gender"] == g).to_numpy() for g in FAIRFACE_VOCABULARIES["gender"].classes
    ]
    for k, mask in enumerate(panels):
        table = table_by_id(parsed, f"table-task-{task}-confusion-{k}")
        assert table.header[1:] == classes
        assert [row[0].text for row in table.rows] == classes
        shown = np.array([[c.number for c in row[1:]] for row in table.rows])
        expected = confusion_matrix(
            frame.loc[mask, task], frame.loc[mask, f"{task}_pred"], labels=classes
        )
        np.testing.assert_array_equal(shown, expected)


def test_accuracy_heatmap_equals_a_loop_over_cells(parsed, rows, audit, boot):
    frame, _ = rows
    # default for gender: accuracy by age (rows) x race (columns)
    assert default_heatmaps(audit)["gender"] == [("age", "race")]
    wide = table_by_id(parsed, "table-task-gender-heatmap-age-race")
    detail = table_by_id(parsed, "table-task-gender-heatmap-age-race-detail")
    races = list(FAIRFACE_VOCABULARIES["race"].classes)
    assert wide.header[1:] == races
    for row in wide.rows:
        age = row[0].text
        for race, cell in zip(races, row[1:], strict=True):
            mask = (frame["age"] == age) & (frame["race"] == race)
            if mask.sum() == 0:
                assert cell.value == "" and cell.text == "n/a"
                continue
            _close(cell, accuracy_score(frame.loc[mask, "gender"], frame.loc[mask, "gender_pred"]))
    for record in detail.records():
        name = f"{record['age'].text} & {record['race'].text}"
        mask = (frame["age"] == record["age"].text) & (frame["race"] == record["race"].text)
        assert record["support"].number == mask.sum()
        # the cells' intervals are exact (Clopper-Pearson) intervals on the cell's counts
        # (as the first screen's grid): statsmodels' beta method as the oracle
        n = int(mask.sum())
        if n == 0:
            assert record["accuracy CI low"].value == "", name
            continue
        k = int((frame.loc[mask, "gender"] == frame.loc[mask, "gender_pred"]).sum())
        low, high = proportion_confint(k, n, alpha=0.05, method="beta")
        _close(record["accuracy CI low"], 0.0 if k == 0 else low, tol=1e-9)
        _close(record["accuracy CI high"], 1.0 if k == n else high, tol=1e-9)


def test_fairness_tables_equal_the_audit_and_fairlearn(parsed, rows, audit, boot):
    frame, _ = rows
    table = table_by_id(parsed, "table-task-gender-fairness-race")
    records = {r["metric"].text: r for r in table.records()}
    fairness = audit.fairness("gender", by="race")
    summary = fairness[fairness["class"] == "all"].set_index("metric")
    for metric, record in records.items():
        _close(record["value"], float(summary.loc[metric, "value"]))
        assert record["low_group"].text == summary.loc[metric, "low_group"]
        expected = _boot(boot, "gender", "race", "all", metric, "all")
        _close(record["CI low"], expected["lower"])
    dpd = demographic_parity_difference(
        frame["gender"] == "Female",
        frame["gender_pred"] == "Female",
        sensitive_features=frame["race"],
    )
    _close(records["demographic_parity_difference"]["value"], dpd, tol=1e-12)
    # a task grouped by its own true label keeps only the accuracy gap
    own = table_by_id(parsed, "table-task-gender-fairness-gender")
    assert [r["metric"].text for r in own.records()] == ["accuracy_difference", "accuracy_ratio"]


def test_ranked_disparities_are_sorted_and_equal_the_findings(parsed, audit):
    """The report shows the findings layer's ranking (itself checked against a naive loop)."""
    from fairaudit.findings import rank_disparities

    table = table_by_id(parsed, "table-disparities")
    records = table.records()
    lower = [r["gap CI low"].number for r in records]
    # supported gaps first, each part ranked by the smallest gap the data support
    supported = [r["supported"].text == "yes" for r in records]
    assert supported == sorted(supported, reverse=True)
    for flag in (True, False):
        part = [v for v, s in zip(lower, supported, strict=True) if s == flag and v == v]
        assert part == sorted(part, reverse=True)
    expected = rank_disparities(audit, min_support=30)
    assert len(records) == len(expected) > 0
    for record, row in zip(records, expected.itertuples(), strict=True):
        assert (record["task"].text, record["attribute"].text) == (row.task, row.attribute)
        assert record["task"].text != record["attribute"].text  # own label not ranked
        assert record["metric"].text == row.metric
        _close(record["gap (estimate)"], row.gap)
        _close(record["gap CI low"], row.gap_lower)
        _close(record["gap CI high"], row.gap_upper)
        _close(record["p (BH)"], row.p_adjusted)
        assert record["supported"].text == ("yes" if row.supported else "no")
        assert row.supported == (row.gap_lower > 0)
        if row.gap == row.gap:
            assert row.gap_lower <= row.gap <= row.gap_upper
    top = table_by_id(parsed, "table-top-disparities")
    assert [r["gap CI low"].number for r in top.records()] == lower[: len(top.rows)]


def test_small_slices_equal_a_naive_count(parsed, rows):
    frame, _ = rows
    table = table_by_id(parsed, "table-small-slices")
    listed = {(r["grouping"].text, r["slice"].text): r["support"].number for r in table.records()}
    expected = {}
    groupings = [
        ("gender",),
        ("age",),
        ("race",),
        ("age", "race"),
        ("gender", "race"),
        ("gender", "age"),
        ("gender", "age", "race"),
    ]
    for by in groupings:
        for combo in itertools.product(*[FAIRFACE_VOCABULARIES[b].classes for b in by]):
            mask = np.ones(len(frame), dtype=bool)
            for b, v in zip(by, combo, strict=True):
                mask &= (frame[b] == v).to_numpy()
            if mask.sum() < 30:
                expected[(" x ".join(by), " & ".join(combo))] = mask.sum()
    assert listed == expected
    assert expected, "the synthetic data must have small slices"


def test_four_fifths_failures_equal_a_naive_loop(parsed, rows, audit):
    frame, _ = rows
    table = table_by_id(parsed, "table-four-fifths")
    listed = {
        (r["task"].text, r["attribute"].text, r["class"].text, r["group"].text): r["ratio"].number
        for r in table.records()
    }
    expected = {}
    for task, attribute in itertools.product(TASKS, TASKS):
        if task == attribute:
            continue
        groups = FAIRFACE_VOCABULARIES[attribute].classes
        for cls in FAIRFACE_VOCABULARIES[task].classes:
            rates = {
                g: (frame.loc[frame[attribute] == g, f"{task}_pred"] == cls).mean() for g in groups
            }
            best = max(rates.values())
            for g, rate in rates.items():
                if best > 0 and rate / best < 0.8:
                    expected[(task, attribute, cls, g)] = rate / best
    assert listed.keys() == expected.keys()
    for key, ratio in expected.items():
        assert listed[key] == pytest.approx(ratio, abs=1e-12)
    ratios = list(listed.values())
    assert ratios == sorted(ratios)


def test_dataset_section_counts_the_rows(parsed, rows):
    frame, _ = rows
    table = table_by_id(parsed, "table-distribution")
    for record in table.records():
        attribute, cls = record["attribute"].text, record["class"].text
        n = (frame[attribute] == cls).sum()
        assert record["count"].number == n
        _close(record["proportion"], n / len(frame))
    imbalance = {r["attribute"].text: r for r in table_by_id(parsed, "table-imbalance").records()}
    for attribute in TASKS:
        counts = (
            frame[attribute]
            .value_counts()
            .reindex(list(FAIRFACE_VOCABULARIES[attribute].classes), fill_value=0)
            .to_numpy()
        )
        p = counts / counts.sum()
        _close(imbalance[attribute]["gini"], 1 - (p**2).sum(), tol=1e-12)
        _close(imbalance[attribute]["entropy_bits"], -(p[p > 0] * np.log2(p[p > 0])).sum())
        _close(imbalance[attribute]["max_ratio"], p.max())
    joint = table_by_id(parsed, "table-joint-age-race")
    for row in joint.rows:
        for race, cell in zip(joint.header[1:], row[1:], strict=True):
            assert cell.number == ((frame["age"] == row[0].text) & (frame["race"] == race)).sum()


def test_calibration_equals_a_naive_ece(parsed, rows):
    frame, proba = rows
    classes = list(FAIRFACE_VOCABULARIES["gender"].classes)
    pred = frame["gender_pred"].map(classes.index).to_numpy()
    confidence = proba["gender"][np.arange(len(frame)), pred]
    correct = (frame["gender"] == frame["gender_pred"]).to_numpy()
    table = table_by_id(parsed, "table-task-gender-calibration-race")
    for record in table.records():
        mask = (frame["race"] == record["race"].text).to_numpy()
        bins = np.minimum((confidence[mask] * 15).astype(int), 14)
        ece = (
            sum(
                abs(correct[mask][bins == b].sum() - confidence[mask][bins == b].sum())
                for b in range(15)
            )
            / mask.sum()
        )
        _close(record["ece"], ece, tol=1e-9)
        # the interval and verdict: a naive per-bin loop over the rows' own bins
        n = np.bincount(bins, minlength=15)
        hits = np.bincount(bins, correct[mask], minlength=15)
        conf = np.bincount(bins, confidence[mask], minlength=15)
        _, lower, upper, verdict = naive_calibration(n, hits, conf, confidence=0.95, min_support=30)
        _close(record["ece CI low"], lower, tol=1e-9)
        _close(record["ece CI high"], upper, tol=1e-9)
        assert record["verdict"].text == verdict
        assert "status" not in record
    # a task without probabilities says so instead of a table
    assert not [t for t in parsed.tables if t.id and t.id.startswith("table-task-age-calibration")]


def test_calibration_verdict_sentence_sums_up_the_naive_claims(html, parsed, rows):
    """The per-task summary's calibration sentence: all rows, then every flagged group."""
    frame, proba = rows
    classes = list(FAIRFACE_VOCABULARIES["gender"].classes)
    pred = frame["gender_pred"].map(classes.index).to_numpy()
    confidence = proba["gender"][np.arange(len(frame)), pred]
    correct = (frame["gender"] == frame["gender_pred"]).to_numpy().astype(float)

    def claim(mask, level=0.95):
        bins = np.minimum((confidence[mask] * 15).astype(int), 14)
        return naive_calibration(
            np.bincount(bins, minlength=15),
            np.bincount(bins, correct[mask], minlength=15),
            np.bincount(bins, confidence[mask], minlength=15),
            confidence=level,
            min_support=30,
        )

    ece, lower, upper, verdict = claim(np.ones(len(frame), dtype=bool))
    own = table_by_id(parsed, "table-task-gender-calibration-gender")
    assert {r["verdict"].text for r in own.records()} == {"not judged: own label"}
    # grouped by its own true label, gender is not judged; the other groups of at least
    # 30 rows are judged together: Bonferroni over all of them
    groups = [
        (attribute, group, (frame[attribute] == group).to_numpy())
        for attribute in ("age", "race")
        for group in FAIRFACE_VOCABULARIES[attribute].classes
        if (frame[attribute] == group).sum() >= 30
    ]
    each = [f"{a} = {g}" for a, g, mask in groups if claim(mask)[3] == "miscalibrated"]
    together = 1 - 0.05 / len(groups)
    flagged = [f"{a} = {g}" for a, g, m in groups if claim(m, together)[3] == "miscalibrated"]
    assert flagged and set(flagged) <= set(each)  # the model is over-confident for some
    expected = (
        f"Calibration of gender, all rows: {verdict} (ECE {ece:.3f}, 95% interval "
        f"{lower:.3f} to {upper:.3f}). Groups whose accuracy differs from their confidence "
        f"(judged together at 95%): {', '.join(flagged)}."
    )
    assert f'<p class="note calibration-verdict">{expected}</p>' in html


def test_summary_cards_and_metadata(html, parsed, rows, audit):
    frame, _ = rows
    assert 'id="summary-rows">1,500<' in html
    acc = accuracy_score(frame["gender"], frame["gender_pred"])
    assert f">{acc:.3f} [" in html
    metadata = {
        r["field"].text: r["value"].text for r in table_by_id(parsed, "table-metadata").records()
    }
    # the description heads the report (once): the metadata table does not repeat it
    assert 'id="report-data">Data: synthetic rows</p>' in html
    assert html.count("synthetic rows") == 1
    assert "description" not in metadata
    assert metadata["library_version"] == audit.metadata["library_version"]
    assert metadata["created"] == audit.metadata["created"]
    settings = {
        r["field"].text: r["value"].text
        for r in table_by_id(parsed, "table-report-settings").records()
    }
    assert settings["bootstrap replicates"] == str(N_RESAMPLES)
    assert settings["bootstrap seed (random_state)"] == "0"


def test_metadata_repeating_the_description_is_left_out(rows):
    """An audit whose ``data`` is its description (the demo's) shows that text once."""
    from fairaudit.report import render_report

    from ._parse import parse_report
    from .conftest import audit_rows

    frame, proba = rows
    audit = audit_rows(frame, proba, metadata={"data": "synthetic rows", "note": "kept"})
    html = render_report(audit, n_resamples=5, confusion_by=())
    metadata = {
        r["field"].text: r["value"].text
        for r in table_by_id(parse_report(html), "table-metadata").records()
    }
    assert 'id="report-data">Data: synthetic rows</p>' in html
    assert "data" not in metadata and "description" not in metadata
    assert "synthetic rows" not in " ".join(metadata.values())
    assert metadata["note"] == "kept"


def test_every_table_is_accessible(parsed):
    assert parsed.tables
    for table in parsed.tables:
        assert table.caption.strip(), table.id
        assert table.header, table.id
        for row in table.rows:
            assert len(row) == len(table.header), table.id
            for cell, kind in zip(row, table.header_types, strict=True):
                if kind == "number" and not cell.header:
                    assert cell.value is not None, (table.id, cell.text)
    ids = [t.id for t in parsed.tables if t.id]
    assert len(ids) == len(set(ids)), "table ids are unique"
    assert len(parsed.ids) == len(set(parsed.ids)), "element ids are unique"
    assert parsed.event_attributes == []
    assert parsed.scripts == 1


def test_same_seed_same_report_numbers(audit, html):
    from fairaudit.report import render_report

    again = render_report(audit, n_resamples=N_RESAMPLES, random_state=0, title=TITLE)

    def without_date(text):
        return [line for line in text.splitlines() if "report generated" not in line]

    assert without_date(again) == without_date(html)
    other_seed = render_report(audit, n_resamples=N_RESAMPLES, random_state=1, title=TITLE)
    assert without_date(other_seed) != without_date(html)


def test_regression_targets_equal_a_loop(rows):
    from fairaudit.model_audit import audit_predictions
    from fairaudit.report import render_report

    from ._parse import parse_report

    frame, _ = rows
    rng = np.random.default_rng(5)
    years_true = rng.integers(1, 90, len(frame)).astype(float)
    years_pred = years_true + rng.normal(2.0, 6.0, len(frame))
    audit = audit_predictions(
        y_true={"gender": frame["gender"]},
        y_pred={"gender": frame["gender_pred"]},
        sensitive_features={"race": frame["race"]},
        attributes={"race": FAIRFACE_VOCABULARIES["race"]},
        y_true_regression={"age_years": years_true},
        y_pred_regression={"age_years": years_pred},
    )
    parsed = parse_report(render_report(audit, n_resamples=5, confusion_by=()))
    assert "regression" in parsed.ids
    error = years_pred - years_true
    overall = table_by_id(parsed, "table-regression-age_years").records()[0]
    _close(overall["mae"], np.abs(error).mean(), tol=1e-9)
    _close(overall["bias"], error.mean(), tol=1e-9)
    _close(overall["rmse"], np.sqrt((error**2).mean()), tol=1e-9)
    for record in table_by_id(parsed, "table-regression-age_years-race").records():
        mask = (frame["race"] == record["race"].text).to_numpy()
        _close(record["mae"], np.abs(error[mask]).mean(), tol=1e-9)
