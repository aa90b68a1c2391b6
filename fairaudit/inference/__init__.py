"""Prediction pipeline, fast inference and ONNX export.

Images (a folder, files, or a FairFace/UTKFace label table) go in; a predictions
table comes out, with per image the true labels when known, ``{task}_pred`` and
one ``{task}_prob_{class}`` column per class, and a ``status`` (``"ok"`` or
``"unreadable"``). That table is what the audit engine reads. Raw photos go
through face detection first (``Predictor.run(..., detect=True)``,
:meth:`Predictor.predict_photo`): one row per face, with its box.

* :class:`Predictor` - batches, preprocessing, backends (optimised torch, ONNX Runtime).
* :func:`optimize_for_inference` - batch norm folded into convolutions, channels_last.
* :func:`export_onnx` / :class:`OnnxSession` - ONNX export (probabilities inside the
  graph, metadata recorded) and its ONNX Runtime session.
* :class:`ModelSpec` / :class:`OutsideModel` / :meth:`Predictor.from_model_file` - a
  model fairaudit did not train (ONNX, TorchScript, any callable), run as its spec
  (TOML) declares: input size, layout, channels, scaling, crop; each output's task,
  class order, logits or probabilities, ages in years or over ages 0..N.
* :func:`resolve_images` - folders, files and label tables into one :class:`ImageSet`
  (defined in :mod:`fairaudit.datasets`, re-exported here).

The table's column names and status values are defined once in :mod:`fairaudit.schema`.
Prediction needs torch (the extra ``fairaudit-faces[models]``): without it, importing this
package raises :class:`~fairaudit.exceptions.MissingDependencyError` naming the extra.
"""

from fairaudit.exceptions import MissingDependencyError

try:
    import torch  # noqa: F401  (the extra "models"; the modules below import it)
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    raise MissingDependencyError.for_extra("models", "torch") from None

from fairaudit.inference._model_file import OutsideModel
from fairaudit.inference._onnx import OnnxSession, export_onnx
from fairaudit.inference._optimize import optimize_for_inference
from fairaudit.inference._predictor import Predictor
from fairaudit.inference._spec import ModelSpec
from fairaudit.inference._summary import PredictionRun
from fairaudit.inference._to_file import predict_to_file

__all__ = [
    "ModelSpec",
    "OnnxSession",
    "OutsideModel",
    "PredictionRun",
    "Predictor",
    "export_onnx",
    "optimize_for_inference",
    "predict_to_file",
]
