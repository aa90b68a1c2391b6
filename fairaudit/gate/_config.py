"""Thresholds of the fairness gate: from a TOML or JSON file, or ``metric=value`` strings.

A gate file (TOML shown; JSON has the same structure)::

    min_support = 30                 # optional: groups with fewer rows are not judged
    by = ["gender", "race"]          # optional: attributes to group by ("gender*race":
                                     #   their intersection); default each attribute
    allow_unjudged = false           # optional: true lets checks that cannot be judged pass
    baseline = "release-1.2.json"    # optional: the audit relative thresholds compare with
                                     #   (a relative path is read from this file's folder)

    [max]                            # value must be <= threshold, every task
    equalized_odds_difference = 0.10

    [min]                            # value must be >= threshold, every task
    disparate_impact_ratio = 0.8

    [max_increase]                   # value must be <= the baseline's value + threshold
    equalized_odds_difference = 0.02

    [max_decrease]                   # value must be >= the baseline's value - threshold
    accuracy = 0.01

    [tasks.race.max]                 # overrides for one task (also max_increase, ...)
    equalized_odds_difference = 0.20

Thresholds become flat mappings ``{"metric": value, "task:metric": value}``, the form
:func:`fairaudit.gate.check_audit` takes; a task's own threshold wins over the
threshold for every task.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fairaudit.exceptions import ConfigurationError, DataValidationError

__all__ = ["GateConfig", "load_gate_config", "parse_thresholds"]

#: Kinds of bound: absolute (``max``, ``min``) and relative to a baseline audit.
BOUND_KINDS = ("max", "min", "max_increase", "max_decrease")
RELATIVE_KINDS = ("max_increase", "max_decrease")
_TOP_KEYS = (*BOUND_KINDS, "tasks", "by", "min_support", "allow_unjudged", "baseline")
_TASK_KEYS = BOUND_KINDS
_STRICT_REMOVED = (
    "'strict' was removed: a check that cannot be judged now fails the gate by default "
    "(exit status 3); delete the key, or set allow_unjudged = true to let such checks pass"
)


@dataclass(frozen=True)
class GateConfig:
    """Thresholds and options of a gate.

    Attributes
    ----------
    max, min : dict of str to float
        Absolute bounds: ``{"metric": value}`` for every task, ``{"task:metric": value}``
        for one.
    max_increase, max_decrease : dict of str to float
        Bounds relative to the ``baseline`` audit, keyed the same way.
    by : list of str, optional
        Groupings (``"race"``, ``"gender*race"``); None: the default.
    min_support : int, optional
        Groups with fewer rows are not judged; None: the default (30).
    allow_unjudged : bool, optional
        Whether a check that cannot be judged may pass; None: the default (False).
    baseline : str, optional
        Path of the baseline audit (resolved against the file's folder when read
        from a file); None: none.
    source : str
        Where the configuration came from (quoted in errors).
    """

    max: dict[str, float] = field(default_factory=dict)
    min: dict[str, float] = field(default_factory=dict)
    max_increase: dict[str, float] = field(default_factory=dict)
    max_decrease: dict[str, float] = field(default_factory=dict)
    by: list[str] | None = None
    min_support: int | None = None
    allow_unjudged: bool | None = None
    baseline: str | None = None
    source: str = "gate configuration"

    def bounds(self, kind: str) -> dict[str, float]:
        """The thresholds of one kind (``"max"``, ``"min"``, ``"max_increase"``, ...)."""
        return dict(getattr(self, kind))


def _number(value: Any, *, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{where}: threshold must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigurationError(f"{where}: threshold must be finite, got {value!r}")
    return float(value)


def _table(obj: Any, *, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise ConfigurationError(f"{where} must be a table of metric = threshold, got {obj!r}")
    return obj


def config_from_mapping(
    obj: Mapping[str, Any], *, source: str = "gate configuration"
) -> GateConfig:
    """Validate a parsed configuration (the structure of the module docstring)."""
    if not isinstance(obj, Mapping):
        raise ConfigurationError(f"{source}: expected a table at the top level, got {obj!r}")
    if "strict" in obj:
        raise ConfigurationError(f"{source}: {_STRICT_REMOVED}")
    unknown = sorted(set(obj) - set(_TOP_KEYS))
    if unknown:
        raise ConfigurationError(f"{source}: unknown key(s) {unknown}; allowed: {list(_TOP_KEYS)}")
    bounds: dict[str, dict[str, float]] = {kind: {} for kind in BOUND_KINDS}
    for kind in BOUND_KINDS:
        for metric, value in _table(obj.get(kind, {}), where=f"{source} [{kind}]").items():
            bounds[kind][str(metric)] = _number(value, where=f"{source} [{kind}] {metric}")
    tasks = _table(obj.get("tasks", {}), where=f"{source} [tasks]")
    for task, entry in tasks.items():
        entry = _table(entry, where=f"{source} [tasks.{task}]")
        extra = sorted(set(entry) - set(_TASK_KEYS))
        if extra:
            raise ConfigurationError(
                f"{source} [tasks.{task}]: unknown key(s) {extra}; allowed: {list(_TASK_KEYS)}"
            )
        for kind in _TASK_KEYS:
            where = f"{source} [tasks.{task}.{kind}]"
            for metric, value in _table(entry.get(kind, {}), where=where).items():
                bounds[kind][f"{task}:{metric}"] = _number(value, where=f"{where} {metric}")
    by = obj.get("by")
    if by is not None:
        if isinstance(by, str):
            by = [by]
        if not isinstance(by, Sequence) or not all(isinstance(b, str) for b in by):
            raise ConfigurationError(f"{source}: by must be a list of attribute names, got {by!r}")
        by = list(by)
    min_support = obj.get("min_support")
    if min_support is not None and (
        isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 0
    ):
        raise ConfigurationError(
            f"{source}: min_support must be a non-negative integer, got {min_support!r}"
        )
    allow_unjudged = obj.get("allow_unjudged")
    if allow_unjudged is not None and not isinstance(allow_unjudged, bool):
        raise ConfigurationError(
            f"{source}: allow_unjudged must be true or false, got {allow_unjudged!r}"
        )
    baseline = obj.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        raise ConfigurationError(
            f"{source}: baseline must be the path of a saved audit, got {baseline!r}"
        )
    return GateConfig(
        **bounds,
        by=by,
        min_support=min_support,
        allow_unjudged=allow_unjudged,
        baseline=baseline,
        source=source,
    )


def load_gate_config(path: str | os.PathLike[str]) -> GateConfig:
    """Read a gate configuration from a ``.toml`` or ``.json`` file.

    A relative ``baseline`` path is resolved against the file's folder.

    Raises
    ------
    DataValidationError
        The file is missing or cannot be parsed (the message names it).
    ConfigurationError
        Unknown keys (including the removed ``strict``), thresholds that are not
        numbers, a bad ``by``, ``min_support``, ``allow_unjudged`` or ``baseline``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataValidationError(f"gate configuration file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"cannot read gate configuration {path}: {exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            obj = json.loads(text)
        else:
            obj = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise DataValidationError(f"{path}: not a valid {kind} gate configuration ({exc})") from exc
    config = config_from_mapping(obj, source=str(path))
    if config.baseline is not None and not Path(config.baseline).is_absolute():
        config = replace(config, baseline=str(path.parent / config.baseline))
    return config


def parse_thresholds(items: Sequence[str], *, option: str = "--max") -> dict[str, float]:
    """Parse ``["metric=0.1", "race:metric=0.2"]`` into ``{key: value}``.

    Raises
    ------
    ConfigurationError
        An item without ``=`` or with a value that is not a number.
    """
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigurationError(
                f"{option} {item!r}: expected METRIC=VALUE or TASK:METRIC=VALUE"
            )
        try:
            number = float(value)
        except ValueError as exc:
            raise ConfigurationError(f"{option} {item!r}: {value!r} is not a number") from exc
        out[key] = _number(number, where=f"{option} {item!r}")
    return out
