"""``fairaudit train`` end to end on a tiny synthetic FairFace folder."""

from __future__ import annotations

import json

from fairaudit.cli import main
from fairaudit.models import load_checkpoint
from fairaudit.training import TrainConfig

from .conftest import TINY_SIZE


def test_train_command_end_to_end(tiny_fairface, tmp_path, capsys):
    out = tmp_path / "runs" / "tiny"
    argv = [
        "train", "--dataset", "fairface", "--data-root", str(tiny_fairface),
        "--arch", "lightweight", "--arch-kwargs", '{"width": 0.125, "hidden": 16}',
        "--image-size", str(TINY_SIZE), "--batch-size", "8", "--epochs", "1",
        "--output", str(out), "--class-weighting", "--limit-train", "12", "--seed", "3",
        "--threads", "1", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"best checkpoint (epoch 1): {out / 'best.pt'}" in printed
    assert "16 train and 8 val rows with images" in printed

    config = TrainConfig.from_json(out / "config.json")
    assert (config.limit_train, config.seed, config.class_weighting) == (12, 3, True)
    assert config.optimizer == "adam" and config.early_stopping == "train_loss_delta"
    loaded = load_checkpoint(out / "best.pt")
    assert loaded.input_size == TINY_SIZE
    assert loaded.extra["training"]["history"][0]["n_train"] == 12
    assert json.loads((out / "history.json").read_text())[0]["epoch"] == 1

    # Running it again with more epochs resumes from last.pt.
    argv[argv.index("--epochs") + 1] = "2"
    assert main(argv) == 0
    assert len(load_checkpoint(out / "last.pt").extra["training"]["history"]) == 2


def test_train_command_reports_bad_input(tmp_path, capsys):
    code = main(
        ["train", "--dataset", "fairface", "--data-root", str(tmp_path / "nowhere"),
         "--output", str(tmp_path / "run")]
    )  # fmt: skip
    assert code == 2
    assert "FairFace folder not found" in capsys.readouterr().err
    assert main(["train", "--output", str(tmp_path / "run")]) == 2
    assert "--dataset" in capsys.readouterr().err
