"""The saved form of an audit (``docs/audit-format.md``): JSON fields to and from arrays.

:meth:`AuditCounts.to_dict <fairaudit.model_audit._counts.AuditCounts.to_dict>` writes
the fields of an audit as JSON-serialisable lists; :func:`audit_fields_from_dict` reads
them back as the keyword arguments of its constructor (the format and version are
checked by :class:`fairaudit._saved.SavedResult`). The constructor validates shapes and
values with the ``checked_*`` functions here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import Vocabulary

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "REGRESSION_STATS",
    "MAX_COUNT",
    "audit_fields_from_dict",
    "checked_calibration",
    "checked_regression",
    "checked_task_counts",
    "integer_counts",
    "stamped_metadata",
    "vocab_from_json",
    "vocab_to_json",
]

#: Name of the saved format (the ``format`` field of a saved audit).
AUDIT_FORMAT = "fairaudit-audit"
#: Version of the saved format written by this library.
AUDIT_FORMAT_VERSION = 1
#: Regression statistics kept per cell, in order.
REGRESSION_STATS = ("n", "error_sum", "abs_error_sum", "squared_error_sum")
#: The largest count a saved audit may hold (2**53: every integer up to it is exact in
#: a JSON number read as a double).
MAX_COUNT = 2**53


def integer_counts(values: Any, *, what: str, dtype: type = np.int64) -> np.ndarray:
    """Counts as an int64 array, refusing anything that is not a non-negative integer.

    Accepts integer arrays and nested lists of ints, and floats only when integral
    (``3.0``, as some JSON writers emit). Refuses strings, booleans, non-integral or
    non-finite floats, negative values and values above :data:`MAX_COUNT`; the
    message names ``what``, the position and the value.

    Raises
    ------
    DataValidationError
    """
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise DataValidationError(f"{what}: not a regular array of counts ({exc})") from None
    if not isinstance(values, np.ndarray) and arr.dtype.kind in "iuf" and arr.size:
        # JSON true/false become 1/0 in a numeric array: look at the values as given
        flags = np.vectorize(lambda v: isinstance(v, bool), otypes=[bool])(
            np.asarray(values, dtype=object)
        )
        if flags.shape == arr.shape and flags.any():
            where = np.argwhere(flags)[0]
            raise DataValidationError(
                f"{what} must be non-negative integers, got a boolean at position "
                f"{[int(i) for i in where]}"
            )
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr > MAX_COUNT)
    elif arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.floor(arr)) | (arr < 0) | (arr > MAX_COUNT)
    elif arr.dtype.kind == "O" and arr.size:
        flat = arr.ravel()
        ok = np.array(
            [
                isinstance(v, int | np.integer)
                and not isinstance(v, bool | np.bool_)
                and 0 <= v <= MAX_COUNT
                for v in flat.tolist()
            ],
            dtype=bool,
        ).reshape(arr.shape)
        bad = ~ok
    elif arr.size == 0:
        return np.zeros(arr.shape, dtype=dtype)
    else:  # strings, booleans
        first = np.unravel_index(0, arr.shape) if arr.ndim else ()
        value = arr[first].item() if arr.ndim else arr.item()
        raise DataValidationError(
            f"{what} must be non-negative integers, got {np.asarray(value).dtype.name} values "
            f"such as {value!r} at position {[int(i) for i in first]}"
        )
    if np.any(bad):
        where = np.argwhere(bad)[0] if arr.ndim else np.array([], dtype=int)
        value = arr[tuple(where)] if arr.ndim else arr.item()
        value = value.item() if hasattr(value, "item") else value
        raise DataValidationError(
            f"{what} must be non-negative integers of at most 2**53, got {value!r} at "
            f"position {[int(i) for i in where]} ({int(np.count_nonzero(bad))} bad value(s))"
        )
    return arr.astype(dtype)


def vocab_to_json(vocab: Vocabulary) -> dict[str, Any]:
    """A vocabulary as saved: name, classes, ordered."""
    return {"name": vocab.name, "classes": list(vocab.classes), "ordered": vocab.ordered}


def vocab_from_json(obj: Mapping[str, Any]) -> Vocabulary:
    """The vocabulary saved by :func:`vocab_to_json`."""
    return Vocabulary(str(obj["name"]), tuple(str(c) for c in obj["classes"]), bool(obj["ordered"]))


def checked_task_counts(
    tasks: Mapping[str, Vocabulary],
    counts: Mapping[str, Any],
    shape: Callable[[Vocabulary], tuple[int, ...]],
    *,
    what: str,
) -> dict[str, np.ndarray]:
    """Per-task count arrays, validated: one per task, of the expected shape, integers >= 0.

    Parameters
    ----------
    tasks : mapping of str to Vocabulary
        The tasks and their classes.
    counts : mapping of str to array-like
        The counts given.
    shape : callable
        The expected shape of a task's counts from its vocabulary.
    what : str
        Their name in messages (``"counts"``, ``"paired counts"``).

    Raises
    ------
    DataValidationError
        A task without counts, counts of an unknown task, a wrong shape, or values
        that are not non-negative integers (the message names the task).
    """
    out: dict[str, np.ndarray] = {}
    for task, vocab in tasks.items():
        if task not in counts:
            raise DataValidationError(f"no {what} for task {task!r}")
        arr = np.asarray(counts[task])
        expected = shape(vocab)
        if arr.shape != expected:
            raise DataValidationError(
                f"{what} of task {task!r} have shape {arr.shape}, expected {expected}"
            )
        if arr.size and arr.dtype.kind not in "iu":
            raise DataValidationError(
                f"{what} of task {task!r} must be non-negative integers, got dtype {arr.dtype}"
            )
        out[task] = integer_counts(arr, what=f"{what} of task {task!r}")
    extra = sorted(set(counts) - set(tasks))
    if extra:
        raise DataValidationError(f"{what} for unknown task(s) {extra}")
    _check_consistent_totals(out, what=what)
    return out


def _check_consistent_totals(counts: Mapping[str, np.ndarray], *, what: str) -> None:
    """Every task counts the same rows: equal totals per cell (first axis) across tasks."""
    totals = {t: c.reshape(c.shape[0], -1).sum(axis=1) for t, c in counts.items() if c.ndim}
    if len(totals) < 2:
        return
    first_task, first = next(iter(totals.items()))
    for task, total in totals.items():
        if total.shape != first.shape or not np.array_equal(total, first):
            cells = np.flatnonzero(total != first) if total.shape == first.shape else [0]
            cell = int(cells[0])
            raise DataValidationError(
                f"{what}: tasks disagree on how many rows were audited: {first_task!r} has "
                f"{int(first.sum())} row(s), {task!r} has {int(total.sum())} (first differing "
                f"cell {cell}: {int(first[cell])} vs {int(total[cell])}); every row is audited "
                "for every task"
            )


def row_totals(counts: np.ndarray) -> np.ndarray:
    """Rows per cell of a task's counts (first axis = cells)."""
    return counts.reshape(counts.shape[0], -1).sum(axis=1)


