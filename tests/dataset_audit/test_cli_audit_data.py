"""The ``audit-data`` command line: the README's main job."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.dataset_audit import audit_dataset, fairface_label_counts


def test_default_audits_the_embedded_fairface_counts(capsys, tmp_path):
    out = tmp_path / "audit.json"
    assert main(["audit-data", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FairFace train: 86,744 rows" in text and "FairFace val: 10,954 rows" in text
    expected = audit_dataset(fairface_label_counts(split="train")).imbalance()
    assert f"{expected.loc['age', 'cv']:.6f}" in text
    payload = json.loads(out.read_text())
    assert [a["n"] for a in payload["audits"]] == [86_744, 10_954]
    assert payload["comparisons"][0]["splits"] == ["FairFace train", "FairFace val"]


def test_console_script_help_is_readable():
    result = subprocess.run(
        [sys.executable, "-m", "fairaudit", "audit-data", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "imbalance" in result.stdout and "--json" in result.stdout


def test_aggregate_counts_csv(tmp_path, capsys):
    counts = fairface_label_counts(split="val").to_frame()
    path = tmp_path / "counts.csv"
    counts.to_csv(path, index=False)
    assert main(["audit-data", str(path), "--min-cell", "5"]) == 0
    assert "10,954 rows" in capsys.readouterr().out


def test_bad_labels_csv_gives_one_clear_line(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "file": ["val/1.jpg", "val/2.jpg"],
            "age": ["3-9", "ancient"],
            "gender": ["Male"] * 2,
            "race": ["White"] * 2,
            "service_test": ["True"] * 2,
        }
    ).to_csv(path, index=False)
    assert main(["audit-data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "labels.csv" in err and "ancient" in err and "Traceback" not in err


def test_plots_are_written(tmp_path, capsys):
    assert main(["audit-data", "--plots", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "FairFace_train_distributions.png" in names and "FairFace_val_age_x_race.png" in names


@pytest.mark.shared_data
def test_audit_of_the_real_fairface_folder(fairface_root, capsys):
    assert main(["audit-data", str(fairface_root)]) == 0
    out = capsys.readouterr().out
    assert "86,744 rows" in out and "10,954 rows" in out


@pytest.mark.shared_data
def test_audit_of_the_real_utkface_folder(utkface_root, capsys):
    assert main(["audit-data", str(utkface_root)]) == 0
    out = capsys.readouterr().out
    assert "Others" in out and "Latino_Hispanic" not in out
