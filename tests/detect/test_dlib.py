"""dlib detectors: boxes against hand-checked ones, aligned chips, model files, errors."""

from __future__ import annotations

import io
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fairaudit.detect import Box, DlibDetector, available_detectors, detect_faces, make_detector
from fairaudit.detect._choice import best_detector_name
from fairaudit.detect._dlib import DLIB_MODEL_FILES, MODELS_ENV, dlib_model_path
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError

dlib = pytest.importorskip(
    "dlib", reason='the dlib detectors need dlib-bin: pip install "fairaudit-faces[detect]"'
)

#: Face boxes drawn by hand on FairFace val images (eyebrows to chin, cheek to cheek),
#: checked by eye against the detectors' boxes drawn on the images.
HAND_BOXES = {
    "1.jpg": Box(25, 15, 165, 165),
    "3.jpg": Box(0, 10, 190, 195),
    "4.jpg": Box(25, 15, 165, 165),
    "6.jpg": Box(0, 0, 190, 190),
}
#: The face of the app's example photo (Grace Hopper, 512x600), by hand.
HOPPER_BOX = Box(185, 145, 173, 173)


@pytest.fixture(scope="module")
def models() -> Path:
    try:
        return dlib_model_path("mmod_human_face_detector.dat").parent
    except MissingDependencyError as exc:
        pytest.skip(f"dlib's model files are not installed ({exc})")


@pytest.fixture(scope="module")
def cnn(models: Path) -> DlibDetector:
    return DlibDetector.for_face_crops("cnn")


@pytest.fixture(scope="module")
def hog(models: Path) -> DlibDetector:
    return DlibDetector.for_face_crops("hog")


@pytest.fixture(scope="module")
def val_images(fairface_root: Path) -> dict[str, Path]:
    paths = {name: fairface_root / "val" / name for name in HAND_BOXES}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        pytest.skip(f"FairFace val images absent: {absent}")
    return paths


def _hopper() -> bytes:
    from fairaudit.app._photo import example_photo

    return example_photo()[1]


@pytest.mark.parametrize("kind", ["cnn", "hog"])
def test_boxes_match_the_hand_checked_ones(
    kind: str, cnn: DlibDetector, hog: DlibDetector, val_images: dict[str, Path]
) -> None:
    detector = cnn if kind == "cnn" else hog
    for name, path in val_images.items():
        faces = detect_faces(path, detector=detector, align=False)
        assert len(faces) == 1, (kind, name)
        iou = faces[0].box.iou(HAND_BOXES[name])
        assert iou >= 0.7, (kind, name, faces[0].box, iou)
        assert faces[0].score is not None and faces[0].score > 0


def test_cnn_finds_the_example_photo_face(models: Path) -> None:
    faces = detect_faces(_hopper(), detector=make_detector("dlib-cnn", preset="photos"))
    assert len(faces) == 1
    assert faces[0].box.iou(HOPPER_BOX) >= 0.8, faces[0].box
    assert faces[0].aligned and faces[0].crop.size == (224, 224)


def test_no_face_in_a_blank_image(cnn: DlibDetector, hog: DlibDetector) -> None:
    blank = np.full((224, 224, 3), 128, dtype=np.uint8)
    assert detect_faces(blank, detector=cnn) == []
    assert detect_faces(blank, detector=hog) == []


def test_fairface_images_are_their_own_aligned_chips(
    cnn: DlibDetector, val_images: dict[str, Path]
) -> None:
    # FairFace's images are dlib chips with padding 0.25: re-chipping one finds the
    # whole image again (the chip region is the image, up to a few pixels).
    for name, path in val_images.items():
        (face,) = detect_faces(path, detector=cnn)
        assert face.aligned and face.crop.size == (224, 224)
        assert face.crop_box.iou(Box(0, 0, 224, 224)) >= 0.85, (name, face.crop_box)