def checked_calibration(
    calibration: Mapping[str, Any] | None,
    counts: Mapping[str, np.ndarray],
    *,
    n_cells: int,
    n_bins: int,
) -> dict[str, np.ndarray]:
    """Calibration statistics ``(n_cells, n_bins, 3)`` = ``[n, correct, confidence_sum]``, checked.

    ``n`` and ``correct`` are integers with ``0 <= correct <= n``; ``confidence_sum``
    is finite and within ``[0, n]``; and the rows of a cell (``n`` summed over bins)
    equal the rows that cell holds in the task's counts.

    Raises
    ------
    DataValidationError
        Naming the task, the field, the cell and bin and the value.
    """
    out: dict[str, np.ndarray] = {}
    for task, given in (calibration or {}).items():
        try:
            arr = np.asarray(given, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"calibration statistics of {task!r} must be numbers ({exc})"
            ) from None
        if task not in counts or arr.shape != (n_cells, n_bins, 3):
            raise DataValidationError(
                f"calibration statistics of {task!r} have shape {arr.shape}, "
                f"expected {(n_cells, n_bins, 3)} for a known task"
            )
        n = integer_counts(arr[..., 0], what=f"calibration n of task {task!r}")
        correct = integer_counts(arr[..., 1], what=f"calibration correct of task {task!r}")
        conf = arr[..., 2]
        over = np.argwhere(correct > n)
        if over.size:
            cell, b = (int(i) for i in over[0])
            raise DataValidationError(
                f"calibration of task {task!r}: correct {int(correct[cell, b])} exceeds n "
                f"{int(n[cell, b])} in cell {cell}, bin {b}"
            )
        with np.errstate(invalid="ignore"):
            bad_conf = ~np.isfinite(conf) | (conf < -1e-6) | (conf > n * (1 + 1e-9) + 1e-6)
        if bad_conf.any():
            cell, b = (int(i) for i in np.argwhere(bad_conf)[0])
            raise DataValidationError(
                f"calibration of task {task!r}: confidence_sum {float(conf[cell, b])!r} is not "
                f"within [0, n={int(n[cell, b])}] in cell {cell}, bin {b}"
            )
        rows = row_totals(counts[task])
        cal_rows = n.sum(axis=1)
        differ = np.flatnonzero(cal_rows != rows)
        if differ.size:
            cell = int(differ[0])
            raise DataValidationError(
                f"calibration of task {task!r} counts {int(cal_rows.sum())} row(s) but its "
                f"counts hold {int(rows.sum())} (cell {cell}: {int(cal_rows[cell])} vs "
                f"{int(rows[cell])}); both must count the same rows"
            )
        out[task] = arr
    return out


