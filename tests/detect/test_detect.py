"""detect_faces: real photos, margins and borders, ordering, the plug-in interface, bad input."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fairaudit.detect import (
    Box,
    DetectedFace,
    FaceDetector,
    HaarCascadeDetector,
    default_detector,
    detect_faces,
)
from fairaudit.detect._box import expand_box
from fairaudit.detect._detect import read_image
from fairaudit.exceptions import ConfigurationError, DataValidationError

needs_cv2 = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None,
    reason="the Haar cascade detector needs opencv-python-headless<5 (fairaudit-faces[detect])",
)

# Reference face boxes, eyebrows to chin and cheek to cheek, read by eye once from the
# photos drawn 3x enlarged with a 10-pixel grid (labelled every 50 px) over the face and
# viewed in an image viewer; they were set independently of the detector's output.
#: skimage.data.astronaut() (512x512, Eileen Collins): cheeks x 188-270, brows-chin y 80-172.
ASTRONAUT_FACE = Box(188, 80, 82, 92)
#: matplotlib's grace_hopper.jpg (512 wide, 600 high): cheeks x 175-365, brows-chin y 160-330.
GRACE_HOPPER_FACE = Box(175, 160, 190, 170)


class FixedBoxes:
    """A stub detector (the plug-in interface) returning fixed boxes and recording its input."""

    def __init__(self, *boxes: Box) -> None:
        self.boxes = list(boxes)
        self.seen: list[np.ndarray] = []

    def detect(self, image: np.ndarray) -> list[Box]:
        self.seen.append(image)
        return list(self.boxes)


class ScoredBoxes(FixedBoxes):
    def __init__(self, *pairs: tuple[Box, float]) -> None:
        super().__init__(*(box for box, _ in pairs))
        self.pairs = list(pairs)

    def detect_with_scores(self, image: np.ndarray) -> list[tuple[Box, float]]:
        self.seen.append(image)
        return list(self.pairs)


def gradient(width: int, height: int) -> np.ndarray:
    """An RGB image whose pixels tell where they are: R = column, G = row, B = 255."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols, rows, np.full_like(rows, 255)], axis=2).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def haar() -> HaarCascadeDetector:
    """The Haar cascade's photo preset (the default detector without dlib)."""
    return HaarCascadeDetector.for_photos()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    return data.astronaut()


@pytest.fixture(scope="module")
def grace_hopper() -> Path:
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="module")
def astronaut_faces(astronaut: np.ndarray) -> list[DetectedFace]:
    return detect_faces(astronaut, detector=haar())


# --- real photos with the Haar cascade (photo preset) -------------------------------------------


@needs_cv2
def test_astronaut_one_face_on_her_face(
    astronaut: np.ndarray, astronaut_faces: list[DetectedFace]
) -> None:
    assert len(astronaut_faces) == 1
    face = astronaut_faces[0]
    assert face.box.iou(ASTRONAUT_FACE) > 0.5
    assert face.box.iou(Box(0, 0, 100, 100)) == 0.0  # sanity: the IoU can fail
    # the crop is the margin box, square, its pixels the image's
    assert face.crop_box == expand_box(face.box, margin=0.25, square=True)
    assert face.crop_box.width == face.crop_box.height
    assert face.crop.mode == "RGB"
    assert face.crop.size == (face.crop_box.width, face.crop_box.height)
    x0, y0, x1, y1 = face.crop_box.as_xyxy()
    assert 0 <= x0 and 0 <= y0 and x1 <= 512 and y1 <= 512
    np.testing.assert_array_equal(np.asarray(face.crop), astronaut[y0:y1, x0:x1])
    # the Haar score is the number of merged raw detections, at least min_neighbors + 1
    assert face.score is not None and face.score >= 6


@needs_cv2
def test_grace_hopper_one_face_same_for_every_input_type(grace_hopper: Path) -> None:
    from_path = detect_faces(grace_hopper, detector=haar())
    assert len(from_path) == 1
    assert from_path[0].box.iou(GRACE_HOPPER_FACE) > 0.5
    with Image.open(grace_hopper) as image:
        from_pil = detect_faces(image, detector=haar())
        array = np.asarray(image.convert("RGB"))
    from_array = detect_faces(array, detector=haar())
    assert [f.box for f in from_pil] == [f.box for f in from_array] == [from_path[0].box]
    assert from_path[0].score == from_array[0].score
    np.testing.assert_array_equal(np.asarray(from_path[0].crop), np.asarray(from_array[0].crop))


