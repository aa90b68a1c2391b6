"""fairaudit.publish: audits that can be shared without revealing small groups.

- :func:`redact_audit`: the publishable form of an audit (:class:`PublishedAudit`):
  only groupings whose every cell holds 0 or at least ``min_count`` rows, and only if
  every hidden count (the tasks' true labels included) keeps an exact integer interval
  at least ``min_count`` wide under all published counts and accuracies; per published
  cell, accuracy with its exact interval; per grouping, the accuracy gap with its
  simultaneous interval. The file lists what was suppressed and why.
"""

from fairaudit.publish._redact import PublishedAudit, redact_audit

__all__ = [
    "PublishedAudit",
    "redact_audit",
]
