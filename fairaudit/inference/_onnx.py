"""ONNX export of a fairaudit model, and an ONNX Runtime session that reads it back.

The exported graph takes one input ``images`` (float32, ``(N, 3, S, S)``,
preprocessed exactly as for the torch model, see
:class:`fairaudit.datasets.ImageTransform`) and has one output per task, named
after the task, in task order: softmax **probabilities** ``(N, C)`` for a
classification task, the value in the task's unit (years) ``(N,)`` for a
regression task (:class:`~fairaudit.inference.ProbabilityModel` is inside the graph).
The batch dimension is dynamic unless asked otherwise.

The file records in its ``metadata_props`` what a reader needs without the
checkpoint: ``fairaudit.tasks`` (JSON task specs), ``fairaudit.input_size``,
``fairaudit.opset``, ``fairaudit.arch``, ``fairaudit.arch_kwargs``,
``fairaudit.outputs`` (``"probabilities"``) and ``fairaudit.version``.

The export uses torch's TorchScript-based exporter (``dynamo=False``): the newer
dynamo exporter needs the ``onnxscript`` package, which fairaudit does not require.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fairaudit._io import atomic_path
from fairaudit._version import __version__
from fairaudit.datasets._transforms import IMAGENET_MEAN, IMAGENET_STD
from fairaudit.exceptions import (
    CheckpointError,
    ConfigurationError,
    DataValidationError,
    FairAuditError,
    MissingDependencyError,
)
from fairaudit.inference._optimize import fold_batchnorm
from fairaudit.inference._outputs import ProbabilityModel
from fairaudit.inference._spec import InputSpec, ModelSpec, OutputSpec
from fairaudit.models._descriptor_fusion import DESCRIPTOR_FUSION_ARCH

__all__ = ["DEFAULT_OPSET", "EXPORT_ATOL", "OnnxExport", "OnnxSession", "build_onnx", "export_onnx"]

#: ONNX opset used by default (supported by onnxruntime >= 1.17).
DEFAULT_OPSET = 17
#: Largest difference allowed between torch and ONNX Runtime outputs after export.
EXPORT_ATOL = 1e-4
_INPUT_NAME = "images"
_META_PREFIX = "fairaudit."


def _require_onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            f"ONNX export and the onnx backend need the packages onnx and onnxruntime "
            f"({exc.name} is missing): pip install 'fairaudit-faces[onnx]'"
        ) from None
    return onnx, onnxruntime


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The ONNX file.
    opset : int
        ONNX opset of the graph.
    input_size : int
        Side of the square input images, in pixels.
    output_names : tuple of str
        The graph's outputs (the task names, in task order).
    max_abs_diff : float
        Largest absolute difference between torch and ONNX Runtime outputs on
        the verification batch (at most :data:`EXPORT_ATOL`).
    """

    path: Path
    opset: int
    input_size: int
    output_names: tuple[str, ...]
    max_abs_diff: float


def _check_input_size(input_size: object) -> int:
    if isinstance(input_size, bool) or not isinstance(input_size, int | np.integer):
        raise DataValidationError(
            f"input_size must be an integer number of pixels, got {input_size!r}"
        )
    if input_size < 8:
        raise DataValidationError(f"input_size must be at least 8 pixels, got {input_size}")
    return int(input_size)


def _resolve_model(
    source: nn.Module | str | os.PathLike[str], input_size: int | None
) -> tuple[nn.Module, int]:
    if isinstance(source, nn.Module):
        if not hasattr(source, "tasks"):
            raise DataValidationError(
                f"{type(source).__name__} has no 'tasks' attribute: export a fairaudit model "
                "(fairaudit.models.build_model) or a checkpoint"
            )
        if input_size is None:
            raise DataValidationError("input_size is required to export a model (not a checkpoint)")
        return source, _check_input_size(input_size)
    from fairaudit.models import load_checkpoint

    loaded = load_checkpoint(source)
    size = loaded.input_size if input_size is None else input_size
    return loaded.model, _check_input_size(size)


