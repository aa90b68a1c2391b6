"""fairaudit.gate: fail a CI job when an audit exceeds fairness thresholds.

- :func:`check_audit`: an audit and ``max``/``min`` thresholds (or a TOML / JSON
  configuration) -> :class:`GateResult` (``passed``, ``checks``, ``violations``,
  ``to_dict()``, ``format()``).
- :func:`load_gate_config`, :func:`parse_thresholds`: the thresholds from a file or
  from ``metric=value`` strings (``fairaudit check --max ...``).
"""

from fairaudit.gate._check import (
    FAIRNESS_GATE_METRICS,
    GATE_METRICS,
    SLICE_GATE_METRICS,
    GateResult,
    check_audit,
)
from fairaudit.gate._config import GateConfig, load_gate_config, parse_thresholds

__all__ = [
    "FAIRNESS_GATE_METRICS",
    "GATE_METRICS",
    "SLICE_GATE_METRICS",
    "GateConfig",
    "GateResult",
    "check_audit",
    "load_gate_config",
    "parse_thresholds",
]
