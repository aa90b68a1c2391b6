"""Task specifications: what each output head of a multi-task model predicts.

A model predicts several attributes of a face at once; each is a :class:`TaskSpec`
(a name, and the class vocabulary of a classification task or the scale of a
regression task). The task specs travel inside checkpoints, so a loaded model
always knows what its outputs mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fairaudit.exceptions import ConfigurationError
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER, UTKFACE_RACE, Vocabulary

__all__ = [
    "FAIRFACE_TASKS",
    "TASK_KINDS",
    "UTKFACE_MAX_AGE",
    "UTKFACE_TASKS",
    "TaskSpec",
    "validate_tasks",
]

#: The kinds of task a head can solve.
TASK_KINDS: tuple[str, ...] = ("classification", "regression")

#: Scale of the UTKFace age regression head, in years. UTKFace's labels run from
#: 1 to 116, so a sigmoid output times 116 covers every label without clipping.
#: (Studies that keep only ages below 65 would use 65 instead; pass
#: ``TaskSpec("age", kind="regression", max_value=65.0)`` for that protocol.)
UTKFACE_MAX_AGE: float = 116.0


@dataclass(frozen=True)
class TaskSpec:
    """One output of a multi-task model.

    Parameters
    ----------
    name : str
        Task name, also the key of the model's output dict and of its head in
        the state dict (``"gender"``, ``"age"``, ``"race"``; any non-empty name
        without a dot is allowed).
    classes : tuple of str, default=()
        Class labels of a classification task, in output order. Empty for a
        regression task.
    kind : {"classification", "regression"}, default="classification"
        A classification head outputs ``len(classes)`` logits; a regression head
        outputs one value in ``[0, 1]`` (a sigmoid).
    max_value : float, optional
        Regression only (and required there): the prediction in the task's unit
        (years) is the sigmoid output times ``max_value``. Training targets are
        ``value / max_value``.

    Raises
    ------
    ConfigurationError
        If the fields are inconsistent (unknown kind, fewer than two classes,
        duplicate classes, a regression task without a positive ``max_value``...).

    Examples
    --------
    >>> from fairaudit.models._tasks import TaskSpec
    >>> TaskSpec("gender", ("Male", "Female")).num_outputs
    2
    >>> TaskSpec("age", kind="regression", max_value=116.0).num_outputs
    1
    """

    name: str
    classes: tuple[str, ...] = ()
    kind: str = "classification"
    max_value: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise ConfigurationError(
                f"task name must be a non-empty string without '.', got {self.name!r}"
            )
        if isinstance(self.classes, str) or not isinstance(self.classes, Iterable):
            raise ConfigurationError(
                f"task {self.name!r}: classes must be a sequence of labels, got {self.classes!r}"
            )
        classes = tuple(self.classes)
        object.__setattr__(self, "classes", classes)
        if self.kind not in TASK_KINDS:
            raise ConfigurationError(
                f"task {self.name!r}: kind must be one of {list(TASK_KINDS)}, got {self.kind!r}"
            )
        if self.kind == "classification":
            if len(classes) < 2:
                raise ConfigurationError(
                    f"classification task {self.name!r} needs at least 2 classes, got {classes}"
                )
            if not all(isinstance(c, str) for c in classes):
                raise ConfigurationError(
                    f"task {self.name!r}: class labels must be strings, got {classes}"
                )
            if len(set(classes)) != len(classes):
                raise ConfigurationError(f"task {self.name!r} has duplicate classes: {classes}")
            if self.max_value is not None:
                raise ConfigurationError(
                    f"classification task {self.name!r} takes no max_value (got {self.max_value})"
                )
        else:
            if classes:
                raise ConfigurationError(
                    f"regression task {self.name!r} takes no classes (got {classes})"
                )
            if (
                isinstance(self.max_value, bool)
                or not isinstance(self.max_value, int | float)
                or not self.max_value > 0
                or self.max_value == float("inf")
            ):
                raise ConfigurationError(
                    f"regression task {self.name!r} needs a finite max_value > 0 "
                    f"(prediction = sigmoid output * max_value), got {self.max_value!r}"
                )
            object.__setattr__(self, "max_value", float(self.max_value))

    @property
    def num_outputs(self) -> int:
        """Width of the head's output layer (number of classes, or 1)."""
        return len(self.classes) if self.kind == "classification" else 1

    @property
    def is_classification(self) -> bool:
        """Whether this is a classification task."""
        return self.kind == "classification"

    @classmethod
    def from_vocabulary(cls, vocabulary: Vocabulary) -> TaskSpec:
        """The classification task of a :class:`~fairaudit.vocab.Vocabulary`."""
        return cls(vocabulary.name, vocabulary.classes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (stored in checkpoints); inverse of :meth:`from_dict`."""
        return {
            "name": self.name,
            "classes": list(self.classes),
            "kind": self.kind,
            "max_value": self.max_value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskSpec:
        """Rebuild a task spec written by :meth:`to_dict`.

        Raises
        ------
        ConfigurationError
            If ``data`` is not a mapping with exactly the fields of a task spec,
            or the fields are inconsistent.
        """
        fields = {"name", "classes", "kind", "max_value"}
        if not isinstance(data, Mapping) or set(data) != fields:
            raise ConfigurationError(
                f"a task spec needs exactly the fields {sorted(fields)}, got {data!r}"
            )
        return cls(
            name=data["name"],
            classes=tuple(data["classes"]),
            kind=data["kind"],
            max_value=data["max_value"],
        )

    def output_from_raw(self, raw: torch.Tensor) -> torch.Tensor:
        """Turn the output layer's raw values ``(N, num_outputs)`` into the task output.

        Classification: the logits unchanged, ``(N, C)``. Regression: the sigmoid
        of the single output, ``(N,)`` in ``[0, 1]``.
        """
        if self.kind == "classification":
            return raw
        return torch.sigmoid(raw[:, 0])


def validate_tasks(tasks: Sequence[TaskSpec] | Iterable[TaskSpec]) -> tuple[TaskSpec, ...]:
    """Check a collection of task specs and return it as a tuple.

    Raises
    ------
    ConfigurationError
        If it is empty, holds something other than :class:`TaskSpec`, or two
        tasks share a name.
    """
    if isinstance(tasks, TaskSpec):
        raise ConfigurationError("tasks must be a sequence of TaskSpec, got a single TaskSpec")
    tasks = tuple(tasks)
    if not tasks:
        raise ConfigurationError("a model needs at least one task")
    bad = [t for t in tasks if not isinstance(t, TaskSpec)]
    if bad:
        raise ConfigurationError(f"tasks must be TaskSpec instances, got {bad!r}")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"task names must be unique, got {names}")
    return tasks


#: The FairFace tasks: gender (2), age (the 9 groups) and race (7), all classification.
FAIRFACE_TASKS: tuple[TaskSpec, ...] = (
    TaskSpec.from_vocabulary(GENDER),
    TaskSpec.from_vocabulary(FAIRFACE_AGE),
    TaskSpec.from_vocabulary(FAIRFACE_RACE),
)

#: The UTKFace study's tasks: gender (2), age as a regression in years (sigmoid
#: output times :data:`UTKFACE_MAX_AGE` = 116) and race (UTKFace's 5 groups).
UTKFACE_TASKS: tuple[TaskSpec, ...] = (
    TaskSpec.from_vocabulary(GENDER),
    TaskSpec("age", kind="regression", max_value=UTKFACE_MAX_AGE),
    TaskSpec.from_vocabulary(UTKFACE_RACE),
)
