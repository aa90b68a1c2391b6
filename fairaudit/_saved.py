"""One base for results saved as a versioned JSON file.

Every saved form of fairaudit is one JSON object whose ``format`` and ``format_version``
fields name what it holds and which version of that form wrote it. :class:`WrittenResult`
writes one (atomically, :func:`fairaudit._io.atomic_write_text`); :class:`SavedResult`
also reads it back, refusing another format or a version this library does not read with
an error that names the file, and compares two results by their saved form.

A subclass sets :attr:`~WrittenResult.FORMAT`, :attr:`~WrittenResult.FORMAT_VERSION`,
:attr:`~WrittenResult.WHAT` and :attr:`~SavedResult.LABEL`, and implements
:meth:`~WrittenResult.to_dict` (and :meth:`~SavedResult._from_fields` to be read back).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from fairaudit._io import atomic_write_text, check_saved_format, read_json_file
from fairaudit.exceptions import DataValidationError, FairAuditError

__all__ = ["SavedResult", "WrittenResult"]


class WrittenResult(ABC):
    """A result written as one versioned JSON file (see :mod:`fairaudit._saved`).

    Class attributes
    ----------------
    FORMAT : str
        The ``format`` field of the saved form (``"fairaudit-audit"``).
    FORMAT_VERSION : int
        The ``format_version`` field this library writes (and reads).
    WHAT : str
        What the file holds, in messages (``"audit"``, ``"paired counts"``).
    """

    FORMAT: ClassVar[str]
    FORMAT_VERSION: ClassVar[int]
    WHAT: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The saved form: a JSON-serialisable object with ``format`` and ``format_version``."""

    def _json_text(self) -> str:
        """The text :meth:`save` writes: :meth:`to_dict` as compact JSON, NaN refused."""
        return json.dumps(self.to_dict(), allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the saved form as JSON, atomically (temporary file, then ``os.replace``).

        Returns
        -------
        pathlib.Path
            The written path.
        """
        return atomic_write_text(Path(path), self._json_text())

    def _repr_items(self) -> Iterable[tuple[str, object]]:
        """``(name, text)`` pairs :meth:`__repr__` shows (an empty name shows the text alone)."""
        return [("format", self.FORMAT)]

    def __repr__(self) -> str:
        items = ", ".join(
            f"{name}={text}" if name else str(text) for name, text in self._repr_items()
        )
        return f"{type(self).__name__}({items})"


class SavedResult(WrittenResult):
    """A :class:`WrittenResult` that is also read back: ``from_dict``, ``load``, equality.

    Class attributes
    ----------------
    LABEL : str
        What the object should be, in "not {LABEL}" (``"a fairaudit audit"``).
    _EQUALITY_IGNORES : tuple of str
        Fields of the saved form (at any level of nested saved forms) that equality
        ignores: when and by which version it was saved, and the free-form metadata.
    """

    LABEL: ClassVar[str]
    _EQUALITY_IGNORES: ClassVar[tuple[str, ...]] = ("library_version", "saved", "metadata")

    @classmethod
    @abstractmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> Self:
        """Build the result from a saved form whose format and version are checked.

        Raise :class:`~fairaudit.exceptions.DataValidationError` (or ``KeyError``,
        ``TypeError``, ``ValueError``, ``AttributeError`` for a malformed form, which
        :meth:`from_dict` words); ``source`` names where the form came from.
        """

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, source: str | None = None) -> Self:
        """Rebuild from :meth:`to_dict`'s form, refusing other formats and versions.

        Parameters
        ----------
        obj : mapping
            The parsed JSON.
        source : str, optional
            Where it came from, for messages (default: :attr:`WHAT`).

        Raises
        ------
        DataValidationError
            Another format, another ``format_version``, or a malformed form; the
            message starts with ``source``.
        """
        source = cls.WHAT if source is None else source
        check_saved_format(
            obj,
            expected=cls.FORMAT,
            version=cls.FORMAT_VERSION,
            label=cls.LABEL,
            what=cls.WHAT,
            source=source,
        )
        try:
            return cls._from_fields(obj, source=source)
        except FairAuditError as exc:
            message = str(exc)
            if message.startswith(source):  # already names where it came from
                raise DataValidationError(message) from exc
            raise DataValidationError(f"{source}: {message}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataValidationError(f"{source}: malformed {cls.WHAT} file ({exc!r})") from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a file written by :meth:`save`.

        Raises
        ------
        DataValidationError
            The file is missing, not JSON, of another format or ``format_version``,
            or malformed; the message names the file.
        """
        return cls.from_dict(read_json_file(path, what=cls.WHAT), source=str(path))

    def __eq__(self, other: object) -> bool:
        """Equal saved forms, apart from :attr:`_EQUALITY_IGNORES`."""
        if type(other) is not type(self):
            if isinstance(other, SavedResult) and other.FORMAT == self.FORMAT:
                pass  # the same form read as a subclass (an audit of either class)
            else:
                return NotImplemented
        return _comparable(self.to_dict(), self._EQUALITY_IGNORES) == _comparable(
            other.to_dict(),  # type: ignore[union-attr]
            self._EQUALITY_IGNORES,
        )

    __hash__ = None  # type: ignore[assignment]


def _comparable(obj: Any, ignores: tuple[str, ...]) -> Any:
    """``obj`` without the ``ignores`` fields of every saved form (a dict with ``format``)."""
    if isinstance(obj, Mapping):
        saved_form = "format" in obj
        return {
            k: _comparable(v, ignores) for k, v in obj.items() if not (saved_form and k in ignores)
        }
    if isinstance(obj, list | tuple):
        return [_comparable(v, ignores) for v in obj]
    return obj
