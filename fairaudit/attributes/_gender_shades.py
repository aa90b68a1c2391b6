"""The Gender Shades table: accuracy of each task by lighter/darker skin x gender."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._views import group_rate_table

__all__ = ["gender_shades_table"]


def gender_shades_table(
    audit: AuditResult,
    *,
    skin: str = "skin_type",
    gender: str = "gender",
    tasks: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Accuracy of each task in each skin x gender group, with exact intervals.

    Buolamwini & Gebru's table (Gender Shades, 2018): lighter and darker skin
    (here the ITA split of :func:`~fairaudit.attributes.derive_attributes`, a proxy
    for Fitzpatrick I-III vs IV-VI) crossed with gender. The audit must be grouped
    by both columns (``audit_table(..., attributes=[..., "skin_type", "gender"])``).

    Parameters
    ----------
    audit : AuditResult
    skin : str, default="skin_type"
        The skin grouping (any attribute of the audit, e.g. ``"skin_tone"``).
    gender : str, default="gender"
    tasks : sequence of str, optional
        Default: every task of the audit.
    confidence : float, default=0.95
        Coverage of each (unadjusted) interval: exact (Clopper-Pearson), the
        inference layer's procedure for a group's rate (:func:`fairaudit.claims.rate_interval`),
        as every per-group rate of the report.

    Returns
    -------
    pandas.DataFrame
        One row per task, skin group and gender group (the attributes' class
        order): ``task``, ``skin``, ``gender``, ``n``, ``correct``, ``accuracy``
        (NaN for an empty group), ``lower``, ``upper``, ``error_rate``
        (``1 - accuracy``).

    Raises
    ------
    DataValidationError
        The audit is not grouped by ``skin`` or ``gender``, or an unknown task.
    """
    missing = [a for a in (skin, gender) if a not in audit.attributes]
    if missing:
        raise DataValidationError(
            f"the Gender Shades table needs an audit grouped by {missing}; this audit groups by "
            f"{list(audit.attributes)} (audit_table(..., attributes=[..., {skin!r}, {gender!r}]))"
        )
    columns = ["task", "skin", "gender", "n", "correct", "accuracy", "lower", "upper"]
    frames = []
    for task in tasks if tasks is not None else list(audit.tasks):
        view = group_rate_table(
            audit, task, by=(skin, gender), method="exact", confidence=confidence
        )
        frames.append(
            pd.DataFrame(
                {
                    "task": task,
                    "skin": view[skin].to_numpy(dtype=object),
                    "gender": view[gender].to_numpy(dtype=object),
                    "n": view["n"],
                    "correct": view["hits"],
                    "accuracy": view["rate"],
                    "lower": view["lower"],
                    "upper": view["upper"],
                },
                columns=columns,
            )
        )
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    table["error_rate"] = 1.0 - table["accuracy"]
    return table
