"""The count tensor: one vectorised pass, and sums over coarser groupings.

Every count-based metric of an audit derives from one integer tensor per task,
``counts[cell, true, pred]``, where ``cell`` is the mixed-radix code of the
sensitive attributes of a row (``np.ravel_multi_index`` over their vocabularies,
e.g. gender x age x race = 2 * 9 * 7 = 126 cells). The tensor is built with a
single :func:`numpy.bincount` over ``cell * C * C + true * C + pred``; coarser
groupings (gender alone, age x race, ...) are sums over axes of the reshaped
tensor. Counts of several batches, shards or partitions simply add up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fairaudit.exceptions import DataValidationError

__all__ = [
    "cell_index",
    "confusion_counts",
    "group_sum",
    "group_sums",
    "mixed_radix_index",
    "normalize_by",
]


def cell_index(codes: Sequence[np.ndarray], shape: Sequence[int], *, n_rows: int) -> np.ndarray:
    """Mixed-radix code of each row's cell (``np.ravel_multi_index``).

    With no attributes, every row belongs to the single cell 0.
    """
    if not codes:
        return np.zeros(n_rows, dtype=np.int64)
    return np.ravel_multi_index(tuple(codes), tuple(shape)).astype(np.int64, copy=False)


def confusion_counts(
    cell: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, *, n_cells: int, n_classes: int
) -> np.ndarray:
    """Count tensor ``(n_cells, C, C)`` of one task in a single bincount.

    Parameters
    ----------
    cell, y_true, y_pred : numpy.ndarray of int
        Cell code, true class code and predicted class code of each row
        (already validated).
    n_cells, n_classes : int
        Sizes of the axes.

    Returns
    -------
    numpy.ndarray of int64, shape (n_cells, n_classes, n_classes)
        ``counts[c, t, p]`` is the number of rows of cell ``c`` with true class
        ``t`` predicted as ``p``.
    """
    index = mixed_radix_index((cell, y_true, y_pred), (n_cells, n_classes, n_classes))
    flat = np.bincount(index, minlength=n_cells * n_classes * n_classes)
    return flat.astype(np.int64, copy=False).reshape(n_cells, n_classes, n_classes)


def mixed_radix_index(
    codes: Sequence[np.ndarray], shape: Sequence[int], *, out: np.ndarray | None = None
) -> np.ndarray:
    """The mixed-radix code of validated integer codes, as :func:`numpy.ravel_multi_index`.

    Horner's scheme in place in one int64 array (``((c0 * s1 + c1) * s2 + c2) ...``):
    one pass per code and no temporary, whatever the codes' integer dtypes (int8 codes
    of a large audit are never widened). The codes must lie in ``[0, shape[i])``;
    nothing checks it here (their encoding did).

    Parameters
    ----------
    codes : sequence of numpy.ndarray of int
        One code array per axis, all of the same length (at least one).
    shape : sequence of int
        Size of each axis.
    out : numpy.ndarray of int64, optional
        Where to write the result (any earlier content is overwritten).

    Returns
    -------
    numpy.ndarray of int64
    """
    first = codes[0]
    if out is None:
        out = np.empty(len(first), dtype=np.int64)
    if len(codes) == 1:
        out[...] = first
        return out
    np.multiply(first, shape[1], out=out, dtype=np.int64)  # the copy and the first product
    out += codes[1]
    for code, size in zip(codes[2:], shape[2:], strict=True):
        out *= size
        out += code
    return out


def normalize_by(by: str | Sequence[str] | None, names: Sequence[str]) -> tuple[str, ...]:
    """Validate a grouping: ``None`` (overall), one attribute name, or several."""
    if by is None:
        return ()
    by_tuple = (by,) if isinstance(by, str) else tuple(by)
    unknown = [b for b in by_tuple if b not in names]
    if unknown:
        raise DataValidationError(
            f"unknown sensitive attribute(s) {unknown}; this audit has {list(names)}"
        )
    if len(set(by_tuple)) != len(by_tuple):
        raise DataValidationError(f"attribute repeated in by={list(by_tuple)}")
    return by_tuple


def group_sum(
    array: np.ndarray,
    shape: Sequence[int],
    names: Sequence[str],
    by: Sequence[str],
    *,
    n_trailing: int,
) -> np.ndarray:
    """Sum cell statistics over the attributes not in ``by``.

    Parameters
    ----------
    array : numpy.ndarray, shape (*lead, n_cells, *trailing)
        Per-cell statistics (counts, sums), with any leading axes (bootstrap
        replicates) and ``n_trailing`` trailing axes (e.g. 2 for ``(C, C)``).
    shape : sequence of int
        Number of classes of each sensitive attribute (the mixed radix).
    names : sequence of str
        Attribute names, in the order of ``shape``.
    by : sequence of str
        Attributes to keep, in the order wanted in the output.
    n_trailing : int
        Number of trailing statistic axes.

    Returns
    -------
    numpy.ndarray, shape (*lead, *[shape of by], *trailing)
    """
    n_lead = array.ndim - 1 - n_trailing
    lead = array.shape[:n_lead]
    trailing = array.shape[array.ndim - n_trailing :]
    full = array.reshape(*lead, *shape, *trailing)
    keep = [names.index(b) for b in by]
    drop = tuple(n_lead + i for i in range(len(shape)) if i not in keep)
    summed = full.sum(axis=drop) if drop else full
    # remaining attribute axes are in original order; reorder them as in ``by``
    remaining = sorted(keep)
    order = [remaining.index(k) for k in keep]
    perm = (
        list(range(n_lead))
        + [n_lead + o for o in order]
        + list(range(n_lead + len(keep), summed.ndim))
    )
    return summed.transpose(perm)


def group_sums(
    array: np.ndarray,
    shape: Sequence[int],
    names: Sequence[str],
    groupings: Sequence[Sequence[str]],
    *,
    n_trailing: int,
) -> dict[tuple[str, ...], np.ndarray]:
    """:func:`group_sum` of several groupings, each summed from the finest one already done.

    Summing a coarse grouping (``("race",)``) from a finer one already computed
    (``("gender", "race")``) instead of from every cell gives the same sums at a
    fraction of the cost when many groupings of large arrays (bootstrap
    replicates) are wanted.

    Parameters
    ----------
    array, shape, names, n_trailing
        As :func:`group_sum`.
    groupings : sequence of sequence of str
        The ``by`` of each wanted sum.

    Returns
    -------
    dict of tuple of str to numpy.ndarray
        ``{tuple(by): group_sum(array, shape, names, by, n_trailing=n_trailing)}``.

    Examples
    --------
    >>> counts = np.arange(12).reshape(6, 2)  # 2 x 3 cells, 2 statistics
    >>> sums = group_sums(counts, [2, 3], ["a", "b"], [("b",), (), ("b", "a")], n_trailing=1)
    >>> sums[()].tolist(), sums[("b",)].shape, sums[("b", "a")].shape
    ([30, 36], (3, 2), (3, 2, 2))
    """
    n_lead = array.ndim - 1 - n_trailing
    lead = array.shape[:n_lead]
    trailing = array.shape[array.ndim - n_trailing :]
    position = {name: i for i, name in enumerate(names)}
    canonical = {tuple(by): tuple(sorted(by, key=position.__getitem__)) for by in groupings}
    done: dict[tuple[str, ...], np.ndarray] = {
        tuple(names): array.reshape(*lead, *shape, *trailing)
    }
    for key in sorted(set(canonical.values()), key=len, reverse=True):
        if key in done:
            continue
        source = min(
            (k for k in done if set(key) <= set(k)),
            key=lambda k: int(np.prod([shape[position[n]] for n in k])),
        )
        drop = tuple(n_lead + i for i, n in enumerate(source) if n not in key)
        done[key] = done[source].sum(axis=drop)
    out = {}
    for by, key in canonical.items():
        order = [key.index(name) for name in by]
        perm = [*range(n_lead), *(n_lead + o for o in order)]
        perm += list(range(n_lead + len(key), done[key].ndim))
        out[by] = done[key].transpose(perm)
    return out
