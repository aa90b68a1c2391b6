"""Errors raised by fairaudit.

Every error a user can trigger with bad input derives from :class:`FairAuditError`
and says *where* the problem is (file, row, column, value) so it can be fixed
without a debugger. Errors about input data also derive from :class:`ValueError`,
so code written against scikit-learn conventions keeps catching them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fairaudit._version import DISTRIBUTION

__all__ = [
    "CheckpointError",
    "ConfigurationError",
    "DataValidationError",
    "FairAuditError",
    "MissingDependencyError",
    "UnknownLabelError",
]


class FairAuditError(Exception):
    """Base class of every error fairaudit raises on purpose.

    Parameters
    ----------
    *args : object
        The message (as for any exception).
    cli : str, optional
        The same message as the command line says it, where the Python one
        names keyword arguments (``unmatched='report'``): the flags instead
        (``--unmatched report``). The CLI prints :meth:`cli_message`.
    """

    def __init__(self, *args: object, cli: str | None = None) -> None:
        super().__init__(*args)
        self.cli = cli

    def cli_message(self) -> str:
        """The message for the command line: :attr:`cli` if given, else the message."""
        return self.cli if self.cli is not None else str(self)


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
    cli : str, optional
        The message with command-line flags instead of Python arguments.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        values: list[object],
        rows: list[int],
        source: str | None = None,
        cli: str | None = None,
    ) -> None:
        super().__init__(message, cli=cli)
        self.column = column
        self.values = values
        self.rows = rows
        self.source = source


class CheckpointError(FairAuditError):
    """A model checkpoint is missing, unsafe, corrupt or incompatible."""


class ConfigurationError(FairAuditError, ValueError):
    """An option, or a combination of options, cannot be used (unknown name, bad value)."""


#: The CPU-only build of torch (a few hundred MB instead of GBs of CUDA libraries).
_TORCH_CPU_COMMAND = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


class MissingDependencyError(FairAuditError, ImportError):
    """An optional dependency (a package or a local weight file) needed here is absent.

    The message says what to install or where to put the file. The core install
    (``pip install fairaudit-faces``) audits predictions, datasets and detectors, renders
    reports, compares and gates without torch; the subject models (training,
    prediction, evaluation, export) need the extra ``models``, and each other optional
    feature its own extra (``backbones``, ``onnx``, ``detect``, ``app``,
    ``distributed``). :meth:`for_extra` and :meth:`require` build the one message
    for a missing extra.
    """

    @classmethod
    def for_extra(
        cls, extra: str, package: str, needed_for: str | None = None
    ) -> MissingDependencyError:
        """The error for a missing ``package`` of the extra ``extra``, needed for ``needed_for``.

        ``needed_for`` defaults to what the extra is for (for ``models``: the subject
        models). A missing torch also gets the command of torch's CPU-only build.

        Examples
        --------
        >>> print(MissingDependencyError.for_extra("detect", "cv2", "face detection"))
        face detection needs cv2, which is not installed: pip install "fairaudit-faces[detect]"
        """
        needed_for = needed_for or _EXTRA_PURPOSE.get(
            extra, f"this feature of {DISTRIBUTION}[{extra}]"
        )
        message = f"{needed_for} needs {package}, which is not installed: "
        message += f'pip install "{DISTRIBUTION}[{extra}]"'
        if package == "torch":
            message += f" (for the CPU-only build of torch, first: {_TORCH_CPU_COMMAND})"
        return cls(message)

    @classmethod
    def require(cls, module: str, *, extra: str, needed_for: str | None = None) -> ModuleType:
        """Import ``module``, or raise :meth:`for_extra` when its package is not installed.

        Only the absence of ``module``'s own top-level package becomes this error;
        any other import failure (a broken installation) propagates unchanged.

        Examples
        --------
        >>> MissingDependencyError.require("json", extra="models").__name__
        'json'
        """
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            package = module.partition(".")[0]
            if (exc.name or "").partition(".")[0] != package:
                raise
            raise cls.for_extra(extra, package, needed_for) from None


#: What each extra is for, in the messages of :class:`MissingDependencyError`.
_EXTRA_PURPOSE = {
    "models": "working with the subject models (training, prediction, evaluation, export)",
}
