"""A predictions file read in chunks gives the audit of reading it at once (issue 26).

The dirty table of ``_dirty.py`` (repairs, UTKFace codes, status rows, unmatched
rows, label rows without predictions, a non-face attribute) and smaller tables with
one defect each go through :func:`audit_table` at once (``chunk_rows=0``) and in
chunks of several sizes, as CSV and Parquet: the counts, the metadata (rows left out,
join report, repairs, coding), the warnings and the errors are the same, and the
errors name the rows of the file.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError
from fairaudit.inputs import _chunks
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit import _chunked as chunked_module
from fairaudit.model_audit._ingest import _chunk_rows, audit_table
from tests.inputs._dirty import DIRTY, dirty_tables

#: Chunk sizes: one row per chunk (every boundary a chunk boundary, chunks of status
#: rows only) and one that divides nothing; the Parquet reader shares the chunk logic
#: after reading, so its run uses a prime size instead of 1 (one run of 480 chunks).
CHUNKS = {"csv": (1, 64), "parquet": (7, 64)}


def _run(predictions, labels, **kwargs):
    """The audit and the warnings it gave (category, text), the timestamp left aside."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = audit_table(predictions, labels, **kwargs)
    result.metadata.pop("created", None)
    return result, [(w.category.__name__, str(w.message)) for w in caught]


def _error(predictions, labels, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataValidationError) as info:
            audit_table(predictions, labels, **kwargs)
    return str(info.value)


def _assert_same(a: AuditResult, b: AuditResult) -> None:
    assert a.tasks == b.tasks
    assert a.attributes == b.attributes
    assert a.counts.keys() == b.counts.keys()
    for task in a.counts:
        np.testing.assert_array_equal(a.counts[task], b.counts[task])
    for task in a.calibration_sums:
        np.testing.assert_allclose(a.calibration_sums[task], b.calibration_sums[task], rtol=1e-12)
    for name in a.regression:
        np.testing.assert_allclose(a.regression[name], b.regression[name], rtol=1e-12)
    assert a.metadata == b.metadata


