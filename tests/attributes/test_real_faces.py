"""The landmark skin regions on real FairFace val faces (shared data, dlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fairaudit.attributes._derive import face_attributes
from fairaudit.attributes._skin import FaceLandmarker, skin_mask

pytest.importorskip(
    "dlib", reason='the landmark regions need dlib: pip install "fairaudit-faces[detect]"'
)

pytestmark = pytest.mark.shared_data

#: Points that are not skin, picked by hand on FairFace val images (x, y): the eyes, the
#: mouth, hair, background, clothes, a beard. The skin mask must keep 4 px away from them.
NOT_SKIN = {
    "1.jpg": {"eyes": [(60, 68), (150, 68)], "mouth": [(110, 140)], "hair": [(5, 5)],
              "clothes": [(40, 210)]},
    "4.jpg": {"eyes": [(68, 65), (156, 65)], "mouth": [(116, 147)], "background": [(11, 100)],
              "hair": [(201, 50)]},
    "6.jpg": {"eyes": [(62, 67), (147, 67)], "mouth": [(112, 155)], "beard": [(117, 200)],
              "background": [(212, 100)]},
}  # fmt: skip


@pytest.fixture(scope="module")
def landmarker() -> FaceLandmarker:
    found = FaceLandmarker(mode="dlib")
    assert found.mode == "dlib"
    return found


def _rgb(fairface_root: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(fairface_root / "val" / name).convert("RGB"))


@pytest.mark.parametrize("name", sorted(NOT_SKIN))
def test_skin_regions_sit_on_the_cheeks_and_forehead(fairface_root, landmarker, name):
    rgb = _rgb(fairface_root, name)
    points, _box, source = landmarker.landmarks(rgb)
    assert source == "detected"
    regions, size, _ = landmarker.skin_regions(rgb)
    centre = {k: v.mean(axis=0) for k, v in regions.items()}
    nose_x = points[30, 0]
    eyes_y = points[36:48, 1].mean()
    mouth_y = points[48:60, 1].mean()
    assert centre["left cheek"][0] < nose_x < centre["right cheek"][0]
    for cheek in ("left cheek", "right cheek"):
        assert eyes_y < centre[cheek][1] < mouth_y
    assert 0 < centre["forehead"][1] < points[17:27, 1].min()  # above the eyebrows
    mask = skin_mask(rgb.shape[:2], regions)
    near = np.zeros_like(mask)
    for what, points_by_hand in NOT_SKIN[name].items():
        for x, y in points_by_hand:
            near[max(y - 4, 0) : y + 5, max(x - 4, 0) : x + 5] = True
            assert not (mask & near).any(), f"the skin mask reaches the {what} at {(x, y)}"
    assert 2000 < mask.sum() < 0.25 * mask.size  # a fair share of the face, not all of it
    assert 120 < size < 260


def test_a_black_and_white_photo_gets_no_skin_tone(fairface_root, landmarker):
    values = face_attributes(_rgb(fairface_root, "3.jpg"), landmarker=landmarker)
    assert values["attributes_status"] == "greyscale" and np.isnan(values["ita"])


def test_ita_falls_as_the_same_face_is_darkened(fairface_root, landmarker):
    # the caveat of the docs: ITA measures the pixels, so exposure moves it
    rgb = _rgb(fairface_root, "2.jpg").astype(np.float64)
    itas = []
    for gain in (1.0, 0.8, 0.6):
        darker = np.clip(np.rint(rgb * gain), 0, 255).astype(np.uint8)
        itas.append(face_attributes(darker, landmarker=landmarker)["ita"])
    assert itas[0] > itas[1] + 5 > itas[2] + 10, itas
