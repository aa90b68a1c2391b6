"""CIELAB and ITA: the numpy conversion against scikit-image, ITA of known colours, bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fairaudit.attributes import individual_typology_angle
from fairaudit.attributes._colour import (
    ITA_EDGES,
    SKIN_TONE,
    skin_tone_category,
    skin_type_category,
    srgb_to_lab,
)
from fairaudit.attributes._derive import face_attributes
from fairaudit.attributes._skin import FaceLandmarker

from ._helpers import lab_for_ita, lab_patch

skimage_color = pytest.importorskip("skimage.color", reason="scikit-image is the test oracle")


def test_lab_matches_scikit_image_on_every_kind_of_colour():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    rgb[0, :8] = [[0, 0, 0], [255, 255, 255], [1, 1, 1], [10, 0, 0], [255, 0, 0], [0, 255, 0],
                  [0, 0, 255], [128, 128, 128]]  # fmt: skip
    expected = skimage_color.rgb2lab(rgb)
    np.testing.assert_allclose(srgb_to_lab(rgb), expected, atol=2e-3)
    # floats in [0, 1] are the same colours
    np.testing.assert_allclose(srgb_to_lab(rgb / 255.0), expected, atol=2e-3)


def test_lab_of_the_white_and_black_points():
    # the sRGB matrix's rounded rows give white a* and b* within 0.005 of 0 (as scikit-image)
    white = srgb_to_lab(np.array([255, 255, 255], np.uint8))
    np.testing.assert_allclose(white, [100, 0, 0], atol=5e-3)
    np.testing.assert_allclose(srgb_to_lab(np.zeros(3, np.uint8)), [0, 0, 0], atol=1e-9)
    with pytest.raises(ValueError, match="last axis of 3"):
        srgb_to_lab(np.zeros((4, 4)))


def test_ita_is_the_formula():
    lightness = np.array([70.0, 30.0, 50.0, 80.0, 20.0])
    b_star = np.array([15.0, 20.0, 10.0, 0.0, 0.0])
    expected = [
        math.degrees(math.atan((lum - 50) / b)) for lum, b in zip(lightness[:3], b_star[:3])
    ]
    ita = individual_typology_angle(lightness, b_star)
    np.testing.assert_allclose(ita[:3], expected)
    assert ita[3] == 90.0 and ita[4] == -90.0
    assert np.isnan(individual_typology_angle(50.0, 0.0))


@pytest.mark.parametrize(
    ("ita", "b_star", "category"),
    [
        (70.0, 10.0, "very light"),
        (60.0, 14.0, "very light"),
        (48.0, 18.0, "light"),
        (35.0, 20.0, "intermediate"),
        (19.0, 22.0, "tan"),
        (0.0, 20.0, "brown"),
        (-20.0, 18.0, "brown"),
        (-45.0, 16.0, "dark"),
        (-65.0, 12.0, "dark"),
    ],
)
def test_ita_of_a_patch_of_known_colour_is_recovered_within_a_degree(ita, b_star, category):
    patch = lab_patch(lab_for_ita(ita, b_star), size=64)
    values = face_attributes(patch, landmarker=FaceLandmarker(mode="chip"))
    assert values["attributes_status"] == "ok"
    assert abs(values["ita"] - ita) < 1.0, values
    assert skin_tone_category(values["ita"]) == category
    assert skin_type_category(values["ita"]) == ("lighter" if ita > 28 else "darker")


def test_categories_at_their_edges():
    # a value above an edge belongs to the lighter class; the edge itself to the darker one
    values = [90.0, 55.01, 55.0, 41.0, 40.99, 28.0, 10.0, -30.0, -29.99, -90.0, np.nan]
    expected = ["very light", "very light", "light", "intermediate", "intermediate", "tan",
                "brown", "dark", "brown", "dark", None]  # fmt: skip
    assert skin_tone_category(values).tolist() == expected
    assert skin_type_category([28.01, 28.0, np.nan]).tolist() == ["lighter", "darker", None]
    assert len(ITA_EDGES) == len(SKIN_TONE) - 1 and list(ITA_EDGES) == sorted(ITA_EDGES)[::-1]
