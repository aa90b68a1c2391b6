"""The Dask path keeps the input contract: status rows are left out and counted as in memory."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from fairaudit.model_audit import audit_dask, audit_table

dd = pytest.importorskip("dask.dataframe", reason="the Dask path needs dask[dataframe]")


def _tables(n: int = 400):
    rng = np.random.default_rng(0)
    files = [f"val/{i}.jpg" for i in range(n)]
    genders = np.array(["Male", "Female"])
    true = genders[rng.integers(0, 2, n)]
    pred = np.where(rng.random(n) < 0.8, true, genders[rng.integers(0, 2, n)])
    status = np.where(rng.random(n) < 0.05, "unreadable", "ok")
    predictions = pd.DataFrame(
        {
            "file": files,
            "gender_pred": np.where(status == "ok", pred, None),
            "status": status,
        }
    )
    labels = pd.DataFrame(
        {
            "file": files,
            "gender": true,
            "race": np.array(["White", "Black", "Indian"])[rng.integers(0, 3, n)],
        }
    )
    return predictions, labels


def test_dask_audit_leaves_out_status_rows_like_the_in_memory_audit():
    predictions, labels = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = audit_table(predictions, labels, tasks=["gender"], attributes=["gender", "race"])
        lazy = audit_dask(
            dd.from_pandas(predictions, npartitions=4),
            labels,
            tasks=["gender"],
            attributes={a: memory.attributes[a] for a in ("gender", "race")},
            scheduler="sync",
            progress=False,
        )
    assert memory == lazy
    unreadable = int((predictions["status"] == "unreadable").sum())
    assert unreadable > 0
    assert memory.n_rows == len(predictions) - unreadable
    assert memory.metadata["left_out"]["status"] == {"unreadable": unreadable}
    assert lazy.metadata["left_out"]["status"] == {"unreadable": unreadable}
