"""Early-stopping rules, with a state that a checkpoint saves and restores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fairaudit.exceptions import DataValidationError

__all__ = ["EarlyStopping"]

_RULES = ("train_loss_delta", "val_patience", "none")


@dataclass
class EarlyStopping:
    """Decide after each epoch whether training should stop.

    Parameters
    ----------
    rule : {"train_loss_delta", "val_patience", "none"}
        ``"train_loss_delta"`` (the FairFace reference rule): stop when the
        epoch's training loss fell by less than ``min_delta`` compared with the
        previous epoch's. ``"val_patience"``: stop once ``patience`` consecutive
        epochs brought no validation loss below ``best - min_delta``.
        ``"none"``: never stop early. (As in Keras, the best validation loss
        only moves on an improvement larger than ``min_delta``.)
    min_delta : float, default=0.1
    patience : int, default=3

    Examples
    --------
    >>> stopper = EarlyStopping("train_loss_delta", min_delta=0.1)
    >>> [stopper.step(train_loss=t, val_loss=0.0) for t in (3.0, 2.5, 2.45)]
    [False, False, True]
    >>> stopper.reason
    'training loss fell by 0.05 < min_delta 0.1 (2.5 -> 2.45)'
    """

    rule: str = "train_loss_delta"
    min_delta: float = 0.1
    patience: int = 3
    previous_train_loss: float | None = field(default=None)
    best_val_loss: float | None = field(default=None)
    bad_epochs: int = field(default=0)
    reason: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.rule not in _RULES:
            raise DataValidationError(
                f"early-stopping rule must be one of {_RULES}, got {self.rule!r}"
            )
        if self.min_delta < 0:
            raise DataValidationError(f"min_delta must be >= 0, got {self.min_delta}")
        if self.patience < 1:
            raise DataValidationError(f"patience must be >= 1, got {self.patience}")

    def step(self, *, train_loss: float, val_loss: float) -> bool:
        """Record one epoch's losses; return True when training should stop.

        Raises
        ------
        DataValidationError
            If a loss is not finite (a diverged run is reported, not hidden).
        """
        for name, value in (("training", train_loss), ("validation", val_loss)):
            if not math.isfinite(value):
                raise DataValidationError(
                    f"the {name} loss is {value}: training diverged (try a lower learning rate)"
                )
        stop = False
        if self.rule == "train_loss_delta":
            previous = self.previous_train_loss
            if previous is not None and previous - train_loss < self.min_delta:
                stop = True
                self.reason = (
                    f"training loss fell by {previous - train_loss:.4g} < min_delta "
                    f"{self.min_delta:g} ({previous:.4g} -> {train_loss:.4g})"
                )
        elif self.rule == "val_patience":
            if self.best_val_loss is None or val_loss < self.best_val_loss - self.min_delta:
                self.best_val_loss = float(val_loss)
                self.bad_epochs = 0
            else:
                self.bad_epochs += 1
                if self.bad_epochs >= self.patience:
                    stop = True
                    self.reason = (
                        f"no validation loss below {self.best_val_loss:.4g} - {self.min_delta:g} "
                        f"for {self.bad_epochs} epoch(s) (patience {self.patience})"
                    )
        self.previous_train_loss = float(train_loss)
        return stop

    def state_dict(self) -> dict[str, Any]:
        """Plain-container state (saved in checkpoints)."""
        return {
            "rule": self.rule,
            "min_delta": float(self.min_delta),
            "patience": int(self.patience),
            "previous_train_loss": self.previous_train_loss,
            "best_val_loss": self.best_val_loss,
            "bad_epochs": int(self.bad_epochs),
            "reason": self.reason,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.previous_train_loss = state.get("previous_train_loss")
        self.best_val_loss = state.get("best_val_loss")
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.reason = state.get("reason")
