"""Building audits from arrays: the streaming accumulator and the one-shot API.

:class:`AuditAccumulator` follows the torchmetrics pattern: ``update(...)`` with
each batch adds to the count tensors, ``compute()`` returns an
:class:`~fairaudit.model_audit.AuditResult`. :func:`audit_predictions` is one update
and one compute, so both agree by construction and by test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.functional._calibration import calibration_counts
from fairaudit.functional._counts import mixed_radix_index
from fairaudit.inputs._probabilities import validate_proba
from fairaudit.inputs._vocabularies import as_str_labels, infer_vocabulary, resolve_tasks
from fairaudit.model_audit._encoding import MISSING, encode_labels
from fairaudit.model_audit._result import AuditResult
from fairaudit.model_audit._saved_form import REGRESSION_STATS
from fairaudit.vocab import Vocabulary

__all__ = [
    "AuditAccumulator",
    "audit_predictions",
]

ArrayLike = Any

#: The most cells (combinations of attribute values) an audit may have: 100,000 cells
#: of FairFace's three tasks hold about 0.1 GiB of counts, and the tables derived per
#: cell several times that; an attribute with a value per row (86,000 values over
#: 200,000 rows) passed 8 GiB before this bound.
MAX_CELLS = 100_000


def _length(values: ArrayLike) -> int:
    return len(values) if hasattr(values, "__len__") else len(np.asarray(values))


class AuditAccumulator:
    """Streaming audit: ``update`` with batches, ``compute`` an :class:`AuditResult`.

    Parameters
    ----------
    tasks : mapping of str to Vocabulary, sequence of str, {"fairface", "utkface"}, optional
        Audited tasks and their classes. Default: the tasks of the first batch's
        ``y_true`` with FairFace vocabularies.
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attributes (cell axes) and their classes. Default: the names of
        the first batch's ``sensitive_features``, or, without them, the tasks
        themselves (true gender, age, race). An attribute that is a task takes the
        task's vocabulary; others take a categorical's categories or the sorted
        distinct values of the first batch (as strings); later batches must stay
        inside that vocabulary (pass it explicitly when streaming).
    missing : {"error", "group"}, default="error"
        Missing values in a sensitive attribute given in ``sensitive_features``:
        an error naming the rows, or an explicit group named ``"missing"``
        appended to that attribute's classes (then present, possibly empty, in
        every table). Missing true or predicted labels are always an error.
    n_bins : int, default=15
        Confidence bins of the calibration statistics.
    proba_atol : float, default=1e-3
        Tolerance on probabilities summing to 1 and lying in [0, 1].
    description : str, default=""
        Free text stored in the result's metadata (the data, the model).
    """

    def __init__(
        self,
        *,
        tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
        attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
        missing: str = "error",
        n_bins: int = 15,
        proba_atol: float = 1e-3,
        description: str = "",
    ) -> None:
        if missing not in ("error", "group"):
            raise DataValidationError(f"missing must be 'error' or 'group', got {missing!r}")
        if n_bins < 1:
            raise DataValidationError(f"n_bins must be at least 1, got {n_bins}")
        self._tasks_arg = tasks
        self._attributes_arg = attributes
        self.missing = missing
        self.n_bins = int(n_bins)
        self.proba_atol = float(proba_atol)
        self.description = description
        self.tasks: dict[str, Vocabulary] | None = None
        self.attributes: dict[str, Vocabulary] | None = None
        self._explicit_attributes: set[str] = set()
        self._counts: dict[str, np.ndarray] = {}
        self._calibration: dict[str, np.ndarray] = {}
        self._regression: dict[str, np.ndarray] = {}
        self.n_batches = 0
        self.n_rows = 0

    # ------------------------------------------------------------------ setup
    def _setup(
        self,
        y_true: Mapping[str, ArrayLike],
        sensitive: Mapping[str, ArrayLike] | None,
    ) -> None:
        self.tasks = resolve_tasks(self._tasks_arg, list(y_true))
        attrs_arg = self._attributes_arg
        if isinstance(attrs_arg, Mapping):
            names = list(attrs_arg)
        elif attrs_arg is not None:
            names = list(attrs_arg)
        elif sensitive is not None:
            names = list(sensitive)
        else:
            names = list(self.tasks)
        self._explicit_attributes = set(sensitive or {})
        attributes: dict[str, Vocabulary] = {}
        for name in names:
            if isinstance(attrs_arg, Mapping):
                vocab = attrs_arg[name]
                if not isinstance(vocab, Vocabulary):
                    raise DataValidationError(f"attribute {name!r} must map to a Vocabulary")
            elif sensitive is not None and name in sensitive:
                if name in self.tasks:
                    vocab = self.tasks[name]
                else:
                    vocab = infer_vocabulary(name, sensitive[name])
            elif name in self.tasks:
                vocab = self.tasks[name]
            else:
                raise DataValidationError(
                    f"sensitive attribute {name!r} is neither in sensitive_features nor a task"
                )
            if (
                self.missing == "group"
                and name in self._explicit_attributes
                and MISSING not in vocab
            ):
                vocab = Vocabulary(vocab.name, (*vocab.classes, MISSING), False)
            attributes[name] = vocab
        self.attributes = attributes
        n_cells = math.prod(len(v) for v in attributes.values())
        if n_cells > MAX_CELLS:
            sizes = " x ".join(f"{n} {len(v)}" for n, v in attributes.items())
            raise DataValidationError(
                f"grouping by {sizes} classes needs {n_cells:,} cells, more than the "
                f"{MAX_CELLS:,} allowed (every table of the audit is per cell): "
                "group by fewer or coarser attributes (an attribute with a value per row, "
                "such as a file name, is not a group)"
            )
        self._n_cells = n_cells
        self._counts = {
            t: np.zeros((n_cells, len(v), len(v)), dtype=np.int64) for t, v in self.tasks.items()
        }

    # ----------------------------------------------------------------- update
    def update(
        self,
        *,
        y_true: Mapping[str, ArrayLike],
        y_pred: Mapping[str, ArrayLike] | None = None,
        y_proba: Mapping[str, ArrayLike] | None = None,
        sensitive_features: pd.DataFrame | Mapping[str, ArrayLike] | None = None,
        y_true_regression: Mapping[str, ArrayLike] | None = None,
        y_pred_regression: Mapping[str, ArrayLike] | None = None,
    ) -> AuditAccumulator:
        """Add one batch of rows.

        Parameters
        ----------
        y_true : mapping of str to array-like
            True labels per task (class names, a Categorical, or integer codes).
        y_pred : mapping of str to array-like, optional
            Predicted labels per task; a task without one uses the argmax of its
            probabilities (ties: the first class).
        y_proba : mapping of str to array of shape (n_rows, C), optional
            Predicted probabilities per task, in the task's class order; they feed
            the calibration statistics.
        sensitive_features : pandas.DataFrame or mapping of str to array-like, optional
            Sensitive attributes per row. Default: the true labels of the tasks.
        y_true_regression, y_pred_regression : mapping of str to array-like, optional
            Numeric targets (e.g. ``{"age_years": ...}``): MAE and bias per slice.

        Returns
        -------
        AuditAccumulator
            ``self``, so calls chain.

        Raises
        ------
        DataValidationError
            Mismatched lengths, unknown labels or attribute values, missing values,
            bad probabilities, a task without predictions.
        """
        y_true = dict(y_true)
        y_pred = dict(y_pred or {})
        y_proba = dict(y_proba or {})
        if isinstance(sensitive_features, pd.DataFrame):
            sensitive: dict[str, ArrayLike] | None = {
                str(c): sensitive_features[c] for c in sensitive_features.columns
            }
        elif sensitive_features is not None:
            sensitive = dict(sensitive_features)
        else:
            sensitive = None
        reg_true = dict(y_true_regression or {})
        reg_pred = dict(y_pred_regression or {})
        if not y_true:
            raise DataValidationError("y_true must hold the true labels of at least one task")
        self._check_lengths(y_true, y_pred, y_proba, sensitive, reg_true, reg_pred)
        if self.tasks is None:
            self._setup(y_true, sensitive)
        assert self.tasks is not None and self.attributes is not None
        self._check_names(y_true, y_pred, y_proba, sensitive)
        n_rows = _length(next(iter(y_true.values())))

        true_codes: dict[str, np.ndarray] = {}
        pred_codes: dict[str, np.ndarray] = {}
        probas: dict[str, np.ndarray] = {}
        for task, vocab in self.tasks.items():
            true_codes[task] = encode_labels(y_true[task], vocab, what=f"true {task}")
            if task in y_proba:
                probas[task] = validate_proba(
                    y_proba[task], vocab, what=f"{task} probabilities", atol=self.proba_atol
                )
            if task in y_pred:
                pred_codes[task] = encode_labels(y_pred[task], vocab, what=f"predicted {task}")
            elif task in probas:
                pred_codes[task] = probas[task].argmax(axis=1)
            else:
                raise DataValidationError(
                    f"task {task!r} has true labels but neither predictions nor probabilities"
                )
        attr_codes = []
        for name, vocab in self.attributes.items():
            explicit = sensitive is not None and name in sensitive
            if not explicit and vocab is self.tasks.get(name):
                # a task's true labels as an attribute: already encoded (and checked)
                attr_codes.append(true_codes[name])
                continue
            values = sensitive[name] if explicit else y_true[name]
            if (
                explicit
                and name not in self.tasks
                and not isinstance(self._attributes_arg, Mapping)
            ):
                values = as_str_labels(values)
            missing_code = (
                vocab.classes.index(MISSING)
                if (self.missing == "group" and explicit and MISSING in vocab)
                else None
            )
            attr_codes.append(
                encode_labels(
                    values, vocab, what=f"sensitive attribute {name}", missing_code=missing_code
                )
            )
        cell = (
            mixed_radix_index(attr_codes, self._shape())
            if attr_codes
            else np.zeros(n_rows, dtype=np.int64)
        )
        index = np.empty(n_rows, dtype=np.int64)  # one buffer for every task's joint codes
        for task, vocab in self.tasks.items():
            n_classes = len(vocab)
            mixed_radix_index(
                (cell, true_codes[task], pred_codes[task]),
                (self._n_cells, n_classes, n_classes),
                out=index,
            )
            self._counts[task] += np.bincount(
                index, minlength=self._n_cells * n_classes * n_classes
            ).reshape(self._counts[task].shape)
        if self.n_batches and set(probas) != set(self._calibration):
            raise DataValidationError(
                f"batch {self.n_batches + 1} gives probabilities of {sorted(probas)} but earlier "
                f"batches gave {sorted(self._calibration)}; give them in every batch or in none"
            )
        for task, proba in probas.items():
            stats = calibration_counts(
                cell,
                true_codes[task],
                pred_codes[task],
                proba,
                n_cells=self._n_cells,
                n_bins=self.n_bins,
            )
            if task not in self._calibration:
                self._calibration[task] = np.zeros_like(stats)
            self._calibration[task] += stats
        self._update_regression(cell, reg_true, reg_pred)
        self.n_batches += 1
        self.n_rows += n_rows
        return self

    def _shape(self) -> tuple[int, ...]:
        assert self.attributes is not None
        return tuple(len(v) for v in self.attributes.values())

    def _update_regression(
        self, cell: np.ndarray, reg_true: Mapping[str, ArrayLike], reg_pred: Mapping[str, ArrayLike]
    ) -> None:
        if set(reg_true) != set(reg_pred):
            raise DataValidationError(
                f"regression targets need true and predicted values: true {sorted(reg_true)}, "
                f"predicted {sorted(reg_pred)}"
            )
        if self.n_batches and set(reg_true) != set(self._regression):
            raise DataValidationError(
                f"regression targets {sorted(reg_true)} differ from earlier batches' "
                f"{sorted(self._regression)}"
            )
        for target in reg_true:
            values = []
            for kind, source in (("true", reg_true), ("predicted", reg_pred)):
                try:
                    arr = np.asarray(
                        pd.to_numeric(pd.Series(source[target]), errors="raise"), dtype=np.float64
                    )
                except (TypeError, ValueError) as exc:
                    raise DataValidationError(f"{kind} {target} must be numbers ({exc})") from exc
                bad = np.flatnonzero(~np.isfinite(arr))
                if bad.size:
                    raise DataValidationError(
                        f"{kind} {target} has {bad.size} missing or non-finite value(s) at "
                        f"row(s) {(bad[:10] + 1).tolist()}"
                    )
                values.append(arr)
            error = values[1] - values[0]
            size = self._n_cells
            sums = np.stack(
                [
                    np.bincount(cell, minlength=size).astype(np.float64),
                    np.bincount(cell, weights=error, minlength=size),
                    np.bincount(cell, weights=np.abs(error), minlength=size),
                    np.bincount(cell, weights=error * error, minlength=size),
                ],
                axis=1,
            )
            assert sums.shape[1] == len(REGRESSION_STATS)
            if target not in self._regression:
                self._regression[target] = np.zeros_like(sums)
            self._regression[target] += sums

    def _check_lengths(self, *mappings: Mapping[str, ArrayLike] | None) -> None:
        lengths: dict[str, int] = {}
        labels = (
            "y_true",
            "y_pred",
            "y_proba",
            "sensitive_features",
            "y_true_regression",
            "y_pred_regression",
        )
        for label, mapping in zip(labels, mappings, strict=True):
            for key, values in (mapping or {}).items():
                lengths[f"{label}[{key!r}]"] = _length(values)
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise DataValidationError(f"inputs have mismatched lengths ({detail})")

    def _check_names(
        self,
        y_true: Mapping[str, ArrayLike],
        y_pred: Mapping[str, ArrayLike],
        y_proba: Mapping[str, ArrayLike],
        sensitive: Mapping[str, ArrayLike] | None,
    ) -> None:
        assert self.tasks is not None and self.attributes is not None
        for label, mapping in (("y_true", y_true), ("y_pred", y_pred), ("y_proba", y_proba)):
            extra = sorted(set(mapping) - set(self.tasks))
            if extra:
                raise DataValidationError(
                    f"{label} has task(s) {extra} that are not audited tasks {list(self.tasks)}"
                )
        lacking = sorted(set(self.tasks) - set(y_true))
        if lacking:
            raise DataValidationError(f"y_true lacks the true labels of task(s) {lacking}")
        for name in self.attributes:
            if (sensitive is None or name not in sensitive) and name not in y_true:
                raise DataValidationError(
                    f"sensitive attribute {name!r} missing from sensitive_features"
                )

    # ---------------------------------------------------------------- compute
    def compute(self, *, metadata: Mapping[str, Any] | None = None) -> AuditResult:
        """The audit of every row seen so far.

        Raises
        ------
        DataValidationError
            If no batch was given.
        """
        if self.tasks is None or self.attributes is None:
            raise DataValidationError("no batch was given to the accumulator: nothing to audit")
        meta = {"description": self.description, "n_rows": self.n_rows, "n_batches": self.n_batches}
        meta.update(metadata or {})
        return AuditResult(
            tasks=self.tasks,
            attributes=self.attributes,
            counts={t: c.copy() for t, c in self._counts.items()},
            calibration={t: c.copy() for t, c in self._calibration.items()},
            regression={t: c.copy() for t, c in self._regression.items()},
            n_bins=self.n_bins,
            metadata=meta,
        )

    def reset(self) -> None:
        """Forget every batch (the vocabularies are resolved again on the next update)."""
        self.__init__(  # type: ignore[misc]
            tasks=self._tasks_arg,
            attributes=self._attributes_arg,
            missing=self.missing,
            n_bins=self.n_bins,
            proba_atol=self.proba_atol,
            description=self.description,
        )


def audit_predictions(
    *,
    y_true: Mapping[str, ArrayLike],
    y_pred: Mapping[str, ArrayLike] | None = None,
    y_proba: Mapping[str, ArrayLike] | None = None,
    sensitive_features: pd.DataFrame | Mapping[str, ArrayLike] | None = None,
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    y_true_regression: Mapping[str, ArrayLike] | None = None,
    y_pred_regression: Mapping[str, ArrayLike] | None = None,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> AuditResult:
    """Audit predictions of a multitask face-attribute model in one call.

    Parameters are those of :class:`AuditAccumulator` and
    :meth:`AuditAccumulator.update`; inputs may be lists, numpy arrays or pandas
    objects, and the result is always an :class:`AuditResult`.

    Examples
    --------
    >>> from fairaudit.model_audit import audit_predictions
    >>> result = audit_predictions(
    ...     y_true={"gender": ["Male", "Female", "Female"]},
    ...     y_pred={"gender": ["Male", "Male", "Female"]},
    ... )
    >>> result.metrics("gender", by="gender")[["gender", "support", "accuracy"]]
       gender  support  accuracy
    0    Male        1       1.0
    1  Female        2       0.5
    """
    accumulator = AuditAccumulator(
        tasks=tasks,
        attributes=attributes,
        missing=missing,
        n_bins=n_bins,
        proba_atol=proba_atol,
        description=description,
    )
    accumulator.update(
        y_true=y_true,
        y_pred=y_pred,
        y_proba=y_proba,
        sensitive_features=sensitive_features,
        y_true_regression=y_true_regression,
        y_pred_regression=y_pred_regression,
    )
    return accumulator.compute(metadata=metadata)
