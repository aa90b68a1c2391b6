"""The demo: renders from the shipped audits; CI rebuilds those audits from the real images."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairaudit.cli import main
from fairaudit.demo import (
    DEMO_DETECTOR,
    DEMO_MODELS,
    build_demo_audits,
    demo_differences,
    detect_demo,
    load_demo_audits,
    load_demo_labels,
)

MAX_REPORT_BYTES = 5 * 2**20


def test_the_shipped_demo_audits_are_aggregates_of_the_5000_val_images():
    demo = load_demo_audits()
    assert list(demo.audits) == list(DEMO_MODELS)
    for name, audit in demo.audits.items():
        assert audit.n_rows == 5000 and audit.metadata["model"] == name
        assert audit.has_detection
        assert int(audit.detection[:, 0].sum()) == 5000
        # the detector is named: the one demo_detector() builds
        assert audit.metadata["detection"]["detector"] == DEMO_DETECTOR
    assert demo.detection.metadata["detection"]["detector"] == DEMO_DETECTOR
    assert DEMO_DETECTOR.startswith("haar (") and "for_face_crops()" in DEMO_DETECTOR
    # Both audits are of the same rows: the same true labels in every cell.
    a, b = (demo.audits[n] for n in DEMO_MODELS)
    for task in a.tasks:
        assert (a.counts[task].sum(axis=2) == b.counts[task].sum(axis=2)).all()
    # The paired counts agree with each audit's accuracy.
    for task, counts in demo.paired.counts.items():
        right_a = counts[:, :, 1, :].sum()
        right_b = counts[:, :, :, 1].sum()
        assert right_a == int(sum(a.counts[task][:, k, k].sum() for k in range(len(a.tasks[task]))))
        assert right_b == int(sum(b.counts[task][:, k, k].sum() for k in range(len(b.tasks[task]))))


def _without_timestamps(path) -> list[str]:
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "generated" not in line and "created" not in line
    ]


def test_fairaudit_demo_writes_the_committed_reports(tmp_path, capsys):
    """The README's main job renders exactly the reports committed in reports/demo."""
    assert main(["demo", "-o", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    compare = tmp_path / "compare.html"
    assert str(compare) in out
    html = compare.read_text(encoding="utf-8")
    committed = Path(__file__).resolve().parents[1] / "reports" / "demo"
    for name in DEMO_MODELS:
        assert name in html
        report = tmp_path / f"report-{name}.html"
        assert 0 < report.stat().st_size < MAX_REPORT_BYTES
    assert compare.stat().st_size < MAX_REPORT_BYTES
    written = sorted(p.name for p in tmp_path.glob("*.html"))
    assert written == sorted(p.name for p in committed.glob("*.html"))
    for name in written:
        assert _without_timestamps(tmp_path / name) == _without_timestamps(committed / name), name


@pytest.mark.shared_data
def test_the_shipped_demo_audits_equal_a_rebuild_from_the_per_image_outputs(
    fairface_root, demo_predictions, demo_detections
):
    """The audits are aggregates of the committed predictions and detections, which the
    models (tests/models/test_shipped.py) and the detector (next test) reproduce on a
    seeded sample of the real images."""
    labels = load_demo_labels(fairface_root)
    rebuilt = build_demo_audits(demo_predictions, labels, demo_detections)
    assert demo_differences(rebuilt, load_demo_audits()) == []


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_demo_detector_reproduces_its_committed_detections_on_a_sample(
    fairface_root, demo_detections
):
    pytest.importorskip("cv2", reason='the Haar detector needs OpenCV: "fairaudit-faces[detect]"')
    from tests.models.shipped_predictions import DETECTION_COLUMNS, SAMPLE_SIZE, sample_rows

    labels = load_demo_labels(fairface_root)
    rows = sample_rows(len(labels))
    assert len(rows) == SAMPLE_SIZE
    detected = detect_demo(labels.iloc[rows], progress=False).reset_index(drop=True)
    committed = demo_detections.iloc[rows].reset_index(drop=True)
    columns = list(DETECTION_COLUMNS)
    pd.testing.assert_frame_equal(detected[columns], committed[columns])
    assert (committed["n_faces"] == 0).any() and (committed["n_faces"] >= 1).any()


def test_every_interval_the_demo_reports_show_contains_its_estimate():
    """The intervals of the shipped reports (same resamples, seeds and groupings)."""
    import warnings

    from fairaudit.report._render import default_heatmaps, task_random_state

    for audit in load_demo_audits().audits.values():
        heatmaps = default_heatmaps(audit)
        for i, task in enumerate(audit.tasks):
            by = [(), *((a,) for a in audit.attributes), *heatmaps[task]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boot = audit.bootstrap(
                    n_resamples=1000,
                    random_state=task_random_state(0, i),
                    tasks=[task],
                    by=by,
                    progress=False,
                )
            shown = boot.dropna(subset=["estimate", "lower", "upper"])
            assert len(shown) > 100
            outside = shown[
                (shown["estimate"] < shown["lower"] - 1e-12)
                | (shown["estimate"] > shown["upper"] + 1e-12)
            ]
            assert outside.empty, outside[["by", "group", "metric", "class", "estimate"]]
