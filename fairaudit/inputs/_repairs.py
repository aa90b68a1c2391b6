"""Explicit label repairs, and the hint that says how to repair an unknown label."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._ages import _years_like
from fairaudit.inputs._codings import CODINGS
from fairaudit.schema import pred_column
from fairaudit.vocab import Vocabulary

__all__ = ["apply_label_repairs", "summed_repairs"]

_log = logging.getLogger("fairaudit")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def apply_label_repairs(
    frame: pd.DataFrame,
    repairs: Mapping[str, Mapping[str, str]] | None,
    *,
    source: str,
    log: list[dict[str, Any]],
) -> pd.DataFrame:
    """Apply explicit repairs ``{column: {raw value: class}}`` to the columns ``frame`` holds.

    Every applied repair is logged (logger ``fairaudit``) and appended to ``log`` as
    ``{"source", "column", "from", "to", "n_rows"}``. Nothing is repaired implicitly.
    """
    if not repairs:
        return frame
    out = frame
    for column, mapping in repairs.items():
        if column not in frame.columns:
            continue
        if not isinstance(mapping, Mapping):
            raise DataValidationError(
                f"label_repairs[{column!r}] must map raw values to classes, got {mapping!r}"
            )
        values = out[column].astype("object")
        for raw, fixed in mapping.items():
            hit = values.astype(str).eq(str(raw)).to_numpy() & values.notna().to_numpy()
            n_rows = int(hit.sum())
            if n_rows:
                if out is frame:
                    out = frame.copy()
                values = values.where(~hit, fixed)
            _log.info("%s: repaired %s %r -> %r in %d rows", source, column, raw, fixed, n_rows)
            log.append(
                {"source": source, "column": column, "from": raw, "to": fixed, "n_rows": n_rows}
            )
        if out is not frame:
            out[column] = values
    return out


def summed_repairs(
    parts: Sequence[Mapping[str, Any]], *, label_source: str | None, source: str
) -> list[dict[str, Any]]:
    """The repair logs of a table's parts (Dask partitions, chunks) as the whole table's:
    the predictions' rows summed (named ``source``), the labels' repairs once."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for metadata in parts:
        for entry in metadata.get("repairs") or []:
            of_labels = label_source is not None and entry["source"] == label_source
            key = (of_labels, entry["column"], entry["from"], entry["to"])
            if key not in out:
                out[key] = dict(entry, source=entry["source"] if of_labels else source)
            elif not of_labels:
                out[key]["n_rows"] += entry["n_rows"]
    return [v for k, v in out.items() if not k[0]] + [v for k, v in out.items() if k[0]]


def _excel_forms(label: str) -> set[str]:
    """How a spreadsheet shows a range label it took for a date ('3-9' -> '9-Mar')."""
    match = re.fullmatch(r"(\d+)-(\d+)", label)
    if not match:
        return set()
    a, b = int(match.group(1)), int(match.group(2))
    forms = set()
    if 1 <= a <= 12 and 1 <= b <= 31:  # month-day
        forms |= {f"{b}-{_MONTHS[a - 1]}", f"{_MONTHS[a - 1]}-{b}", f"{_MONTHS[a - 1]}-{b:02d}"}
    if 1 <= b <= 12 and 1 <= a <= 31:  # day-month
        forms |= {f"{a}-{_MONTHS[b - 1]}", f"{_MONTHS[b - 1]}-{a}", f"{a:02d}-{_MONTHS[b - 1]}"}
    return forms


def _repair_hint(
    column: str, attribute: str, vocab: Vocabulary, bad_values: Sequence[object]
) -> tuple[str, str]:
    """How to repair unknown labels of ``column``: the Python keyword and the CLI flags.

    Returns the hint for the Python message (keyword, then ``(CLI: flags)``) and the
    one for the command line (flags only). The flags name ``column`` itself
    (``gender_pred``, not ``gender``: a repair applies to the column it names), are
    quoted for the shell, and work when copied as printed.
    """
    present = [v for v in bad_values if not pd.isna(v)]
    if attribute == "age" and column == pred_column("age") and _years_like(present):
        return (
            "; they look like ages in years: audit them through the years mapping, "
            "mappings={'age': fairaudit.vocab.age_years_to_group} (CLI: --map age=years)",
            "; they look like ages in years: audit them through the years mapping, --map age=years",
        )
    variants: dict[str, str] = {}
    rewritten: dict[str, str] = {}
    for value in present:
        if not isinstance(value, str):
            continue
        for cls in vocab.classes:
            if value.strip().casefold() == cls.casefold():
                variants[value] = cls
            elif value in _excel_forms(cls):
                rewritten[value] = cls
    notes = []
    if variants:
        notes.append(
            f"{sorted(variants)} differ from the classes {sorted(set(variants.values()))} "
            "only in case or surrounding spaces"
        )
    if rewritten:
        notes.append(
            f"{sorted(rewritten)} look like a spreadsheet's rewriting of "
            f"{sorted(set(rewritten.values()))} as dates"
        )
    note = f" ({'; '.join(notes)})" if notes else ""
    example = {**variants, **rewritten} or {str(v): "<class>" for v in present[:1]}
    if not example:
        return "", ""
    flags = "--repair " + " ".join(
        shlex.quote(f"{column}:{raw}={cls}") for raw, cls in example.items()
    )
    other = [
        name
        for name, vocabs in CODINGS.items()
        if attribute in vocabs
        and vocabs[attribute] != vocab
        and all(v in vocabs[attribute] for v in present)
    ]
    python = f"{note}; repair them explicitly with label_repairs={{{column!r}: {example!r}}}"
    cli = f"{note}; repair them explicitly with {flags}"
    python += f" (CLI: {flags})"
    if other:
        name = other[0]
        python += f"; or audit with the {name} vocabulary (tasks={name!r}, --vocab {name})"
        cli += f"; or audit with the {name} vocabulary: --vocab {name}"
    return python, cli
