"""CIELAB from sRGB (D65) and the Individual Typology Angle (ITA) of skin, with its bins.

The conversion is written out here (numpy only) so that the core install needs no
image-processing library; ``tests/attributes`` checks it against
``skimage.color.rgb2lab``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fairaudit.vocab import Vocabulary

__all__ = [
    "ITA_EDGES",
    "SKIN_TONE",
    "SKIN_TYPE",
    "SKIN_TYPE_EDGE",
    "individual_typology_angle",
    "skin_tone_category",
    "skin_type_category",
    "srgb_to_lab",
]

#: sRGB (linear) -> CIE XYZ, D65 white (IEC 61966-2-1; the matrix scikit-image uses).
_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
#: The D65 reference white (CIE 1931 2-degree observer), ``Y = 1``.
_D65 = np.array([0.95047, 1.0, 1.08883])
_EPSILON = 216 / 24389  # (6/29)**3
_KAPPA = 24389 / 27

#: The six ITA skin-tone categories (Chardon et al. 1991; Del Bino & Bernerd 2013), lightest
#: first: very light > 55 >= light > 41 >= intermediate > 28 >= tan > 10 >= brown > -30 >= dark.
SKIN_TONE = Vocabulary(
    "skin_tone", ("very light", "light", "intermediate", "tan", "brown", "dark"), ordered=True
)
#: The ITA category edges, in degrees, from the top: a value above ``ITA_EDGES[k]`` and at
#: most the edge before it falls in ``SKIN_TONE.classes[k]``; at most -30 is ``"dark"``.
ITA_EDGES: tuple[float, ...] = (55.0, 41.0, 28.0, 10.0, -30.0)

#: Lighter (ITA > 28: very light, light, intermediate) vs darker (ITA <= 28: tan, brown,
#: dark): the split used as a proxy for Fitzpatrick skin types I-III vs IV-VI.
SKIN_TYPE = Vocabulary("skin_type", ("lighter", "darker"), ordered=True)
#: The ITA, in degrees, at and below which a face is "darker".
SKIN_TYPE_EDGE = 28.0


def srgb_to_lab(rgb: ArrayLike) -> np.ndarray:
    """CIELAB (D65, 2-degree observer) of sRGB colours.

    Parameters
    ----------
    rgb : array-like, shape (..., 3)
        sRGB colours: ``uint8`` (0-255) or floats in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of float64, shape (..., 3)
        ``L*`` (0-100), ``a*``, ``b*``.

    Notes
    -----
    The sRGB transfer curve is undone (``c / 12.92`` up to 0.04045, else
    ``((c + 0.055) / 1.055) ** 2.4``), the linear values mapped to XYZ by the sRGB
    matrix, divided by the D65 white, and ``f(t) = t ** (1/3)`` above
    ``(6/29) ** 3`` (else ``(kappa t + 16) / 116``) gives ``L* = 116 f(Y) - 16``,
    ``a* = 500 (f(X) - f(Y))``, ``b* = 200 (f(Y) - f(Z))``.
    """
    arr = np.asarray(rgb)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"srgb_to_lab needs colours along a last axis of 3, got shape {arr.shape}")
    c = arr / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = (linear @ _XYZ_FROM_RGB.T) / _D65
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0)
    lab = np.empty(f.shape, dtype=np.float64)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def individual_typology_angle(lightness: ArrayLike, b_star: ArrayLike) -> np.ndarray:
    """ITA in degrees: ``arctan((L* - 50) / b*) * 180 / pi``.

    Higher is lighter skin. ``b* = 0`` gives +-90 (the sign of ``L* - 50``), and
    ``L* = 50, b* = 0`` gives NaN; a negative ``b*`` (a bluish, not a skin colour)
    is returned as the formula gives it.
    """
    lightness = np.asarray(lightness, dtype=np.float64)
    b_star = np.asarray(b_star, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.degrees(np.arctan((lightness - 50.0) / b_star))


def skin_tone_category(ita: ArrayLike) -> np.ndarray:
    """The ITA category of each value (:data:`SKIN_TONE`), ``None`` where ITA is NaN."""
    values = np.asarray(ita, dtype=np.float64)
    # the number of edges a value does not exceed is its category's position
    index = (values[..., None] <= np.asarray(ITA_EDGES)).sum(axis=-1)
    out = np.asarray(SKIN_TONE.classes, dtype=object)[index]
    return np.where(np.isnan(values), None, out)


def skin_type_category(ita: ArrayLike) -> np.ndarray:
    """``"lighter"`` (ITA > 28) or ``"darker"`` (ITA <= 28), ``None`` where ITA is NaN."""
    values = np.asarray(ita, dtype=np.float64)
    out = np.where(values > SKIN_TYPE_EDGE, SKIN_TYPE.classes[0], SKIN_TYPE.classes[1])
    return np.where(np.isnan(values), None, out.astype(object))
