"""One description of how a table becomes audit-ready: :class:`InputSpec`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fairaudit.exceptions import DataValidationError
from fairaudit.schema import FILE_COLUMN
from fairaudit.vocab import ClassMapping, Vocabulary

__all__ = ["InputSpec", "Mapping_"]

#: A model vocabulary -> audited classes: a ClassMapping or a function (ages in years).
Mapping_ = ClassMapping | Callable[[Any], Any]


@dataclass(frozen=True)
class InputSpec:
    """How predictions and labels become the inputs of an audit; one for every path.

    The in-memory audit, each Dask partition, both versions of a pairing and the
    detector audit read the same options from one spec, so every path accepts
    them all and decides the same attributes and class orders.

    Parameters
    ----------
    on : str, default="file"
        Join key (the full relative image name).
    tasks : mapping, sequence of str, {"fairface", "utkface"}, optional
        Audited tasks; default: every task with prediction columns.
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attributes; default: the tasks and every face attribute
        (``gender``, ``age``, ``race``) the joined table holds.
    mappings : mapping of str to ClassMapping or callable, optional
        Model vocabulary -> audited classes, per task.
    unmatched : {"error", "report"}, default="error"
        Prediction rows without a label row: an error or reported and left out.
    missing : {"error", "group"}, default="error"
        Missing sensitive values: an error or an explicit ``"missing"`` group.
    proba_atol : float, default=1e-3
        Tolerance on probabilities summing to 1.
    coding : {"fairface", "utkface"} or mapping, optional
        How integer-coded class columns are read (see
        :func:`fairaudit.inputs._codings.decode_integer_codes`).
    label_repairs : mapping, optional
        Explicit repairs ``{column: {raw value: class}}``, applied to both tables.
    """

    on: str = FILE_COLUMN
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None
    mappings: Mapping[str, Mapping_] | None = None
    unmatched: str = "error"
    missing: str = "error"
    proba_atol: float = 1e-3
    coding: Mapping[str, Any] | str | None = None
    label_repairs: Mapping[str, Mapping[str, str]] | None = None

    def __post_init__(self) -> None:
        if self.unmatched not in ("error", "report"):
            raise DataValidationError(
                f"unmatched must be 'error' or 'report', got {self.unmatched!r}"
            )
        if self.missing not in ("error", "group"):
            raise DataValidationError(f"missing must be 'error' or 'group', got {self.missing!r}")

    @property
    def declared(self) -> bool:
        """Whether the tasks' vocabularies are declared (a named set or a mapping)."""
        return isinstance(self.tasks, str | Mapping)

    @property
    def task_names(self) -> list[str] | None:
        """The tasks named in the spec (``None``: detected from the predictions)."""
        if self.tasks is None or isinstance(self.tasks, str):
            return None
        return list(self.tasks)
