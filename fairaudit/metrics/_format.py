"""The saved form of an audit (``docs/audit-format.md``): JSON fields to and from arrays.

:func:`audit_to_dict` writes the fields of an :class:`~fairaudit.metrics.AuditResult`
as JSON-serialisable lists; :func:`audit_fields_from_dict` reads them back as the
keyword arguments of its constructor, refusing other formats and versions. The
constructor validates shapes and values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
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
    found = obj.get("format") if isinstance(obj, Mapping) else None
    if found != AUDIT_FORMAT:
        raise DataValidationError(
            f"{source}: not a fairaudit audit (format field {found!r}, expected {AUDIT_FORMAT!r})"
        )
    version = obj.get("format_version")
    if version != AUDIT_FORMAT_VERSION:
        raise DataValidationError(
            f"{source}: audit format_version {version!r} is not supported by fairaudit "
            f"{__version__}, which reads version {AUDIT_FORMAT_VERSION}"
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
