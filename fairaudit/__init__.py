"""fairaudit: audit face-attribute models for bias.

Public names are re-exported from the subpackages (:mod:`fairaudit.datasets`,
:mod:`fairaudit.audit`, :mod:`fairaudit.metrics`, :mod:`fairaudit.models`, ...).
"""

from fairaudit._version import __version__

__all__ = ["__version__"]
