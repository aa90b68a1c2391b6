"""detect_dataset, the detector audit on real FairFace images, and ``fairaudit audit-detector``.

Oracles: detect_faces called image by image, and per-group counts from a plain loop.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from statsmodels.stats.proportion import proportion_confint

from fairaudit.cli import main
from fairaudit.detect import (
    Box,
    HaarCascadeDetector,
    default_detector,
    detect_dataset,
    detect_faces,
)
from fairaudit.detect._dataset import DetectionRun
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.model_audit import AuditResult, audit_detection, audit_predictions
from fairaudit.vocab import FAIRFACE_VOCABULARIES

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("cv2") is None,
        reason="the Haar cascade detector needs opencv-python-headless<5 (fairaudit-faces[detect])",
    ),
    pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning"),
]

V = FAIRFACE_VOCABULARIES


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two real photos with a face, a blank image, a text file named .jpg, a non-image."""
    from matplotlib import cbook

    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    root = tmp_path / "photos"
    root.mkdir()
    Image.fromarray(data.astronaut()).save(root / "astronaut.png")
    shutil.copy(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), root / "grace.jpg")
    Image.new("RGB", (300, 200), (90, 90, 90)).save(root / "blank.png")
    (root / "broken.jpg").write_text("not an image")
    (root / "notes.txt").write_text("skipped")
    return root


def test_detect_dataset_one_row_per_image(folder: Path) -> None:
    run = detect_dataset(folder, progress=False)
    assert isinstance(run, DetectionRun)
    table = run.table.set_index("file")
    assert sorted(table.index) == ["astronaut.png", "blank.png", "broken.jpg", "grace.jpg"]
    assert list(run.table.columns) == [
        "file",
        "n_faces",
        "x",
        "y",
        "width",
        "height",
        "score",
        "status",
        "error",
    ]
    for name in ("astronaut.png", "grace.jpg", "blank.png"):
        faces = detect_faces(folder / name)  # the default detector too
        assert table.loc[name, "n_faces"] == len(faces)
        assert table.loc[name, "status"] == "ok"
        if faces:
            got = Box(*(int(table.loc[name, c]) for c in ("x", "y", "width", "height")))
            assert got == faces[0].box
            assert table.loc[name, "score"] == faces[0].score
        else:
            assert table.loc[name, ["x", "y", "width", "height", "score"]].isna().all()
    assert table.loc["astronaut.png", "n_faces"] == 1 and table.loc["blank.png", "n_faces"] == 0
    assert table.loc["broken.jpg", "status"] == "unreadable"
    assert pd.isna(table.loc["broken.jpg", "n_faces"])
    assert "broken.jpg" in table.loc["broken.jpg", "error"]
    summary = run.summary
    assert (summary.n_images, summary.n_detected, summary.n_faces) == (4, 2, 2)
    assert summary.detection_rate == pytest.approx(2 / 3)
    assert [f for f, _ in summary.unreadable] == ["broken.jpg"]
    assert summary.ignored == ("notes.txt",)
    assert summary.detector == repr(default_detector())
    assert "with a face: 2 (66.7% of the readable); faces: 2; unreadable: 1" in summary.format()


def test_detect_dataset_saves_and_checks_its_detector(folder: Path, tmp_path: Path) -> None:
    run = detect_dataset(folder, progress=False, limit=2)
    assert len(run.table) == 2
    path = run.save(tmp_path / "out" / "detections.csv")
    back = pd.read_csv(path)
    assert back["file"].tolist() == run.table["file"].tolist()
    assert back["n_faces"].tolist() == run.table["n_faces"].astype(int).tolist()
    with pytest.raises(DataValidationError, match="csv or .parquet"):
        run.save(tmp_path / "detections.txt")
    with pytest.raises(ConfigurationError, match="detect"):
        detect_dataset(folder, detector=object(), progress=False)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="not found"):
        detect_dataset(tmp_path / "absent", progress=False)


def test_audit_detection_of_a_folder_with_a_labels_file(folder: Path, tmp_path: Path) -> None:
    labels = pd.DataFrame(
        {
            "file": ["astronaut.png", "grace.jpg", "blank.png", "broken.jpg", "gone.jpg"],
            "gender": ["Female", "Female", "Male", "Male", "Male"],
            "age": ["40-49", "70", "20-29", "20-29", "20-29"],
            "race": ["White", "White", "Black", "Black", "Black"],
        }
    ).replace({"70": "more than 70"})
    csv = tmp_path / "labels.csv"
    labels.to_csv(csv, index=False)
    result = audit_detection(detect_dataset(folder, progress=False), csv)
    rates = result.detection_rates(by="gender").set_index("gender")
    assert rates.loc["Female", ["n", "detected"]].tolist() == [2, 2]
    assert rates.loc["Male", ["n", "detected"]].tolist() == [1, 0]  # broken.jpg is left out
    meta = result.metadata["detection"]
    assert (meta["unreadable"], meta["labels_without_detection"]) == (1, 1)
    assert meta["labels_without_detection_examples"] == ["gone.jpg"]


