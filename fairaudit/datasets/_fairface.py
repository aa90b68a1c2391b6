"""FairFace loaders: strict parsing of the label CSVs and a fast check of which images exist.

Row numbers in errors are spreadsheet line numbers: the header is line 1, so the
first data row is line 2 (data row ``r``, counted from 1, is line ``r + 1``).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.datasets._files import files_exist
from fairaudit.datasets._report import LabelRepair, LoadedDataset, LoadReport
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.vocab import FAIRFACE_VOCABULARIES, Vocabulary

__all__ = ["load_fairface", "load_fairface_labels"]

logger = logging.getLogger(__name__)

#: Columns a FairFace-format labels file must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("file", "age", "gender", "race")
#: Row numbers are reported as line numbers (header = line 1).
_LINE_OFFSET = 2
_LINE_NOTE = " (row numbers are line numbers of the file: the header is line 1)"
_SERVICE_TEST_VALUES = {"True": True, "False": False}
_MISSING_IMAGE_POLICIES = ("keep", "drop", "raise")
_SHOWN = 10

LabelRepairs = Mapping[str, Mapping[str, str]]


def _lines(positions: np.ndarray) -> str:
    """Line numbers of 0-based data positions, abbreviated."""
    lines = [int(p) + _LINE_OFFSET for p in positions[:_SHOWN]]
    more = f" (and {len(positions) - _SHOWN} more)" if len(positions) > _SHOWN else ""
    return f"line(s) {lines}{more}"


def _check_policy(on_missing_image: str) -> None:
    if on_missing_image not in _MISSING_IMAGE_POLICIES:
        raise DataValidationError(
            f"on_missing_image must be one of {_MISSING_IMAGE_POLICIES}, got {on_missing_image!r}"
        )


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a labels CSV as strings, turning every pandas failure into a clear error."""
    if not path.exists():
        raise DataValidationError(f"labels file not found: {path}")
    if not path.is_file():
        raise DataValidationError(f"{path} is not a file: expected a FairFace labels CSV")
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip():
        raise DataValidationError(
            f"{path}: the labels file is empty (expected a header line "
            f"{','.join(REQUIRED_COLUMNS)},service_test and one row per image)"
        )
    if b"\x00" in head:
        raise DataValidationError(f"{path}: not a CSV text file (it holds binary data)")
    try:
        with warnings.catch_warnings():
            # more fields than header names: pandas would silently truncate or use
            # the first fields as an index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False
            )
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"{path}: not a UTF-8 CSV text file ({exc})") from None
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
        ValueError,
    ) as exc:
        raise DataValidationError(f"{path}: not a readable CSV file: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)} "
            f"(a FairFace labels file has columns {','.join(REQUIRED_COLUMNS)}[,service_test])"
        )
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataValidationError(f"{path}: duplicated column(s) {dup}")
    if frame.empty:
        raise DataValidationError(f"{path}: the labels file has a header but no data rows")
    extra = [c for c in frame.columns if c not in (*REQUIRED_COLUMNS, "service_test")]
    if extra:
        logger.info("%s: ignoring extra column(s) %s", path, extra)
    return frame


def _is_missing(values: pd.Series) -> np.ndarray:
    return (values.isna() | (values.astype(str).str.strip() == "")).to_numpy()


def _validate_repairs(label_repairs: LabelRepairs | None) -> dict[str, dict[str, str]]:
    if not label_repairs:
        return {}
    allowed = {**FAIRFACE_VOCABULARIES}
    repairs: dict[str, dict[str, str]] = {}
    for column, mapping in label_repairs.items():
        if column not in (*allowed, "service_test"):
            raise DataValidationError(
                f"label_repairs: unknown column {column!r}; repairable columns are "
                f"{[*allowed, 'service_test']}"
            )
        if not isinstance(mapping, Mapping):
            raise DataValidationError(
                f"label_repairs[{column!r}] must map raw values to classes, got {mapping!r}"
            )
        targets = (
            tuple(_SERVICE_TEST_VALUES) if column == "service_test" else allowed[column].classes
        )
        bad = [to for to in mapping.values() if to not in targets]
        if bad:
            raise DataValidationError(
                f"label_repairs[{column!r}] maps to {bad}, which are not valid values of "
                f"{column!r}: {list(targets)}"
            )
        repairs[column] = {str(k): str(v) for k, v in mapping.items()}
    return repairs


