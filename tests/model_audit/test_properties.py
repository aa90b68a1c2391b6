"""Property tests in the style of scikit-learn's test_common: invariances and additivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairaudit.model_audit import AuditAccumulator, audit_dask, audit_predictions, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from .conftest import SIZES, make_data

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _slice(y: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in y.items()}


def test_label_permutation_keeps_macro_metrics(data):
    y_true, y_pred = data
    perm = np.random.default_rng(1).permutation(9)
    base = audit_predictions(
        y_true=y_true, y_pred=y_pred, sensitive_features={"race": y_true["race"]}
    )
    permuted = audit_predictions(
        y_true={**y_true, "age": perm[y_true["age"]]},
        y_pred={**y_pred, "age": perm[y_pred["age"]]},
        sensitive_features={"race": y_true["race"]},
    )
    cols = [
        "support",
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "f1_weighted",
    ]
    pd.testing.assert_frame_equal(
        base.metrics("age", by="race")[cols], permuted.metrics("age", by="race")[cols]
    )
    a = (
        base.fairness("age", by="race")
        .set_index(["metric", "class"])
        .loc[(slice(None), "all"), "value"]
    )
    b = (
        permuted.fairness("age", by="race")
        .set_index(["metric", "class"])
        .loc[(slice(None), "all"), "value"]
    )
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy())


def test_row_order_does_not_matter(data):
    y_true, y_pred = data
    order = np.random.default_rng(2).permutation(len(y_true["age"]))
    assert audit_predictions(y_true=y_true, y_pred=y_pred) == audit_predictions(
        y_true=_slice(y_true, order), y_pred=_slice(y_pred, order)
    )


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 300), cuts=st.lists(st.integers(0, 300), max_size=4), seed=st.integers(0, 99)
)
def test_merged_shards_and_stream_equal_whole(n, cuts, seed):
    y_true, y_pred = make_data(n, seed)
    rng = np.random.default_rng(seed)
    proba = {"race": rng.dirichlet(np.ones(7), n)}
    whole = audit_predictions(y_true=y_true, y_pred=y_pred, y_proba=proba)
    bounds = [0, *sorted(min(c, n) for c in cuts), n]
    acc = AuditAccumulator()
    shards = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi <= lo:
            continue
        idx = np.arange(lo, hi)
        kwargs = {
            "y_true": _slice(y_true, idx),
            "y_pred": _slice(y_pred, idx),
            "y_proba": {"race": proba["race"][idx]},
        }
        acc.update(**kwargs)
        shards.append(audit_predictions(**kwargs))
    merged = sum(shards[1:], shards[0])
    streamed = acc.compute()
    for other in (merged, streamed):
        for task in SIZES:
            np.testing.assert_array_equal(other.counts[task], whole.counts[task])
        np.testing.assert_allclose(other.calibration_sums["race"], whole.calibration_sums["race"])
    assert merged.n_rows == n and merged.metadata.get("merged_parts", 1) == len(shards)


def test_input_types_give_same_result(data):
    y_true, y_pred = data
    vocab = FAIRFACE_VOCABULARIES
    as_codes = audit_predictions(y_true=y_true, y_pred=y_pred)
    as_lists = audit_predictions(
        y_true={t: [vocab[t].classes[i] for i in v] for t, v in y_true.items()},
        y_pred={t: pd.Series(vocab[t].decode(v)) for t, v in y_pred.items()},
    )
    as_categorical = audit_predictions(
        y_true={t: vocab[t].decode(v) for t, v in y_true.items()},
        y_pred={t: np.array(vocab[t].classes, dtype=object)[v] for t, v in y_pred.items()},
    )
    assert type(as_codes) is type(as_lists) is type(as_categorical)
    assert as_codes == as_lists == as_categorical


def test_dask_equals_pandas(data):
    dd = pytest.importorskip("dask.dataframe", reason="dask is not installed")
    y_true, y_pred = data
    vocab = FAIRFACE_VOCABULARIES
    n = 600
    labels = pd.DataFrame(
        {"file": [f"val/{i}.jpg" for i in range(n)]}
        | {t: np.array(vocab[t].classes, dtype=object)[v[:n]] for t, v in y_true.items()}
    )
    preds = pd.DataFrame(
        {"file": labels["file"]}
        | {f"{t}_pred": np.array(vocab[t].classes, dtype=object)[v[:n]] for t, v in y_pred.items()}
    )
    proba = np.sort(np.random.default_rng(3).dirichlet(np.ones(2), n), axis=1)
    # the predicted class is the most probable one (a table is refused otherwise)
    proba = np.where((y_pred["gender"][:n] == 0)[:, None], proba[:, ::-1], proba)
    preds["gender_prob"] = [list(p) for p in proba]
    expected = audit_table(preds, labels)
    got = audit_dask(dd.from_pandas(preds, npartitions=3), labels, scheduler="sync", progress=False)
    for task in SIZES:
        np.testing.assert_array_equal(got.counts[task], expected.counts[task])
    np.testing.assert_allclose(got.calibration_sums["gender"], expected.calibration_sums["gender"])
    assert got.metadata["join"]["matched_rows"] == n
    assert got.metadata["join"]["labels_without_prediction"] == 0