@needs_cv2
def test_encoded_bytes_and_read_image(grace_hopper: Path, tmp_path: Path) -> None:
    from_path = detect_faces(grace_hopper, detector=haar())
    from_bytes = detect_faces(grace_hopper.read_bytes(), detector=haar())
    assert [f.box for f in from_bytes] == [f.box for f in from_path]
    np.testing.assert_array_equal(np.asarray(from_bytes[0].crop), np.asarray(from_path[0].crop))
    assert (
        detect_faces(bytearray(grace_hopper.read_bytes()), detector=haar())[0].box
        == from_path[0].box
    )
    # EXIF orientation applies to bytes as to files
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(gradient(40, 20)).save(path, exif=exif)
    assert read_image(path.read_bytes()).size == (20, 40)
    assert read_image(path).size == (20, 40)
    assert read_image(gradient(7, 5)).mode == "RGB"
    with pytest.raises(DataValidationError, match=r"the image bytes \(4 bytes\)"):
        read_image(b"junk")


def test_default_detector_is_the_best_installed_photo_preset() -> None:
    pytest.importorskip("cv2", reason="the Haar cascade detector needs opencv-python-headless<5")
    from fairaudit.detect import make_detector
    from fairaudit.detect._choice import best_detector_name

    detector = default_detector()
    assert detector is default_detector()  # one shared instance
    expected = make_detector(best_detector_name(), preset="photos", align=True)
    assert repr(detector) == repr(expected)


def test_default_detector_is_haar_without_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("cv2", reason="the Haar cascade detector needs opencv-python-headless<5")
    import fairaudit.detect._choice as choice

    monkeypatch.setattr(choice, "dlib_available", lambda: False)
    default_detector.cache_clear()
    try:
        assert repr(default_detector()) == repr(HaarCascadeDetector.for_photos())
    finally:
        default_detector.cache_clear()


@needs_cv2
def test_blank_and_noise_images_have_no_face() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    assert detect_faces(np.full((240, 320, 3), 128, dtype=np.uint8), detector=haar()) == []
    assert detect_faces(noise, detector=haar()) == []
    assert (
        detect_faces(Image.new("L", (5, 5)), detector=haar()) == []
    )  # smaller than the search window


@needs_cv2
def test_deterministic(astronaut: np.ndarray, astronaut_faces: list[DetectedFace]) -> None:
    again = detect_faces(astronaut, detector=haar())
    assert [(f.box, f.crop_box, f.score) for f in again] == [
        (f.box, f.crop_box, f.score) for f in astronaut_faces
    ]


@needs_cv2
def test_image_padding_maps_boxes_back_to_image_coordinates(
    astronaut: np.ndarray, astronaut_faces: list[DetectedFace]
) -> None:
    padded = detect_faces(astronaut, detector=HaarCascadeDetector(image_padding=0.25))
    assert len(padded) == 1
    # same face found in the padded image, shifted back by the 128-pixel padding
    assert padded[0].box.iou(astronaut_faces[0].box) > 0.9


@needs_cv2
@pytest.mark.shared_data
def test_fairface_val_image_upscaled_has_a_centred_face(fairface_root: Path) -> None:
    with Image.open(fairface_root / "val" / "1.jpg") as image:
        assert image.size == (224, 224)
        upscaled = image.resize((448, 448), Image.Resampling.BICUBIC)
    faces = detect_faces(upscaled, detector=haar())
    assert len(faces) >= 1
    cx, cy = faces[0].box.center
    assert abs(cx - 224) < 45 and abs(cy - 224) < 45
    assert faces[0].box.width > 448 / 2  # FairFace crops are mostly face


@needs_cv2
@pytest.mark.shared_data
def test_fairface_tight_crop_needs_image_padding(fairface_root: Path) -> None:
    # val/3.jpg: the face fills the frame, so no search window fits without padding
    path = fairface_root / "val" / "3.jpg"
    assert detect_faces(path, detector=HaarCascadeDetector()) == []
    for detector in (haar(), HaarCascadeDetector.for_face_crops()):  # both pad the image
        faces = detect_faces(path, detector=detector)
        assert len(faces) == 1
        cx, cy = faces[0].box.center
        assert abs(cx - 112) < 40 and abs(cy - 112) < 40
        assert faces[0].box.y < 0  # the box reaches into the padding above the image


# --- margin arithmetic, borders and ordering with stub detectors -------------------------


