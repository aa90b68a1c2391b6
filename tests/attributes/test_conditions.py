"""Image conditions: the Laplacian against OpenCV and theory, known blur, brightness, contrast."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from fairaudit.attributes._conditions import CONDITION_BINS, bin_condition, laplacian_variance, luma
from fairaudit.attributes._derive import face_attributes
from fairaudit.attributes._skin import FaceLandmarker

from ._helpers import lab_patch

CHIP = FaceLandmarker(mode="chip")


def test_laplacian_matches_opencv_inside_the_border():
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the oracle (extra detect)")
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, size=(40, 50)).astype(np.uint8)
    lap = cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[1:-1, 1:-1]
    assert laplacian_variance(grey) == pytest.approx(lap.var(), rel=1e-12)
    # luma is OpenCV's grey conversion (BT.601) before its fixed-point rounding to 8 bits
    rgb = rng.integers(0, 256, size=(20, 30, 3)).astype(np.uint8)
    np.testing.assert_allclose(luma(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), atol=1.0)


def test_laplacian_of_white_noise_is_twenty_times_its_variance():
    # independent pixels of variance s^2: the kernel's squared weights sum to 4 * 1 + 16 = 20
    rng = np.random.default_rng(2)
    noise = rng.normal(128, 10, size=(400, 400))
    assert laplacian_variance(noise) == pytest.approx(20 * 100, rel=0.03)
    with pytest.raises(ValueError, match="2-D"):
        laplacian_variance(np.zeros((2, 5)))


def test_known_gaussian_blur_lowers_sharpness_and_changes_its_bin():
    rng = np.random.default_rng(3)
    sharp = Image.fromarray(
        np.repeat(rng.integers(60, 200, size=(112, 112, 1)), 3, axis=2).astype(np.uint8)
    )
    values = []
    for sigma in (0, 0.5, 1, 2, 4):
        image = sharp if sigma == 0 else sharp.filter(ImageFilter.GaussianBlur(sigma))
        values.append(face_attributes(image, landmarker=CHIP)["blur"])
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    assert bin_condition("blur", values).tolist()[0] == "sharp"
    assert bin_condition("blur", values).tolist()[-1] == "blurred"


@pytest.mark.parametrize("lightness", [20.0, 40.0, 55.0, 75.0])
def test_brightness_is_the_mean_lightness_of_a_known_patch(lightness):
    skimage_color = pytest.importorskip("skimage.color", reason="scikit-image is the oracle")
    patch = lab_patch((lightness, 10.0, 15.0))
    values = face_attributes(patch, landmarker=CHIP)
    assert values["brightness"] == pytest.approx(
        skimage_color.rgb2lab(patch)[..., 0].mean(), abs=2e-3
    )
    assert values["brightness"] == pytest.approx(lightness, abs=0.5)  # 8-bit rounding
    assert values["contrast"] == pytest.approx(0.0, abs=1e-9)
    assert values["blur"] == pytest.approx(0.0, abs=1e-9)


def test_contrast_of_half_black_half_white_is_one_half():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, 20:] = 255
    values = face_attributes(image, landmarker=CHIP)
    assert values["contrast"] == pytest.approx(0.5, abs=1e-4)  # std of L* in {0, 100} / 100
    assert values["brightness"] == pytest.approx(50.0, abs=1e-3)


def test_bins_and_their_edges():
    for column, spec in CONDITION_BINS.items():
        edges = np.asarray(spec.edges)
        below, at = bin_condition(column, edges - 1e-6), bin_condition(column, edges)
        classes = list(spec.vocabulary.classes)
        assert below.tolist() == classes[:-1], column  # an edge starts the next class
        assert at.tolist() == classes[1:], column
    assert bin_condition("brightness", [np.nan]).tolist() == [None]
