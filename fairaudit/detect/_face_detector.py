"""What a face detector is: the :class:`FaceDetector` protocol every detector meets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from fairaudit.detect._box import Box

__all__ = ["FaceDetector"]


@runtime_checkable
class FaceDetector(Protocol):
    """What :func:`detect_faces` needs from a face detector.

    Any object with this ``detect`` method can be plugged in. A detector that
    also has ``detect_with_scores(image) -> list[tuple[Box, float]]`` gives each
    face a score (as :class:`HaarCascadeDetector` does); otherwise scores are None.
    """

    def detect(self, image: np.ndarray) -> Sequence[Box]:
        """Face boxes in an RGB image.

        Parameters
        ----------
        image : numpy.ndarray
            Read-only RGB image, ``uint8`` of shape ``(height, width, 3)``.

        Returns
        -------
        sequence of Box
            One box per face, in image pixel coordinates, any order. A box may
            reach past the image border but must overlap the image.
        """
        ...
