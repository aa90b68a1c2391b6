"""The FairFace authors' prediction format, read as a fairaudit predictions table.

The FairFace release (Kärkkäinen & Joo, WACV 2021) ships a ``predict.py`` that
writes one row per detected face with the columns ``face_name_align`` (the aligned
face crop, ``detected_faces/<image>_face<N>.jpg``), ``race`` (7 races), ``race4``
(4 races), ``gender``, ``age`` and the numpy-printed score vectors
``race_scores_fair``, ``race_scores_fair_4``, ``gender_scores_fair`` and
``age_scores_fair`` (``"[9.9e-01 1.2e-03 ...]"`` inside a quoted string). Its age
label for the top group is ``"70+"`` where the FairFace labels say
``"more than 70"``.

:func:`read_fairface_predictions` renames and maps all of this, explicitly and in
one place, so the authors' model can be audited as it is:
``audit_table(read_fairface_predictions("test_outputs.csv", prefix="val/"), labels)``
or ``fairaudit audit --format fairface``.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._probabilities import parse_proba_column
from fairaudit.inputs._read import read_table
from fairaudit.schema import FACE_COLUMN, FILE_COLUMN, pred_column, prob_column
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER

__all__ = ["FAIRFACE_SCORE_ORDER", "read_fairface_predictions"]

#: The class order of the FairFace predict.py score vectors, per output column.
FAIRFACE_SCORE_ORDER: dict[str, tuple[str, ...]] = {
    "race": (
        "White",
        "Black",
        "Latino_Hispanic",
        "East Asian",
        "Southeast Asian",
        "Indian",
        "Middle Eastern",
    ),
    "gender": ("Male", "Female"),
    "age": ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"),
}
# their labels -> the FairFace label files' classes (only the age's top group differs)
_LABEL_MAP = {"age": {"70+": "more than 70"}}
_SCORE_COLUMNS = {
    "race": "race_scores_fair",
    "gender": "gender_scores_fair",
    "age": "age_scores_fair",
}
_VOCABS = {"race": FAIRFACE_RACE, "gender": GENDER, "age": FAIRFACE_AGE}
_FACE_SUFFIX = re.compile(r"^(?P<stem>.*)_face(?P<face>\d+)(?P<ext>\.[^.]+)?$")
_REQUIRED = ("face_name_align", "race", "gender", "age")


def read_fairface_predictions(
    predictions: pd.DataFrame | str | os.PathLike[str],
    *,
    prefix: str = "",
    first_face_only: bool = True,
) -> pd.DataFrame:
    """Read the FairFace authors' ``predict.py`` output as a fairaudit predictions table.

    Parameters
    ----------
    predictions : pandas.DataFrame or path
        Their CSV (or the frame read from it).
    prefix : str, default=""
        Prepended to the image name recovered from ``face_name_align``, so keys match
        a labels table: ``detected_faces/12_face0.jpg`` with ``prefix="val/"`` is
        ``val/12.jpg``.
    first_face_only : bool, default=True
        Keep only face 0 of each image (the script's first detection), so an image
        has one row; the others are counted in ``frame.attrs["faces_left_out"]`` and
        warned about. With ``False`` every face is kept, with its index in ``face``.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``face``, ``{task}_pred`` and ``{task}_prob_{class}`` for gender,
        age and race (FairFace's classes and order; ``70+`` becomes
        ``more than 70``).

    Raises
    ------
    DataValidationError
        A missing column, an unparsable score vector (row and value named), a label
        outside their vocabulary, or a face name without ``_face<N>``.
    """
    source = str(predictions) if not isinstance(predictions, pd.DataFrame) else "predictions"
    frame = read_table(predictions, what="FairFace predictions").reset_index(drop=True)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{source}: not the FairFace predict.py format: no column(s) {missing}; "
            f"columns are {list(frame.columns)}"
        )
    names = frame["face_name_align"].astype("object")
    parsed = names.map(lambda v: _FACE_SUFFIX.match(Path(str(v)).name) if pd.notna(v) else None)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise DataValidationError(
            f"{source}: column 'face_name_align' holds names without '_face<N>' at row(s) "
            f"{(bad[:10] + 1).tolist()}: {names.iloc[bad[:5]].tolist()!r}"
        )
    out = pd.DataFrame(
        {
            FILE_COLUMN: [prefix + m.group("stem") + (m.group("ext") or "") for m in parsed],
            FACE_COLUMN: [int(m.group("face")) for m in parsed],
        }
    )
    for task, order in FAIRFACE_SCORE_ORDER.items():
        vocab = _VOCABS[task]
        renamed = _LABEL_MAP.get(task, {})
        labels = frame[task].astype("object").replace(renamed)
        known = labels.isin(vocab.classes).to_numpy()
        if not known.all():
            rows = np.flatnonzero(~known)
            raise DataValidationError(
                f"{source}: column {task!r} holds {sorted(set(map(str, frame[task][rows])))!r} "
                f"at row(s) {(rows[:10] + 1).tolist()}, not FairFace predict.py labels "
                f"{list(order)}"
            )
        out[pred_column(task)] = labels.to_numpy()
        score_column = _SCORE_COLUMNS[task]
        if score_column in frame.columns:
            scores = parse_proba_column(
                frame[score_column], len(order), what=f"{source} {score_column}"
            )
            for k, cls in enumerate(order):
                out[prob_column(task, _LABEL_MAP.get(task, {}).get(cls, cls))] = scores[:, k]
    if first_face_only:
        extra = out[FACE_COLUMN] != 0
        n_extra = int(extra.sum())
        if n_extra:
            warnings.warn(
                f"{source}: {n_extra} face(s) other than face 0 of their image are left out "
                "(first_face_only=True)",
                UserWarning,
                stacklevel=2,
            )
        out = out.loc[~extra].reset_index(drop=True)
        out.attrs["faces_left_out"] = n_extra
    return out