def _apply_repairs(
    frame: pd.DataFrame, repairs: dict[str, dict[str, str]], source: Path
) -> list[LabelRepair]:
    applied = []
    for column, mapping in repairs.items():
        if column not in frame.columns:
            continue
        values = frame[column]
        for from_value, to_value in mapping.items():
            mask = (values == from_value).to_numpy()
            n_rows = int(mask.sum())
            if n_rows == 0:
                logger.info(
                    "%s: repair %s %r -> %r matched no row", source, column, from_value, to_value
                )
                continue
            frame.loc[mask, column] = to_value
            logger.info(
                "%s: repaired %s %r -> %r in %d rows", source, column, from_value, to_value, n_rows
            )
            applied.append(LabelRepair(column, from_value, to_value, n_rows))
    return applied


def _encode(values: pd.Series, vocab: Vocabulary, source: Path) -> pd.Categorical:
    """Categorical of ``vocab`` from raw strings; unknown or missing -> UnknownLabelError."""
    raw = values.astype(object).where(~_is_missing(values), None)
    try:
        codes = vocab.encode(raw, source=str(source), row_offset=_LINE_OFFSET)
    except UnknownLabelError as exc:
        raise UnknownLabelError(
            str(exc) + _LINE_NOTE,
            column=exc.column,
            values=exc.values,
            rows=exc.rows,
            source=exc.source,
        ) from None
    return pd.Categorical.from_codes(codes, dtype=vocab.dtype)


def _parse_service_test(values: pd.Series, source: Path) -> np.ndarray:
    mapped = values.map(_SERVICE_TEST_VALUES)
    bad = np.flatnonzero(mapped.isna().to_numpy())
    if bad.size:
        shown = list(dict.fromkeys(values.iloc[bad[:_SHOWN]].tolist()))
        raise DataValidationError(
            f"{source}: column 'service_test' must hold True or False; found {shown!r} at "
            f"{_lines(bad)}{_LINE_NOTE}"
        )
    return mapped.to_numpy(dtype=bool)


def _check_files(files: pd.Series, source: Path) -> None:
    missing = np.flatnonzero(_is_missing(files))
    if missing.size:
        raise DataValidationError(
            f"{source}: column 'file' is empty at {_lines(missing)}{_LINE_NOTE}"
        )
    duplicated = files.duplicated(keep=False).to_numpy()
    if duplicated.any():
        positions = np.flatnonzero(duplicated)
        first = files.iloc[positions[0]]
        raise DataValidationError(
            f"{source}: {int(files.duplicated().sum())} file(s) listed more than once, "
            f"e.g. {first!r}; duplicated rows at {_lines(positions)}{_LINE_NOTE}"
        )


def _infer_split(csv_path: Path) -> str:
    match = re.fullmatch(r"fairface_label_(.+)\.csv", csv_path.name)
    return match.group(1) if match else "all"


