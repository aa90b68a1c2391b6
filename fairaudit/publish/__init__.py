"""fairaudit.publish: audits that can be shared without revealing small groups.

- :func:`redact_audit`: the publishable form of an audit (:class:`PublishedAudit`):
  only groupings whose every cell holds 0 or at least ``min_count`` rows, and only if
  no suppressed count can then be derived from the published ones (by linear
  combination, or narrowed by the published margins to an interval narrower than
  ``min_count``); per published cell, accuracy with its Wilson interval; per grouping,
  the accuracy gap with its simultaneous interval. The file lists what was suppressed
  and why.
"""

from fairaudit.publish._redact import (
    PUBLISHED_FORMAT,
    PUBLISHED_FORMAT_VERSION,
    PublishedAudit,
    redact_audit,
)

__all__ = ["PUBLISHED_FORMAT", "PUBLISHED_FORMAT_VERSION", "PublishedAudit", "redact_audit"]
