"""Nothing wrong gets in silently: saved audits and paired counts are validated on load
(issue 13; the input tables' contract is tested in ``tests/inputs/test_input_contract.py``)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fairaudit.compare import PairedCounts
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, audit_predictions
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER

# -- saved audits are validated on load ------------------------------------------------------


@pytest.fixture(scope="module")
def saved() -> dict:
    rng = np.random.default_rng(0)
    n = 200
    gender = rng.choice(["Male", "Female"], n)
    race = rng.choice(list(FAIRFACE_RACE.classes), n)
    proba = rng.dirichlet(np.ones(2), n)
    result = audit_predictions(
        y_true={"gender": gender, "race": race},
        y_pred={"gender": gender[::-1], "race": race},
        y_proba={"gender": proba},
        attributes=["gender"],
    )
    return json.loads(json.dumps(result.to_dict()))


def _corrupt(saved: dict, edit) -> dict:
    copy = json.loads(json.dumps(saved))
    edit(copy)
    return copy


def _set_first_count(value):
    def edit(obj):
        obj["counts"]["gender"][0][0][0] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_set_first_count(2.7), r"counts of task 'gender'.*2\.7"),
        (_set_first_count("7"), r"counts of task 'gender'.*'7'"),
        (_set_first_count(10**30), r"counts of task 'gender'.*at most 2\*\*53"),
        (_set_first_count(-1), r"counts of task 'gender'.*-1"),
        (_set_first_count(True), r"counts of task 'gender'.*boolean"),
        (
            lambda o: o["calibration"]["gender"]["n"][0].__setitem__(0, -3),
            r"calibration n of task 'gender'.*-3",
        ),
        (
            lambda o: o["calibration"]["gender"]["correct"][0].__setitem__(
                int(np.argmax(o["calibration"]["gender"]["n"][0])),
                max(o["calibration"]["gender"]["n"][0]) + 1,
            ),
            r"calibration of task 'gender': correct .* exceeds n",
        ),
        (
            lambda o: o["counts"]["race"][0][0].__setitem__(0, o["counts"]["race"][0][0][0] + 100),
            r"tasks disagree on how many rows were audited",
        ),
        (lambda o: o.__setitem__("n_bins", 2.5), r"n_bins"),
    ],
    ids=["float", "string", "huge", "negative", "bool", "cal-n<0", "correct>n", "totals", "bins"],
)
def test_corrupt_saved_audits_are_refused_naming_the_field(saved, tmp_path, edit, match):
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(_corrupt(saved, edit)))
    with pytest.raises(DataValidationError, match=match):
        AuditResult.load(path)


def test_calibration_rows_must_match_the_counts(saved):
    def edit(obj):
        cal = obj["calibration"]["gender"]
        cal["n"][0][0] += 1

    with pytest.raises(DataValidationError, match="calibration of task 'gender' counts"):
        AuditResult.from_dict(_corrupt(saved, edit))


def test_paired_counts_are_validated_on_load(tmp_path):
    from importlib.resources import files

    obj = json.loads(files("fairaudit").joinpath("data/demo/paired.json").read_text())
    assert PairedCounts.from_dict(obj).n_rows > 0
    task = next(iter(obj["counts"]))
    first = obj["counts"][task]
    while isinstance(first[0], list):
        first = first[0]
    first[0] = 2.7
    with pytest.raises(DataValidationError, match=r"paired counts of task .*2\.7"):
        PairedCounts.from_dict(obj)


# -- hypothesis: random valid audits round-trip, random corruptions are refused -------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def audits(draw):
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    gender = rng.choice(list(GENDER.classes), n)
    age = rng.choice(list(FAIRFACE_AGE.classes), n)
    pred = np.where(rng.random(n) < 0.7, gender, rng.choice(list(GENDER.classes), n))
    proba = rng.dirichlet(np.ones(2), n) if draw(st.booleans()) else None
    return audit_predictions(
        y_true={"gender": gender, "age": age},
        y_pred={"gender": pred, "age": age},
        y_proba={"gender": proba} if proba is not None else None,
        attributes=draw(st.sampled_from([["gender"], ["age"], ["gender", "age"]])),
        n_bins=draw(st.integers(1, 10)),
    )


@settings(max_examples=40, deadline=None)
@given(audits())
def test_random_valid_audits_round_trip(result):
    again = AuditResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


_BAD_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not float(v).is_integer()),
    st.integers(max_value=-1),
    st.integers(min_value=2**53 + 1),
    st.text(min_size=1, max_size=3),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(audits(), st.data())
def test_random_corruptions_are_refused(result, data):
    obj = json.loads(json.dumps(result.to_dict()))
    field = data.draw(st.sampled_from(["counts", "calibration", "totals"]))
    if field == "calibration" and not obj["calibration"]:
        field = "counts"
    if field == "counts":
        arr = obj["counts"]["gender"]
        cell = data.draw(st.integers(0, len(arr) - 1))
        i, j = data.draw(st.integers(0, 1)), data.draw(st.integers(0, 1))
        arr[cell][i][j] = data.draw(_BAD_VALUES)
    elif field == "calibration":
        cal = obj["calibration"]["gender"]
        key = data.draw(st.sampled_from(["n", "correct"]))
        cell = data.draw(st.integers(0, len(cal[key]) - 1))
        b = data.draw(st.integers(0, len(cal[key][cell]) - 1))
        cal[key][cell][b] = data.draw(_BAD_VALUES)
    else:
        arr = obj["counts"]["age"]
        cell = data.draw(st.integers(0, len(arr) - 1))
        arr[cell][0][0] += data.draw(st.integers(1, 1000))
    with pytest.raises(DataValidationError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            AuditResult.from_dict(obj)
