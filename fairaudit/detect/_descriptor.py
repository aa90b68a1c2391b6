"""dlib's 128-D face descriptor of face crops, as features for attribute models.

dlib's face-recognition ResNet maps an aligned 150 x 150 face chip to a 128-D
vector trained to tell people apart; its features carry much of what gender,
age and race classifiers need. The crops fairaudit's models take (FairFace's
"padding 0.25" chips, resized) already hold one face in a known place, so no
detector runs here: the 5-point shape predictor is given the box a FairFace chip
puts the face in (its central two thirds), then dlib aligns the face and
computes the descriptor. Needs the extra ``detect`` (see :mod:`fairaudit.detect`).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from fairaudit.detect._dlib import _require_dlib, dlib_model_path
from fairaudit.exceptions import DataValidationError

__all__ = ["DESCRIPTOR_SIZE", "DlibFaceDescriptor"]

#: Length of dlib's face descriptor.
DESCRIPTOR_SIZE = 128

#: Share of a FairFace chip's side on each border that is padding (0.25 / 1.5).
_CHIP_MARGIN = 1 / 6


class DlibFaceDescriptor:
    """dlib's 128-D face descriptor of FairFace-style face crops.

    Parameters
    ----------
    model_folder : path, optional
        Folder of dlib's model files (default: the environment variable
        ``FAIRAUDIT_DLIB_MODELS``, else the installed ``face_recognition_models``
        package); each file is verified by sha256.

    Raises
    ------
    MissingDependencyError
        dlib or a model file is missing or corrupt (the message says what to install).

    Examples
    --------
    >>> describe = DlibFaceDescriptor()  # doctest: +SKIP
    >>> describe(np.zeros((2, 112, 112, 3), np.uint8)).shape  # doctest: +SKIP
    (2, 128)
    """

    def __init__(self, *, model_folder: str | os.PathLike[str] | None = None) -> None:
        dlib = _require_dlib()
        self.model_folder = model_folder
        predictor = dlib_model_path("shape_predictor_5_face_landmarks.dat", folder=model_folder)
        network = dlib_model_path("dlib_face_recognition_resnet_model_v1.dat", folder=model_folder)
        self._shape_predictor = dlib.shape_predictor(str(predictor))
        self._network = dlib.face_recognition_model_v1(str(network))
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DlibFaceDescriptor(model_folder={self.model_folder!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"model_folder": self.model_folder}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """Descriptors of a batch of face crops.

        Parameters
        ----------
        pixels : numpy.ndarray
            ``(n, height, width, 3)`` uint8 RGB face crops, each framed like a
            FairFace chip (the face in the central two thirds).

        Returns
        -------
        numpy.ndarray
            ``(n, 128)`` float32 descriptors.

        Raises
        ------
        DataValidationError
            If ``pixels`` is not a batch of uint8 RGB images.
        """
        pixels = np.asarray(pixels)
        if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
            raise DataValidationError(
                "DlibFaceDescriptor expects (n, height, width, 3) uint8 RGB crops, got "
                f"shape {pixels.shape} dtype {pixels.dtype}"
            )
        dlib = _require_dlib()
        out = np.empty((len(pixels), DESCRIPTOR_SIZE), dtype=np.float32)
        height, width = pixels.shape[1:3]
        box = dlib.rectangle(
            round(width * _CHIP_MARGIN),
            round(height * _CHIP_MARGIN),
            round(width * (1 - _CHIP_MARGIN)) - 1,
            round(height * (1 - _CHIP_MARGIN)) - 1,
        )
        with self._lock:
            for index, image in enumerate(pixels):
                image = np.ascontiguousarray(image)
                shape = self._shape_predictor(image, box)
                out[index] = np.asarray(
                    self._network.compute_face_descriptor(image, shape), dtype=np.float32
                )
        return out
