"""HaarCascadeDetector: options, the optional dependency, the cascade file, pickling."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from fairaudit.detect import DEFAULT_CASCADE, HaarCascadeDetector, default_cascade_path
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError

cv2 = pytest.importorskip("cv2", reason="the Haar cascade detector needs opencv-python-headless<5")


def test_default_cascade_is_the_one_shipped_with_opencv() -> None:
    path = default_cascade_path()
    assert path.name == DEFAULT_CASCADE and path.is_file()
    assert HaarCascadeDetector().cascade_path == path


def test_missing_opencv_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "fairaudit\[detect\]"'):
        HaarCascadeDetector()


def test_opencv_without_cascades_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cv2.data, "haarcascades", str(tmp_path) + "/")
    with pytest.raises(
        MissingDependencyError, match=r"ships no Haar cascade.*opencv-python-headless<5"
    ):
        HaarCascadeDetector()


def test_bad_cascade_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cascade file not found: .*absent\.xml"):
        HaarCascadeDetector(cascade_path=tmp_path / "absent.xml")
    junk = tmp_path / "junk.xml"
    junk.write_text("not a cascade")
    with pytest.raises(ConfigurationError, match=r"cannot load the cascade file .*junk\.xml"):
        HaarCascadeDetector(cascade_path=junk)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"scale_factor": 1.0}, "scale_factor"),
        ({"scale_factor": float("nan")}, "scale_factor"),
        ({"min_neighbors": -1}, "min_neighbors"),
        ({"min_neighbors": 2.5}, "min_neighbors"),
        ({"min_size": (0, 30)}, "min_size"),
        ({"min_size": 30}, "min_size"),
        ({"image_padding": -0.1}, "image_padding"),
    ],
)
def test_bad_options(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        HaarCascadeDetector(**options)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        HaarCascadeDetector(1.2)  # type: ignore[misc]


def test_detect_wants_an_rgb_uint8_array() -> None:
    detector = HaarCascadeDetector()
    with pytest.raises(DataValidationError, match=r"shape \(height, width, 3\)"):
        detector.detect(np.zeros((20, 20), dtype=np.uint8))
    assert detector.detect(np.zeros((20, 20, 3), dtype=np.uint8)) == []


def test_pickles_and_detects_the_same() -> None:
    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    image = data.astronaut()
    detector = HaarCascadeDetector(min_size=(60, 60))
    clone = pickle.loads(pickle.dumps(detector))
    assert repr(clone) == repr(detector)
    found = detector.detect_with_scores(image)
    assert len(found) == 1
    assert clone.detect_with_scores(image) == found
    assert detector.detect(image) == [found[0][0]]
