"""Inputs of a comparison: audits loaded and checked as comparable, groupings, metrics, pairs."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from fairaudit.compare._paired import PairedCounts
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import normalize_by
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS
from fairaudit.model_audit import AuditResult
from fairaudit.vocab import Vocabulary

__all__ = ["check_compatible", "check_metrics", "load_audits", "match_paired", "resolve_groupings"]


def _model_name(audit: AuditResult) -> str | None:
    """The audit's ``metadata["model"]`` (or ``metadata["name"]``), if a non-empty string."""
    for key in ("model", "name"):
        value = audit.metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def load_audits(
    audits: Sequence[AuditResult | str | os.PathLike[str]], names: Sequence[str] | None
) -> tuple[list[AuditResult], list[str]]:
    """The audits (loaded where given as files) and their version names.

    Default names: each audit's ``metadata["model"]`` (or ``metadata["name"]``) when a
    non-empty string, else the file name without suffix, else ``v1``, ``v2``, ...; audits
    given as files whose model names are the same keep their file names, and names
    that still repeat are numbered.
    """
    if isinstance(audits, AuditResult | str | os.PathLike):
        raise DataValidationError("compare_audits needs a sequence of at least two audits")
    items = list(audits)
    if len(items) < 2:
        raise DataValidationError(
            f"a comparison needs at least two audits (a baseline and a candidate), got {len(items)}"
        )
    loaded, defaults, stems = [], [], []
    for i, item in enumerate(items):
        if isinstance(item, AuditResult):
            audit, stem = item, None
        elif isinstance(item, str | os.PathLike):
            audit, stem = AuditResult.load(item), Path(item).stem
        else:
            raise DataValidationError(
                f"audit {i + 1} is a {type(item).__name__}, not an AuditResult or a file path"
            )
        loaded.append(audit)
        stems.append(stem)
        model = _model_name(audit)
        defaults.append(model or stem or f"v{i + 1}")
    if names is None:
        # audits of the same model (e.g. before and after a fix) keep their file names
        defaults = [
            stem if stem and defaults.count(name) > 1 else name
            for name, stem in zip(defaults, stems, strict=True)
        ]
        names = []
        for i, name in enumerate(defaults):
            names.append(name if defaults.count(name) == 1 else f"{name} ({i + 1})")
    names = [str(n) for n in names]
    if len(names) != len(loaded):
        raise DataValidationError(f"{len(names)} name(s) given for {len(loaded)} audits")
    if len(set(names)) != len(names) or not all(names):
        raise DataValidationError(f"version names must be unique and non-empty, got {names}")
    return loaded, names


def _describe(vocabs: Mapping[str, Vocabulary]) -> str:
    return "[" + ", ".join(f"{k}({len(v)})" for k, v in vocabs.items()) + "]"


