"""``fairaudit audit-detector --detectors``: one audit per detector and the paired comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairaudit.cli import main
from fairaudit.compare import DetectorPairs
from fairaudit.model_audit import AuditResult

pytest.importorskip("cv2", reason="the Haar cascade detector needs opencv-python-headless<5")


@pytest.mark.shared_data
def test_several_detectors_write_one_audit_each_and_the_pairs(
    fairface_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip(
        "dlib", reason='the dlib detectors need dlib-bin: "fairaudit-faces[detect]"'
    )
    out = tmp_path / "audit"
    args = ["audit-detector", str(fairface_root), "--detectors", "haar,dlib-hog"]
    report = tmp_path / "detectors.html"
    args += ["--limit", "12", "-q", "--output-dir", str(out), "--report", str(report)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "=== haar ===" in printed and "=== dlib-hog ===" in printed
    assert "paired comparison" in printed
    pairs = DetectorPairs.load(out / "detector-pairs.json")
    assert pairs.detectors == ("haar", "dlib-hog") and pairs.n_images == 12
    for name in pairs.detectors:
        audit = AuditResult.load(out / f"detector-{name}.json")
        pairs.check_audit(name, audit)
        assert audit.metadata["detection"]["detector_name"] == name
    frame = pairs.compare("haar", "dlib-hog", by="race")
    assert int(frame["n"].sum()) == 12
    html = report.read_text(encoding="utf-8")
    assert "Face detectors compared: haar, dlib-hog" in html and "<svg" in html
    assert f"wrote the detector comparison report to {report}" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detectors", "haar,mtcnn"], "unknown detector(s) ['mtcnn']"),
        (["--detectors", "haar,haar"], "lists a detector twice"),
        (["--detectors", "haar,dlib-hog", "-o", "x.json"], "save with --output-dir"),
        (["--detectors", "haar", "--report", "x.html"], "give several --detectors"),
    ],
)
def test_bad_detector_lists_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["audit-detector", str(tmp_path), *extra]) != 0
    assert message in capsys.readouterr().err