def test_margin_arithmetic_by_hand() -> None:
    image = gradient(200, 100)
    # box 40x20 at (50, 20), centre (70, 30); margin 0.25 adds 10 px left/right, 5 top/bottom
    detector = FixedBoxes(Box(50, 20, 40, 20))
    (rect,) = detect_faces(image, detector=detector, square=False)
    assert rect.box == Box(50, 20, 40, 20)
    assert rect.crop_box == Box(40, 15, 60, 30)
    # square: the 60x30 box becomes 60x60 around the same centre: top 30 - 30 = 0
    (sq,) = detect_faces(image, detector=detector)
    assert sq.crop_box == Box(40, 0, 60, 60)
    np.testing.assert_array_equal(np.asarray(sq.crop), image[0:60, 40:100])
    assert sq.score is None  # the stub gives no scores
    # margin 0.5 doubles the box: 80x40 -> square 80x80 around (70, 30)
    (wide,) = detect_faces(image, detector=detector, margin=0.5)
    assert wide.crop_box == Box(30, -10, 80, 80)
    # margin 0 without square keeps the box
    (same,) = detect_faces(image, detector=detector, margin=0, square=False)
    assert same.crop_box == same.box


def test_expand_box_rounds_half_up_and_stays_square() -> None:
    # 3 * 1.5 = 4.5 -> 5 pixels; centre 1.5 -> left 1.5 - 2.5 = -1
    assert expand_box(Box(0, 0, 3, 3), margin=0.25) == Box(-1, -1, 5, 5)
    # 7x3 box: 10.5 x 4.5 -> square side 10.5 -> 11, centre (3.5, 1.5) -> (-2, -4)
    assert expand_box(Box(0, 0, 7, 3), margin=0.25) == Box(-2, -4, 11, 11)
    assert expand_box(Box(0, 0, 7, 3), margin=0.25, square=False) == Box(-2, -1, 11, 5)


def test_border_pad_fills_black_and_clip_shrinks_to_the_image() -> None:
    image = gradient(120, 80)
    # 40x40 box at the left edge: crop box 60x60 at (-10, 0)
    detector = FixedBoxes(Box(0, 10, 40, 40))
    (padded,) = detect_faces(image, detector=detector)
    assert padded.crop_box == Box(-10, 0, 60, 60)
    crop = np.asarray(padded.crop)
    assert crop.shape == (60, 60, 3)
    assert (crop[:, :10] == 0).all()  # outside the image: black
    np.testing.assert_array_equal(crop[:, 10:], image[0:60, 0:50])
    (clipped,) = detect_faces(image, detector=detector, border="clip")
    assert clipped.crop_box == Box(0, 0, 50, 60)
    np.testing.assert_array_equal(np.asarray(clipped.crop), image[0:60, 0:50])
    # a box hanging over the bottom-right corner
    (corner,) = detect_faces(image, detector=FixedBoxes(Box(100, 60, 40, 40)), border="clip")
    assert corner.crop_box == Box(90, 50, 30, 30)


def test_largest_first_ties_top_then_left() -> None:
    small, large = Box(5, 5, 10, 10), Box(50, 40, 30, 30)
    tie_low, tie_high, tie_left = Box(100, 60, 20, 20), Box(100, 10, 20, 20), Box(60, 10, 20, 20)
    detector = FixedBoxes(small, tie_low, large, tie_high, tie_left)
    faces = detect_faces(gradient(200, 100), detector=detector)
    assert [f.box for f in faces] == [large, tie_left, tie_high, tie_low, small]


@needs_cv2
def test_scores_come_from_detect_with_scores() -> None:
    detector = ScoredBoxes((Box(0, 0, 10, 10), 3.0), (Box(20, 20, 30, 30), 7.5))
    faces = detect_faces(gradient(64, 64), detector=detector)
    assert [(f.box, f.score) for f in faces] == [
        (Box(20, 20, 30, 30), 7.5),
        (Box(0, 0, 10, 10), 3.0),
    ]
    assert isinstance(detector, FaceDetector)
    assert isinstance(HaarCascadeDetector(), FaceDetector)


def test_detector_gets_a_read_only_rgb_uint8_array() -> None:
    detector = FixedBoxes()
    gray = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    assert detect_faces(gray, detector=detector) == []
    (seen,) = detector.seen
    assert seen.shape == (12, 10, 3) and seen.dtype == np.uint8
    assert not seen.flags.writeable
    np.testing.assert_array_equal(seen[:, :, 1], gray)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_any_image_mode_becomes_rgb(tmp_path: Path, mode: str) -> None:
    rgb = Image.fromarray(gradient(30, 20))
    image = rgb.convert(mode) if mode != "I;16" else rgb.convert("L").convert("I;16")
    path = tmp_path / f"face_{mode.replace(';', '')}.png"
    if mode == "CMYK":
        path = path.with_suffix(".jpg")
    image.save(path)
    detector = FixedBoxes(Box(5, 5, 10, 10))
    (face,) = detect_faces(path, detector=detector)
    assert detector.seen[0].shape == (20, 30, 3)
    assert face.crop.mode == "RGB"


