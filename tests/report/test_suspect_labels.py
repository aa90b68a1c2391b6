"""The report's suspect-label section: the dataset audit's rates of the audited rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.dataset_audit import audit_dataset
from fairaudit.exceptions import DataValidationError
from fairaudit.report import render_report

from ._parse import parse_report, table_by_id
from .conftest import N_RESAMPLES, make_rows

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def flagged_rows() -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    frame, _ = make_rows(600, seed=21)
    frame.insert(0, "file", [f"val/{k}.jpg" for k in range(1, len(frame) + 1)])
    rng = np.random.default_rng(3)
    suspects = frame.loc[rng.random(len(frame)) < 0.1, "file"].tolist()
    pairs = pd.DataFrame(
        {"file_a": frame["file"][:6].tolist(), "file_b": frame["file"][6:12].tolist()}
    ).assign(conflict=[True, False, True, False, False, True])
    return frame, suspects, pairs


def test_the_rates_of_the_dataset_audit_are_shown(audit, flagged_rows):
    frame, suspects, pairs = flagged_rows
    rates = audit_dataset(frame, label_issues=suspects, near_duplicates=pairs).suspect_labels
    html = render_report(audit, n_resamples=N_RESAMPLES, suspect_labels=rates)
    assert html.index('id="dataset"') < html.index('<section id="suspect-labels"')
    table = table_by_id(parse_report(html), "table-suspect-labels")
    assert table.header[:2] == ["attribute", "group"]
    conflicting = {frame["file"][k] for k in (0, 6, 2, 8, 5, 11)}
    records = table.records()
    assert len(records) == sum(frame[a].nunique() for a in ("gender", "age", "race"))
    for row in records:
        rows = frame[frame[row["attribute"].text] == row["group"].text]
        n = len(rows)
        k = int(rows["file"].isin(set(suspects)).sum())
        assert row["label_issue rows"].number == n and row["label_issue flagged"].number == k
        assert row["label_issue rate"].text.startswith(f"{k / n:.3f} [")
        c = int(rows["file"].isin(conflicting).sum())
        assert row["near_duplicate_conflict flagged"].number == c
        small = "small" in table.row_classes[records.index(row)]
        assert small == (n < 30)


def test_no_section_without_rates(html):
    assert "suspect-labels" not in html


def test_a_table_of_other_columns_is_refused(audit):
    with pytest.raises(DataValidationError, match="suspect_label_rates"):
        render_report(audit, n_resamples=N_RESAMPLES, suspect_labels=pd.DataFrame({"x": [1]}))
