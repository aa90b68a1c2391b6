"""Configuration, early stopping, class weights, splits and history: small pieces, exact values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sklearn.utils.class_weight import compute_class_weight

from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.training import TrainConfig
from fairaudit.training._class_weights import compute_class_weights
from fairaudit.training._early_stopping import EarlyStopping
from fairaudit.training._history import plot_history, write_history
from fairaudit.training._splits import (
    UTKFACE_PROTOCOL_SIZES,
    limit_rows,
    proportional_sizes,
    stratified_holdout_split,
    utkface_protocol_split,
)
from fairaudit.vocab import FAIRFACE_VOCABULARIES, GENDER, UTKFACE_RACE

# -- config ----------------------------------------------------------------------------------


def test_config_json_round_trip(tmp_path):
    config = TrainConfig.fairface_reference(arch_kwargs={"width": 0.5}, limit_train=100, seed=7)
    assert TrainConfig.from_json(config.to_json()) == config
    config.to_json(tmp_path / "config.json")
    assert TrainConfig.from_json(tmp_path / "config.json") == config
    assert json.loads((tmp_path / "config.json").read_text())["arch_kwargs"] == {"width": 0.5}


def test_recipes():
    ff = TrainConfig.fairface_reference()
    assert (ff.dataset, ff.optimizer, ff.lr, ff.max_epochs) == ("fairface", "adam", 1e-3, 10)
    assert (ff.early_stopping, ff.min_delta, ff.image_size) == ("train_loss_delta", 0.1, 112)
    assert ff.holdout_fraction == 0.1
    utk = TrainConfig.utkface_protocol(backbone="resnet50")
    assert (utk.dataset, utk.arch, utk.optimizer, utk.batch_size) == (
        "utkface",
        "resnet50",
        "rmsprop",
        16,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"optimizer": "sgd"}, "optimizer"),
        ({"batch_size": 0}, "batch_size"),
        ({"early_stopping": "never"}, "early_stopping"),
        ({"limit_train": -1}, "limit_train"),
        ({"lr": 0}, "lr"),
        ({"holdout_fraction": 1.0}, "holdout_fraction"),
        ({"holdout_fraction": True}, "holdout_fraction"),
        ({"dataset": "utkface", "holdout_fraction": 0.1}, "holdout_fraction"),
    ],
)
def test_config_rejects_bad_values(changes, field):
    with pytest.raises(DataValidationError, match=f"TrainConfig.{field}"):
        TrainConfig(**changes)


def test_config_rejects_unknown_keys():
    with pytest.raises(DataValidationError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"dataset": "fairface", "epochs": 3})


# -- early stopping --------------------------------------------------------------------------


def test_train_loss_delta_rule():
    stopper = EarlyStopping("train_loss_delta", min_delta=0.1)
    decisions = [stopper.step(train_loss=t, val_loss=1.0) for t in (5.0, 4.0, 3.85, 3.80)]
    assert decisions == [False, False, False, True]
    assert "0.05" in stopper.reason


def test_val_patience_rule_and_state_round_trip():
    stopper = EarlyStopping("val_patience", patience=2, min_delta=0.0)
    assert not stopper.step(train_loss=1.0, val_loss=1.0)
    assert not stopper.step(train_loss=1.0, val_loss=0.9)  # improves
    assert not stopper.step(train_loss=1.0, val_loss=0.95)  # 1 bad epoch
    restored = EarlyStopping("val_patience", patience=2, min_delta=0.0)
    restored.load_state_dict(stopper.state_dict())
    assert restored.best_val_loss == 0.9 and restored.bad_epochs == 1
    assert restored.step(train_loss=1.0, val_loss=0.9)  # equal is no improvement: stop


def test_none_rule_never_stops_and_divergence_is_an_error():
    stopper = EarlyStopping("none")
    assert not any(stopper.step(train_loss=1.0, val_loss=1.0) for _ in range(20))
    with pytest.raises(DataValidationError, match="diverged"):
        stopper.step(train_loss=float("nan"), val_loss=1.0)


# -- class weights ---------------------------------------------------------------------------


def test_class_weights_match_sklearn_balanced():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            task: pd.Categorical.from_codes(rng.integers(len(v), size=200), dtype=v.dtype)
            for task, v in FAIRFACE_VOCABULARIES.items()
        }
    )
    weights = compute_class_weights(table, vocabularies=FAIRFACE_VOCABULARIES)
    for task, vocab in FAIRFACE_VOCABULARIES.items():
        codes = vocab.encode(table[task])
        expected = compute_class_weight("balanced", classes=np.arange(len(vocab)), y=codes)
        np.testing.assert_allclose(weights[task].numpy(), expected, rtol=1e-6)


def test_absent_class_gets_zero_weight_and_unknown_labels_fail():
    table = pd.DataFrame({"gender": ["Male", "Male", "Male"]})
    w = compute_class_weights(table, vocabularies={"gender": GENDER})
    torch.testing.assert_close(w["gender"], torch.tensor([3 / (2 * 3), 0.0]))
    with pytest.raises(UnknownLabelError, match="Unknown"):
        compute_class_weights(
            pd.DataFrame({"gender": ["Male", "Unknown"]}), vocabularies={"gender": GENDER}
        )


# -- splits ----------------------------------------------------------------------------------


@given(n=st.integers(0, 50_000))
def test_proportional_sizes_sum_and_rounding(n):
    ratios = list(UTKFACE_PROTOCOL_SIZES.values())
    sizes = proportional_sizes(n, ratios)
    assert sum(sizes) == n
    exact = np.array(ratios) * n / sum(ratios)
    assert np.all(np.abs(np.array(sizes) - exact) < 1)


def _utk_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 100, size=n)
    return pd.DataFrame(
        {
            "file": [f"{a}_0_0_{i:06d}.jpg.chip.jpg" for i, a in enumerate(ages)],
            "age_years": pd.array(ages, dtype="Int64"),
            "race": pd.Categorical.from_codes(rng.integers(5, size=n), dtype=UTKFACE_RACE.dtype),
        }
    )


def test_utkface_protocol_split_sizes_overlap_determinism():
    table = _utk_table(1000)
    parts = utkface_protocol_split(table, seed=3)
    in_range = table[(table["age_years"] >= 10) & (table["age_years"] <= 65)]
    sizes = [len(parts[k]) for k in ("train", "val", "test")]
    assert sizes == proportional_sizes(len(in_range), [9115, 3907, 5581])
    files = [set(parts[k]["file"]) for k in ("train", "val", "test")]
    assert not (files[0] & files[1] or files[0] & files[2] or files[1] & files[2])
    assert set().union(*files) == set(in_range["file"])
    for part in parts.values():
        assert part["age_years"].between(10, 65).all()
    # Same seed, shuffled input: same split; another seed: another split.
    again = utkface_protocol_split(table.sample(frac=1, random_state=1), seed=3)
    for k in parts:
        assert list(again[k]["file"]) == list(parts[k]["file"])
    other = utkface_protocol_split(table, seed=4)
    assert set(other["train"]["file"]) != files[0]


def test_utkface_protocol_split_errors():
    table = _utk_table(20)
    table.loc[2, "age_years"] = pd.NA
    with pytest.raises(DataValidationError, match="no age"):
        utkface_protocol_split(table)
    with pytest.raises(DataValidationError, match="need at least 3"):
        utkface_protocol_split(_utk_table(5).assign(age_years=pd.array([5] * 5, dtype="Int64")))


@pytest.mark.shared_data
def test_real_utkface_protocol_split_has_the_study_sizes(utkface_root):
    from fairaudit.datasets import load_utkface

    table = load_utkface(utkface_root).table
    parts = utkface_protocol_split(table, seed=0)
    n_in_range = int(table["age_years"].between(10, 65).sum())
    sizes = {k: len(v) for k, v in parts.items()}
    assert sum(sizes.values()) == n_in_range
    assert sizes == dict(
        zip(parts, proportional_sizes(n_in_range, [9115, 3907, 5581]), strict=True)
    )


def _strata_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "file": [f"train/{i}.jpg" for i in range(n)],
            "gender": rng.choice(["Male", "Female"], n, p=[0.6, 0.4]),
            "age": rng.choice(["0-2", "20-29", "50-59"], n, p=[0.1, 0.6, 0.3]),
            "race": rng.choice(["White", "Black", "Indian"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def test_stratified_holdout_split_sizes_strata_and_determinism():
    table = _strata_table(2000)
    parts = stratified_holdout_split(table, fraction=0.1, seed=5)
    assert (len(parts["train"]), len(parts["holdout"])) == (1800, 200)
    assert not set(parts["train"]["file"]) & set(parts["holdout"]["file"])
    # every gender x age x race stratum is held out in proportion (naive per-stratum loop)
    whole = table.groupby(["gender", "age", "race"]).size()
    held = parts["holdout"].groupby(["gender", "age", "race"]).size().reindex(whole.index)
    held = held.fillna(0)
    assert held.sum() == 200
    assert ((held - 0.1 * whole).abs() < 1).all()
    # the table's order does not matter; the seed does
    shuffled = stratified_holdout_split(table.sample(frac=1, random_state=2), seed=5)
    assert shuffled["holdout"]["file"].tolist() == parts["holdout"]["file"].tolist()
    other = stratified_holdout_split(table, seed=6)
    assert other["holdout"]["file"].tolist() != parts["holdout"]["file"].tolist()


def test_stratified_holdout_split_errors():
    table = _strata_table(50)
    with pytest.raises(DataValidationError, match="fraction"):
        stratified_holdout_split(table, fraction=0)
    with pytest.raises(DataValidationError, match="'race' column"):
        stratified_holdout_split(table.drop(columns="race"))
    with pytest.raises(DataValidationError, match="no 'age'.*train/3.jpg"):
        stratified_holdout_split(table.assign(age=table["age"].where(table.index != 3)))
    with pytest.raises(DataValidationError, match="listed twice"):
        stratified_holdout_split(pd.concat([table, table.head(1)]))
    with pytest.raises(DataValidationError, match="empty part"):
        stratified_holdout_split(table.head(3), fraction=0.1)


@pytest.mark.shared_data
def test_real_fairface_tables_hold_out_train_rows_and_keep_val_for_evaluation(fairface_root):
    from fairaudit.training import load_training_tables

    plain = load_training_tables("fairface", fairface_root)
    tables = load_training_tables("fairface", fairface_root, holdout_fraction=0.1)
    assert len(tables.val) == round(0.1 * len(plain.train))
    assert len(tables.train) + len(tables.val) == len(plain.train)
    assert set(tables.val["file"]) <= set(plain.train["file"])
    assert tables.test["file"].tolist() == plain.val["file"].tolist()
    assert "held out" in tables.summary and plain.test is None
    with pytest.raises(DataValidationError, match="UTKFace"):
        load_training_tables("utkface", fairface_root, holdout_fraction=0.1)


def test_limit_rows_is_seeded_and_keeps_order():
    table = pd.DataFrame({"x": range(100)})
    a = limit_rows(table, 10, seed=1)
    assert len(a) == 10 and a["x"].is_monotonic_increasing
    assert a.equals(limit_rows(table, 10, seed=1))
    assert limit_rows(table, None, seed=1).equals(table)


# -- history ---------------------------------------------------------------------------------


def test_history_files_and_plot(tmp_path):
    rows = [
        {"epoch": e, "train_loss": 3.0 / e, "val_loss": 3.5 / e, "train_gender_loss": 1.0 / e,
         "val_gender_loss": 1.2 / e, "train_gender_accuracy": 0.5 + e / 10,
         "val_gender_accuracy": 0.45 + e / 10, "train_age_loss": 0.1, "val_age_loss": float("nan"),
         "train_age_mae": 9.0, "val_age_mae": 10.0}
        for e in (1, 2, 3)
    ]  # fmt: skip
    frame = write_history(rows, tmp_path)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "history.csv"), frame)
    records = json.loads((tmp_path / "history.json").read_text())
    assert records[2]["train_loss"] == 1.0 and records[0]["val_age_loss"] is None
    plot_history(frame, tmp_path / "curves.png")
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG" and image.width > image.height