def test_array_rgba_and_single_channel() -> None:
    rgb = gradient(16, 8)
    detector = FixedBoxes()
    detect_faces(np.concatenate([rgb, np.zeros((8, 16, 1), np.uint8)], axis=2), detector=detector)
    detect_faces(rgb[:, :, :1], detector=detector)
    np.testing.assert_array_equal(detector.seen[0], rgb)  # alpha dropped
    np.testing.assert_array_equal(detector.seen[1][:, :, 2], rgb[:, :, 0])


def test_exif_orientation_is_applied_to_files(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(gradient(40, 20)).save(path, exif=exif)
    detector = FixedBoxes()
    detect_faces(path, detector=detector)
    assert detector.seen[0].shape == (40, 20, 3)  # upright: 20 wide, 40 high


# --- errors --------------------------------------------------------------------------------


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    with pytest.raises(DataValidationError, match=r"image file not found: .*nope\.jpg"):
        detect_faces(missing, detector=FixedBoxes())
    with pytest.raises(DataValidationError, match="folder"):
        detect_faces(tmp_path, detector=FixedBoxes())


def test_non_image_bytes_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a JPEG")
    with pytest.raises(DataValidationError, match=r"cannot read image file .*notes\.jpg"):
        detect_faces(path, detector=FixedBoxes())
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"empty\.png"):
        detect_faces(str(empty), detector=FixedBoxes())


def test_truncated_image_is_a_clear_error(tmp_path: Path, grace_hopper: Path) -> None:
    data = grace_hopper.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataValidationError, match=r"cannot read image file .*cut\.jpg.*truncated"):
        detect_faces(path, detector=FixedBoxes())
    # a lazily opened PIL image of the same file names it too
    with Image.open(path) as lazy:
        with pytest.raises(DataValidationError, match=r"cut\.jpg"):
            detect_faces(lazy, detector=FixedBoxes())


def test_bad_arrays_and_inputs() -> None:
    with pytest.raises(DataValidationError, match="must be uint8"):
        detect_faces(np.zeros((8, 8, 3), dtype=np.float32), detector=FixedBoxes())
    with pytest.raises(DataValidationError, match="shape"):
        detect_faces(np.zeros((8, 8, 2), dtype=np.uint8), detector=FixedBoxes())
    with pytest.raises(DataValidationError, match="empty"):
        detect_faces(np.zeros((0, 8, 3), dtype=np.uint8), detector=FixedBoxes())
    with pytest.raises(DataValidationError, match="got list"):
        detect_faces([[0, 0]], detector=FixedBoxes())  # type: ignore[arg-type]


def test_bad_options_and_misbehaving_detectors() -> None:
    image = gradient(50, 50)
    with pytest.raises(ConfigurationError, match="margin"):
        detect_faces(image, detector=FixedBoxes(), margin=-0.1)
    with pytest.raises(ConfigurationError, match="border"):
        detect_faces(image, detector=FixedBoxes(), border="wrap")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="detect"):
        detect_faces(image, detector=object())  # type: ignore[arg-type]

    class Tuples:
        def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
            return [(1, 2, 3, 4)]

    with pytest.raises(ConfigurationError, match=r"Tuples returned \(1, 2, 3, 4\).*Box"):
        detect_faces(image, detector=Tuples())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="outside the 50x50 image"):
        detect_faces(image, detector=FixedBoxes(Box(50, 0, 10, 10)))


def test_box_validation_and_geometry() -> None:
    box = Box(np.int32(10), 20, 30, 40)
    assert type(box.x) is int
    assert (box.area, box.right, box.bottom, box.center) == (1200, 40, 60, (25.0, 40.0))
    assert box.as_xyxy() == (10, 20, 40, 60)
    assert box.iou(box) == 1.0
    # half-overlapping 10x10 boxes: 50 / (100 + 100 - 50)
    assert Box(0, 0, 10, 10).iou(Box(5, 0, 10, 10)) == pytest.approx(1 / 3)
    assert Box(0, 0, 10, 10).intersection(Box(10, 0, 5, 5)) is None
    with pytest.raises(DataValidationError, match="integer"):
        Box(1.5, 0, 10, 10)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=">= 1"):
        Box(0, 0, 0, 10)
