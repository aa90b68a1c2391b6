"""Stage 1 over a predictions file read in chunks: what only the whole table shows.

A predictions file too large to hold in memory is read twice. First over a few
columns only (the key, ``status``, and the attributes whose classes come from their
values) by :func:`scan_keys`, for what stage 1 of the in-memory audit sees on the
whole table: the rows left out for their status, keys that repeat (within a chunk
or across chunks), prediction rows without a label row, and the classes of the
inferred attributes. Then in full, chunk by chunk, through
:func:`~fairaudit.inputs._prepare.read_and_join` and
:func:`~fairaudit.inputs._prepare.finish` with those facts, each chunk joined to the
label rows its keys name (:class:`LabelKeys`).

Repeated keys are found from a 64-bit hash of every readable key (8 bytes a row),
and every repeat the hashes suggest is confirmed on the keys themselves before it
is reported, so a hash collision never refuses a table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.inputs._join import check_unique_keys, refuse_or_warn_unmatched, repeated_keys_error
from fairaudit.inputs._prepare import LabelTable, inferred_classes
from fairaudit.inputs._read import read_table_chunks
from fairaudit.inputs._repairs import apply_label_repairs
from fairaudit.inputs._spec import InputSpec
from fairaudit.inputs._status import readable_rows
from fairaudit.inputs._vocabularies import as_str_labels
from fairaudit.schema import STATUS_COLUMN
from fairaudit.vocab import Vocabulary

__all__ = ["KeyScan", "LabelKeys", "numbered_chunks", "scan_keys"]

#: Label keys hashed and compared at a time (bounds the Python objects made at once).
_BLOCK = 1_000_000


def numbered_chunks(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """The chunks of a predictions file with the file row number of each one's first row."""
    first_row = 1
    for chunk in read_table_chunks(
        path, what="predictions", chunk_rows=chunk_rows, columns=columns
    ):
        chunk = chunk.reset_index(drop=True)
        yield first_row, chunk
        first_row += len(chunk)


class LabelKeys:
    """The labels' keys, indexed once, so that each chunk finds its label rows without
    hashing the whole labels table again.

    The index is the sorted 64-bit hashes of the distinct keys (8 bytes a key, and a
    label row per distinct key), not the keys as Python objects; every hit is
    confirmed on the keys themselves. Labels whose distinct keys share a hash (about
    one table in 10^6 at 10^7 rows) are indexed by their keys instead. Missing keys
    match missing keys, as in the join (:func:`pandas.merge`).
    """

    def __init__(self, labels: LabelTable, *, on: str) -> None:
        self.labels = labels
        self.on = on
        keys = labels.frame[on]
        self.null_rows = keys.isna().to_numpy()
        present = np.flatnonzero(~self.null_rows)
        hashes = np.concatenate(
            [np.empty(0, dtype=np.uint64)]
            + [
                _key_hashes(keys.iloc[present[i : i + _BLOCK]])
                for i in range(0, len(present), _BLOCK)
            ]
        )
        self._hashes, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        del hashes
        self._first = present[first]  # a label row of each distinct key
        self._codes = np.full(len(keys), -1, dtype=np.int64)  # per row: its distinct key
        self._codes[present] = inverse
        del inverse
        self._exact: pd.Index | None = None
        same = np.ones(len(present), dtype=bool)
        for i in range(0, len(present), _BLOCK):
            rows = present[i : i + _BLOCK]
            same[i : i + _BLOCK] = self._same(keys.iloc[rows], self._first[self._codes[rows]])
        if not same.all():  # distinct keys with one hash: index the keys themselves
            codes, unique = pd.factorize(keys.to_numpy(dtype=object), use_na_sentinel=True)
            self._exact = pd.Index(unique, dtype=object)
            self._codes = codes
        self.n_distinct = len(self._exact) if self._exact is not None else len(self._hashes)

    def _same(self, keys: pd.Series, label_rows: np.ndarray) -> np.ndarray:
        """Per key: whether it equals the key of the label row beside it."""
        theirs = self.labels.frame[self.on].iloc[label_rows].to_numpy(dtype=object)
        return np.asarray(keys.to_numpy(dtype=object) == theirs, dtype=bool)

    def positions(self, keys: pd.Series) -> np.ndarray:
        """Per key: its place among the labels' distinct keys, -1 if none (missing: -1)."""
        present = np.flatnonzero(keys.notna().to_numpy())
        out = np.full(len(keys), -1, dtype=np.int64)
        if not present.size:
            return out
        values = keys.iloc[present]
        if self._exact is not None:
            out[present] = self._exact.get_indexer(values.to_numpy(dtype=object))
            return out
        if not self._hashes.size:
            return out
        hashes = _key_hashes(values)
        place = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        hit = np.flatnonzero(self._hashes[place] == hashes)
        confirmed = hit[self._same(values.iloc[hit], self._first[place[hit]])]
        out[present[confirmed]] = place[confirmed]
        return out

    def matched(self, keys: pd.Series, positions: np.ndarray) -> np.ndarray:
        """Per key: whether a label row holds it (a missing key matches a missing key)."""
        hit = positions >= 0
        if self.null_rows.any():
            hit |= keys.isna().to_numpy()
        return hit

    def rows_for(self, keys: pd.Series) -> LabelTable:
        """The label rows ``keys`` name (the part of the labels a chunk joins to)."""
        marked = np.zeros(self.n_distinct + 1, dtype=bool)
        found = self.positions(keys)
        marked[found[found >= 0]] = True
        rows = marked[self._codes]  # -1 reads the last, never-marked slot
        if keys.isna().any():
            rows |= self.null_rows
        return replace(self.labels, frame=self.labels.frame.loc[rows])

    def rows_of(self, distinct: np.ndarray) -> np.ndarray:
        """A mask of the label rows whose key is marked in ``distinct`` (per distinct key)."""
        return np.append(distinct, False)[self._codes]


