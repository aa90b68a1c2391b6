"""The dirty table every path of the input stage is tested on (tests/inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.vocab import FAIRFACE_AGE, GENDER, UTKFACE_RACE

__all__ = ["CODING", "DIRTY", "N", "N_PARTITIONS", "REPAIRS", "dirty_tables"]

N = 480
REPAIRS = {"age": {"9-Mar": "3-9", "19-Oct": "10-19"}, "age_pred": {"9-Mar": "3-9"}}
CODING = {"race": "utkface"}
#: Options every path is given: the coding and repairs, and rows without labels reported.
DIRTY = {"coding": CODING, "label_repairs": REPAIRS, "unmatched": "report"}
N_PARTITIONS = 3


def dirty_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions and labels with every kind of dirt the input stage handles."""
    rng = np.random.default_rng(25)
    files = [f"val/{i}.jpg" for i in range(N)]
    gender = np.array(GENDER.classes, dtype=object)[rng.integers(0, 2, N)]
    age = np.array(FAIRFACE_AGE.classes, dtype=object)[rng.integers(0, len(FAIRFACE_AGE), N)]
    race = rng.integers(0, len(UTKFACE_RACE), N)  # UTKFace codes
    labels = pd.DataFrame(
        {
            "file": files,
            # a spreadsheet's dates for two age groups
            "age": pd.Series(age).replace({"3-9": "9-Mar", "10-19": "19-Oct"}).to_numpy(),
            "gender": gender,
            "race": race,
            "camera": rng.choice(["indoor", "outdoor", "studio"], N),
        }
    )
    right = rng.random(N) < 0.75
    gender_pred = np.where(right, gender, np.where(gender == "Male", "Female", "Male"))
    p_male = np.where(gender_pred == "Male", 0.5 + rng.random(N) / 2, rng.random(N) / 2)
    race_pred = np.where(rng.random(N) < 0.7, race, rng.integers(0, len(UTKFACE_RACE), N))
    age_pred = np.where(
        rng.random(N) < 0.5,
        age,
        np.array(FAIRFACE_AGE.classes, dtype=object)[rng.integers(0, len(FAIRFACE_AGE), N)],
    )
    status = rng.choice(["ok", "unreadable", "no_face"], N, p=[0.9, 0.06, 0.04])
    predictions = pd.DataFrame(
        {
            "file": files,
            "gender_pred": gender_pred,
            "gender_prob_Male": p_male,
            "gender_prob_Female": 1 - p_male,
            "age_pred": pd.Series(age_pred).replace({"3-9": "9-Mar"}).to_numpy(),
            "race_pred": race_pred,
            "status": status,
        }
    )
    # label rows without a prediction (the last 30), a prediction without a label row
    predictions = predictions.iloc[: N - 30]
    stray = predictions.iloc[[0]].assign(file="val/stray.jpg", status="ok")
    predictions = pd.concat([predictions, stray], ignore_index=True)
    # the rows of the logs do not follow the labels' order
    order = rng.permutation(len(predictions))
    return predictions.iloc[order].reset_index(drop=True), labels