def test_alignment_undoes_a_tilt(cnn: DlibDetector, val_images: dict[str, Path]) -> None:
    image = Image.open(val_images["1.jpg"]).convert("RGB")
    big = image.resize((448, 448))  # room to rotate without cutting the face
    canvas = Image.new("RGB", (672, 672))
    canvas.paste(big, (112, 112))
    tilted = canvas.rotate(12, resample=Image.Resampling.BILINEAR)
    (upright,) = detect_faces(canvas, detector=cnn)
    (turned,) = detect_faces(tilted, detector=cnn)
    (plain,) = detect_faces(tilted, detector=cnn, align=False)
    a = np.asarray(upright.crop, dtype=float)
    aligned_diff = np.abs(a - np.asarray(turned.crop, dtype=float)).mean()
    plain_diff = np.abs(a - np.asarray(plain.crop.resize((224, 224)), dtype=float)).mean()
    assert aligned_diff < 0.6 * plain_diff, (aligned_diff, plain_diff)


def test_align_options(hog: DlibDetector) -> None:
    photo = _hopper()
    (face,) = detect_faces(photo, detector=hog, align=False)
    assert not face.aligned and face.crop.size == (face.crop_box.width, face.crop_box.height)
    unaligned = DlibDetector("hog", align=False, upsample=1)
    (face,) = detect_faces(photo, detector=unaligned)
    assert not face.aligned
    with pytest.raises(ConfigurationError, match="align=True needs"):
        detect_faces(photo, detector=unaligned, align=True)
    with pytest.raises(ConfigurationError, match="align=False"):
        unaligned.face_chips(np.zeros((8, 8, 3), dtype=np.uint8), [Box(0, 0, 4, 4)])


def test_pickled_detector_gives_the_same_boxes(hog: DlibDetector) -> None:
    photo = np.asarray(Image.open(io.BytesIO(_hopper())).convert("RGB"))
    clone = pickle.loads(pickle.dumps(hog))
    assert clone.detect(photo) == hog.detect(photo)
    assert repr(clone) == repr(hog)


def test_detector_names_and_best(models: Path) -> None:
    assert set(available_detectors()) >= {"dlib-hog", "dlib-cnn"}
    assert best_detector_name() == "dlib-cnn"
    detector = make_detector("best")
    assert isinstance(detector, DlibDetector) and detector.name == "dlib-cnn"
    with pytest.raises(ConfigurationError, match="unknown detector"):
        make_detector("mtcnn")
    with pytest.raises(ConfigurationError, match="unknown detector preset"):
        make_detector("dlib-hog", preset="selfies")


def test_bad_options_and_images(models: Path) -> None:
    with pytest.raises(ConfigurationError, match="kind"):
        DlibDetector("mmod")
    with pytest.raises(ConfigurationError, match="upsample"):
        DlibDetector("hog", upsample=-1)
    with pytest.raises(ConfigurationError, match="padding"):
        DlibDetector("hog", padding=float("nan"))
    with pytest.raises(DataValidationError, match="RGB uint8"):
        DlibDetector("hog").detect(np.zeros((8, 8), dtype=np.uint8))


def test_model_files_are_verified(models: Path) -> None:
    for name, digest in DLIB_MODEL_FILES.items():
        path = dlib_model_path(name)
        assert path.is_file() and len(digest) == 64


def test_missing_model_file_names_the_package(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"face-recognition-models") as info:
        DlibDetector("cnn")
    assert "mmod_human_face_detector.dat" in str(info.value)
    assert MODELS_ENV in str(info.value)


def test_corrupt_model_file_is_refused(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DLIB_MODEL_FILES:
        shutil.copyfile(models / name, tmp_path / name)
    target = tmp_path / "shape_predictor_5_face_landmarks.dat"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"corrupt.*sha256.*face-recognition-models"):
        DlibDetector("hog")
    # the intact files of the same folder are accepted
    assert dlib_model_path("mmod_human_face_detector.dat") == tmp_path / (
        "mmod_human_face_detector.dat"
    )
    assert DlibDetector("cnn", align=False).kind == "cnn"


def test_model_folder_argument(models: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="not found"):
        DlibDetector("hog", model_folder=tmp_path)
    with pytest.raises(ConfigurationError, match="unknown dlib model file"):
        dlib_model_path("shape_predictor_194_face_landmarks.dat")


def test_missing_dlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "fairaudit-faces\[detect\]"'):
        DlibDetector("hog")


def test_missing_model_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match=r"face-recognition-models.*not installed"):
        DlibDetector("hog")
    assert "dlib-cnn" not in available_detectors()
