"""TaskSpec: validation, vocabularies, dict round trip, output transforms."""

from __future__ import annotations

import json

import pytest
import torch

from fairaudit.exceptions import ConfigurationError
from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS
from fairaudit.models._tasks import UTKFACE_MAX_AGE, TaskSpec, validate_tasks
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER, UTKFACE_RACE


def test_fairface_tasks_follow_the_vocabularies():
    assert [t.name for t in FAIRFACE_TASKS] == ["gender", "age", "race"]
    assert [t.classes for t in FAIRFACE_TASKS] == [
        GENDER.classes,
        FAIRFACE_AGE.classes,
        FAIRFACE_RACE.classes,
    ]
    assert [t.num_outputs for t in FAIRFACE_TASKS] == [2, 9, 7]


def test_utkface_tasks_regress_age():
    gender, age, race = UTKFACE_TASKS
    assert gender.classes == GENDER.classes and race.classes == UTKFACE_RACE.classes
    assert age.kind == "regression" and age.classes == () and age.num_outputs == 1
    assert age.max_value == UTKFACE_MAX_AGE == 116.0


@pytest.mark.parametrize("task", [*FAIRFACE_TASKS, *UTKFACE_TASKS])
def test_dict_round_trip_is_json_able(task):
    data = json.loads(json.dumps(task.to_dict()))
    assert TaskSpec.from_dict(data) == task


def test_list_classes_become_a_tuple():
    assert TaskSpec("g", ["a", "b"]).classes == ("a", "b")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "", "classes": ("a", "b")}, "name"),
        ({"name": "a.b", "classes": ("a", "b")}, "name"),
        ({"name": "g", "classes": ("a",)}, "at least 2"),
        ({"name": "g", "classes": ("a", "a")}, "duplicate"),
        ({"name": "g", "classes": "ab"}, "sequence"),
        ({"name": "g", "classes": ("a", "b"), "kind": "ranking"}, "kind"),
        ({"name": "g", "classes": ("a", "b"), "max_value": 3.0}, "no max_value"),
        ({"name": "age", "kind": "regression"}, "max_value"),
        ({"name": "age", "kind": "regression", "max_value": 0}, "max_value"),
        ({"name": "age", "kind": "regression", "max_value": float("nan")}, "max_value"),
        (
            {"name": "age", "kind": "regression", "max_value": 9.0, "classes": ("a", "b")},
            "no classes",
        ),
    ],
)
def test_inconsistent_specs_are_refused(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        TaskSpec(**kwargs)


def test_from_dict_refuses_other_fields():
    with pytest.raises(ConfigurationError, match="fields"):
        TaskSpec.from_dict({"name": "g", "classes": ["a", "b"]})


def test_validate_tasks():
    assert validate_tasks(list(FAIRFACE_TASKS)) == FAIRFACE_TASKS
    with pytest.raises(ConfigurationError, match="at least one"):
        validate_tasks([])
    with pytest.raises(ConfigurationError, match="unique"):
        validate_tasks([FAIRFACE_TASKS[0], FAIRFACE_TASKS[0]])
    with pytest.raises(ConfigurationError, match="single TaskSpec"):
        validate_tasks(FAIRFACE_TASKS[0])
    with pytest.raises(ConfigurationError, match="TaskSpec instances"):
        validate_tasks(["gender"])


def test_output_from_raw():
    raw = torch.tensor([[-30.0, 1.0], [0.0, 2.0], [30.0, 3.0]])
    assert torch.equal(FAIRFACE_TASKS[0].output_from_raw(raw), raw)
    out = UTKFACE_TASKS[1].output_from_raw(raw)
    assert out.shape == (3,)
    torch.testing.assert_close(out, 1 / (1 + torch.exp(-raw[:, 0])))