def load_fairface_labels(
    csv_path: str | os.PathLike[str],
    *,
    image_root: str | os.PathLike[str] | None = None,
    split: str | None = None,
    label_repairs: LabelRepairs | None = None,
    on_missing_image: str = "keep",
) -> LoadedDataset:
    """Load one FairFace-format labels CSV into the tidy label table.

    Parameters
    ----------
    csv_path : path-like
        CSV with columns ``file,age,gender,race`` and optionally ``service_test``
        (``True``/``False``). Extra columns are ignored (logged).
    image_root : path-like, optional
        Folder the ``file`` paths are relative to. None: images are not looked
        for; ``has_image`` is all False and the report says so.
    split : str, optional
        Split name for every row. None: taken from a ``fairface_label_<split>.csv``
        file name, else ``"all"``.
    label_repairs : mapping, optional
        Explicit repairs ``{column: {raw value: class}}``, e.g.
        ``{"race": {"Latino": "Latino_Hispanic"}}``, applied before validation,
        logged and recorded in the report. Nothing is repaired implicitly.
    on_missing_image : {"keep", "drop", "raise"}, default="keep"
        Rows whose image does not exist: kept with ``has_image`` False, dropped
        (counted and listed in the report), or a :class:`DataValidationError`.

    Returns
    -------
    LoadedDataset
        Table with columns ``file, path, split, gender, age, race
        [, service_test], has_image`` and its :class:`LoadReport`.

    Raises
    ------
    UnknownLabelError
        A label is missing or outside the FairFace vocabulary; the message names
        the file, the line numbers (header = line 1) and the values.
    DataValidationError
        Missing file, empty or non-CSV file, missing columns, a header without
        rows, empty or duplicated ``file`` values, a ``service_test`` value other
        than True/False, or missing images with ``on_missing_image="raise"``.
    """
    _check_policy(on_missing_image)
    csv_path = Path(csv_path).expanduser().resolve()
    repairs = _validate_repairs(label_repairs)
    frame = _read_csv(csv_path)
    applied = _apply_repairs(frame, repairs, csv_path)
    _check_files(frame["file"], csv_path)
    split_name = split if split is not None else _infer_split(csv_path)
    n = len(frame)

    columns: dict[str, object] = {"file": frame["file"].astype(str).to_numpy()}
    columns["path"] = None
    columns["split"] = pd.Categorical([split_name] * n, categories=[split_name])
    for name in ("gender", "age", "race"):
        columns[name] = _encode(frame[name], FAIRFACE_VOCABULARIES[name], csv_path)
    if "service_test" in frame.columns:
        columns["service_test"] = _parse_service_test(frame["service_test"], csv_path)

    files = frame["file"].astype(str).tolist()
    unlabelled: tuple[str, ...] = ()
    if image_root is not None:
        root = Path(image_root).expanduser().resolve()
        if not root.is_dir():
            raise DataValidationError(f"image folder not found: {root}")
        check = files_exist(root, files)
        has_image = check.exists
        columns["path"] = pd.array(check.paths, dtype="str")
        unlabelled = check.unlabelled_images
        if not has_image.any():
            logger.warning("%s: none of the %d labelled images exists under %s", csv_path, n, root)
    else:
        root = csv_path.parent
        has_image = np.zeros(n, dtype=bool)
        columns["path"] = pd.array([None] * n, dtype="str")
    columns["has_image"] = has_image
    table = pd.DataFrame(columns)

    missing_positions = np.flatnonzero(~has_image) if image_root is not None else np.array([], int)
    missing = tuple(table["file"].iloc[missing_positions].tolist())
    if missing and on_missing_image == "raise":
        raise DataValidationError(
            f"{csv_path}: {len(missing)} of {n} labelled images are missing under {root}, "
            f"e.g. {list(missing[:5])} (use on_missing_image='keep' or 'drop')"
        )
    n_dropped = 0
    if missing and on_missing_image == "drop":
        table = table[has_image].reset_index(drop=True)
        n_dropped = len(missing)
        logger.info("%s: dropped %d rows without image", csv_path, n_dropped)

    n_found = int(has_image.sum())
    report = LoadReport(
        dataset="fairface",
        n_rows=len(table),
        n_images_found=n_found,
        n_missing_images=len(missing),
        missing_images=missing,
        n_dropped=n_dropped,
        repairs=tuple(applied),
        images_checked=image_root is not None,
        root=str(csv_path if image_root is None else root),
        splits={
            split_name: {
                "n_rows": n,
                "n_images_found": n_found,
                "n_missing_images": len(missing),
            }
        },
        unlabelled_images=unlabelled,
    )
    return LoadedDataset(table=table, report=report, root=root)