@dataclass
class KeyScan:
    """What :func:`scan_keys` found over the whole predictions file.

    Attributes
    ----------
    n_rows : int
        Rows in the file.
    status : dict of str to int
        Rows left out per ``status`` value, ordered as :func:`readable_rows` orders them.
    status_rows_with_label : int
        Rows left out for their status whose key the labels hold.
    inferred : dict of str to Vocabulary
        The classes of the attributes inferred from their values, over the joined rows.
    """

    n_rows: int = 0
    status: dict[str, int] = field(default_factory=dict)
    status_rows_with_label: int = 0
    inferred: dict[str, Vocabulary] = field(default_factory=dict)


def scan_keys(
    path: str | os.PathLike[str],
    label_keys: LabelKeys | None,
    spec: InputSpec,
    *,
    pred_source: str,
    inferred: Sequence[str] = (),
    chunk_rows: int,
) -> KeyScan:
    """One pass over the key, status and inferred columns of a predictions file.

    Raises what stage 1 raises on the whole table, in its order: repeated keys among
    the readable prediction rows, then repeated label keys, then prediction rows
    without a label row (with ``spec.unmatched == "error"``).

    Parameters
    ----------
    path : path
        The predictions file (.csv, .parquet).
    label_keys : LabelKeys or None
        The labels' keys (``None``: the true labels are in the predictions).
    spec : InputSpec
    pred_source : str
        How messages name the predictions.
    inferred : sequence of str
        Attributes whose classes come from their values (``Decisions.inferred``).
    chunk_rows : int
        Rows read at a time.
    """
    on = spec.on
    columns = [on, STATUS_COLUMN, *inferred]
    scan = KeyScan()
    status_order: dict[str, int] = {}
    hashes: list[np.ndarray] = []
    n_readable = n_unmatched = 0
    examples: list[str] = []
    seen = np.zeros(label_keys.n_distinct if label_keys else 0, dtype=bool)
    from_predictions = [
        n for n in inferred if label_keys is None or n not in label_keys.labels.frame.columns
    ]
    values: dict[str, dict[Any, None]] = {n: {} for n in from_predictions}
    for _, chunk in numbered_chunks(path, chunk_rows=chunk_rows, columns=columns):
        scan.n_rows += len(chunk)
        readable, _, dropped = readable_rows(chunk)
        if STATUS_COLUMN in chunk.columns:
            status = chunk[STATUS_COLUMN].astype("object")
            left = status.loc[dropped.index]
            left = left.where(left.notna(), "missing").astype(str)
            for value, n in left.value_counts(sort=False).items():
                status_order[str(value)] = status_order.get(str(value), 0) + int(n)
        readable = apply_label_repairs(readable, spec.label_repairs, source=pred_source, log=[])
        if on not in readable.columns:
            continue  # the chunks' join names the missing key column
        keys = readable[on]
        n_readable += len(keys)
        present = keys[keys.notna()]
        hashes.append(_key_hashes(present))
        if label_keys is None:
            matched = np.ones(len(keys), dtype=bool)
        else:
            found = label_keys.positions(keys)
            matched = label_keys.matched(keys, found)
            seen[found[found >= 0]] = True
            lost = keys[~matched]
            n_unmatched += len(lost)
            if len(examples) < 5 and len(lost):
                shown = lost.astype("object").where(lost.notna(), None).astype(str)
                examples += shown.head(5 - len(examples)).tolist()
            dropped_keys = chunk.loc[dropped.index, on]
            scan.status_rows_with_label += int(
                (label_keys.positions(dropped_keys.dropna()) >= 0).sum()
            )
        for name in from_predictions:
            if name in readable.columns:
                kept = as_str_labels(readable[name][matched])
                values[name].update(dict.fromkeys(pd.unique(kept.dropna()).tolist()))
    if hashes:
        _refuse_repeated_keys(path, np.concatenate(hashes), spec, pred_source, chunk_rows)
    if label_keys is not None:
        check_unique_keys(label_keys.labels.frame, on=on, source=label_keys.labels.source)
        if n_unmatched:
            refuse_or_warn_unmatched(
                n_unmatched,
                n_readable,
                examples,
                label_keys.labels.frame[on].dropna(),
                on=on,
                unmatched=spec.unmatched,
                labels_source=label_keys.labels.source,
                stacklevel=5,
            )
    # ordered as value_counts orders the whole column: by count, ties in row order
    counts = pd.Series(status_order, dtype=np.int64).sort_values(ascending=False, kind="stable")
    scan.status = {str(k): int(v) for k, v in counts.items()}
    for name in inferred:
        if name in values:
            pool = pd.Series(list(values[name]), dtype=object)
        elif label_keys is not None and name in label_keys.labels.frame.columns:
            frame = label_keys.labels.frame
            pool = frame.loc[label_keys.rows_of(seen), name]
        else:
            continue  # the chunks name the missing column
        scan.inferred[name] = inferred_classes(pool, name, missing=spec.missing)
    return scan


