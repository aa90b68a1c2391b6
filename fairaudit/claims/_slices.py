"""A slice against the rest of the rows: one-sided shortfall, FDR-controlled discoveries.

For a rate (accuracy, a class's recall or selection rate), each slice ``s`` is compared
with the rows outside it: the shortfall ``effect = rate(rest) - rate(s)``. The
procedure, chosen by the simulations of ``benchmarks/bench_validity.py``
(``docs/statistics.md``):

- each slice's p-value of "no shortfall" is the one-sided inversion of the
  square-and-add interval of the difference built from exact (Clopper-Pearson) limits
  (the level at which its lower bound reaches 0); Newcombe's Wilson-based interval
  loses its size in that tail (docs/statistics.md);
- Benjamini-Hochberg over every slice tested (the declared family) gives the
  discoveries at false discovery rate ``fdr``;
- every slice's interval is that square-and-add interval at the false-coverage level of
  Benjamini and Yekutieli (``fdr * max(R, 1) / M`` in the lower tail, the same in the
  upper), so a slice is discovered exactly when its interval lies above 0;
- the smallest detectable shortfall is the one a slice of its size would show with
  80% power at that level.
"""

from __future__ import annotations

import numpy as np

from fairaudit.claims._gaps import LIMITS, TAIL_LIMITS
from fairaudit.claims._levels import (
    critical_z,
    detectable_difference,
    fdr_select,
    inversion_p_value,
)
from fairaudit.functional._intervals import exact_difference_lower, newcombe_lower

__all__ = ["SLICE_METHODS", "slice_claims"]

#: The ``method`` of slice claims, by limits.
SLICE_METHODS = {
    "exact": "exact square-and-add, one-sided; Benjamini-Hochberg (FCR-adjusted interval)",
    "wilson": "Newcombe, one-sided; Benjamini-Hochberg (FCR-adjusted interval)",
}
#: The lower bound of the difference alone, by limits: all the one-sided inversion needs.
_LOWER = {"exact": exact_difference_lower, "wilson": newcombe_lower}


def slice_claims(
    hits: np.ndarray,
    n: np.ndarray,
    rest_hits: np.ndarray,
    rest_n: np.ndarray,
    *,
    fdr: float = 0.05,
    limits: str = TAIL_LIMITS,
) -> dict[str, np.ndarray | float]:
    """Shortfall of each slice against the rest, with its interval and FDR verdict.

    Parameters
    ----------
    hits, n : numpy.ndarray of int, shape (S,)
        Successes and rows (of the rate's denominator) of each tested slice.
    rest_hits, rest_n : numpy.ndarray of int, shape (S,)
        The same for the rows outside each slice.
    fdr : float, default=0.05
        False discovery rate over the ``S`` slices.
    limits : {"exact", "wilson"}, default="exact"
        Limits of each proportion combined by square-and-add.

    Returns
    -------
    dict
        ``effect`` (rest rate minus slice rate), ``lower``/``upper`` (square-and-add at
        the FCR level), ``level`` (that interval's coverage, a float), ``p_value``
        (one-sided), ``q_value`` (Benjamini-Hochberg), ``discovered`` (``q <= fdr``,
        equivalently ``lower > 0``) and ``detectable`` (the shortfall a slice of
        this size detects with 80% power at the interval's level).
    """
    x1, n1 = np.asarray(rest_hits, dtype=np.float64), np.asarray(rest_n, dtype=np.float64)
    x2, n2 = np.asarray(hits, dtype=np.float64), np.asarray(n, dtype=np.float64)
    shape = x1.shape
    newcombe_bounds = LIMITS[limits][1]
    lower_bound = _LOWER[limits]

    def excludes(z: np.ndarray) -> np.ndarray:
        return lower_bound(x1, n1, x2, n2, z) > 0

    p = inversion_p_value(excludes, shape, sides=1)
    q, discovered, alpha = fdr_select(p, fdr)
    z = critical_z(alpha, sides=1)
    lower, upper = newcombe_bounds(x1, n1, x2, n2, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = x1 / n1 - x2 / n2
    detectable = detectable_difference(x1 + x2, n1 + n2, n1, n2, z)
    return {
        "effect": effect,
        "lower": lower,
        "upper": upper,
        "level": 1.0 - 2.0 * alpha,
        "p_value": p,
        "q_value": q,
        "discovered": discovered & (lower > 0),
        "detectable": detectable,
    }
