"""Every saved result type, through the one base (:mod:`fairaudit._saved`).

Parametrised over every subclass of :class:`~fairaudit._saved.WrittenResult` in the
library (the list is checked complete): a loadable one round-trips save -> load ->
equal, refuses another format and a newer version naming the file; every one saves
atomically (no temporary file left) with its format header.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairaudit
from fairaudit._saved import SavedResult, WrittenResult
from fairaudit.compare import DetectorPairs, PairedCounts, compare_audits
from fairaudit.compare._result import Comparison
from fairaudit.demo import DemoDetectors, load_demo_audits, load_demo_detectors
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._counts import AuditCounts
from fairaudit.publish import PublishedAudit
from fairaudit.vocab import Vocabulary

GENDER = Vocabulary("gender", ("Male", "Female"))
AGE = Vocabulary("age", ("young", "old"), ordered=True)


def _counts(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 9, size=shape).astype(np.int64)


def _audit_counts() -> AuditCounts:
    counts = _counts(0, (4, 2, 2))
    return AuditCounts(
        tasks={"gender": GENDER},
        attributes={"gender": GENDER, "age": AGE},
        counts={"gender": counts},
        regression={"age_years": np.array([[3, 1.5, 2.5, 4.0]] * 4)},
        detection=np.stack([counts.sum(axis=(1, 2)) + 2, counts.sum(axis=(1, 2))], axis=-1),
        metadata={"description": "made up"},
    )


def _demo_audit() -> AuditResult:
    return load_demo_audits().audits["fairface-mobilenet_v2-112"]


def _paired() -> PairedCounts:
    return PairedCounts(
        tasks={"gender": GENDER},
        attributes={"age": AGE},
        counts={"gender": _counts(1, (2, 2, 2, 2))},
        names=("old", "new"),
    )


def _detector_pairs() -> DetectorPairs:
    return DetectorPairs(["a", "b"], {"gender": GENDER, "age": AGE}, _counts(2, (4, 4)), {"k": 1})


def _published() -> PublishedAudit:
    return PublishedAudit(
        min_count=5,
        counts=pd.DataFrame({"grouping": ["overall"], "cell": ["all"], "n": [40]}),
        metrics=pd.DataFrame(
            {
                "task": ["gender"],
                "grouping": ["overall"],
                "cell": ["all"],
                "n": [40],
                "accuracy": [0.75],
                "ci_low": [0.6],
                "ci_high": [0.86],
            }
        ),
        gaps=pd.DataFrame(
            columns=["task", "grouping", "accuracy_difference", "ci_low", "ci_high", "n_groups"]
        ),
        suppressed=pd.DataFrame({"grouping": ["age"], "reason": ["1 cell(s) under 5"]}),
        metadata={"description": "made up"},
    )


def _demo_detectors() -> DemoDetectors:
    return load_demo_detectors()


def _comparison() -> Comparison:
    audits = load_demo_audits().audits
    return compare_audits(
        list(audits.values()),
        names=list(audits),
        tasks=["gender"],
        by=["race"],
        n_resamples=20,
        progress=False,
    )


#: A small instance of every loadable saved result.
LOADABLE: dict[type[SavedResult], Callable[[], SavedResult]] = {
    AuditCounts: _audit_counts,
    AuditResult: _demo_audit,
    PairedCounts: _paired,
    DetectorPairs: _detector_pairs,
    PublishedAudit: _published,
    DemoDetectors: _demo_detectors,
}
#: Written, not read back (a report of changes).
WRITE_ONLY: dict[type[WrittenResult], Callable[[], WrittenResult]] = {Comparison: _comparison}


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _all_subclasses(sub)
    return out


def test_every_saved_type_is_tested() -> None:
    for module in pkgutil.walk_packages(fairaudit.__path__, "fairaudit."):
        if module.name.split(".")[1] in {"app", "cli", "__main__"}:
            continue  # front ends (optional extras); they define no saved type
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra (torch, dask, ...) not installed here
            continue
    found = {c for c in _all_subclasses(WrittenResult) if not c.__abstractmethods__}
    assert found == set(LOADABLE) | set(WRITE_ONLY)
    assert {c for c in found if issubclass(c, SavedResult)} == set(LOADABLE)


def test_the_formats_are_distinct() -> None:
    formats = {c.FORMAT for c in (*LOADABLE, *WRITE_ONLY) if c is not AuditCounts}
    assert len(formats) == len(LOADABLE) + len(WRITE_ONLY) - 1


@pytest.fixture(params=list(LOADABLE), ids=lambda c: c.__name__)
def saved(request: pytest.FixtureRequest) -> SavedResult:
    return LOADABLE[request.param]()


def test_round_trip(saved: SavedResult, tmp_path: Path) -> None:
    path = saved.save(tmp_path / "result.json")
    loaded = type(saved).load(path)
    assert type(loaded) is type(saved)
    assert loaded == saved
    assert loaded.to_dict() | {"saved": None} == saved.to_dict() | {"saved": None}
    # the file is the saved form, byte for byte (apart from the time stamp)
    assert json.loads(path.read_text(encoding="utf-8")) | {"saved": None} == json.loads(
        json.dumps(saved.to_dict())
    ) | {"saved": None}
    assert repr(loaded) == repr(saved) and repr(saved).startswith(f"{type(saved).__name__}(")


def test_equality_sees_the_content(saved: SavedResult) -> None:
    obj = saved.to_dict()
    assert type(saved).from_dict(obj) == saved
    assert saved != object() and not (saved == 3)


def test_wrong_format_is_refused_naming_the_file(saved: SavedResult, tmp_path: Path) -> None:
    obj = saved.to_dict() | {"format": "something-else"}
    path = tmp_path / "other.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        type(saved).load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not {type(saved).LABEL}")
    assert "'something-else'" in message and repr(type(saved).FORMAT) in message


def test_newer_version_is_refused_naming_the_file(saved: SavedResult, tmp_path: Path) -> None:
    newer = type(saved).FORMAT_VERSION + 1
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(saved.to_dict() | {"format_version": newer}), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        type(saved).load(path)
    assert str(info.value).startswith(f"{path}: {type(saved).WHAT} format_version {newer} ")
    assert f"reads version {type(saved).FORMAT_VERSION}" in str(info.value)


def test_missing_and_malformed_files_name_the_file(saved: SavedResult, tmp_path: Path) -> None:
    cls = type(saved)
    with pytest.raises(DataValidationError, match=f"{cls.WHAT} file not found: .*absent.json"):
        cls.load(tmp_path / "absent.json")
    header = {"format": cls.FORMAT, "format_version": cls.FORMAT_VERSION}
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        cls.load(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "factory", [*LOADABLE.values(), *WRITE_ONLY.values()], ids=lambda f: f.__name__.strip("_")
)
def test_save_is_atomic_and_headed(
    factory: Callable[[], WrittenResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = factory()
    target = tmp_path / "deep" / "result.json"
    assert result.save(target) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]  # no temporary
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["format"] == type(result).FORMAT
    assert saved["format_version"] == type(result).FORMAT_VERSION
    # a write that fails half-way leaves the previous file whole and no temporary file
    before = target.read_bytes()

    def half_then_fail(self: Path, text: str, *args: object, **kwargs: object) -> int:
        with open(self, "w", encoding="utf-8") as handle:
            handle.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        result.save(target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]