def _key_hashes(keys: pd.Series) -> np.ndarray:
    """A 64-bit hash per key (equal keys, equal hashes)."""
    return pd.util.hash_array(keys.to_numpy(dtype=object))


def _refuse_repeated_keys(
    path: str | os.PathLike[str],
    hashes: np.ndarray,
    spec: InputSpec,
    pred_source: str,
    chunk_rows: int,
) -> None:
    """Refuse keys that readable rows share, with the in-memory audit's message.

    The hashes point at candidates; a second pass over the key column confirms them
    (a collision of two different keys is not a repeat).
    """
    hashes.sort()
    candidates = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    if not candidates.size:
        return
    on = spec.on
    rows: list[pd.Series] = []
    for _, chunk in numbered_chunks(path, chunk_rows=chunk_rows, columns=[on, STATUS_COLUMN]):
        readable = readable_rows(chunk)[0]
        readable = apply_label_repairs(readable, spec.label_repairs, source=pred_source, log=[])
        keys = readable[on]
        keys = keys[keys.notna()]
        hit = np.isin(_key_hashes(keys), candidates)
        rows.append(keys[hit])
    keys = pd.concat(rows, ignore_index=True)
    dup = keys[keys.duplicated(keep=False)]
    if len(dup):
        raise repeated_keys_error(
            dup.nunique(), dup.astype(str).unique()[:5].tolist(), on, pred_source
        )


def summed_join_report(
    reports: Sequence[Mapping[str, Any]], *, label_rows: int, n_distinct_labels: int
) -> dict[str, Any]:
    """The chunks' join reports as the whole table's: counts summed, the labels' counted
    once, the first five unmatched keys."""
    first = reports[0]
    matched = sum(r["matched_rows"] for r in reports)
    examples: list[str] = []
    for report in reports:
        examples += report["unmatched_examples"][: 5 - len(examples)]
    return {
        "key": first["key"],
        "prediction_rows": sum(r["prediction_rows"] for r in reports),
        "label_rows": label_rows,
        "matched_rows": matched,
        "unmatched_prediction_rows": sum(r["unmatched_prediction_rows"] for r in reports),
        "labels_without_prediction": n_distinct_labels - matched,
        "columns_taken_from_labels": first["columns_taken_from_labels"],
        "unmatched_examples": examples,
    }