@pytest.fixture(scope="module")
def dirty_files(tmp_path_factory) -> dict[str, Path]:
    predictions, labels = dirty_tables()
    folder = tmp_path_factory.mktemp("chunked")
    predictions.to_csv(folder / "predictions.csv", index=False)
    if importlib.util.find_spec("pyarrow") is not None:  # the extra "distributed"
        predictions.to_parquet(folder / "predictions.parquet", index=False)
    labels.to_csv(folder / "labels.csv", index=False)
    return {
        "csv": folder / "predictions.csv",
        "parquet": folder / "predictions.parquet",
        "labels": folder / "labels.csv",
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_dirty_table_in_chunks_is_the_audit_at_once(dirty_files, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="Parquet files need the extra 'distributed'")
    whole, whole_warnings = _run(dirty_files[fmt], dirty_files["labels"], chunk_rows=0, **DIRTY)
    # the oracle of the left-out report, counted by hand from the raw tables
    predictions, labels = dirty_tables()
    not_ok = predictions[predictions["status"] != "ok"]
    assert whole.metadata["left_out"]["status"] == not_ok["status"].value_counts().to_dict()
    assert whole.metadata["left_out"]["labels_without_prediction"] == int(
        (~labels["file"].isin(predictions["file"])).sum()
    )
    assert [r["n_rows"] for r in whole.metadata["repairs"]] == [
        int((predictions.loc[predictions["status"] == "ok", "age_pred"] == "9-Mar").sum()),
        int((labels["age"] == "9-Mar").sum()),
        int((labels["age"] == "19-Oct").sum()),
    ]
    for chunk_rows in CHUNKS[fmt]:
        streamed, streamed_warnings = _run(
            dirty_files[fmt], dirty_files["labels"], chunk_rows=chunk_rows, **DIRTY
        )
        _assert_same(whole, streamed)
        assert streamed.metadata["n_rows"] == whole.n_rows == streamed.n_rows
        assert streamed_warnings == whole_warnings


def _small(n: int = 23) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    gender = np.array(["Male", "Female"], dtype=object)[rng.integers(0, 2, n)]
    files = [f"val/{i}.jpg" for i in range(n)]
    predictions = pd.DataFrame(
        {
            "file": files,
            "gender_pred": np.where(rng.random(n) < 0.7, gender, "Female"),
            "status": ["ok"] * n,
            "site": rng.choice(["a", "b", "c"], n),
        }
    )
    labels = pd.DataFrame({"file": files, "gender": gender})
    return predictions, labels


def _write(tmp_path: Path, predictions: pd.DataFrame, labels: pd.DataFrame | None = None):
    path = tmp_path / "predictions.csv"
    predictions.to_csv(path, index=False)
    if labels is None:
        return path, None
    labels.to_csv(tmp_path / "labels.csv", index=False)
    return path, tmp_path / "labels.csv"


def test_repeated_keys_across_chunks_are_refused_as_at_once(tmp_path):
    predictions, labels = _small()
    # val/2.jpg at rows 3 and 20 (chunks 1 and 4 of 5 rows), val/7.jpg at 8 and 9 (one chunk)
    predictions.loc[19, "file"] = "val/2.jpg"
    predictions.loc[8, "file"] = "val/7.jpg"
    path, label_path = _write(tmp_path, predictions, labels)
    message = _error(path, label_path, chunk_rows=0)
    assert "key 'file' is not unique; 2 value(s) repeat, e.g. ['val/2.jpg', 'val/7.jpg']" in message
    for chunk_rows in (1, 5, 9, 100):
        assert _error(path, label_path, chunk_rows=chunk_rows) == message


def test_repeated_key_of_a_left_out_row_is_no_repeat(tmp_path):
    predictions, labels = _small()
    predictions.loc[19, "file"] = "val/2.jpg"
    predictions.loc[19, "status"] = "no_face"  # the join never sees it, in memory either
    path, label_path = _write(tmp_path, predictions, labels)
    whole, whole_warnings = _run(path, label_path, chunk_rows=0)
    assert whole.metadata["left_out"]["status"] == {"no_face": 1}
    for chunk_rows in (1, 5, 100):
        streamed, streamed_warnings = _run(path, label_path, chunk_rows=chunk_rows)
        _assert_same(whole, streamed)
        assert streamed_warnings == whole_warnings


def test_a_hash_collision_is_no_repeat(tmp_path, monkeypatch):
    """Every key hashed alike: the keys themselves decide, and none repeats."""
    predictions, labels = _small()
    path, label_path = _write(tmp_path, predictions, labels)
    whole, _ = _run(path, label_path, chunk_rows=0)
    monkeypatch.setattr(_chunks, "_key_hashes", lambda keys: np.zeros(len(keys), dtype=np.uint64))
    streamed, _ = _run(path, label_path, chunk_rows=4)
    _assert_same(whole, streamed)


def test_bad_label_in_a_later_chunk_is_named_by_its_file_row(tmp_path):
    predictions, labels = _small()
    predictions.loc[17, "gender_pred"] = "Mal"  # row 18 of the file
    path, label_path = _write(tmp_path, predictions, labels)
    message = _error(path, label_path, chunk_rows=0)
    assert "'Mal'" in message and "18" in message
    for chunk_rows in (1, 5, 100):
        assert _error(path, label_path, chunk_rows=chunk_rows) == message


def test_unmatched_rows_refused_or_reported_as_at_once(tmp_path):
    predictions, labels = _small()
    labels = labels.drop(index=[4, 15])  # two predictions without a label row
    path, label_path = _write(tmp_path, predictions, labels)
    message = _error(path, label_path, chunk_rows=0)
    assert message.startswith("2 of 23 prediction row(s) have no label row")
    for chunk_rows in (1, 5, 100):
        assert _error(path, label_path, chunk_rows=chunk_rows) == message
    whole, whole_warnings = _run(path, label_path, chunk_rows=0, unmatched="report")
    assert whole.metadata["join"]["unmatched_examples"] == ["val/4.jpg", "val/15.jpg"]
    for chunk_rows in (1, 5, 100):
        streamed, streamed_warnings = _run(
            path, label_path, chunk_rows=chunk_rows, unmatched="report"
        )
        _assert_same(whole, streamed)
        assert streamed_warnings == whole_warnings


def test_inferred_attribute_of_the_predictions_without_labels(tmp_path):
    """``site`` takes its classes from its values over the whole file (only 'c' in
    the last chunk), with the true labels inline and a status row left out."""
    predictions, labels = _small(12)
    table = predictions.merge(labels, on="file")
    table["site"] = ["a"] * 6 + ["b"] * 4 + ["c", "d"]
    table.loc[11, "status"] = "unreadable"  # 'd' is never audited, so no class
    path, _ = _write(tmp_path, table)
    whole, whole_warnings = _run(path, None, attributes=["gender", "site"], chunk_rows=0)
    assert whole.attributes["site"].classes == ("a", "b", "c")
    for chunk_rows in (1, 4, 5, 100):
        streamed, streamed_warnings = _run(
            path, None, attributes=["gender", "site"], chunk_rows=chunk_rows
        )
        _assert_same(whole, streamed)
        assert streamed_warnings == whole_warnings


def test_empty_file_and_status_only_file(tmp_path):
    predictions, labels = _small(6)
    predictions["status"] = "no_face"
    path, label_path = _write(tmp_path, predictions, labels)
    outcomes = []
    for chunk_rows in (0, 1, 4):
        try:
            result, caught = _run(path, label_path, chunk_rows=chunk_rows)
            outcomes.append((result.n_rows, result.metadata["left_out"], caught))
        except DataValidationError as exc:
            outcomes.append(str(exc))
    assert outcomes[1:] == outcomes[:1] * 2


def test_chunk_rows_is_checked_and_big_files_stream_by_default(tmp_path, monkeypatch):
    predictions, labels = _small()
    path, label_path = _write(tmp_path, predictions, labels)
    for bad in (-1, 2.5, True):
        with pytest.raises(DataValidationError, match="chunk_rows"):
            audit_table(path, label_path, chunk_rows=bad)
    assert _chunk_rows(path, None) == 0  # a small file: at once
    assert _chunk_rows(predictions, 5) == 0  # a DataFrame: as given
    monkeypatch.setattr("fairaudit.model_audit._ingest.STREAM_FILE_BYTES", 10)
    assert _chunk_rows(path, None) == chunked_module.DEFAULT_CHUNK_ROWS
    assert _chunk_rows(path, 0) == 0


def test_cli_chunk_rows(tmp_path, dirty_files, capsys):
    outputs = {}
    for chunk_rows in ("0", "50"):
        out = tmp_path / f"audit_{chunk_rows}.json"
        args = ["audit", "--predictions", str(dirty_files["csv"]), "--labels"]
        args += [str(dirty_files["labels"]), "--coding", "race=utkface", "--unmatched", "report"]
        args += ["--repair", "age:9-Mar=3-9", "age:19-Oct=10-19", "age_pred:9-Mar=3-9"]
        args += ["--chunk-rows", chunk_rows, "-o", str(out), "--json", "-"]
        assert main(args) == 0
        outputs[chunk_rows] = AuditResult.load(out)
    capsys.readouterr()
    for result in outputs.values():
        result.metadata.pop("created", None)
    _assert_same(outputs["0"], outputs["50"])


def _with_probabilities(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    predictions, labels = _small(n)
    male = (predictions["gender_pred"] == "Male").to_numpy()
    p = np.where(male, 0.8, 0.3)
    return predictions.assign(gender_prob_Male=p, gender_prob_Female=1 - p), labels


def test_predictions_disagreeing_with_probabilities_judged_on_the_whole_file(tmp_path):
    """2 of 300 rows (0.7%, within the 1% allowed) disagree, both in one chunk of 5
    (40%): accepted as at once; 4 of 300 (1.3%): refused with the same message."""
    predictions, labels = _with_probabilities(300)
    columns = ["gender_prob_Male", "gender_prob_Female"]

    def swap(rows: list[int]) -> None:
        predictions.loc[rows, columns] = predictions.loc[rows, columns[::-1]].to_numpy()

    swap([150, 151])
    path, label_path = _write(tmp_path, predictions, labels)
    whole, _ = _run(path, label_path, chunk_rows=0)
    for chunk_rows in (5, 100):
        _assert_same(whole, _run(path, label_path, chunk_rows=chunk_rows)[0])
    swap([152, 153])
    path, label_path = _write(tmp_path, predictions, labels)
    message = _error(path, label_path, chunk_rows=0)
    assert "in 4 of 300 row(s)" in message
    for chunk_rows in (5, 100):
        assert _error(path, label_path, chunk_rows=chunk_rows) == message


def test_bad_probability_in_a_later_chunk_named_as_at_once(tmp_path):
    predictions, labels = _with_probabilities(40)
    predictions.loc[33, "gender_prob_Male"] = 1.7  # position 34 of the joined table
    path, label_path = _write(tmp_path, predictions, labels)
    message = _error(path, label_path, chunk_rows=0)
    assert "row(s) [34]" in message
    for chunk_rows in (1, 5, 100):
        assert _error(path, label_path, chunk_rows=chunk_rows) == message


@pytest.mark.parametrize("label_null", [False, True])
def test_missing_keys_join_as_at_once(tmp_path, label_null):
    """A prediction without a key joins a label row without one (as pandas.merge
    does) or none; either way as at once."""
    predictions, labels = _small(12)
    predictions.loc[7, "file"] = None
    if label_null:
        labels.loc[7, "file"] = None
    path, label_path = _write(tmp_path, predictions, labels)
    whole, whole_warnings = _run(path, label_path, chunk_rows=0, unmatched="report")
    assert whole.n_rows == (12 if label_null else 11)
    for chunk_rows in (1, 5, 100):
        streamed, streamed_warnings = _run(
            path, label_path, chunk_rows=chunk_rows, unmatched="report"
        )
        _assert_same(whole, streamed)
        assert streamed_warnings == whole_warnings


def test_status_counts_in_the_order_of_reading_at_once(tmp_path):
    """Twenty status values, ties included, spread over chunks: counted and ordered
    (by count, ties in row order) as the whole column is."""
    predictions, labels = _small(80)
    rng = np.random.default_rng(7)
    left_out = rng.choice(80, 50, replace=False)
    predictions.loc[left_out, "status"] = [f"error_{rng.integers(0, 20)}" for _ in range(50)]
    path, label_path = _write(tmp_path, predictions, labels)
    whole, _ = _run(path, label_path, chunk_rows=0)
    expected = predictions.loc[predictions["status"] != "ok", "status"].value_counts()
    assert list(whole.metadata["left_out"]["status"].items()) == list(expected.items())
    for chunk_rows in (3, 7, 100):
        streamed, _ = _run(path, label_path, chunk_rows=chunk_rows)
        _assert_same(whole, streamed)
        assert list(streamed.metadata["left_out"]["status"].items()) == list(expected.items())
