"""Reading predictions and labels: a DataFrame as given, CSV and Parquet files.

Every failure is one line naming the file (a corrupt, truncated or empty Parquet file
included). The FairFace authors' format is read by :mod:`fairaudit.inputs._fairface_format`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = [
    "check_parquet_files",
    "first_line",
    "is_parquet",
    "parquet_files",
    "read_table",
    "read_table_chunks",
]

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


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether a path names a Parquet file (by its suffix; anything else is read as CSV)."""
    return Path(path).suffix.lower() in _PARQUET_SUFFIXES


def read_table_chunks(
    path: str | os.PathLike[str],
    *,
    what: str,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """A ``.csv`` or ``.parquet`` file read ``chunk_rows`` rows at a time, in file order.

    The chunks put together are :func:`read_table`'s table (a CSV's column types are
    inferred per chunk, as pandas does within a large file). ``columns`` reads only
    those columns (the ones the file holds). An empty file yields one empty chunk
    with the file's columns. Failures are one line naming the file.
    """
    if chunk_rows < 1:
        raise DataValidationError(f"chunk_rows must be at least 1, got {chunk_rows}")
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"{what} file not found: {path}")
    try:
        if is_parquet(path):
            yield from _parquet_chunks(path, what=what, chunk_rows=chunk_rows, columns=columns)
            return
        wanted = None if columns is None else set(columns)
        usecols = None if wanted is None else (lambda c: c in wanted)
        with pd.read_csv(path, chunksize=chunk_rows, usecols=usecols) as reader:
            empty = True
            for chunk in reader:
                empty = False
                yield chunk
        if empty:  # a header without rows: one empty chunk, as read_table gives
            yield pd.read_csv(path, usecols=usecols)
    except DataValidationError:
        raise
    except (ValueError, OSError, ImportError) as exc:
        raise DataValidationError(f"cannot read {what} file {path}: {first_line(exc)}") from exc


def _parquet_chunks(
    path: Path, *, what: str, chunk_rows: int, columns: Sequence[str] | None
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataValidationError(f"cannot read {what} file {path}: {first_line(exc)}") from None
    names = [n for n in schema.names if columns is None or n in set(columns)]
    if columns is not None:
        # the pandas metadata names the index columns, which are then read too
        index = [n for n in schema.names if n.startswith("__index_level_")]
        names += [n for n in index if n not in names]
        schema = pa.schema([schema.field(n) for n in names], metadata=schema.metadata)
    empty = True
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=names):
            empty = False
            yield pa.Table.from_batches([batch], schema=schema).to_pandas()
    except DataValidationError:
        raise
    except Exception as exc:
        raise DataValidationError(f"cannot read {what} file {path}: {first_line(exc)}") from None
    if empty:
        yield schema.empty_table().to_pandas()


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