def _export_bytes(wrapper: nn.Module, input_size: int, *, opset: int, dynamic_batch: bool) -> bytes:
    names = [t.name for t in wrapper.tasks]
    dynamic_axes = (
        {_INPUT_NAME: {0: "batch"}, **{n: {0: "batch"} for n in names}} if dynamic_batch else None
    )
    dummy = torch.zeros(1, 3, input_size, input_size)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deliberate (see the module docstring).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            buffer,
            dynamo=False,
            input_names=[_INPUT_NAME],
            output_names=names,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def build_onnx(
    model: nn.Module,
    *,
    input_size: int,
    dynamic_batch: bool = True,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> tuple[bytes, float]:
    """The ONNX bytes of a model (see :func:`export_onnx`), nothing written.

    Returns
    -------
    data : bytes
        The serialised ONNX model, metadata included.
    max_abs_diff : float
        Largest torch vs ONNX Runtime difference on a random batch (NaN when
        ``verify`` is False).
    """
    onnx, _ = _require_onnx()
    size = _check_input_size(input_size)
    if getattr(model, "arch", None) == DESCRIPTOR_FUSION_ARCH:
        raise ConfigurationError(
            f"{DESCRIPTOR_FUSION_ARCH} computes dlib's face descriptor inside its forward "
            "pass, which ONNX cannot hold: predict it with the torch backend"
        )
    wrapper = ProbabilityModel(fold_batchnorm(model), model.tasks).eval()
    try:
        data = _export_bytes(wrapper, size, opset=opset, dynamic_batch=dynamic_batch)
    except Exception as exc:  # the exporter raises many types
        raise FairAuditError(f"ONNX export of {type(model).__name__} failed: {exc}") from exc
    proto = onnx.load_from_string(data)
    metadata = {
        "tasks": json.dumps([t.to_dict() for t in model.tasks]),
        "input_size": str(size),
        "opset": str(opset),
        "arch": str(getattr(model, "arch", type(model).__name__)),
        "arch_kwargs": json.dumps(getattr(model, "arch_kwargs", {})),
        "outputs": "probabilities",
        "version": __version__,
    }
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = _META_PREFIX + key, value
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    max_diff = float("nan")
    if verify:
        session = OnnxSession(data, threads=1)
        batch = 2 if dynamic_batch else 1
        x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            expected = {k: v.numpy() for k, v in wrapper(x).items()}
        got = session.run(x.numpy())
        max_diff = max(float(np.max(np.abs(expected[k] - got[k]))) for k in expected)
        if not max_diff <= EXPORT_ATOL:
            raise FairAuditError(
                f"ONNX export of {type(model).__name__} is wrong: ONNX Runtime differs from "
                f"torch by {max_diff:.3g} (> {EXPORT_ATOL})"
            )
    return data, max_diff


def export_onnx(
    source: nn.Module | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    input_size: int | None = None,
    dynamic_batch: bool = True,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> OnnxExport:
    """Export a model (or a checkpoint) to ONNX, verified with ONNX Runtime.

    Batch norms are folded into the convolutions before export; the graph
    outputs probabilities (see the module docstring). The file is written
    atomically: nothing appears at ``path`` unless the export and its
    verification succeed.

    Parameters
    ----------
    source : torch.nn.Module or path-like
        A fairaudit model (with a ``tasks`` attribute) or a checkpoint file.
    path : path-like
        Where to write the ``.onnx`` file.
    input_size : int, optional
        Side of the square input images. Default: the checkpoint's input size
        (required when ``source`` is a model).
    dynamic_batch : bool, default=True
        Whether the batch dimension is dynamic (else fixed at 1).
    opset : int, default=DEFAULT_OPSET
        ONNX opset version.
    verify : bool, default=True
        Run ONNX Runtime once on a random batch and compare with torch; a
        difference above :data:`EXPORT_ATOL` raises.

    Returns
    -------
    OnnxExport

    Raises
    ------
    CheckpointError
        If the checkpoint is missing or unusable.
    MissingDependencyError
        If onnx or onnxruntime is not installed.
    FairAuditError
        If the export fails or ONNX Runtime disagrees with torch.
    """
    _require_onnx()
    model, size = _resolve_model(source, input_size)
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataValidationError(f"{path} is a folder: give the path of the .onnx file to write")
    data, max_diff = build_onnx(
        model, input_size=size, dynamic_batch=dynamic_batch, opset=opset, verify=verify
    )
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return OnnxExport(
        path=path,
        opset=opset,
        input_size=size,
        output_names=tuple(t.name for t in model.tasks),
        max_abs_diff=max_diff,
    )


class OnnxSession:
    """An ONNX Runtime session of a model exported by :func:`export_onnx`.

    Parameters
    ----------
    model : path-like or bytes
        The ``.onnx`` file, or its bytes.
    threads : int, optional
        Intra-op threads of ONNX Runtime (default: its own choice).

    Attributes
    ----------
    tasks : tuple of TaskSpec
        The model's tasks, read from the file's metadata.
    input_size : int
        Side of the square input images.
    metadata : dict of str to str
        The file's ``fairaudit.*`` metadata (prefix removed).

    Raises
    ------
    CheckpointError
        If the file is missing, not an ONNX model, or not written by
        :func:`export_onnx` (no task metadata).
    """

    def __init__(
        self, model: str | os.PathLike[str] | bytes, *, threads: int | None = None
    ) -> None:
        _, ort = _require_onnx()
        from fairaudit.models._tasks import TaskSpec

        name = "<in-memory ONNX model>" if isinstance(model, bytes) else str(model)
        if not isinstance(model, bytes):
            path = Path(model).expanduser()
            if not path.is_file():
                raise CheckpointError(f"ONNX model file not found: {path}")
            model = str(path)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CheckpointError(f"{name}: not a usable ONNX model ({exc})") from None
        props = self._session.get_modelmeta().custom_metadata_map
        self.metadata = {
            k[len(_META_PREFIX) :]: v for k, v in props.items() if k.startswith(_META_PREFIX)
        }
        if "tasks" not in self.metadata or "input_size" not in self.metadata:
            raise CheckpointError(
                f"{name}: no fairaudit metadata (tasks, input size); export the model with "
                "'fairaudit export --onnx' or fairaudit.inference.export_onnx"
            )
        try:
            self.tasks = tuple(TaskSpec.from_dict(t) for t in json.loads(self.metadata["tasks"]))
            self.input_size = int(self.metadata["input_size"])
        except (ValueError, TypeError, FairAuditError) as exc:
            raise CheckpointError(f"{name}: corrupt fairaudit metadata ({exc})") from None
        self.name = name
        self._input_name = self._session.get_inputs()[0].name
        self.output_names: tuple[str, ...] = tuple(o.name for o in self._session.get_outputs())
        expected = tuple(t.name for t in self.tasks)
        if self.output_names != expected:
            raise CheckpointError(
                f"{name}: outputs {list(self.output_names)} do not match its tasks {list(expected)}"
            )

    def __repr__(self) -> str:
        return f"OnnxSession({self.name!r}, tasks={[t.name for t in self.tasks]})"

    def model_spec(self, *, name: str = "") -> ModelSpec:
        """The file as an outside model: the :class:`ModelSpec` that runs it exactly.

        A fairaudit export takes ImageNet-normalised RGB images in ``[0, 1]``,
        channels first, and returns probabilities (years for a regression task),
        one named output per task. With this spec, ``fairaudit predict
        --model-file FILE --spec SPEC`` predicts what ``--checkpoint FILE`` does:
        the path of a model fairaudit did not train, shown on one it did.

        Parameters
        ----------
        name : str, optional
            The model's name in the spec (recorded in the predictions' provenance).
        """
        outputs = tuple(
            OutputSpec(task=t.name, kind="years", name=t.name)
            if t.kind == "regression"
            else OutputSpec(task=t.name, kind="probabilities", classes=t.classes, name=t.name)
            for t in self.tasks
        )
        spec_input = InputSpec(
            size=self.input_size,
            layout="NCHW",
            channels="RGB",
            scale="0-1",
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            name=self._input_name,
        )
        return ModelSpec(input=spec_input, outputs=outputs, name=name)

    def run(self, images: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
        """Probabilities (values for regression) per task for a preprocessed batch.

        Parameters
        ----------
        images : numpy.ndarray or torch.Tensor
            ``(N, 3, input_size, input_size)`` float32.

        Returns
        -------
        dict of str to numpy.ndarray
            float32 ``(N, C)`` probabilities or ``(N,)`` values, in task order.
        """
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        x = np.ascontiguousarray(images, dtype=np.float32)
        outputs: Sequence[np.ndarray] = self._session.run(None, {self._input_name: x})
        return {n: np.asarray(o, dtype=np.float32) for n, o in zip(self.output_names, outputs)}
