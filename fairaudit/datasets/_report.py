"""What a loader did: :class:`LoadReport`, :class:`LabelRepair` and :class:`LoadedDataset`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["LabelRepair", "LoadReport", "LoadedDataset"]

#: How many file names :meth:`LoadReport.summary` shows before it abbreviates.
_SHOWN_NAMES = 5


class LabelRepair(NamedTuple):
    """One label repair the caller asked for and the loader applied.

    Attributes
    ----------
    column : str
        Column repaired (``"gender"``, ``"age"``, ``"race"`` or ``"service_test"``).
    from_value : str
        Raw value found in the labels file.
    to_value : str
        Value it was replaced with (a class of the column's vocabulary).
    n_rows : int
        Number of rows changed.
    """

    column: str
    from_value: str
    to_value: str
    n_rows: int


def _abbreviate(names: tuple[str, ...], n: int = _SHOWN_NAMES) -> str:
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names) - n} more)" if len(names) > n else "")


@dataclass(frozen=True)
class LoadReport:
    """Counts and findings of one dataset load, so nothing is dropped silently.

    Attributes
    ----------
    dataset : str
        ``"fairface"`` or ``"utkface"``.
    n_rows : int
        Rows in the returned table (after any dropped rows).
    n_images_found : int
        Rows of the returned table whose image file exists.
    n_missing_images : int
        Labelled rows whose image file does not exist (kept or dropped, see
        ``n_dropped``).
    missing_images : tuple of str
        The ``file`` values of those rows, in table order.
    n_dropped : int
        Rows removed from the table (missing images with ``on_missing_image="drop"``).
    malformed_names : tuple of str
        UTKFace files whose name could not be parsed; excluded from the table.
    repairs : tuple of LabelRepair
        Label repairs applied (one per column and raw value that occurred).
    images_checked : bool
        False when no image folder was given, so ``has_image`` is all False and
        says nothing about the files.
    root : str
        Folder (or labels file) the data was read from.
    splits : dict
        Per split: ``{"n_rows", "n_images_found", "n_missing_images"}`` (rows
        listed in the labels, before any drop).
    unlabelled_images : tuple of str
        Image files found in the image folders that no label row names.
    ignored_files : tuple of str
        Files of a UTKFace folder skipped because they are not images
        (``.jpg``/``.jpeg``/``.png``), e.g. ``README``; hidden files are not listed.
    """

    dataset: str
    n_rows: int
    n_images_found: int
    n_missing_images: int
    missing_images: tuple[str, ...] = ()
    n_dropped: int = 0
    malformed_names: tuple[str, ...] = ()
    repairs: tuple[LabelRepair, ...] = ()
    images_checked: bool = True
    root: str = ""
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    unlabelled_images: tuple[str, ...] = ()
    ignored_files: tuple[str, ...] = ()

    @property
    def n_malformed(self) -> int:
        """Number of malformed (unparsed, excluded) UTKFace file names."""
        return len(self.malformed_names)

    def summary(self) -> str:
        """A few human-readable lines describing the load."""
        lines = [f"{self.dataset} at {self.root}: {self.n_rows} rows"]
        if self.splits:
            per_split = "; ".join(
                f"{name}: {c['n_rows']} rows, {c['n_images_found']} images"
                + (f", {c['n_missing_images']} missing" if self.images_checked else "")
                for name, c in self.splits.items()
            )
            lines.append(f"  splits: {per_split}")
        if self.images_checked:
            dropped = f" (dropped {self.n_dropped})" if self.n_dropped else ""
            lines.append(
                f"  images found: {self.n_images_found}; labels without image: "
                f"{self.n_missing_images}{dropped}"
            )
            if self.missing_images:
                lines.append(f"  missing: {_abbreviate(self.missing_images)}")
        else:
            lines.append("  images not checked (no image folder given): has_image is all False")
        if self.unlabelled_images:
            lines.append(
                f"  images without labels: {len(self.unlabelled_images)} "
                f"({_abbreviate(self.unlabelled_images)})"
            )
        if self.malformed_names:
            lines.append(
                f"  malformed file names (excluded): {len(self.malformed_names)} "
                f"({_abbreviate(self.malformed_names)})"
            )
        if self.ignored_files:
            lines.append(
                f"  non-image files ignored: {len(self.ignored_files)} "
                f"({_abbreviate(self.ignored_files)})"
            )
        for r in self.repairs:
            lines.append(
                f"  repaired {r.column}: {r.from_value!r} -> {r.to_value!r} in {r.n_rows} rows"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary of every field (lists for tuples)."""
        return {
            "dataset": self.dataset,
            "root": self.root,
            "n_rows": self.n_rows,
            "n_images_found": self.n_images_found,
            "n_missing_images": self.n_missing_images,
            "missing_images": list(self.missing_images),
            "n_dropped": self.n_dropped,
            "malformed_names": list(self.malformed_names),
            "repairs": [r._asdict() for r in self.repairs],
            "images_checked": self.images_checked,
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "unlabelled_images": list(self.unlabelled_images),
            "ignored_files": list(self.ignored_files),
        }


@dataclass
class LoadedDataset:
    """A loaded dataset: the tidy label table, the load report and the root.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per labelled face: ``file``, ``path``, ``split``, ``gender``,
        ``age``, ``race`` (+ ``service_test`` for FairFace, ``age_years`` for
        UTKFace) and ``has_image``.
    report : LoadReport
        What was found, repaired, dropped or excluded.
    root : pathlib.Path
        Dataset root folder (or the labels file's folder).
    """

    table: pd.DataFrame
    report: LoadReport
    root: Path

    def __len__(self) -> int:
        return len(self.table)

    @property
    def with_images(self) -> pd.DataFrame:
        """The rows whose image exists (``table[table.has_image]``), re-indexed."""
        return self.table[self.table["has_image"]].reset_index(drop=True)
