"""fairaudit.gate: fail a CI job when an audit exceeds fairness thresholds.

- :func:`check_audit`: an audit and ``max``/``min`` thresholds, or
  ``max_increase``/``max_decrease`` relative to a ``baseline`` audit (or a TOML / JSON
  configuration) -> :class:`GateResult` (``passed``, ``exit_code``, ``checks``,
  ``failures``, ``unjudged``, ``violations``, ``to_dict()``, ``format()``). A check
  that cannot be judged (NaN: an undefined metric, fewer than two groups with
  ``min_support`` rows) fails the gate unless ``allow_unjudged=True``; ``fairaudit
  check`` exits 0 (passed), 1 (a threshold exceeded), 3 (not judged), 2 (bad input).
- :func:`load_gate_config`, :func:`parse_thresholds`: the thresholds from a file or
  from ``metric=value`` strings (``fairaudit check --max ...``).
"""

from fairaudit.gate._check import check_audit
from fairaudit.gate._config import GateConfig, load_gate_config
from fairaudit.gate._published import check_published
from fairaudit.gate._result import GateResult

__all__ = [
    "GateConfig",
    "GateResult",
    "check_audit",
    "check_published",
    "load_gate_config",
]
