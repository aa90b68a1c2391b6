"""The report's options checked against the audit: heatmap pairs, attribute names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult
from fairaudit.report.sections._context import is_own_attribute

__all__ = ["check_attributes", "default_heatmaps", "resolve_heatmaps"]


def default_heatmaps(audit: AuditResult) -> dict[str, list[tuple[str, str]]]:
    """The attribute pairs of each task's accuracy heatmap when none are given.

    A task that is also an attribute (gender predicted, grouped by true gender)
    gets the pair of the other two attributes (gender accuracy by age x race);
    other tasks get the first two attributes. Fewer than two attributes: none.
    """
    attributes = list(audit.attributes)
    if len(attributes) < 2:
        return {task: [] for task in audit.tasks}
    out = {}
    for task in audit.tasks:
        others = [a for a in attributes if not is_own_attribute(audit, task, a)]
        pair = others[:2] if len(others) >= 2 else attributes[:2]
        out[task] = [(pair[0], pair[1])]
    return out


def resolve_heatmaps(
    audit: AuditResult,
    heatmaps: Mapping[str, Sequence[Sequence[str]]] | Sequence[Sequence[str]] | None,
) -> dict[str, list[tuple[str, str]]]:
    if heatmaps is None:
        return default_heatmaps(audit)
    if isinstance(heatmaps, Mapping):
        unknown = [t for t in heatmaps if t not in audit.tasks]
        if unknown:
            raise DataValidationError(
                f"heatmaps name task(s) {unknown} that this audit does not have; "
                f"its tasks are {list(audit.tasks)}"
            )
        chosen = {task: list(heatmaps.get(task, ())) for task in audit.tasks}
    else:
        pairs = list(heatmaps)
        chosen = {task: pairs for task in audit.tasks}
    out: dict[str, list[tuple[str, str]]] = {}
    for task, pairs in chosen.items():
        checked = []
        for pair in pairs:
            if isinstance(pair, str) or len(pair) != 2 or pair[0] == pair[1]:
                raise DataValidationError(
                    f"a heatmap is a pair of two different attributes (rows, columns), got {pair!r}"
                )
            check_attributes(audit, pair, "heatmaps")
            checked.append((str(pair[0]), str(pair[1])))
        out[task] = checked
    return out


def check_attributes(audit: AuditResult, names: Sequence[str], option: str) -> None:
    unknown = [n for n in names if n not in audit.attributes]
    if unknown:
        raise DataValidationError(
            f"{option} names {unknown}, which {'is' if len(unknown) == 1 else 'are'} not "
            f"an attribute of this audit; its attributes are {list(audit.attributes)}"
        )
