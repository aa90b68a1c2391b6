"""Evaluation of a checkpoint and packaging of a run with its model card."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import NEEDS_TORCH

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)

from fairaudit.cli import main
from fairaudit.evaluate import evaluate_checkpoint
from fairaudit.exceptions import DataValidationError
from fairaudit.models import (
    FAIRFACE_TASKS,
    UTKFACE_TASKS,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from fairaudit.training import load_training_tables
from tests.training.conftest import make_fairface, make_utkface

TINY = {"width": 0.125, "hidden": 16}


def _checkpoint(path, tasks, seed=0):
    torch.manual_seed(seed)
    model = build_model("lightweight", tasks=tasks, **TINY)
    return save_checkpoint(path, model=model, input_size=32)


def test_accuracy_and_interval_match_a_naive_computation(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=4, n_val=24)
    val = load_training_tables("fairface", root).val
    ckpt = _checkpoint(tmp_path / "m.pt", FAIRFACE_TASKS)
    ev = evaluate_checkpoint(ckpt, val, n_resamples=300, progress=False)
    pred = ev.predictions.set_index("file").loc[val["file"]]
    for task in ("gender", "age", "race"):
        naive = float(np.mean(pred[f"{task}_pred"].astype(str).to_numpy() == val[task].astype(str)))
        row = ev.summary.set_index("task").loc[task]
        assert row["metric"] == "accuracy" and row["n"] == len(val)
        assert row["estimate"] == pytest.approx(naive)
        # the inference layer's interval of a rate: exact, as statsmodels computes it
        hits = int(round(naive * len(val)))
        exact = proportion_confint(hits, len(val), alpha=0.05, method="beta")
        assert (row["lower"], row["upper"]) == pytest.approx(exact, rel=1e-10)
        assert row["interval"] == "exact (Clopper-Pearson)"
        assert ev.headline(task) == pytest.approx(naive)
    # same seed, same intervals
    again = evaluate_checkpoint(ckpt, val, n_resamples=300, progress=False)
    assert again.summary.equals(ev.summary)


def test_age_regression_is_summarised_by_mae_in_years(tmp_path):
    root = make_utkface(tmp_path / "utk", n=40)
    table = load_training_tables("utkface", root).train
    ckpt = _checkpoint(tmp_path / "utk.pt", UTKFACE_TASKS)
    ev = evaluate_checkpoint(ckpt, table, n_resamples=300, progress=False)
    pred = ev.predictions.set_index("file").loc[table["file"]]
    mae = float(
        np.mean(np.abs(pred["age_pred"].to_numpy(float) - table["age_years"].to_numpy(float)))
    )
    row = ev.summary.set_index("task").loc["age"]
    assert row["metric"] == "mae_years" and row["estimate"] == pytest.approx(mae, rel=1e-6)
    assert row["lower"] <= mae <= row["upper"]
    assert row["interval"] == "percentile bootstrap of the rows"
    assert set(ev.summary["task"]) == {"gender", "age", "race"}


def test_rows_without_images_are_refused_not_dropped(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=4, n_val=8)
    val = load_training_tables("fairface", root).val.copy()
    val.loc[0, "has_image"] = False
    with pytest.raises(DataValidationError, match="1 row"):
        evaluate_checkpoint(_checkpoint(tmp_path / "m.pt", FAIRFACE_TASKS), val, progress=False)


def test_train_then_model_card_end_to_end(tmp_path, capsys):
    root = make_fairface(tmp_path / "ff", n_train=16, n_val=12)
    run = tmp_path / "run"
    assert main([
        "train", "--dataset", "fairface", "--data-root", str(root), "--output", str(run),
        "--arch-kwargs", json.dumps(TINY), "--image-size", "32", "--batch-size", "8",
        "--epochs", "1", "--threads", "1", "--quiet",
    ]) == 0  # fmt: skip
    out = tmp_path / "shipped"
    assert main([
        "model-card", str(run), "--name", "tiny", "--output", str(out),
        "--command", "fairaudit train ...",
        "--train-data", "16 synthetic images", "--dataset", "fairface", "--data-root", str(root),
        "--resamples", "200", "--quiet",
        "--reference", json.dumps({"source": "a paper", "figures": {"gender": 0.9}}),
    ]) == 0  # fmt: skip
    card = json.loads((out / "tiny.json").read_text())
    assert card["arch"] == "lightweight" and card["input_size"] == 32
    assert card["training"]["epochs_run"] == 1 and card["data"]["train"] == "16 synthetic images"
    # the card's figures are those of evaluating the packaged checkpoint again
    val = load_training_tables("fairface", root).val
    again = evaluate_checkpoint(out / "tiny.pt", val, n_resamples=200, progress=False)
    for task, metric in card["evaluation"]["metrics"].items():
        assert metric["estimate"] == pytest.approx(again.headline(task))
    lean = load_checkpoint(out / "tiny.pt")
    assert "training" not in lean.extra  # no optimiser state shipped
    assert (out / "tiny.pt").stat().st_size < (run / "best.pt").stat().st_size
    markdown = (out / "tiny.md").read_text()
    assert "| gender | accuracy |" in markdown and "0.9" in markdown

    assert main([
        "evaluate", "--checkpoint", str(out / "tiny.pt"), "--dataset", "fairface",
        "--data-root", str(root), "--resamples", "100", "--quiet",
        "--json", str(tmp_path / "ev.json"), "--audit", str(tmp_path / "audit.json"),
    ]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "gender  accuracy" in printed and "95% CI" in printed
    assert json.loads((tmp_path / "ev.json").read_text())["metrics"]["race"]["n"] == 12
    assert (tmp_path / "audit.json").is_file()


def test_evaluate_rejects_an_unknown_split(tmp_path, capsys):
    root = make_fairface(tmp_path / "ff", n_train=4, n_val=4)
    ckpt = _checkpoint(tmp_path / "m.pt", FAIRFACE_TASKS)
    argv = [
        "evaluate",
        "--checkpoint",
        str(ckpt),
        "--dataset",
        "fairface",
        "--data-root",
        str(root),
    ]
    assert main([*argv, "--split", "test"]) == 2
    assert "not a split of fairface" in capsys.readouterr().err


def test_the_audit_records_the_model_and_the_data(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=4, n_val=12)
    val = load_training_tables("fairface", root).val
    ckpt = _checkpoint(tmp_path / "m.pt", FAIRFACE_TASKS)
    ev = evaluate_checkpoint(
        ckpt, val, n_resamples=20, progress=False, model="tiny", data="fairface val of ff"
    )
    meta = ev.audit.metadata
    assert meta["model"] == "tiny"
    assert meta["data"]["labels"] == "fairface val of ff"
    assert meta["data"]["checkpoint"] == str(ckpt)
    assert meta["data"]["predictions"] != "predictions"
    assert list(ev.audit.attributes) == ["gender", "age", "race"]


def test_group_accuracy_matches_a_naive_loop_and_statsmodels_clopper_pearson():
    import pandas as pd

    from fairaudit.evaluate import group_accuracy
    from fairaudit.model_audit import audit_table
    from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER

    rng = np.random.default_rng(4)
    n = 900
    labels = pd.DataFrame(
        {
            "file": [f"{i}.jpg" for i in range(n)],
            "gender": rng.choice(GENDER.classes, n),
            "age": rng.choice(FAIRFACE_AGE.classes[:4], n),
            "race": rng.choice(FAIRFACE_RACE.classes, n),
        }
    )
    flip = rng.random(n) < np.where(labels["race"] == "Black", 0.3, 0.1)
    other = {"Male": "Female", "Female": "Male"}
    predictions = pd.DataFrame(
        {
            "file": labels["file"],
            "gender_pred": np.where(flip, labels["gender"].map(other), labels["gender"]),
        }
    )
    audit = audit_table(predictions, labels, tasks=["gender"])
    table = group_accuracy(audit, confidence=0.9).set_index(["attribute", "group"])
    for attribute in ("gender", "age", "race"):
        for group, rows in labels.groupby(attribute):
            correct = int((~flip[rows.index]).sum())
            got = table.loc[(attribute, group)]
            assert (got["n"], got["correct"]) == (len(rows), correct)
            assert got["accuracy"] == pytest.approx(correct / len(rows))
            # the inference layer's interval of a rate, as everywhere else: exact
            low, high = proportion_confint(correct, len(rows), alpha=0.1, method="beta")
            assert (got["lower"], got["upper"]) == pytest.approx((low, high), rel=1e-10)
    # groups of the vocabulary absent from the data are listed with n = 0
    empty = table.loc[("age", FAIRFACE_AGE.classes[-1])]
    assert empty["n"] == 0 and np.isnan(empty["accuracy"])


# -- across datasets: declared mappings, naive oracles ----------------------------------

#: FairFace's races in UTKFace's groups, written out (the oracle of the mapping).
_TO_UTK = {
    "White": "White",
    "Black": "Black",
    "Indian": "Indian",
    "East Asian": "Asian",
    "Southeast Asian": "Asian",
    "Latino_Hispanic": "Others",
    "Middle Eastern": "Others",
}
_GROUP_STARTS = [
    (70, "more than 70"),
    (60, "60-69"),
    (50, "50-59"),
    (40, "40-49"),
    (30, "30-39"),
    (20, "20-29"),
    (10, "10-19"),
    (3, "3-9"),
    (0, "0-2"),
]


def _group(years: float) -> str:
    return next(label for start, label in _GROUP_STARTS if np.floor(years) >= start)


def test_a_fairface_model_on_utkface_compares_races_in_utkface_groups(tmp_path):
    root = make_utkface(tmp_path / "utk", n=60)
    table = load_training_tables("utkface", root).train
    ckpt = _checkpoint(tmp_path / "ff.pt", FAIRFACE_TASKS, seed=3)
    ev = evaluate_checkpoint(ckpt, table, n_resamples=200, progress=False)
    pred = ev.predictions.set_index("file").loc[table["file"]]
    mapped = pred["race_pred"].astype(str).map(_TO_UTK)
    g_true, a_true = (table[c].astype(str).to_numpy() for c in ("gender", "age"))
    naive = {
        "race": float(np.mean(mapped.to_numpy() == table["race"].astype(str).to_numpy())),
        "gender": float(np.mean(pred["gender_pred"].astype(str).to_numpy() == g_true)),
        "age": float(np.mean(pred["age_pred"].astype(str).to_numpy() == a_true)),
    }
    summary = ev.summary.set_index("task")
    for task, value in naive.items():
        assert summary.loc[task, "metric"] == "accuracy"
        assert summary.loc[task, "estimate"] == pytest.approx(value)
        assert summary.loc[task, "lower"] <= value <= summary.loc[task, "upper"]
    assert ev.audit.tasks["race"].classes == ("White", "Black", "Asian", "Indian", "Others")
    assert "race" in ev.audit.metadata["cross_dataset"]


def test_a_utkface_model_on_fairface_maps_the_labels_and_bins_the_years(tmp_path):
    from fairaudit.evaluate import cross_dataset_table

    root = make_fairface(tmp_path / "ff", n_train=4, n_val=40)
    val = load_training_tables("fairface", root).val
    ckpt = _checkpoint(tmp_path / "utk.pt", UTKFACE_TASKS, seed=4)
    ev = evaluate_checkpoint(ckpt, val, n_resamples=200, progress=False)
    pred = ev.predictions.set_index("file").loc[val["file"]]
    truth_race = val["race"].astype(str).map(_TO_UTK).to_numpy()
    naive = {
        "race": float(np.mean(pred["race_pred"].astype(str).to_numpy() == truth_race)),
        "age": float(
            np.mean([_group(y) for y in pred["age_pred"]] == val["age"].astype(str).to_numpy())
        ),
    }
    summary = ev.summary.set_index("task")
    for task, value in naive.items():
        assert summary.loc[task, "metric"] == "accuracy"
        assert summary.loc[task, "estimate"] == pytest.approx(value)
        assert summary.loc[task, "lower"] <= value <= summary.loc[task, "upper"]
    assert set(ev.audit.metadata["cross_dataset"]) == {"race", "age"}
    # the table of every model on every dataset repeats these figures
    utk = load_training_tables("utkface", make_utkface(tmp_path / "utk", n=30)).train
    table = cross_dataset_table(
        {"utk": ckpt}, {"fairface val": val, "utkface": utk}, n_resamples=200
    )
    row = table.set_index(["data", "task"]).loc[("fairface val", "race")]
    assert row["estimate"] == pytest.approx(naive["race"])
    assert row["mapping"] == "the labels' 7 FairFace races mapped to UTKFace's 5"
    on_utk = table.set_index(["data", "task"]).loc[("utkface", "age")]
    assert on_utk["metric"] == "mae_years" and on_utk["mapping"] == ""
    assert len(table) == 6
