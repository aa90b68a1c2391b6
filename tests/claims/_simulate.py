"""Simulated audits of known truth, shaped like the shipped FairFace-val audit.

The cells (gender x age x race) and their sizes are those of the shipped demo audit
of the first 5,000 FairFace val images; only the model's correctness is simulated,
so every truth (a rate, a gap) is known exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from fairaudit.model_audit import AuditResult

DEMO_AUDIT = (
    Path(__file__).resolve().parents[2] / "fairaudit/data/demo/audit-fairface-mobilenet_v2-112.json"
)


def fairface_shape() -> tuple[AuditResult, np.ndarray]:
    """The shipped audit (for its vocabularies) and its rows per cell, shape (2, 9, 7)."""
    audit = AuditResult.load(DEMO_AUDIT)
    return audit, audit.counts["gender"].sum(axis=(1, 2)).reshape(audit.shape)


def gender_audit(
    rng: np.random.Generator,
    accuracy: Callable[[np.ndarray], np.ndarray],
    *,
    rows: int | None = None,
) -> AuditResult:
    """An audit of the gender task whose accuracy per cell is ``accuracy(index)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    accuracy : callable
        Maps the cell index grid ``(3, 2, 9, 7)`` (gender, age, race of each cell) to
        the probability that a row of the cell is predicted right.
    rows : int, optional
        Draw this many rows from the cells' shares (default: the cells' own sizes).
    """
    template, n = fairface_shape()
    if rows is not None:
        n = rng.multinomial(rows, (n / n.sum()).ravel()).reshape(n.shape)
    p = accuracy(np.indices(n.shape))
    correct = rng.binomial(n, p)
    gender = np.indices(n.shape)[0].ravel()
    counts = np.zeros((n.size, 2, 2), dtype=np.int64)
    cells = np.arange(n.size)
    counts[cells, gender, gender] = correct.ravel()
    counts[cells, gender, 1 - gender] = (n - correct).ravel()
    return AuditResult(
        tasks={"gender": template.tasks["gender"]},
        attributes=template.attributes,
        counts={"gender": counts},
    )


def race_index(name: str) -> int:
    """Index of a race class in the shipped audit's vocabulary."""
    template, _ = fairface_shape()
    return list(template.attributes["race"].classes).index(name)
