"""``fairaudit predict`` and ``fairaudit export`` end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairaudit.cli import main

from .conftest import write_image


def test_predict_folder_to_csv(
    checkpoint: Path, image_folder: Path, tmp_path: Path, capsys
) -> None:
    (image_folder / "broken.jpg").write_bytes(b"nope")
    out = tmp_path / "preds.csv"
    code = main(
        [
            "predict",
            "--checkpoint",
            str(checkpoint),
            "--images",
            str(image_folder),
            "--output",
            str(out),
            "--batch-size",
            "4",
            "--threads",
            "1",
            "--quiet",
        ]
    )
    assert code == 0
    table = pd.read_csv(out)
    files = sorted(p.relative_to(image_folder).as_posix() for p in image_folder.rglob("*.*"))
    assert table["file"].tolist() == files
    assert table.set_index("file").loc["broken.jpg", "status"] == "unreadable"
    assert (table["status"] == "ok").sum() == 6
    printed = capsys.readouterr().out
    assert "predicted: 6; unreadable: 1" in printed
    assert "broken.jpg" in printed
    assert f"wrote 7 rows to {out}" in printed


def test_predict_labels_csv_with_limit_and_onnx(checkpoint: Path, tmp_path: Path) -> None:
    rows = []
    for i in range(1, 6):
        write_image(tmp_path / "val" / f"{i}.jpg", seed=i)
        rows.append({"file": f"val/{i}.jpg", "age": "20-29", "gender": "Male", "race": "White"})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "preds.parquet"
    code = main(
        [
            "predict",
            "--checkpoint",
            str(checkpoint),
            "--labels",
            str(tmp_path / "labels.csv"),
            "--image-root",
            str(tmp_path),
            "--output",
            str(out),
            "--limit",
            "3",
            "--backend",
            "onnx",
            "--quiet",
        ]
    )
    assert code == 0
    table = pd.read_parquet(out)
    assert table["file"].tolist() == ["val/1.jpg", "val/2.jpg", "val/3.jpg"]
    assert table["race"].astype(str).tolist() == ["White"] * 3


def test_export_then_predict_with_the_onnx_file(
    checkpoint: Path, image_folder: Path, tmp_path: Path, capsys
) -> None:
    onnx_path = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--onnx", str(onnx_path)]) == 0
    assert "opset 17" in capsys.readouterr().out
    out = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(onnx_path),
                "--images",
                str(image_folder / "a.jpg"),
                str(image_folder / "b.jpg"),
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert len(pd.read_csv(out)) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--images", "EMPTY"], "no images found in folder"),
        (["--labels", "labels.csv"], "needs --image-root"),
        (["--images", "IMG", "--output", "preds.xlsx"], "use a .csv or .parquet"),
    ],
)
def test_predict_errors_are_one_clear_line(
    checkpoint: Path, image_folder: Path, tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    (tmp_path / "EMPTY").mkdir()
    args = [
        a.replace("EMPTY", str(tmp_path / "EMPTY")).replace("IMG", str(image_folder)) for a in extra
    ]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "p.csv")]
    code = main(["predict", "--checkpoint", str(checkpoint), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path, image_folder: Path, capsys) -> None:
    code = main(
        [
            "predict",
            "--checkpoint",
            str(tmp_path / "nope.pt"),
            "--images",
            str(image_folder),
            "--output",
            str(tmp_path / "p.csv"),
        ]
    )
    assert code == 2
    assert "nope.pt" in capsys.readouterr().err
    code = main(
        ["export", "--checkpoint", str(tmp_path / "nope.pt"), "--onnx", str(tmp_path / "m.onnx")]
    )
    assert code == 2
    assert "nope.pt" in capsys.readouterr().err


def _predict_args(checkpoint: Path, image_folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        "predict",
        "--checkpoint",
        str(checkpoint),
        "--images",
        str(image_folder),
        "--output",
        str(out),
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--chunk-size",
        "3",
        *extra,
    ]


def test_predict_writes_chunks_and_resumes_a_killed_run(
    checkpoint: Path, image_folder: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    from fairaudit.inference import Predictor

    out = tmp_path / "preds.csv"
    assert main(_predict_args(checkpoint, image_folder, out)) == 0
    whole = pd.read_csv(out)
    assert not (tmp_path / "preds.csv.parts").exists()
    out.unlink()

    # a run killed in its second chunk keeps the first chunk, and no temp file
    calls = {"n": 0}
    real_run = Predictor.run

    def dying_run(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Predictor, "run", dying_run)
    with pytest.raises(KeyboardInterrupt):
        main(_predict_args(checkpoint, image_folder, out))
    parts = tmp_path / "preds.csv.parts"
    assert sorted(p.name for p in parts.iterdir()) == ["manifest.json", "part-00000.csv"]
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    (tmp_path / ".preds.csv.abc.tmp").write_text("left by a kill -9")

    # without --resume it refuses; with it, only the missing chunks are predicted
    capsys.readouterr()
    assert main(_predict_args(checkpoint, image_folder, out)) != 0
    assert "--resume" in capsys.readouterr().err
    monkeypatch.setattr(Predictor, "run", real_run)
    calls["n"] = 0
    assert main(_predict_args(checkpoint, image_folder, out, "--resume")) == 0
    again = pd.read_csv(out)
    pd.testing.assert_frame_equal(again, whole, check_exact=False, rtol=1e-5)
    assert not parts.exists() and not list(tmp_path.glob(".*.tmp"))


def test_predictions_with_unreadable_images_are_audited_without_them(
    checkpoint: Path, tmp_path: Path, capsys
) -> None:
    root = tmp_path / "imgs"
    rows = []
    for i in range(8):
        write_image(root / f"val/{i}.jpg", seed=i)
        rows.append(
            {
                "file": f"val/{i}.jpg",
                "gender": "Male" if i % 2 else "Female",
                "age": "20-29",
                "race": "White" if i < 4 else "Black",
            }
        )
    (root / "val/3.jpg").write_bytes(b"broken")
    labels = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    out = tmp_path / "preds.csv"
    args = ["predict", "--checkpoint", str(checkpoint), "--images", str(root), "--output"]
    assert main([*args, str(out), "--quiet", "--threads", "1"]) == 0
    capsys.readouterr()
    saved = tmp_path / "audit.json"
    code = main(
        [
            "audit",
            "--predictions",
            str(out),
            "--labels",
            str(labels),
            "--model",
            "tiny",
            "--description",
            "eight images",
            "--output",
            str(saved),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "left out: 1 prediction row(s) with status 'unreadable'" in printed
    import json

    meta = json.loads(saved.read_text())["metadata"]
    assert meta["model"] == "tiny" and meta["description"] == "eight images"
    assert meta["left_out"]["status"] == {"unreadable": 1}
