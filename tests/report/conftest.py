"""Synthetic audits for the report tests: rows kept, so every number has a row-level oracle.

One report of one synthetic audit is rendered per test session and shared by the
modules (rendering is the slow part).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.model_audit import audit_predictions
from fairaudit.report import render_report
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from ._parse import parse_report

TASKS = ("gender", "age", "race")
#: Title of the shared test report.
TITLE = "Synthetic audit"
#: Bootstrap replicates of the test reports (small: the tests check values, not coverage).
N_RESAMPLES = 60


def make_rows(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """True and predicted labels (strings) of ``n`` rows, and softmax probabilities.

    Group sizes are unequal (Dirichlet class shares) and errors depend on race, so
    gaps are real; a few age x race cells stay small.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, np.ndarray] = {}
    proba: dict[str, np.ndarray] = {}
    race_code = None
    for task in TASKS:
        classes = np.array(FAIRFACE_VOCABULARIES[task].classes)
        share = rng.dirichlet(np.ones(len(classes)) * 3)
        codes = rng.choice(len(classes), size=n, p=share)
        if task == "race":
            race_code = codes
        rows[task] = codes
    for task in TASKS:
        classes = np.array(FAIRFACE_VOCABULARIES[task].classes)
        accuracy = 0.85 - 0.08 * (race_code % 3)
        keep = rng.random(n) < accuracy
        pred = np.where(keep, rows[task], rng.integers(0, len(classes), n))
        logits = rng.normal(size=(n, len(classes)))
        logits[np.arange(n), pred] += 2.0
        p = np.exp(logits)
        proba[task] = p / p.sum(axis=1, keepdims=True)
        rows[f"{task}_pred"] = classes[pred]
        rows[task] = classes[rows[task]]
    return pd.DataFrame(rows), proba


def audit_rows(frame: pd.DataFrame, proba: dict[str, np.ndarray], **kwargs):
    return audit_predictions(
        y_true={t: frame[t] for t in TASKS},
        y_pred={t: frame[f"{t}_pred"] for t in TASKS},
        y_proba={t: proba[t] for t in ("gender", "race")},
        description="synthetic rows",
        **kwargs,
    )


@pytest.fixture(scope="session")
def rows():
    return make_rows(1500, seed=3)


@pytest.fixture(scope="session")
def audit(rows):
    frame, proba = rows
    return audit_rows(frame, proba)


@pytest.fixture(scope="session")
def html(audit):
    return render_report(audit, n_resamples=N_RESAMPLES, random_state=0, title=TITLE)


@pytest.fixture(scope="session")
def report_file(html, tmp_path_factory):
    """The synthetic report written to a file, for the browser tests."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def parsed(html):
    return parse_report(html)