def _find_labels(root: Path, split: str) -> Path:
    candidates = [
        root / "labels" / f"fairface_label_{split}.csv",
        root / f"fairface_label_{split}.csv",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataValidationError(
        f"no FairFace labels for split {split!r} under {root}: looked for "
        f"{[str(c) for c in candidates]}"
    )


def _merge_repairs(reports: Sequence[LoadReport]) -> tuple[LabelRepair, ...]:
    totals: dict[tuple[str, str, str], int] = {}
    for report in reports:
        for r in report.repairs:
            key = (r.column, r.from_value, r.to_value)
            totals[key] = totals.get(key, 0) + r.n_rows
    return tuple(LabelRepair(*key, n) for key, n in totals.items())


def load_fairface(
    root: str | os.PathLike[str],
    *,
    splits: Sequence[str] = ("train", "val"),
    on_missing_image: str = "keep",
    label_repairs: LabelRepairs | None = None,
) -> LoadedDataset:
    """Load FairFace (labels of the given splits, and which images exist).

    Parameters
    ----------
    root : path-like
        FairFace folder in the public layout: ``labels/fairface_label_<split>.csv``
        (or the CSVs directly in ``root``) and the ``<split>/`` image folders the
        ``file`` column points into (``"val/12.jpg"``).
    splits : sequence of str, default=("train", "val")
        Splits to load, in the order of the ``split`` categories.
    on_missing_image : {"keep", "drop", "raise"}, default="keep"
        See :func:`load_fairface_labels`.
    label_repairs : mapping, optional
        See :func:`load_fairface_labels`.

    Returns
    -------
    LoadedDataset
        The splits' rows concatenated (``split`` categorical in ``splits`` order)
        and a report with per-split counts.

    Raises
    ------
    DataValidationError
        ``root`` is not a folder, a split's labels file is absent, or any error of
        :func:`load_fairface_labels`.

    Examples
    --------
    >>> ds = load_fairface("data/fairface")  # doctest: +SKIP
    >>> print(ds.report.summary())  # doctest: +SKIP
    """
    _check_policy(on_missing_image)
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DataValidationError(f"FairFace folder not found: {root}")
    if isinstance(splits, str):
        splits = (splits,)
    splits = tuple(splits)
    if not splits or len(set(splits)) != len(splits):
        raise DataValidationError(f"splits must be distinct split names, got {splits!r}")
    parts = [
        load_fairface_labels(
            _find_labels(root, split),
            image_root=root,
            split=split,
            label_repairs=label_repairs,
            on_missing_image=on_missing_image,
        )
        for split in splits
    ]
    table = pd.concat([p.table for p in parts], ignore_index=True)
    if "service_test" in table.columns and table["service_test"].isna().any():
        raise DataValidationError(
            f"{root}: some splits' labels have a service_test column and others do not"
        )
    table["split"] = pd.Categorical(table["split"].astype(str), categories=list(splits))
    reports = [p.report for p in parts]
    report = LoadReport(
        dataset="fairface",
        n_rows=len(table),
        n_images_found=sum(r.n_images_found for r in reports),
        n_missing_images=sum(r.n_missing_images for r in reports),
        missing_images=tuple(f for r in reports for f in r.missing_images),
        n_dropped=sum(r.n_dropped for r in reports),
        repairs=_merge_repairs(reports),
        images_checked=True,
        root=str(root),
        splits={k: v for r in reports for k, v in r.splits.items()},
        unlabelled_images=tuple(f for r in reports for f in r.unlabelled_images),
    )
    return LoadedDataset(table=table, report=report, root=root)
