"""Integer-coded class columns, read through an explicit coding only."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._ages import _years_like
from fairaudit.schema import pred_column
from fairaudit.vocab import ATTRIBUTES, FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES, Vocabulary

__all__ = ["CODINGS", "coding_by_column", "decode_integer_codes", "is_integer_coded"]

#: Named integer codings of the class columns: code ``i`` is class ``i`` of that
#: dataset's vocabulary (``--coding race=utkface``).
CODINGS: dict[str, dict[str, Vocabulary]] = {
    "fairface": FAIRFACE_VOCABULARIES,
    "utkface": UTKFACE_VOCABULARIES,
}


def is_integer_coded(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_integer_dtype(series.dtype):
        return True
    if pd.api.types.is_float_dtype(series.dtype):
        present = series.dropna().to_numpy()
        return bool(present.size) and bool(np.all(present == np.floor(present)))
    return False


def _coding_classes(
    spec: object, attribute: str, *, source: str
) -> tuple[tuple[str, ...], str | None]:
    """Classes in code order of a coding: a named one, a list, a {code: label} mapping or file."""
    if isinstance(spec, str) and spec in CODINGS:
        vocabs = CODINGS[spec]
        if attribute not in vocabs:
            raise DataValidationError(
                f"coding {spec!r} has no {attribute!r} classes; it codes {list(vocabs)}"
            )
        return vocabs[attribute].classes, spec
    if isinstance(spec, str | os.PathLike):
        path = Path(spec)
        if not path.is_file():
            raise DataValidationError(
                f"coding {str(spec)!r} for {attribute!r} is neither {list(CODINGS)} nor a JSON file"
            )
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataValidationError(f"{path}: not a readable JSON coding ({exc})") from None
    if isinstance(spec, Mapping):
        try:
            by_code = {int(k): str(v) for k, v in spec.items()}
        except (TypeError, ValueError):
            raise DataValidationError(
                f"coding of {attribute!r} must map integer codes to labels, got {dict(spec)!r}"
            ) from None
        if sorted(by_code) != list(range(len(by_code))):
            raise DataValidationError(
                f"coding of {attribute!r} must give codes 0..{len(by_code) - 1}, got "
                f"{sorted(by_code)}"
            )
        return tuple(by_code[i] for i in range(len(by_code))), None
    if isinstance(spec, Sequence):
        return tuple(str(c) for c in spec), None
    raise DataValidationError(f"coding of {attribute!r}: cannot read {spec!r}")


def decode_integer_codes(
    series: pd.Series,
    *,
    column: str,
    attribute: str,
    coding: object | None,
    source: str,
    rows: np.ndarray | None = None,
) -> pd.Series:
    """Integer codes of a class column as labels, through an explicit coding only.

    Raises
    ------
    DataValidationError
        Integer codes without a coding (naming the column and the codings they could
        be), or codes outside the coding.
    """
    present = series.dropna().to_numpy(dtype=np.int64)
    if coding is None:
        fits = [
            f"{name} ({len(v[attribute])} classes: {list(v[attribute].classes)})"
            for name, v in CODINGS.items()
            if attribute in v and (not present.size or present.max() < len(v[attribute]))
        ]
        values = sorted(set(present.tolist()))[:12]
        if column == pred_column("age") and present.size and _years_like(present.tolist()):
            years = f"{source}: column {column!r} holds the numbers {values}"
            if not fits:
                raise DataValidationError(
                    f"{years}, which look like ages in years: audit them through the years "
                    "mapping, mappings={'age': fairaudit.vocab.age_years_to_group} "
                    "(CLI: --map age=years)",
                    cli=f"{years}, which look like ages in years: audit them through the years "
                    "mapping, --map age=years",
                )
        could = "; it could be " + " or ".join(fits) if fits else ""
        head = (
            f"{source}: column {column!r} holds integer codes {values}, and integer codes are "
            "read only with an explicit coding (they are not assumed to be in FairFace "
            f"order){could}. Say which: "
        )
        or_years = (
            "; or, if they are ages in years, the years mapping "
            if column == pred_column("age")
            else ""
        )
        raise DataValidationError(
            f"{head}coding={{{attribute!r}: 'utkface'}} or a {{code: label}} mapping "
            f"(CLI: --coding {attribute}=utkface, or --coding {attribute}=coding.json), or "
            f"declare the vocabularies that labels and predictions share (tasks='fairface', "
            f"--vocab fairface)"
            + (
                f"{or_years}(mappings={{'age': age_years_to_group}}, --map age=years)"
                if or_years
                else ""
            ),
            cli=f"{head}--coding {attribute}=utkface, or --coding {attribute}=coding.json "
            '({"0": "label", ...}), or declare the vocabularies that labels and predictions '
            "share with --vocab fairface" + (f"{or_years}--map age=years" if or_years else ""),
        )
    classes, _ = _coding_classes(coding, attribute, source=source)
    codes = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isnan(codes) & ((codes < 0) | (codes >= len(classes))))
    if bad.size:
        where = (np.asarray(rows)[bad] if rows is not None else bad + 1)[:10].tolist()
        raise DataValidationError(
            f"{source}: column {column!r} holds code(s) {sorted(set(codes[bad].tolist()))[:10]} "
            f"outside the coding's {len(classes)} classes {list(classes)} at row(s) {where}"
        )
    labels = np.asarray(classes, dtype=object)[np.nan_to_num(codes, nan=0).astype(np.int64)]
    out = pd.Series(labels, index=series.index, dtype="object")
    return out.where(series.notna(), None)


def coding_by_column(coding: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if coding is None:
        return {}
    if isinstance(coding, str):
        if coding not in CODINGS:
            raise DataValidationError(
                f"coding {coding!r}: name one of {list(CODINGS)}, or pass {{column: coding}}"
            )
        return {a: coding for a in ATTRIBUTES}
    if not isinstance(coding, Mapping):
        raise DataValidationError(f"coding must be a name or a mapping, got {coding!r}")
    return dict(coding)
