"""Two synthetic versions of a model on the same rows, with known changes.

Version B equals version A everywhere, except for the race task on two slices:
on Black faces B fixes 60% of A's race errors, on White faces it breaks 30% of
A's correct race predictions. So B is better on one slice, worse on another, and
exactly equal elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.vocab import FAIRFACE_VOCABULARIES as V

TASKS = ("gender", "age", "race")


def make_versions(n: int = 4000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``labels``, ``a`` and ``b`` tables (FairFace classes, join key ``file``)."""
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame({"file": [f"val/{i}.jpg" for i in range(n)]})
    codes = {}
    for task in TASKS:
        classes = V[task].classes
        p = rng.dirichlet(np.ones(len(classes)) * 4)
        codes[task] = rng.choice(len(classes), size=n, p=p)
        labels[task] = np.asarray(classes, dtype=object)[codes[task]]
    pred_a, pred_b = {}, {}
    for task in TASKS:
        c = len(V[task])
        right = rng.random(n) < 0.75
        wrong = (codes[task] + rng.integers(1, c, n)) % c
        pred_a[task] = np.where(right, codes[task], wrong)
        pred_b[task] = pred_a[task].copy()
    race = labels["race"].to_numpy()
    a_right = pred_a["race"] == codes["race"]
    fix = (race == "Black") & ~a_right & (rng.random(n) < 0.6)
    pred_b["race"][fix] = codes["race"][fix]
    c = len(V["race"])
    breaks = (race == "White") & a_right & (rng.random(n) < 0.3)
    pred_b["race"][breaks] = (codes["race"][breaks] + 1) % c
    tables = {"labels": labels}
    for name, pred in (("a", pred_a), ("b", pred_b)):
        frame = pd.DataFrame({"file": labels["file"]})
        for task in TASKS:
            frame[f"{task}_pred"] = np.asarray(V[task].classes, dtype=object)[pred[task]]
        tables[name] = frame.sample(frac=1.0, random_state=seed + len(name)).reset_index(drop=True)
    return tables


@pytest.fixture(scope="package")
def versions() -> dict[str, pd.DataFrame]:
    return make_versions()


@pytest.fixture(scope="package")
def audits(versions):
    import warnings

    from fairaudit.model_audit import audit_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = audit_table(versions["a"], versions["labels"])
        b = audit_table(versions["b"], versions["labels"])
    return a, b


@pytest.fixture(scope="package")
def pairs(versions):
    from fairaudit.compare import paired_counts

    return paired_counts(versions["a"], versions["b"], versions["labels"], names=("A", "B"))


def joined(versions) -> pd.DataFrame:
    """Labels with both versions' predictions (``{task}_a``, ``{task}_b``), row by row."""
    a = versions["a"].rename(columns={f"{t}_pred": f"{t}_a" for t in TASKS})
    b = versions["b"].rename(columns={f"{t}_pred": f"{t}_b" for t in TASKS})
    return versions["labels"].merge(a, on="file").merge(b, on="file")
