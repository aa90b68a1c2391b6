"""Labels to integer codes of a vocabulary, with errors naming rows and values.

The codes feed the count tensor (:func:`fairaudit.functional.confusion_counts`); a
missing sensitive value becomes the explicit :data:`MISSING` group only when asked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import Vocabulary

__all__ = ["MISSING", "encode_labels"]

#: Class name of the explicit group that holds missing sensitive values when
#: ``missing="group"`` is chosen.
MISSING = "missing"


def encode_labels(
    values: object,
    vocab: Vocabulary,
    *,
    what: str,
    missing_code: int | None = None,
) -> np.ndarray:
    """Turn labels (or integer codes) into integer codes of ``vocab``.

    Parameters
    ----------
    values : array-like
        Class labels (strings, a pandas Categorical / Series), or integer codes
        in ``[0, len(vocab))`` when the array has an integer dtype.
    vocab : Vocabulary
        The declared classes.
    what : str
        Description for error messages, e.g. ``"y_true['age']"``.
    missing_code : int, optional
        Code given to missing values (``None``/NaN). When ``None`` (default), a
        missing value is an error like any unknown label.

    Returns
    -------
    numpy.ndarray
        One code per value; a small integer dtype is kept for integer input
        (the hot path of large audits), int64 otherwise.

    Raises
    ------
    UnknownLabelError
        A label is not a class of ``vocab`` (the message names rows and values).
    DataValidationError
        An integer code lies outside the vocabulary, or the input is not 1-D.
    """
    if isinstance(values, pd.Series | pd.Index):
        series = pd.Series(values)
    elif isinstance(values, pd.Categorical):
        series = pd.Series(values)
    else:
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise DataValidationError(f"{what} must be one-dimensional, got shape {arr.shape}")
        if arr.dtype.kind in "iu":
            return _check_codes(arr, vocab, what=what)
        series = pd.Series(arr, dtype="object" if arr.dtype.kind != "O" else None)
    if series.ndim != 1:
        raise DataValidationError(f"{what} must be one-dimensional")
    if isinstance(series.dtype, pd.CategoricalDtype):
        if list(series.cat.categories) == list(vocab.classes):
            codes = series.cat.codes.to_numpy(dtype=np.int64)
            if missing_code is not None:
                codes[codes < 0] = missing_code
            if not (codes < 0).any():
                return codes
    elif pd.api.types.is_integer_dtype(series.dtype) and not series.isna().any():
        return _check_codes(series.to_numpy(dtype=np.int64), vocab, what=what)
    if missing_code is not None:
        series = series.reset_index(drop=True).astype("object")
        na = series.isna().to_numpy()
        # missing values get a placeholder class so rows keep their numbers in errors
        codes = vocab.encode(series.where(~na, vocab.classes[0]), source=what)
        codes[na] = missing_code
        return codes
    return vocab.encode(series.reset_index(drop=True), source=what)


def _check_codes(arr: np.ndarray, vocab: Vocabulary, *, what: str) -> np.ndarray:
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= len(vocab):
            bad = np.flatnonzero((arr < 0) | (arr >= len(vocab)))[:10]
            raise DataValidationError(
                f"{what}: integer codes must lie in [0, {len(vocab) - 1}] (classes "
                f"{list(vocab.classes)}), got {arr[bad].tolist()} at row(s) {(bad + 1).tolist()}"
            )
    return arr
