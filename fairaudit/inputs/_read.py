"""Reading predictions and labels: a DataFrame as given, CSV and Parquet files.

Every failure is one line naming the file (a corrupt, truncated or empty Parquet file
included). The FairFace authors' format is read by :mod:`fairaudit.inputs._fairface_format`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = ["check_parquet_files", "first_line", "parquet_files", "read_table"]

_PARQUET_SUFFIXES = (".parquet", ".pq")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (pyarrow's run over several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_table(table: pd.DataFrame | str | os.PathLike[str], *, what: str) -> pd.DataFrame:
    """A DataFrame as given, or read from a ``.csv`` / ``.parquet`` file."""
    if isinstance(table, pd.DataFrame):
        return table
    path = Path(table)
    if not path.exists():
        raise DataValidationError(f"{what} file not found: {path}")
    try:
        if path.suffix.lower() in _PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, ImportError) as exc:
        raise DataValidationError(f"cannot read {what} file {path}: {first_line(exc)}") from exc


def parquet_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The local Parquet files a glob, a folder or a list names (URLs are kept as given).

    Raises
    ------
    DataValidationError
        A glob matching no file, or a folder holding no Parquet file.
    """
    if not isinstance(source, str | os.PathLike):
        return [os.fspath(p) for p in source]
    text = os.fspath(source)
    if "://" in text:
        return [text]
    if any(c in text for c in "*?["):
        found = sorted(glob.glob(text, recursive=True))
        if not found:
            raise DataValidationError(f"cannot read Parquet predictions: no file matches {text}")
        return found
    if os.path.isdir(text):
        found = sorted(
            str(p)
            for p in Path(text).rglob("*")
            if p.is_file() and p.suffix.lower() in _PARQUET_SUFFIXES
        )
        if not found:
            raise DataValidationError(f"cannot read Parquet predictions: no Parquet file in {text}")
        return found
    return [text]


def check_parquet_files(paths: Sequence[str]) -> None:
    """Refuse, in one line naming the file, a Parquet file that cannot be read.

    Reads each local file's footer (its schema and row groups, not its data): a
    corrupt, truncated or empty file, or one whose columns differ from the first
    file's, is an error naming it before any worker starts.
    """
    import pyarrow.parquet as pq

    first: tuple[str, list[str]] | None = None
    for path in paths:
        if "://" in path:
            continue
        if not os.path.exists(path):
            raise DataValidationError(f"predictions file not found: {path}")
        try:
            names = list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise DataValidationError(
                f"cannot read Parquet predictions file {path}: {first_line(exc)}"
            ) from None
        names = [n for n in names if not n.startswith("__index_level_")]
        if first is None:
            first = (path, names)
        elif set(names) != set(first[1]):
            missing = sorted(set(first[1]) - set(names))
            extra = sorted(set(names) - set(first[1]))
            raise DataValidationError(
                f"Parquet predictions file {path} has other columns than {first[0]}: "
                f"missing {missing}, extra {extra}"
            )
