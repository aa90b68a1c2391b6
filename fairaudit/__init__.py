"""fairaudit: audit face-attribute models for bias.

The subpackages hold the full API (fairlearn style: public names re-exported from
private modules):

* :mod:`fairaudit.datasets` - FairFace / UTKFace loaders, integrity checks, torch Dataset
* :mod:`fairaudit.dataset_audit` - dataset audit: label imbalance, joint distributions, splits
* :mod:`fairaudit.model_audit` - model audit: sliced performance, fairness, calibration,
  bootstrap intervals, significance; :class:`~fairaudit.model_audit.AuditResult`
* :mod:`fairaudit.models` - subject models and safe checkpoints
* :mod:`fairaudit.training` - training (FairFace reference recipe, UTKFace protocol)
* :mod:`fairaudit.inference` - predictions tables, fast inference, ONNX export
* :mod:`fairaudit.detect` - face detection and FairFace-style cropping

The most used names are also available here, imported on first use so that
``import fairaudit`` stays fast (no torch import until a model is needed).
"""

from __future__ import annotations

from fairaudit._lazy import lazy_attributes
from fairaudit._version import __version__

_LAZY = {
    "audit_dataset": "fairaudit.dataset_audit",
    "compare_splits": "fairaudit.dataset_audit",
    "fairface_label_counts": "fairaudit.dataset_audit",
    "audit_predictions": "fairaudit.model_audit",
    "audit_table": "fairaudit.model_audit",
    "AuditAccumulator": "fairaudit.model_audit",
    "AuditResult": "fairaudit.model_audit",
    "load_dataset": "fairaudit.datasets",
    "load_fairface": "fairaudit.datasets",
    "load_utkface": "fairaudit.datasets",
    "check_integrity": "fairaudit.datasets",
    "detect_faces": "fairaudit.detect",
    "Predictor": "fairaudit.inference",
    "load_checkpoint": "fairaudit.models",
}

__all__ = ["__version__", *sorted(_LAZY)]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