# --- real FairFace images ------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.slow
def test_fairface_subset_audit_equals_a_naive_loop(fairface_root: Path) -> None:
    from fairaudit.datasets import load_fairface

    dataset = load_fairface(fairface_root, splits=("val",))
    detector = HaarCascadeDetector.for_face_crops()
    limit = 60
    run = detect_dataset(dataset, detector=detector, limit=limit, progress=False)
    result = audit_detection(run)
    # the oracle: detect_faces on each file, counted per group by a plain loop
    labelled = dataset.table[dataset.table["has_image"]].head(limit)
    counts: dict[tuple[str, str], list[int]] = {}
    found_any = []
    for row in labelled.itertuples(index=False):
        found = len(detect_faces(row.path, detector=detector)) > 0
        found_any.append(found)
        entry = counts.setdefault((str(row.race), str(row.gender)), [0, 0])
        entry[0] += 1
        entry[1] += found
    assert run.table["n_faces"].gt(0).tolist() == found_any
    frame = result.detection_rates(by=("race", "gender"))
    for row in frame.itertuples(index=False):
        n, hits = counts.get((str(row.race), str(row.gender)), [0, 0])
        assert (row.n, row.detected) == (n, hits)
        if n:
            low, high = proportion_confint(hits, n, alpha=0.05, method="beta")  # exact
            assert (row.rate, row.ci_low, row.ci_high) == pytest.approx((hits / n, low, high))
        else:
            assert math.isnan(row.rate)
    overall = result.detection_rates().iloc[0]
    assert (overall["n"], overall["detected"]) == (limit, sum(found_any))
    assert 0.6 < overall["rate"] < 0.98  # the preset finds most FairFace faces
    # labelled rows whose image is absent from this copy are counted, not dropped
    missing = int((~dataset.table["has_image"]).sum())
    assert result.metadata["detection"]["labels_without_detection"] == missing


@pytest.mark.shared_data
@pytest.mark.slow
def test_cli_audit_detector_on_fairface(fairface_root: Path, tmp_path: Path, capsys) -> None:
    from fairaudit.datasets import load_fairface

    # a classifier audit over the same cells, to merge the detector audit into
    labels = load_fairface(fairface_root, splits=("val",)).table.head(200)
    classifier = audit_predictions(
        y_true={"gender": labels["gender"]},
        y_pred={"gender": labels["gender"]},
        sensitive_features=labels[["gender", "age", "race"]],
        attributes={a: V[a] for a in ("gender", "age", "race")},
    )
    target = tmp_path / "classifier-audit.json"
    classifier.save(target)
    out = tmp_path / "detection-audit.json"
    table = tmp_path / "detections.csv"
    code = main(
        [
            "audit-detector",
            str(fairface_root),
            "--limit",
            "40",
            "-o",
            str(out),
            "--merge-into",
            str(target),
            "--detections",
            str(table),
            "-q",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    detector_audit = AuditResult.load(out)
    merged = AuditResult.load(target)
    assert detector_audit.tasks == {} and detector_audit.detection[:, 0].sum() == 40
    np.testing.assert_array_equal(merged.detection, detector_audit.detection)
    np.testing.assert_array_equal(merged.counts["gender"], classifier.counts["gender"])
    saved = pd.read_csv(table)
    assert len(saved) == 40
    detected = int((saved["n_faces"] > 0).sum())
    assert detector_audit.detection[:, 1].sum() == detected
    assert f"with a face: {detected} " in printed
    for heading in ("by gender:", "by age:", "by race:", "by race x gender:", "gaps between"):
        assert heading in printed
    assert f"added the detection statistics to {target}" in printed
    assert json.loads(out.read_text())["detection"]["n"] == detector_audit.detection[:, 0].tolist()


def test_cli_audit_detector_folder_and_errors(folder: Path, tmp_path: Path, capsys) -> None:
    labels = pd.DataFrame(
        {
            "file": ["astronaut.png", "grace.jpg", "blank.png", "broken.jpg"],
            "gender": ["Female", "Female", "Male", "Male"],
            "age": ["40-49", "more than 70", "20-29", "20-29"],
            "race": ["White", "White", "Black", "Black"],
        }
    )
    csv = tmp_path / "labels.csv"
    labels.to_csv(csv, index=False)
    out = tmp_path / "det.json"
    code = main(
        ["audit-detector", str(folder), "--labels", str(csv), "--preset", "photos"]
        + ["-o", str(out), "-q"]
    )
    assert code == 0
    result = AuditResult.load(out)
    rates = result.detection_rates(by="race").set_index("race")
    assert rates.loc["White", ["n", "detected"]].tolist() == [2, 2]
    assert rates.loc["Black", ["n", "detected"]].tolist() == [1, 0]
    printed = capsys.readouterr().out
    assert "left out: 1 unreadable, 0 labelled row(s) without image" in printed
    # a merge target that is not an audit fails before the detector runs
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert (
        main(["audit-detector", str(folder), "--labels", str(csv), "--merge-into", str(bad)]) == 2
    )
    assert "not a fairaudit audit" in capsys.readouterr().err
    # an image without a label row is an error naming it
    csv.write_text(labels.head(2).to_csv(index=False))
    assert main(["audit-detector", str(folder), "--labels", str(csv), "-q"]) == 2
    assert "have no label row" in capsys.readouterr().err
    assert main(["audit-detector", str(tmp_path / "none"), "-q"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
