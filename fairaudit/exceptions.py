"""Errors raised by fairaudit.

Every error a user can trigger with bad input derives from :class:`FairAuditError`
and says *where* the problem is (file, row, column, value) so it can be fixed
without a debugger. Errors about input data also derive from :class:`ValueError`,
so code written against scikit-learn conventions keeps catching them.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigurationError",
    "DataValidationError",
    "FairAuditError",
    "MissingDependencyError",
    "UnknownLabelError",
]


class FairAuditError(Exception):
    """Base class of every error fairaudit raises on purpose."""


class DataValidationError(FairAuditError, ValueError):
    """Input data (a file, a table, arrays) cannot be used as given."""


class UnknownLabelError(DataValidationError):
    """A label lies outside the declared vocabulary.

    Parameters
    ----------
    message : str
        Human-readable description naming the source, rows and values.
    column : str
        The column (or task) holding the offending values.
    values : list of object
        The distinct unknown values, in order of first appearance.
    rows : list of int
        Where the first offending values are: line numbers for a file (the
        header is line 1, so data row ``r`` is line ``r + 1``), 1-based
        positions for in-memory data. The message says which.
    source : str or None
        The file or object the values came from.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        values: list[object],
        rows: list[int],
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.values = values
        self.rows = rows
        self.source = source


class CheckpointError(FairAuditError):
    """A model checkpoint is missing, unsafe, corrupt or incompatible."""


class ConfigurationError(FairAuditError, ValueError):
    """An option, or a combination of options, cannot be used (unknown name, bad value)."""


class MissingDependencyError(FairAuditError, ImportError):
    """An optional dependency (a package or a local weight file) needed here is absent.

    The message says what to install or where to put the file.
    """
