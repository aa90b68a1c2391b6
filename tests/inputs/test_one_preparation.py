"""One input stage: the same dirty table gives the same audit on every path (issues 25, 26).

The table has everything the input stage deals with: ages a spreadsheet turned into
dates (fixed with ``label_repairs``), UTKFace integer race codes in the labels and
the predictions (read with ``coding``), prediction rows whose ``status`` is not ok, a
prediction row without a label row, label rows without a prediction and a grouping
column that is no face attribute. In memory (:func:`audit_table`), as Dask
partitions (:func:`audit_dask`, :func:`audit_parquet` over several Parquet files),
paired (:func:`paired_counts`) and as a detector audit (:func:`audit_detection`),
the counts, the attributes, the class orders and the rows left out are the same,
and they are checked against an oracle counted here by hand from the raw table.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.compare import compare_audits, paired_counts
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import audit_dask, audit_detection, audit_table
from fairaudit.vocab import FAIRFACE_AGE, UTKFACE_RACE
from tests.inputs._dirty import CODING, DIRTY, N_PARTITIONS, REPAIRS, dirty_tables

dd = pytest.importorskip("dask.dataframe", reason="the Dask path needs dask[dataframe]")


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return dirty_tables()


@pytest.fixture(scope="module")
def files(tables, tmp_path_factory) -> tuple[Path, Path, Path]:
    """The predictions as one CSV and as 3 Parquet files; the labels as a CSV."""
    predictions, labels = tables
    folder = tmp_path_factory.mktemp("one_preparation")
    predictions.to_csv(folder / "predictions.csv", index=False)
    labels.to_csv(folder / "labels.csv", index=False)
    logs = folder / "logs"
    logs.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(predictions)), N_PARTITIONS)):
        predictions.iloc[part].to_parquet(logs / f"part-{i}.parquet", index=False)
    return folder / "predictions.csv", folder / "labels.csv", logs


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _oracle(predictions: pd.DataFrame, labels: pd.DataFrame) -> dict:
    """What the audit must hold, counted by hand from the raw tables."""
    fixed = labels.assign(
        age=labels["age"].replace(REPAIRS["age"]),
        race=np.array(UTKFACE_RACE.classes, dtype=object)[labels["race"]],
    )
    ok = predictions[predictions["status"] == "ok"]
    joined = ok.merge(fixed, on="file", how="inner")
    not_ok = predictions[predictions["status"] != "ok"]
    return {
        "n_rows": len(joined),
        "left_out": {
            "status": not_ok["status"].value_counts().to_dict(),
            "labels_without_prediction": int((~fixed["file"].isin(predictions["file"])).sum()),
            "predictions_without_label": int((~ok["file"].isin(fixed["file"])).sum()),
        },
        "gender_hits": int((joined["gender_pred"] == joined["gender"]).sum()),
        "race_hits": int(
            (
                np.array(UTKFACE_RACE.classes, dtype=object)[joined["race_pred"]]
                == joined["race"].to_numpy()
            ).sum()
        ),
        "joined": joined,
    }


def _assert_same_audit(got, expected) -> None:
    """Identical counts, vocabularies (class order included) and rows left out."""
    assert list(got.tasks.items()) == list(expected.tasks.items())
    assert list(got.attributes.items()) == list(expected.attributes.items())
    assert got.n_rows == expected.n_rows
    for task in expected.counts:
        np.testing.assert_array_equal(got.counts[task], expected.counts[task])
    assert got.calibration_sums.keys() == expected.calibration_sums.keys()
    for task in expected.calibration_sums:  # sums of floats, added in another order
        np.testing.assert_allclose(got.calibration_sums[task], expected.calibration_sums[task])
    assert got.metadata["left_out"] == expected.metadata["left_out"]


@pytest.fixture(scope="module")
def memory(files):
    predictions, labels, _ = files
    return _quiet(audit_table, predictions, labels, **DIRTY)


def test_the_in_memory_audit_matches_the_oracle(tables, memory) -> None:
    expected = _oracle(*tables)
    assert memory.n_rows == expected["n_rows"]
    assert memory.metadata["left_out"] == expected["left_out"]
    # default options: every task predicted, every face attribute the labels hold
    assert list(memory.tasks) == ["gender", "age", "race"]
    assert list(memory.attributes) == ["gender", "age", "race"]
    assert memory.tasks["race"] == UTKFACE_RACE  # the coding's classes, in its order
    assert memory.tasks["age"] == FAIRFACE_AGE
    for task in ("gender", "race"):
        assert int(np.trace(memory.counts[task].sum(axis=0))) == expected[f"{task}_hits"]
    assert "9-Mar" not in memory.tasks["age"].classes
    assert {(r["column"], r["from"]) for r in memory.metadata["repairs"]} >= {
        ("age", "9-Mar"),
        ("age", "19-Oct"),
    }


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tasks": ["gender", "race"], "attributes": ["race", "gender", "camera"]},
        {"attributes": ["age", "camera"], "missing": "group"},
    ],
    ids=["defaults", "by-race-gender-camera", "by-age-camera-missing-group"],
)
def test_dask_partitions_add_up_to_the_in_memory_audit(files, tables, options) -> None:
    predictions_path, labels_path, _ = files
    predictions, labels = tables
    memory = _quiet(audit_table, predictions_path, labels_path, **DIRTY, **options)
    lazy = _quiet(
        audit_dask,
        dd.from_pandas(predictions, npartitions=N_PARTITIONS),
        labels,
        scheduler="sync",
        progress=False,
        **DIRTY,
        **options,
    )
    _assert_same_audit(lazy, memory)
    # the repairs are recorded once, with the rows of all partitions
    assert sorted((r["column"], r["from"], r["n_rows"]) for r in lazy.metadata["repairs"]) == (
        sorted((r["column"], r["from"], r["n_rows"]) for r in memory.metadata["repairs"])
    )


def test_parquet_files_on_a_cluster_equal_the_csv_in_memory(files, memory) -> None:
    pytest.importorskip("distributed", reason="audit_parquet needs dask.distributed")
    from fairaudit.model_audit import audit_parquet

    _, labels_path, logs = files
    lazy = _quiet(
        audit_parquet,
        str(logs / "*.parquet"),
        labels_path,
        n_workers=1,
        progress=False,
        **DIRTY,
    )
    assert lazy.metadata["data"]["partitions"] == N_PARTITIONS
    _assert_same_audit(lazy, memory)
    comparison = compare_audits(
        [memory, lazy], names=["memory", "dask"], n_resamples=20, progress=False
    )
    assert comparison.improved().empty and comparison.regressed().empty


def test_the_dask_and_in_memory_audits_compare(tables, memory) -> None:
    predictions, labels = tables
    lazy = _quiet(
        audit_dask,
        dd.from_pandas(predictions, npartitions=N_PARTITIONS),
        labels,
        scheduler="sync",
        progress=False,
        **DIRTY,
    )
    comparison = compare_audits(
        [memory, lazy], names=["memory", "dask"], n_resamples=20, progress=False
    )
    changes = comparison.changes
    assert len(changes) > 0
    assert comparison.improved().empty and comparison.regressed().empty


def test_pairing_prepares_each_version_like_the_audit(files, tables, memory) -> None:
    predictions_path, labels_path, _ = files
    predictions, _ = tables
    pairs = _quiet(
        paired_counts,
        predictions_path,
        predictions.sample(frac=1.0, random_state=0),  # B: the same rows, shuffled
        labels_path,
        names=["a", "b"],
        attributes=None,  # the audit's default
        coding=CODING,
        label_repairs=REPAIRS,
    )
    assert list(pairs.tasks.items()) == list(memory.tasks.items())
    assert list(pairs.attributes.items()) == list(memory.attributes.items())
    assert pairs.n_rows == memory.n_rows
    # per-model marginals: rows per cell and true class, and A's correct rows
    for task, counts in pairs.counts.items():
        confusion = memory.counts[task]
        np.testing.assert_array_equal(counts.sum(axis=(2, 3)), confusion.sum(axis=2))
        np.testing.assert_array_equal(
            counts[:, :, 1, :].sum(axis=2), np.diagonal(confusion, axis1=1, axis2=2)
        )
        np.testing.assert_array_equal(
            counts[:, :, :, 1].sum(axis=2), np.diagonal(confusion, axis1=1, axis2=2)
        )
    pairs.check_audits(memory, memory)
    join = pairs.metadata["join"]
    assert join["a"]["unreadable_rows"] == sum(memory.metadata["left_out"]["status"].values())
    assert (
        join["a"]["rows_without_label"] == memory.metadata["left_out"]["predictions_without_label"]
    )


def test_the_detector_audit_reads_the_labels_like_the_audit(tables, memory) -> None:
    predictions, labels = tables
    rng = np.random.default_rng(1)
    detections = pd.DataFrame(
        {
            "file": predictions["file"],
            "n_faces": rng.integers(0, 3, len(predictions)),
            "status": np.where(predictions["status"] == "unreadable", "unreadable", "ok"),
        }
    )
    # the images without a face are read: the detector audit counts them
    found = predictions["status"] != "no_face"
    result = audit_detection(
        detections[found],
        labels,
        attributes=["gender", "age", "race"],
        unmatched="report",
        coding=CODING,
        label_repairs={"age": REPAIRS["age"]},  # the labels' columns only
    )
    assert list(result.attributes.items()) == list(memory.attributes.items())
    # every image the audit counted is one of the detector audit's, cell by cell
    np.testing.assert_array_equal(result.detection[:, 0], memory.counts["gender"].sum(axis=(1, 2)))
    assert result.metadata["detection"]["unmatched_detection_rows"] == 1
    assert result.metadata["repairs"]


# -- what the Dask path refuses, as memory does ----------------------------------------------


def test_a_key_in_two_partitions_is_refused_like_in_memory(tables) -> None:
    predictions, labels = tables
    ok = predictions[predictions["status"] == "ok"]
    doubled = pd.concat([predictions, ok.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="key 'file' is not unique") as in_memory:
        _quiet(audit_table, doubled, labels, **DIRTY)
    # the repeated row lands in the last partition, its first copy in another
    lazy = dd.from_pandas(doubled, npartitions=N_PARTITIONS, sort=False)
    assert lazy.npartitions > 1
    with pytest.raises(DataValidationError, match="key 'file' is not unique") as in_dask:
        _quiet(audit_dask, lazy, labels, scheduler="sync", progress=False, **DIRTY)
    assert str(ok["file"].iloc[3]) in str(in_memory.value)
    assert str(ok["file"].iloc[3]) in str(in_dask.value)


def test_a_repeated_key_with_a_status_row_is_no_duplicate(tables) -> None:
    predictions, labels = tables
    # an unreadable attempt and a readable retry of the same image: one readable row
    retried = predictions[predictions["status"] == "unreadable"].iloc[[0]].assign(status="ok")
    table = pd.concat([predictions, retried], ignore_index=True)
    memory = _quiet(audit_table, table, labels, **DIRTY)
    lazy = _quiet(
        audit_dask,
        dd.from_pandas(table, npartitions=N_PARTITIONS, sort=False),
        labels,
        scheduler="sync",
        progress=False,
        **DIRTY,
    )
    _assert_same_audit(lazy, memory)


def test_utkface_codes_without_a_coding_are_refused_on_dask_like_in_memory(tables) -> None:
    predictions, labels = tables
    options = {"label_repairs": REPAIRS, "unmatched": "report"}
    with pytest.raises(DataValidationError, match="integer codes") as in_memory:
        _quiet(audit_table, predictions, labels, **options)
    with pytest.raises(DataValidationError, match="integer codes") as in_dask:
        _quiet(
            audit_dask,
            dd.from_pandas(predictions, npartitions=N_PARTITIONS),
            labels,
            scheduler="sync",
            progress=False,
            **options,
        )
    assert "--coding race=utkface" in in_memory.value.cli_message()
    assert "--coding race=utkface" in in_dask.value.cli_message()


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "empty"), (b"PAR1 this is not a parquet file", "corrupt")],
    ids=["empty", "corrupt"],
)
def test_a_bad_parquet_file_is_one_line_naming_it(files, tmp_path, content, what) -> None:
    pytest.importorskip("distributed", reason="audit_parquet needs dask.distributed")
    from fairaudit.model_audit import audit_parquet

    _, labels_path, logs = files
    folder = tmp_path / "logs"
    folder.mkdir()
    for path in sorted(logs.glob("*.parquet")):
        (folder / path.name).write_bytes(path.read_bytes())
    bad = folder / f"part-9-{what}.parquet"
    bad.write_bytes(content)
    with pytest.raises(DataValidationError) as error:
        audit_parquet(str(folder / "*.parquet"), labels_path, progress=False, **DIRTY)
    message = str(error.value)
    assert str(bad) in message
    assert "\n" not in message


def test_a_truncated_parquet_file_is_named(files, tmp_path) -> None:
    pytest.importorskip("distributed", reason="audit_parquet needs dask.distributed")
    from fairaudit.model_audit import audit_parquet

    _, labels_path, logs = files
    first = sorted(logs.glob("*.parquet"))[0]
    truncated = tmp_path / "part-0.parquet"
    truncated.write_bytes(first.read_bytes()[:-20])
    with pytest.raises(DataValidationError, match="part-0.parquet") as error:
        audit_parquet([truncated], labels_path, progress=False, **DIRTY)
    assert "\n" not in str(error.value)


def test_a_parquet_file_with_other_columns_is_named(files, tables, tmp_path) -> None:
    pytest.importorskip("distributed", reason="audit_parquet needs dask.distributed")
    from fairaudit.model_audit import audit_parquet

    predictions, _ = tables
    _, labels_path, _ = files
    predictions.iloc[:100].to_parquet(tmp_path / "a.parquet", index=False)
    predictions.iloc[100:200].drop(columns="race_pred").to_parquet(
        tmp_path / "b.parquet", index=False
    )
    with pytest.raises(DataValidationError, match=r"b\.parquet.*missing \['race_pred'\]"):
        audit_parquet(str(tmp_path / "*.parquet"), labels_path, progress=False, **DIRTY)


# -- the command line: every path takes the same options -------------------------------------


def _flags() -> list[str]:
    repairs = [
        f"{column}:{raw}={fixed}" for column, m in REPAIRS.items() for raw, fixed in m.items()
    ]
    return ["--coding", "race=utkface", "--repair", *repairs, "--unmatched", "report"]


def test_the_cli_audits_parquet_logs_with_coding_and_repairs(files, memory, tmp_path) -> None:
    pytest.importorskip("distributed", reason="the Dask path needs dask.distributed")
    from fairaudit.cli import main
    from fairaudit.model_audit import AuditResult

    _, labels_path, logs = files
    out = tmp_path / "dask.json"
    argv = ["audit", "--predictions", str(logs / "*.parquet"), "--labels", str(labels_path)]
    argv += [*_flags(), "--workers", "1", "-q", "-o", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    _assert_same_audit(AuditResult.load(out), memory)


def test_the_cli_pairs_with_coding_and_repairs(files, memory, tmp_path) -> None:
    from fairaudit.cli import main
    from fairaudit.compare import PairedCounts

    predictions_path, labels_path, _ = files
    out = tmp_path / "pairs.json"
    argv = ["pair", str(predictions_path), str(predictions_path), "--labels", str(labels_path)]
    argv += ["--names", "a", "b", *_flags(), "-o", str(out)]
    assert main(argv) == 0
    pairs = PairedCounts.load(out)
    assert list(pairs.attributes.items()) == list(memory.attributes.items())
    pairs.check_audits(memory, memory)