def check_compatible(
    audits: Sequence[AuditResult], names: Sequence[str], tasks: Sequence[str] | None
) -> list[str]:
    """The tasks to compare; refuses other tasks, classes, attributes or data."""
    base, base_name = audits[0], names[0]
    if tasks is None:
        task_names = list(base.tasks)
    else:
        task_names = [tasks] if isinstance(tasks, str) else list(tasks)
    for audit, name in zip(audits[1:], names[1:], strict=True):
        pair = f"audits {base_name!r} and {name!r}"
        if tasks is None and base.tasks != audit.tasks:
            message = (
                f"cannot compare {pair}: they cover other tasks or classes "
                f"({base_name}: {_describe(base.tasks)}, {name}: {_describe(audit.tasks)})"
            )
            raise DataValidationError(
                f"{message}; pass tasks=[...] to compare the tasks they share",
                cli=f"{message}; name the tasks they share with --tasks TASK ...",
            )
        for task in task_names:
            for label, one in ((base_name, base), (name, audit)):
                if task not in one.tasks:
                    raise DataValidationError(
                        f"cannot compare {pair}: {label!r} has no task {task!r} "
                        f"(it has {list(one.tasks)})"
                    )
            if base.tasks[task] != audit.tasks[task]:
                raise DataValidationError(
                    f"cannot compare {pair}: task {task!r} has other classes "
                    f"({list(base.tasks[task].classes)} vs {list(audit.tasks[task].classes)})"
                )
        if list(base.attributes.items()) != list(audit.attributes.items()):  # cell order too
            detail = (
                ", ".join(f"{a}: {list(v.classes)}" for a, v in base.attributes.items()) or "none"
            )
            other = (
                ", ".join(f"{a}: {list(v.classes)}" for a, v in audit.attributes.items()) or "none"
            )
            raise DataValidationError(
                f"cannot compare {pair}: they slice by other sensitive attributes "
                f"({base_name}: {detail}; {name}: {other})"
            )
        for task in task_names:
            rows_a = base.counts[task].sum(axis=2)
            rows_b = audit.counts[task].sum(axis=2)
            if not np.array_equal(rows_a, rows_b):
                bad = np.argwhere(rows_a != rows_b)
                cell, k = int(bad[0, 0]), int(bad[0, 1])
                where = base.group_names(tuple(base.attributes))[cell]
                raise DataValidationError(
                    f"cannot compare {pair}: they were not audited on the same data "
                    f"(task {task!r}: {int(rows_a.sum())} vs {int(rows_b.sum())} rows; the rows "
                    f"per cell and true class differ in {len(bad)} place(s), e.g. {where}, true "
                    f"{base.tasks[task].classes[k]}: {int(rows_a[cell, k])} vs "
                    f"{int(rows_b[cell, k])}). Audit every version on the same labelled rows."
                )
    return task_names


def resolve_groupings(
    by: str | Sequence[str | Sequence[str]] | None, names: Sequence[str]
) -> list[tuple[str, ...]]:
    """Overall, each attribute and each pair by default; else the groupings asked for."""
    if by is None:
        groupings: list[tuple[str, ...]] = [(), *((n,) for n in names)]
        groupings += list(itertools.combinations(names, 2))
        return groupings
    items = [by] if isinstance(by, str) else list(by)
    out = []
    for item in items:
        if item is None or item == "overall" or (not isinstance(item, str) and len(item) == 0):
            out.append(())
        else:
            out.append(normalize_by(item, names))
    return list(dict.fromkeys(out))


def check_metrics(metrics: Sequence[str]) -> list[str]:
    known = [*SLICE_METRICS, *CLASS_METRICS, *GAP_METRICS]
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise DataValidationError(f"unknown metric(s) {unknown}; choose from {known}")
    if not metrics:
        raise DataValidationError("metrics must name at least one metric")
    return list(dict.fromkeys(metrics))


def match_paired(
    paired: PairedCounts | Sequence[PairedCounts] | None,
    audits: Sequence[AuditResult],
    names: Sequence[str],
    tasks: Sequence[str],
) -> dict[int, PairedCounts]:
    """For each candidate, the pairs of (baseline, candidate), oriented baseline first."""
    if paired is None:
        return {}
    items = [paired] if isinstance(paired, PairedCounts) else list(paired)
    found: dict[int, PairedCounts] = {}
    for item in items:
        if not isinstance(item, PairedCounts):
            raise DataValidationError(
                f"paired must hold PairedCounts objects, got {type(item).__name__}"
            )
        shared = [t for t in tasks if t in item.tasks]
        if not shared:
            raise DataValidationError(
                f"paired counts {item.names[0]!r} vs {item.names[1]!r} have tasks "
                f"{list(item.tasks)}, none of the compared tasks {list(tasks)}"
            )
        errors = []
        matched = False
        # try candidates whose name the pairs carry first, then any candidate
        order = sorted(range(1, len(audits)), key=lambda j: names[j] not in item.names)
        for j in order:
            for oriented in (item, item.swapped()):
                try:
                    oriented.check_audits(
                        audits[0], audits[j], tasks=shared, names=(names[0], names[j])
                    )
                except DataValidationError as exc:
                    errors.append(str(exc))
                    continue
                found.setdefault(j, oriented)
                matched = True
                break
            if matched:
                break
        if not matched:
            raise DataValidationError(
                f"paired counts {item.names[0]!r} vs {item.names[1]!r} do not belong to the "
                f"baseline {names[0]!r} and any candidate: {errors[0]}"
            )
    return found
