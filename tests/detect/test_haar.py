"""HaarCascadeDetector: options, the optional dependency, the cascade file, pickling."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from fairaudit.detect import HaarCascadeDetector
from fairaudit.detect._haar import DEFAULT_CASCADE, default_cascade_path
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError

cv2 = pytest.importorskip("cv2", reason="the Haar cascade detector needs opencv-python-headless<5")


def test_default_cascade_is_the_one_shipped_with_opencv() -> None:
    path = default_cascade_path()
    assert path.name == DEFAULT_CASCADE and path.is_file()
    assert HaarCascadeDetector().cascade_path == path


def test_missing_opencv_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "fairaudit-faces\[detect\]"'):
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
        ({"max_side": 0}, "max_side"),
        ({"max_side": 512.0}, "max_side"),
        ({"min_face_fraction": 0.0}, "min_face_fraction"),
        ({"min_face_fraction": 1.5}, "min_face_fraction"),
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


def test_presets_and_their_overrides() -> None:
    photos = HaarCascadeDetector.for_photos()
    assert (photos.image_padding, photos.max_side, photos.min_face_fraction) == (0.25, 1024, None)
    assert (photos.scale_factor, photos.min_neighbors, photos.min_size) == (1.1, 5, (30, 30))
    crops = HaarCascadeDetector.for_face_crops()
    assert (crops.image_padding, crops.scale_factor, crops.min_neighbors) == (0.25, 1.05, 3)
    assert crops.min_face_fraction == pytest.approx(100 / 224) and crops.max_side is None
    assert HaarCascadeDetector.for_photos(max_side=None, min_neighbors=4).max_side is None
    assert HaarCascadeDetector.for_face_crops(min_neighbors=6).min_neighbors == 6
    assert "max_side=1024" in repr(photos) and "min_face_fraction" in repr(crops)
    clone = pickle.loads(pickle.dumps(crops))
    assert repr(clone) == repr(crops)


def _upscaled(factor: int) -> np.ndarray:
    from PIL import Image

    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    image = Image.fromarray(data.astronaut())
    return np.asarray(image.resize((512 * factor, 512 * factor), Image.Resampling.BICUBIC))


def test_max_side_searches_a_shrunk_copy_and_maps_boxes_back() -> None:
    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    small = HaarCascadeDetector(min_size=(60, 60)).detect(data.astronaut())
    assert len(small) == 1
    big = _upscaled(4)  # 2048 x 2048
    shrunk = HaarCascadeDetector(min_size=(60, 60), max_side=512).detect(big)
    # the search runs on a 512 px copy, nearly the original: the box is 4 times the one
    # found on the original, to within the rounding of the resampling
    assert len(shrunk) == 1
    expected = small[0]
    for got, want in zip(
        (shrunk[0].x, shrunk[0].y, shrunk[0].width, shrunk[0].height),
        (expected.x, expected.y, expected.width, expected.height),
    ):
        assert abs(got - 4 * want) <= 4 * 3
    # an image smaller than max_side is searched as it is
    same = HaarCascadeDetector(min_size=(60, 60), max_side=4096).detect(data.astronaut())
    assert same == small


def test_min_face_fraction_skips_small_windows() -> None:
    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    image = data.astronaut()  # the face is about 95 px wide in 512 px
    assert len(HaarCascadeDetector(min_face_fraction=0.15).detect(image)) == 1
    assert HaarCascadeDetector(min_face_fraction=0.3).detect(image) == []  # 154 px minimum
    # the same fraction finds the face at another resolution
    assert len(HaarCascadeDetector(min_face_fraction=0.15).detect(_upscaled(2))) >= 1


def test_one_detector_serves_several_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    images = [data.astronaut(), data.astronaut()[::2, ::2].copy(), data.chelsea()] * 4
    detector = HaarCascadeDetector.for_photos()
    alone = [detector.detect_with_scores(image) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(detector.detect_with_scores, images))
    assert together == alone
    assert len(alone[0]) == 1 and alone[2] == []
