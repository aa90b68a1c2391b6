"""The input stage's three steps: read and join, decide (columns only), finish."""

from __future__ import annotations

import warnings

import pytest

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._prepare import decide, finish, prepare_inputs, read_and_join
from fairaudit.inputs._spec import InputSpec
from fairaudit.vocab import FAIRFACE_AGE, UTKFACE_RACE
from tests.inputs._dirty import CODING, REPAIRS, dirty_tables

SPEC = InputSpec(coding=CODING, label_repairs=REPAIRS, unmatched="report")


def test_the_decisions_need_the_columns_only() -> None:
    predictions, labels = dirty_tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined = read_and_join(predictions, labels, SPEC)
    whole = decide(joined.table, joined.readable, SPEC)
    empty = decide(joined.table.iloc[:0], joined.readable.iloc[:0], SPEC)
    assert whole == empty
    assert list(whole.tasks) == ["gender", "age", "race"]
    assert whole.tasks["race"] == UTKFACE_RACE and whole.tasks["age"] == FAIRFACE_AGE
    assert whole.attribute_names == ["gender", "age", "race"]
    assert whole.inferred == ()


def test_a_non_face_attribute_is_inferred_from_its_values() -> None:
    predictions, labels = dirty_tables()
    spec = InputSpec(
        coding=CODING, label_repairs=REPAIRS, unmatched="report", attributes=["camera"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined = read_and_join(predictions, labels, spec)
        decisions = decide(joined.table, joined.readable, spec)
        prepared = finish(joined, decisions, spec)
    assert decisions.inferred == ("camera",)
    assert prepared.attributes["camera"].classes == ("indoor", "outdoor", "studio")


def test_stage_one_counts_what_it_leaves_out() -> None:
    predictions, labels = dirty_tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_inputs(predictions, labels, SPEC)
    left_out = prepared.joined.left_out
    not_ok = predictions[predictions["status"] != "ok"]["status"].value_counts().to_dict()
    assert left_out["status"] == not_ok
    assert left_out["predictions_without_label"] == 1
    assert left_out["labels_without_prediction"] == 30
    assert len(prepared.table) == len(predictions) - sum(not_ok.values()) - 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"unmatched": "ignore"}, "unmatched must be 'error' or 'report'"),
        ({"missing": "drop"}, "missing must be 'error' or 'group'"),
    ],
)
def test_the_spec_refuses_unknown_policies(options, match) -> None:
    with pytest.raises(DataValidationError, match=match):
        InputSpec(**options)
