"""The saved form of an audit (``docs/audit-format.md``): JSON fields to and from arrays.

:func:`audit_to_dict` writes the fields of an :class:`~fairaudit.metrics.AuditResult`
as JSON-serialisable lists; :func:`audit_fields_from_dict` reads them back as the
keyword arguments of its constructor, refusing other formats and versions. The
constructor validates shapes and values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError, FairAuditError
from fairaudit.vocab import Vocabulary

if TYPE_CHECKING:
    from fairaudit.metrics._result import AuditResult

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "REGRESSION_STATS",
    "audit_fields_from_dict",
    "audit_to_dict",
    "check_saved_format",
    "checked_task_counts",
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


def vocab_to_json(vocab: Vocabulary) -> dict[str, Any]:
    """A vocabulary as saved: name, classes, ordered."""
    return {"name": vocab.name, "classes": list(vocab.classes), "ordered": vocab.ordered}


def vocab_from_json(obj: Mapping[str, Any]) -> Vocabulary:
    """The vocabulary saved by :func:`vocab_to_json`."""
    return Vocabulary(str(obj["name"]), tuple(str(c) for c in obj["classes"]), bool(obj["ordered"]))


def check_saved_format(
    obj: object, *, expected: str, version: int, label: str, what: str, source: str
) -> None:
    """Refuse a saved object of another format or format version.

    Parameters
    ----------
    obj : object
        The parsed JSON.
    expected, version : str, int
        The ``format`` and ``format_version`` fields this library reads.
    label : str
        What the object should be, in "not {label}" (``"a fairaudit audit"``).
    what : str
        Its name before "format_version" (``"audit"``).
    source : str
        Where it came from, for the message.

    Raises
    ------
    DataValidationError
    """
    found = obj.get("format") if isinstance(obj, Mapping) else None
    if found != expected:
        raise DataValidationError(
            f"{source}: not {label} (format field {found!r}, expected {expected!r})"
        )
    found_version = obj.get("format_version")
    if found_version != version:
        raise DataValidationError(
            f"{source}: {what} format_version {found_version!r} is not supported by fairaudit "
            f"{__version__}, which reads version {version}"
        )


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
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0):
            raise DataValidationError(f"{what} of task {task!r} must be non-negative integers")
        out[task] = arr.astype(np.int64, copy=False)
    extra = sorted(set(counts) - set(tasks))
    if extra:
        raise DataValidationError(f"{what} for unknown task(s) {extra}")
    return out


def stamped_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` with the library version and creation time, unless given."""
    out = dict(metadata or {})
    out.setdefault("library_version", __version__)
    out.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return out


def audit_to_dict(result: AuditResult) -> dict[str, Any]:
    """The saved form of ``result`` (see ``docs/audit-format.md``), JSON-serialisable."""
    saved = {
        "format": AUDIT_FORMAT,
        "format_version": AUDIT_FORMAT_VERSION,
        "library_version": __version__,
        "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "metadata": result.metadata,
        "tasks": [vocab_to_json(v) | {"task": t} for t, v in result.tasks.items()],
        "attributes": [vocab_to_json(v) | {"attribute": a} for a, v in result.attributes.items()],
        "n_bins": result.n_bins,
        "counts": {t: c.tolist() for t, c in result.counts.items()},
        "calibration": {
            t: {
                "n": c[..., 0].astype(np.int64).tolist(),
                "correct": c[..., 1].astype(np.int64).tolist(),
                "confidence_sum": c[..., 2].tolist(),
            }
            for t, c in result.calibration_sums.items()
        },
        "regression": {
            t: {name: r[:, i].tolist() for i, name in enumerate(REGRESSION_STATS)}
            for t, r in result.regression.items()
        },
    }
    if result.detection is not None:
        saved["detection"] = {
            "n": result.detection[:, 0].tolist(),
            "detected": result.detection[:, 1].tolist(),
        }
    return saved


def audit_fields_from_dict(obj: Mapping[str, Any], *, source: str = "audit") -> dict[str, Any]:
    """The constructor arguments of a saved audit, refusing other formats and versions."""
    check_saved_format(
        obj,
        expected=AUDIT_FORMAT,
        version=AUDIT_FORMAT_VERSION,
        label="a fairaudit audit",
        what="audit",
        source=source,
    )
    try:
        tasks = {str(t["task"]): vocab_from_json(t) for t in obj["tasks"]}
        attributes = {str(a["attribute"]): vocab_from_json(a) for a in obj["attributes"]}
        calibration = {
            t: np.stack(
                [
                    np.asarray(c["n"], dtype=np.float64),
                    np.asarray(c["correct"], dtype=np.float64),
                    np.asarray(c["confidence_sum"], dtype=np.float64),
                ],
                axis=-1,
            )
            for t, c in obj.get("calibration", {}).items()
        }
        regression = {
            t: np.stack(
                [np.asarray(r[name], dtype=np.float64) for name in REGRESSION_STATS], axis=-1
            )
            for t, r in obj.get("regression", {}).items()
        }
        counts = {t: np.asarray(c, dtype=np.int64) for t, c in obj["counts"].items()}
        detection = None
        if obj.get("detection") is not None:
            saved = obj["detection"]
            detection = np.stack([np.asarray(saved["n"]), np.asarray(saved["detected"])], axis=-1)
        return dict(
            tasks=tasks,
            attributes=attributes,
            counts=counts,
            calibration=calibration,
            regression=regression,
            n_bins=int(obj["n_bins"]),
            metadata=obj.get("metadata", {}),
            detection=detection,
        )
    except FairAuditError as exc:
        raise DataValidationError(f"{source}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise DataValidationError(f"{source}: malformed audit file ({exc!r})") from exc
