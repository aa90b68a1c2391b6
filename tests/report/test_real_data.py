"""The report of a FairFace-val-sized audit: the real 5,000 val labels, seeded predictions.

Predicting the images with a shipped model is costly, so predictions and
probabilities are synthesised (seeded) for the real labels; the audit is then as
large as the real one (126 cells, 3 tasks, calibration). The file must stay under
5 MB and open in Chromium without error or request. The render time is measured
in ``benchmarks/bench_report.py``, not asserted here.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fairaudit.datasets._fairface import load_fairface_labels
from fairaudit.model_audit import audit_predictions
from fairaudit.models._cards import audited_model_card
from fairaudit.report import write_report
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from ._parse import parse_report, table_by_id

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

TASKS = ("gender", "age", "race")


@pytest.fixture(scope="module")
def val_labels(fairface_root):
    loaded = load_fairface_labels(
        fairface_root / "labels" / "fairface_label_val.csv",
        image_root=fairface_root,
        on_missing_image="drop",
    )
    return loaded.table


@pytest.fixture(scope="module")
def val_report(val_labels, tmp_path_factory):
    rng = np.random.default_rng(0)
    n = len(val_labels)
    y_pred, y_proba = {}, {}
    for task in TASKS:
        vocab = FAIRFACE_VOCABULARIES[task]
        codes = vocab.encode(val_labels[task])
        pred = np.where(rng.random(n) < 0.8, codes, rng.integers(0, len(vocab), n))
        logits = rng.normal(size=(n, len(vocab)))
        logits[np.arange(n), pred] += 2.5
        proba = np.exp(logits)
        y_proba[task] = proba / proba.sum(axis=1, keepdims=True)
        y_pred[task] = np.asarray(vocab.classes)[pred]
    audit = audit_predictions(
        y_true={t: val_labels[t] for t in TASKS},
        y_pred=y_pred,
        y_proba=y_proba,
        description="FairFace val (real labels, synthetic predictions)",
        metadata={"model": "fairface-mobilenet_v2-112"},
    )
    path = write_report(
        audit,
        tmp_path_factory.mktemp("val") / "val.html",
        model_card=audited_model_card(audit.metadata),  # as the shells pass it
    )
    return audit, path


def test_fairface_val_report_is_small_and_complete(val_labels, val_report):
    audit, path = val_report
    assert len(val_labels) == 5000 and audit.n_rows == 5000
    size = path.stat().st_size
    assert size < 5 * 1024 * 1024, f"{size / 1e6:.2f} MB"
    parsed = parse_report(path.read_text(encoding="utf-8"))
    distribution = table_by_id(parsed, "table-distribution").records()
    for record in distribution:
        attribute, cls = record["attribute"].text, record["class"].text
        assert record["count"].number == (val_labels[attribute].astype(str) == cls).sum()
    card = {
        r["field"].text: r["value"].text for r in table_by_id(parsed, "table-model-card").records()
    }
    assert card["name"] == "fairface-mobilenet_v2-112"  # from the audit's metadata["model"]
    settings = {
        r["field"].text: r["value"].text
        for r in table_by_id(parsed, "table-report-settings").records()
    }
    assert settings["bootstrap replicates"] == "1,000"


def test_fairface_val_report_opens_in_chromium(browser_page, val_report, tmp_path):
    _, path = val_report
    url = path.resolve().as_uri()
    start = time.perf_counter()
    browser_page.page.goto(url, wait_until="load")
    load_seconds = time.perf_counter() - start
    assert load_seconds < 5, f"the report took {load_seconds:.1f} s to load in Chromium"
    browser_page.page.screenshot(path=str(tmp_path / "val.png"), full_page=True)
    assert (tmp_path / "val.png").stat().st_size > 100_000
    assert browser_page.console_errors == []
    assert browser_page.requests == [url]
    assert browser_page.page.inner_text("#summary-rows") == "5,000"
