"""Paired comparison of face detectors on the same labelled images.

Every readable image is searched by every detector; per attribute cell, the
counts of each of the ``2**D`` detected/missed patterns of the ``D`` detectors
(``joint[cell, pattern]``, the bit of detector ``k`` being ``D - 1 - k`` of
``pattern``) hold everything: each detector's detection rate (exact interval)
and, for any two detectors, the paired 2x2 table per group, its exact McNemar
test and Newcombe's paired interval of the rate difference. The counts add up
over images, so shards and chunks sum.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit._saved import SavedResult
from fairaudit._version import __version__
from fairaudit.claims import rate_interval
from fairaudit.compare._paired import cell_names
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import cell_index
from fairaudit.functional._intervals import mcnemar_exact, paired_difference_interval
from fairaudit.functional._significance import holm
from fairaudit.inputs._read import read_table
from fairaudit.inputs._vocabularies import vocabularies_from_labels
from fairaudit.model_audit._counts import group_frame
from fairaudit.model_audit._detection import DETECTION_ATTRIBUTES, audit_detection
from fairaudit.model_audit._encoding import encode_labels
from fairaudit.model_audit._result import AuditResult
from fairaudit.model_audit._saved_form import integer_counts, vocab_from_json, vocab_to_json
from fairaudit.vocab import Vocabulary

__all__ = [
    "DETECTOR_PAIRS_FORMAT",
    "DETECTOR_PAIRS_FORMAT_VERSION",
    "DetectorPairs",
    "detector_pairs",
]

#: Name of the saved format (the ``format`` field of saved DetectorPairs).
DETECTOR_PAIRS_FORMAT = "fairaudit-detector-pairs"
#: Version of the saved format written by this library.
DETECTOR_PAIRS_FORMAT_VERSION = 1


def _by_tuple(by: str | Sequence[str] | None, attributes: Mapping[str, Vocabulary]) -> tuple:
    if by is None:
        names: tuple[str, ...] = ()
    elif isinstance(by, str):
        names = (by,)
    else:
        names = tuple(by)
    unknown = [b for b in names if b not in attributes]
    if unknown:
        raise DataValidationError(f"unknown attribute(s) {unknown}; known: {list(attributes)}")
    return names


class DetectorPairs(SavedResult):
    """Per-cell counts of which detectors found a face, for a paired comparison.

    Parameters
    ----------
    detectors : sequence of str
        The detectors' names, in pattern-bit order (at least one, no repeats).
    attributes : mapping of str to Vocabulary
        The attributes defining the cells (C order, as :class:`AuditResult`).
    joint : array-like of int, shape (n_cells, 2 ** len(detectors))
        Images per cell and detection pattern; the pattern's bit ``D - 1 - k``
        is 1 when detector ``k`` found a face (so with detectors ``(a, b)``,
        pattern 0 = neither, 1 = only b, 2 = only a, 3 = both).
    metadata : mapping, optional
        What the counts came from (images, detectors' settings, run times).
    """

    FORMAT = DETECTOR_PAIRS_FORMAT
    FORMAT_VERSION = DETECTOR_PAIRS_FORMAT_VERSION
    WHAT = "detector pairs"
    LABEL = "fairaudit detector pairs"

    def __init__(
        self,
        detectors: Sequence[str],
        attributes: Mapping[str, Vocabulary],
        joint: Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        names = tuple(str(d) for d in detectors)
        if not names or len(set(names)) != len(names):
            raise DataValidationError(f"detectors must be distinct names, got {list(names)}")
        self.detectors = names
        self.attributes = dict(attributes)
        counts = integer_counts(joint, what="detector pair counts")
        n_cells = int(np.prod([len(v) for v in self.attributes.values()], dtype=np.int64))
        expected = (n_cells, 2 ** len(names))
        if counts.shape != expected:
            raise DataValidationError(
                f"detector pair counts have shape {counts.shape}, expected {expected} "
                f"(cells x 2**{len(names)} detection patterns)"
            )
        self.joint = counts
        self.metadata = dict(metadata or {})

    # ------------------------------------------------------------ basics
    @property
    def n_images(self) -> int:
        """Images counted (readable and labelled)."""
        return int(self.joint.sum())

    def _repr_items(self) -> list[tuple[str, object]]:
        return [
            ("detectors", list(self.detectors)),
            ("attributes", list(self.attributes)),
            ("n_images", self.n_images),
        ]

    def __add__(self, other: DetectorPairs) -> DetectorPairs:
        """Counts of two disjoint sets of images (same detectors and cells)."""
        if (
            not isinstance(other, DetectorPairs)
            or self.detectors != other.detectors
            or list(self.attributes.items()) != list(other.attributes.items())
        ):
            raise DataValidationError("only counts of the same detectors and cells add up")
        return DetectorPairs(self.detectors, self.attributes, self.joint + other.joint)

    def _index(self, name: str) -> int:
        if name not in self.detectors:
            raise DataValidationError(f"unknown detector {name!r}; known: {list(self.detectors)}")
        return self.detectors.index(name)

    def _grouped(self, by: tuple[str, ...]) -> np.ndarray:
        """``joint`` summed to the groups of ``by`` (C order): (groups, patterns)."""
        shape = tuple(len(v) for v in self.attributes.values())
        full = self.joint.reshape(*shape, self.joint.shape[1])
        names = list(self.attributes)
        drop = tuple(i for i, n in enumerate(names) if n not in by)
        summed = full.sum(axis=drop) if drop else full
        kept = [n for n in names if n in by]
        order = [kept.index(b) for b in by] + [len(kept)]
        return summed.transpose(order).reshape(-1, self.joint.shape[1])

    def _detected_mask(self, k: int) -> np.ndarray:
        bit = len(self.detectors) - 1 - k
        return ((np.arange(self.joint.shape[1]) >> bit) & 1).astype(bool)

    def detection_counts(self, name: str) -> np.ndarray:
        """``[n_images, n_detected]`` per cell for one detector (as ``AuditResult.detection``)."""
        mask = self._detected_mask(self._index(name))
        return np.stack([self.joint.sum(axis=1), self.joint[:, mask].sum(axis=1)], axis=1)

    def pair_table(self, a: str, b: str, *, by: str | Sequence[str] | None = None) -> np.ndarray:
        """Paired 2x2 tables per group: ``table[g, found_by_a, found_by_b]``."""
        by_t = _by_tuple(by, self.attributes)
        grouped = self._grouped(by_t)
        mask_a = self._detected_mask(self._index(a))
        mask_b = self._detected_mask(self._index(b))
        out = np.zeros((grouped.shape[0], 2, 2), dtype=np.int64)
        for i, j in itertools.product((0, 1), (0, 1)):
            sel = (mask_a == bool(i)) & (mask_b == bool(j))
            out[:, i, j] = grouped[:, sel].sum(axis=1)
        return out

    # ------------------------------------------------------------ views
    def rates(
        self, *, by: str | Sequence[str] | None = None, confidence: float = 0.95
    ) -> pd.DataFrame:
        """Each detector's detection rate per group, with its exact interval.

        Returns
        -------
        pandas.DataFrame
            ``detector``, the ``by`` columns, ``n``, ``detected``, ``rate``,
            ``ci_low``, ``ci_high`` (NaN for empty groups).
        """
        by_t = _by_tuple(by, self.attributes)
        grouped = self._grouped(by_t)
        frames = []
        for k, name in enumerate(self.detectors):
            n = grouped.sum(axis=1)
            hit = grouped[:, self._detected_mask(k)].sum(axis=1)
            low, high = rate_interval(hit, n, confidence=confidence)
            frame = group_frame(self.attributes, by_t)
            frame.insert(0, "detector", name)
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(n > 0, hit / np.where(n > 0, n, 1), np.nan)
            frame = frame.assign(n=n, detected=hit, rate=rate, ci_low=low, ci_high=high)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def compare(
        self,
        a: str,
        b: str,
        *,
        by: str | Sequence[str] | None = None,
        confidence: float = 0.95,
    ) -> pd.DataFrame:
        """Detector ``b`` against ``a`` on the same images, per group.

        Returns
        -------
        pandas.DataFrame
            ``detector_a``, ``detector_b``, the ``by`` columns, ``n``, ``both``,
            ``a_only``, ``b_only``, ``neither``, ``rate_a``, ``rate_b``,
            ``difference`` (``rate_b - rate_a``), ``ci_low``, ``ci_high``
            (Newcombe's paired interval), ``p_mcnemar`` (exact, two-sided) and
            ``p_holm`` (Holm-adjusted over this table's non-empty groups).
        """
        by_t = _by_tuple(by, self.attributes)
        table = self.pair_table(a, b, by=by_t)
        both, a_only, b_only, neither = (
            table[:, 1, 1],
            table[:, 1, 0],
            table[:, 0, 1],
            table[:, 0, 0],
        )
        n = table.sum(axis=(1, 2))
        low, high = paired_difference_interval(both, a_only, b_only, neither, confidence=confidence)
        p = mcnemar_exact(a_only, b_only)
        with np.errstate(invalid="ignore", divide="ignore"):
            safe = np.where(n > 0, n, 1)
            rate_a = np.where(n > 0, (both + a_only) / safe, np.nan)
            rate_b = np.where(n > 0, (both + b_only) / safe, np.nan)
        p = np.where(n > 0, p, np.nan)
        adjusted = np.full(len(p), np.nan)
        defined = n > 0
        if defined.any():
            adjusted[defined] = holm(p[defined])
        frame = group_frame(self.attributes, by_t)
        frame.insert(0, "detector_b", b)
        frame.insert(0, "detector_a", a)
        return frame.assign(
            n=n,
            both=both,
            a_only=a_only,
            b_only=b_only,
            neither=neither,
            rate_a=rate_a,
            rate_b=rate_b,
            difference=rate_b - rate_a,
            ci_low=low,
            ci_high=high,
            p_mcnemar=p,
            p_holm=adjusted,
        )

    def comparisons(
        self, *, by: str | Sequence[str] | None = None, confidence: float = 0.95
    ) -> pd.DataFrame:
        """:meth:`compare` for every pair ``(a, b)`` of detectors, ``a`` listed first."""
        frames = [
            self.compare(a, b, by=by, confidence=confidence)
            for a, b in itertools.combinations(self.detectors, 2)
        ]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def check_audit(self, name: str, audit: AuditResult) -> None:
        """Verify that ``audit`` (a detector audit) has this detector's counts per cell.

        Raises
        ------
        DataValidationError
            Naming the first cells that disagree.
        """
        if list(audit.attributes.items()) != list(self.attributes.items()):
            raise DataValidationError(
                f"audit of {name!r} has attributes {list(audit.attributes)}, the pairs "
                f"{list(self.attributes)} (or other classes)"
            )
        mine = self.detection_counts(name)
        theirs = getattr(audit, "detection", None)
        if theirs is None or not np.array_equal(mine, np.asarray(theirs)):
            if theirs is None:
                raise DataValidationError(f"audit of {name!r} has no detection counts")
            bad = np.flatnonzero((mine != np.asarray(theirs)).any(axis=1))[:3]
            where = "; ".join(
                f"{g}: pairs {mine[c].tolist()}, audit {np.asarray(theirs)[c].tolist()}"
                for g, c in zip(cell_names(self.attributes, bad), bad, strict=True)
            )
            raise DataValidationError(
                f"the detector pairs do not match the audit of {name!r} ({where})"
            )

    # ------------------------------------------------------------ save / load
    def to_dict(self) -> dict[str, Any]:
        """The saved form, JSON-serialisable."""
        return {
            "format": DETECTOR_PAIRS_FORMAT,
            "format_version": DETECTOR_PAIRS_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "detectors": list(self.detectors),
            "attributes": [vocab_to_json(v) | {"attribute": a} for a, v in self.attributes.items()],
            "joint": self.joint.tolist(),
            "metadata": self.metadata,
        }

    @classmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> DetectorPairs:
        attributes = {str(a["attribute"]): vocab_from_json(a) for a in obj["attributes"]}
        return cls(obj["detectors"], attributes, obj["joint"], obj.get("metadata", {}))


def _table(run: Any, name: str) -> pd.DataFrame:
    table = getattr(run, "table", None)
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(run, pd.DataFrame | str | os.PathLike):
        return read_table(run, what=f"detections of {name!r}")
    raise DataValidationError(
        f"detections of {name!r} must be a DetectionRun, a DataFrame or a CSV/Parquet file, "
        f"got {type(run).__name__}"
    )


def detector_pairs(
    runs: Mapping[str, Any],
    *,
    attributes: Sequence[str] = DETECTION_ATTRIBUTES,
    on: str = "file",
    metadata: Mapping[str, Any] | None = None,
) -> DetectorPairs:
    """Counts for a paired comparison of detectors run on the same labelled images.

    Parameters
    ----------
    runs : mapping of str to DetectionRun, DataFrame or path
        Per detector name, what :func:`fairaudit.detect.detect_dataset` returned
        on a label table (or its saved table): one row per image with ``on``,
        ``n_faces``, ``status`` and the attribute columns.
    attributes : sequence of str, default=("gender", "age", "race")
        The attributes defining the cells.
    on : str, default="file"
        The column naming the image.
    metadata : mapping, optional
        Stored with the counts.

    Returns
    -------
    DetectorPairs
        Over the images readable for every detector. Each detector's counts
        equal those of :func:`audit_detection` on its run when no image is
        unreadable (checked).

    Raises
    ------
    DataValidationError
        The runs do not cover the same images, their labels differ, or a
        table lacks a column.
    """
    if not runs:
        raise DataValidationError("detector_pairs needs at least one detector's run")
    names = list(attributes)
    tables = {str(k): _table(v, str(k)) for k, v in runs.items()}
    first_name, first = next(iter(tables.items()))
    for name, table in tables.items():
        missing = [c for c in (on, "n_faces", "status", *names) if c not in table.columns]
        if missing:
            raise DataValidationError(
                f"detections of {name!r}: missing column(s) {missing}; run detect_dataset on a "
                "label table"
            )
        if table[on].astype(str).duplicated().any():
            raise DataValidationError(f"detections of {name!r}: {on!r} values listed twice")
    keys = first[on].astype(str)
    order = pd.Index(keys)
    readable = np.ones(len(first), dtype=bool)
    detected = []
    for name, table in tables.items():
        other = pd.Index(table[on].astype(str))
        if len(other) != len(order) or not other.isin(order).all():
            extra = other.difference(order)[:5].tolist()
            lacking = order.difference(other)[:5].tolist()
            raise DataValidationError(
                f"detections of {name!r} and {first_name!r} are not of the same images "
                f"({len(other)} vs {len(order)} rows; e.g. only in {name!r}: {extra}, only in "
                f"{first_name!r}: {lacking})"
            )
        aligned = table.set_index(table[on].astype(str)).loc[order]
        for column in names:
            if not (
                aligned[column].astype(str).to_numpy() == first[column].astype(str).to_numpy()
            ).all():
                raise DataValidationError(
                    f"detections of {name!r} and {first_name!r} have different {column!r} labels"
                )
        readable &= aligned["status"].astype(str).to_numpy() == "ok"
        n_faces = pd.to_numeric(aligned["n_faces"], errors="coerce").fillna(0).to_numpy()
        detected.append(n_faces >= 1)
    vocabs = vocabularies_from_labels(first, names, None)
    usable = first.loc[readable].reset_index(drop=True)
    if usable.empty:
        raise DataValidationError("no image is readable for every detector")
    codes = [
        encode_labels(usable[a], vocabs[a], what=f"labels[{a!r}] (readable images)") for a in names
    ]
    shape = tuple(len(vocabs[a]) for a in names)
    n_cells = int(np.prod(shape))
    cell = cell_index(codes, shape, n_rows=len(usable))
    d = len(tables)
    pattern = np.zeros(len(usable), dtype=np.int64)
    for k, found in enumerate(detected):
        pattern |= found[readable].astype(np.int64) << (d - 1 - k)
    joint = np.bincount(cell * 2**d + pattern, minlength=n_cells * 2**d).reshape(n_cells, 2**d)
    meta = {
        "n_images": int(len(usable)),
        "unreadable": int((~readable).sum()),
        "on": on,
    } | dict(metadata or {})
    pairs = DetectorPairs(tuple(tables), vocabs, joint, meta)
    if readable.all():
        for name, run in runs.items():
            audit = audit_detection(_table(run, str(name)), attributes=dict(vocabs), on=on)
            pairs.check_audit(str(name), audit)
    return pairs
