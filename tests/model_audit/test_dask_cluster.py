"""The Dask audit on a real ``dask.distributed`` cluster equals the in-memory audit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES
from tests.model_audit.conftest import make_data

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install '.[distributed]')"
)
dd = pytest.importorskip("dask.dataframe")

from fairaudit.model_audit._distributed import audit_dask_distributed, audit_parquet

N = 2400
#: Rows per Parquet file: unequal, and one empty file (an empty partition).
FILE_SIZES = (700, 0, 1100, 600)


@pytest.fixture(scope="module")
def client():
    """A local cluster of 2 worker processes, 1 thread each; closed after the module."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """A multi-file Parquet log, its labels table and the whole log in memory."""
    y_true, y_pred = make_data(N, 7)
    vocab = FAIRFACE_VOCABULARIES
    rng = np.random.default_rng(11)
    files = [f"val/{i}.jpg" for i in range(N)]
    labels = pd.DataFrame(
        {"file": files}
        | {t: np.array(vocab[t].classes, dtype=object)[v] for t, v in y_true.items()}
        | {"service_test": rng.random(N) < 0.3}
    )
    preds = pd.DataFrame(
        {"file": files}
        | {f"{t}_pred": np.array(vocab[t].classes, dtype=object)[v] for t, v in y_pred.items()}
    )
    proba = np.sort(rng.dirichlet(np.ones(2), N), axis=1)  # the predicted class most probable
    proba = np.where((y_pred["gender"] == 0)[:, None], proba[:, ::-1], proba)
    for k, cls in enumerate(vocab["gender"].classes):
        preds[f"gender_prob_{cls}"] = proba[:, k]
    order = rng.permutation(N)  # files do not follow the labels' order
    folder = tmp_path_factory.mktemp("logs")
    start = 0
    for i, size in enumerate(FILE_SIZES):
        preds.iloc[order[start : start + size]].to_parquet(folder / f"part-{i}.parquet")
        start += size
    assert start == N
    whole = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))])
    return folder, labels, whole.reset_index(drop=True)


def _assert_same(got, expected) -> None:
    assert got.tasks == expected.tasks
    assert got.attributes == expected.attributes
    for task in expected.counts:
        assert got.counts[task].dtype == expected.counts[task].dtype
        np.testing.assert_array_equal(got.counts[task], expected.counts[task])
    assert got.calibration_sums.keys() == expected.calibration_sums.keys()
    for task in expected.calibration_sums:
        np.testing.assert_allclose(got.calibration_sums[task], expected.calibration_sums[task])
    assert got.n_rows == expected.n_rows


def test_cluster_audit_of_parquet_files_equals_in_memory(client, logs) -> None:
    folder, labels, whole = logs
    frame = dd.read_parquet(str(folder / "*.parquet"))
    assert frame.npartitions == len(FILE_SIZES)
    expected = audit_table(whole, labels, attributes=["race", "gender", "service_test"])
    got = audit_dask_distributed(
        frame, labels, client=client, attributes=["race", "gender", "service_test"], progress=False
    )
    _assert_same(got, expected)
    assert got.metadata["join"]["matched_rows"] == N
    assert got.metadata["join"]["labels_without_prediction"] == 0
    assert got.metadata["join"]["key"] == "file"
    assert got.metadata["data"]["partitions"] == len(FILE_SIZES)
    # the default attributes (the tasks) too
    _assert_same(
        audit_dask_distributed(frame, labels, client=client, progress=False),
        audit_table(whole, labels),
    )


def test_unmatched_rows_are_refused_or_reported(client, logs) -> None:
    folder, labels, whole = logs
    frame = dd.read_parquet(str(folder / "*.parquet"))
    fewer = labels.iloc[100:]
    with pytest.raises(DataValidationError, match="100 prediction row"):
        audit_dask_distributed(frame, fewer, client=client, progress=False)
    got = audit_dask_distributed(frame, fewer, client=client, unmatched="report", progress=False)
    with pytest.warns(UserWarning):
        expected = audit_table(whole, fewer, unmatched="report")
    _assert_same(got, expected)
    join = got.metadata["join"]
    assert join["unmatched_prediction_rows"] == 100
    assert join["matched_rows"] == N - 100


def test_audit_parquet_and_cli_on_a_running_scheduler(client, logs, tmp_path, capsys) -> None:
    folder, labels, whole = logs
    labels_csv = tmp_path / "labels.csv"
    labels.to_csv(labels_csv, index=False)
    expected = audit_table(whole, labels_csv)
    address = client.scheduler.address
    got = audit_parquet(str(folder / "*.parquet"), labels_csv, scheduler=address, progress=False)
    _assert_same(got, expected)
    assert got.metadata["data"]["scheduler"] == address

    out = tmp_path / "audit.json"
    status = main(
        [
            "audit",
            "--predictions",
            str(folder / "*.parquet"),
            "--labels",
            str(labels_csv),
            "--scheduler",
            address,
            "--quiet",
            "--json",
            "-",
            "--output",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed[: printed.rindex("}") + 1])
    assert summary["n_rows"] == N
    _assert_same(AuditResult.load(out), expected)
    # the tables printed without --json
    assert (
        main(
            [
                "audit",
                "--predictions",
                str(folder),
                "--labels",
                str(labels_csv),
                "--scheduler",
                address,
                "--quiet",
            ]
        )
        == 0
    )
    assert "join on 'file': 2400 matched" in capsys.readouterr().out
    # the quieting of dask's log lasts the audit only
    assert "DASK_LOGGING__DISTRIBUTED" not in os.environ


@pytest.mark.slow
def test_a_successful_cli_run_on_a_local_cluster_is_quiet(logs, tmp_path) -> None:
    """No dask.distributed chatter (INFO lines, the closed connection's traceback at
    shutdown) on stderr: the summary only; ``-v`` brings the log back."""
    import subprocess
    import sys

    folder, labels, whole = logs
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_LOGGING")}
    labels_csv = tmp_path / "labels.csv"
    labels.to_csv(labels_csv, index=False)
    out = tmp_path / "audit.json"
    command = [sys.executable, "-m", "fairaudit", "audit", "--predictions", str(folder)]
    command += ["--labels", str(labels_csv), "--workers", "1", "-q", "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    for noise in ("INFO", "distributed.", "Traceback", "CommClosedError"):
        assert noise not in done.stderr, done.stderr
    assert "largest supported disparities" in done.stderr
    _assert_same(AuditResult.load(out), audit_table(whole, labels_csv))
    verbose = subprocess.run(
        [*command[:3], "-v", *command[3:]], capture_output=True, text=True, timeout=600, env=env
    )
    assert verbose.returncode == 0 and "INFO distributed.scheduler" in verbose.stderr


def test_no_matching_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(DataValidationError, match="no file matches"):
        audit_parquet(str(tmp_path / "nothing-*.parquet"), progress=False)
    status = main(["audit", "--predictions", str(tmp_path / "nothing-*.parquet")])
    assert status == 2


def test_categorical_logs_with_inline_labels(client, tmp_path) -> None:
    """Labels inline, categorical columns (unknown to Dask up front), an attribute of the log."""
    rng = np.random.default_rng(5)
    n = 1500
    columns = {}
    for task in ("gender", "age", "race"):
        classes = list(FAIRFACE_VOCABULARIES[task].classes)[::-1]  # not FairFace's order
        true = rng.integers(0, len(classes), n)
        pred = np.where(rng.random(n) < 0.7, true, rng.integers(0, len(classes), n))
        columns[task] = pd.Categorical.from_codes(true, classes)
        columns[f"{task}_pred"] = pd.Categorical.from_codes(pred, classes)
    columns["site"] = rng.choice(["north", "south", "east"], n)
    whole = pd.DataFrame(columns)
    for k, (lo, hi) in enumerate(((0, 400), (400, 1000), (1000, n))):
        whole.iloc[lo:hi].to_parquet(tmp_path / f"log-{k}.parquet")
    whole = pd.read_parquet(tmp_path)
    expected = audit_table(whole, attributes=["race", "site"])
    assert expected.tasks["age"].classes[0] == "more than 70"
    got = audit_dask_distributed(
        dd.read_parquet(str(tmp_path / "*.parquet")),
        client=client,
        attributes=["race", "site"],
        progress=False,
    )
    _assert_same(got, expected)