def checked_regression(
    regression: Mapping[str, Any] | None, *, n_cells: int
) -> dict[str, np.ndarray]:
    """Regression sums per target, checked: shape, integral n, finite sums."""
    out: dict[str, np.ndarray] = {}
    for target, given in (regression or {}).items():
        arr = np.asarray(given, dtype=np.float64)
        if arr.shape != (n_cells, len(REGRESSION_STATS)):
            raise DataValidationError(
                f"regression sums of {target!r} have shape {arr.shape}, "
                f"expected {(n_cells, len(REGRESSION_STATS))}"
            )
        integer_counts(arr[:, 0], what=f"regression n of {target!r}")
        bad = ~np.isfinite(arr).all(axis=1) | (arr[:, 2] < 0) | (arr[:, 3] < 0)
        if bad.any():
            cell = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"regression sums of {target!r} must be finite, with non-negative absolute and "
                f"squared error sums; cell {cell} holds {arr[cell].tolist()}"
            )
        out[target] = arr
    return out


def stamped_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` with the library version and creation time, unless given."""
    out = dict(metadata or {})
    out.setdefault("library_version", __version__)
    out.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return out


def _float_array(values: Any, *, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in "iuf":
        raise DataValidationError(f"{what} must be numbers, got {arr.dtype.name} values")
    return arr.astype(np.float64)


def audit_fields_from_dict(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of a saved audit whose format and version are checked.

    Raises
    ------
    DataValidationError, KeyError, TypeError, ValueError
        A malformed field (:meth:`fairaudit._saved.SavedResult.from_dict` words the
        message and names the file).
    """
    tasks = {str(t["task"]): vocab_from_json(t) for t in obj["tasks"]}
    attributes = {str(a["attribute"]): vocab_from_json(a) for a in obj["attributes"]}
    calibration = {}
    for t, c in obj.get("calibration", {}).items():
        fields = [
            integer_counts(c["n"], what=f"calibration n of task {t!r}"),
            integer_counts(c["correct"], what=f"calibration correct of task {t!r}"),
            _float_array(c["confidence_sum"], what=f"calibration confidence_sum of {t!r}"),
        ]
        if len({f.shape for f in fields}) != 1:
            raise DataValidationError(
                f"calibration of task {t!r}: n, correct and confidence_sum have shapes "
                f"{[f.shape for f in fields]}"
            )
        calibration[t] = np.stack([f.astype(np.float64) for f in fields], axis=-1)
    regression = {
        t: np.stack(
            [
                _float_array(r[name], what=f"regression {name} of {t!r}")
                for name in REGRESSION_STATS
            ],
            axis=-1,
        )
        for t, r in obj.get("regression", {}).items()
    }
    counts = {t: integer_counts(c, what=f"counts of task {t!r}") for t, c in obj["counts"].items()}
    detection = None
    if obj.get("detection") is not None:
        saved = obj["detection"]
        n = integer_counts(saved["n"], what="detection n")
        detected = integer_counts(saved["detected"], what="detection detected")
        if n.shape != detected.shape:
            raise DataValidationError(
                f"detection n and detected have shapes {n.shape} and {detected.shape}"
            )
        detection = np.stack([n, detected], axis=-1)
    n_bins = obj["n_bins"]
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or not 1 <= n_bins <= 10_000:
        raise DataValidationError(f"n_bins must be an integer in [1, 10000], got {n_bins!r}")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise DataValidationError(f"metadata must be an object, got {type(metadata).__name__}")
    return dict(
        tasks=tasks,
        attributes=attributes,
        counts=counts,
        calibration=calibration,
        regression=regression,
        n_bins=n_bins,
        metadata=metadata,
        detection=detection,
    )
