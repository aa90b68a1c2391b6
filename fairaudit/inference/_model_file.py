"""An outside model (ONNX, TorchScript or any callable) run as its :class:`ModelSpec` says.

:class:`OutsideModel` wraps the model and its spec: it preprocesses each image the
way the spec declares (size, layout, channel order, scale, mean and std), calls
the model on batches, checks every output against the spec (how many, how many
values each) and turns them into what a predictions table holds: probabilities
in the audited class order (a softmax of logits; a vector over ages summed into
the 9 age groups) or values in years. :class:`~fairaudit.inference.Predictor`
runs it through the usual pipeline (:meth:`Predictor.from_model_file`), so
image loading, unreadable files, face detection, chunked runs and the table are
those of fairaudit's own models. The table's ``attrs["provenance"]`` records the
file, its sha256 and the spec.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from fairaudit._images import to_rgb
from fairaudit._io import sha256_file
from fairaudit._version import __version__
from fairaudit.exceptions import CheckpointError, ConfigurationError, DataValidationError
from fairaudit.inference._spec import ModelSpec, OutputSpec
from fairaudit.models._tasks import TaskSpec
from fairaudit.vocab import (
    FAIRFACE_VOCABULARIES,
    UTKFACE_VOCABULARIES,
    age_years_to_group,
)

__all__ = ["MODEL_FILE_FORMATS", "OutsideModel", "SpecTransform", "age_group_matrix"]

#: Model file formats, by suffix: ONNX (run with onnxruntime) and TorchScript.
MODEL_FILE_FORMATS: dict[str, str] = {
    ".onnx": "onnx",
    ".pt": "torchscript",
    ".pth": "torchscript",
    ".ts": "torchscript",
    ".torchscript": "torchscript",
    ".jit": "torchscript",
}
#: Upper bound recorded for an age regression in years (a :class:`TaskSpec` needs one;
#: the values are written as the model returns them, never clipped).
_YEARS_MAX_VALUE = 120.0
#: Rows of declared probabilities may miss summing to 1 by this much.
_PROBABILITY_ATOL = 1e-3


def age_group_matrix(ages: int) -> np.ndarray:
    """The ``(ages + 1, 9)`` 0/1 matrix sending age ``k`` years to its FairFace age group.

    A probability vector over ages ``0..ages`` times this matrix is the
    probability of each age group (:func:`fairaudit.vocab.age_years_to_group`
    decides the group of each age).
    """
    codes = age_years_to_group(np.arange(ages + 1)).codes
    matrix = np.zeros((ages + 1, 9), dtype=np.float64)
    matrix[np.arange(ages + 1), codes] = 1.0
    return matrix


class SpecTransform:
    """PIL image -> the float32 tensor a spec's model takes (one image, no batch axis).

    The image is converted to RGB and resized (bilinear, as
    :class:`~fairaudit.datasets.ImageTransform` does) to the spec's size; its
    pixel values (``0-255``, or divided by 255 for ``0-1``) go to the spec's
    channel order, then ``(x - mean) / std`` when declared, then the layout.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.input = spec.input
        self._mean = None if spec.input.mean is None else np.float32(spec.input.mean)
        self._std = None if spec.input.std is None else np.float32(spec.input.std)

    def __repr__(self) -> str:
        i = self.input
        return f"SpecTransform(size={i.height_width}, {i.layout}, {i.channels}, {i.scale})"

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Transform one PIL image to the model's input (``(3, H, W)`` or ``(H, W, 3)``)."""
        if not isinstance(image, Image.Image):
            raise DataValidationError(f"expected a PIL image, got {type(image).__name__}")
        height, width = self.input.height_width
        image = to_rgb(image).resize((width, height), Image.Resampling.BILINEAR)
        x = np.asarray(image, dtype=np.float32)
        if self.input.scale == "0-1":
            x = x / np.float32(255)
        if self.input.channels == "BGR":
            x = x[:, :, ::-1]
        if self._mean is not None:
            x = x - self._mean
        if self._std is not None:
            x = x / self._std
        if self.input.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _audited_order(output: OutputSpec) -> tuple[str, ...]:
    """The class order of the table: the audited vocabulary's when the model's classes
    are a permutation of it, else the model's own (audited through a mapping)."""
    classes = output.audited_classes
    for vocabularies in (FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES):
        vocab = vocabularies.get(output.task)
        if vocab is not None and set(vocab.classes) == set(classes):
            return vocab.classes
    return classes


def _task(output: OutputSpec) -> TaskSpec:
    if output.kind == "years":
        return TaskSpec(output.task, kind="regression", max_value=_YEARS_MAX_VALUE)
    return TaskSpec(output.task, _audited_order(output))


def _as_numpy(value: object) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().float().numpy()
    return np.asarray(value)


class _OnnxRunner:
    """An ONNX file in ONNX Runtime: numpy batch in, named outputs out."""

    def __init__(self, path: Path, spec: ModelSpec, threads: int | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigurationError(
                "running an ONNX model needs onnxruntime: pip install 'fairaudit-faces[onnx]'"
            ) from None
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CheckpointError(f"{path}: not a usable ONNX model ({exc})") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        wanted = spec.input.name or next(iter(inputs))
        if wanted not in inputs:
            raise ConfigurationError(
                f"{path}: the spec's input name {wanted!r} is not an input of the model "
                f"(its inputs: {list(inputs)})"
            )
        self.input_name = wanted
        shape = list(inputs[wanted].shape)
        expected = spec.input.shape
        fixed = [
            (axis, dim)
            for axis, dim in enumerate(shape[1:], start=1)
            if isinstance(dim, int) and dim > 0
        ]
        if len(shape) != 4 or any(expected[axis - 1] != dim for axis, dim in fixed):
            raise ConfigurationError(
                f"{path}: input size mismatch: the spec gives images of shape "
                f"{list(expected)} ({spec.input.layout}, size {spec.input.size}), the model's "
                f"input {wanted!r} takes {shape} (batch first)"
            )
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        # a graph exported for a fixed batch size runs in chunks of it (the last padded)
        self.fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        size = self.fixed_batch
        if size is None or len(batch) == size:
            outputs = self.session.run(None, {self.input_name: batch})
            return dict(zip(self.output_names, outputs, strict=True))
        parts = []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            n = len(chunk)
            if n < size:
                padding = np.zeros((size - n, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, padding])
            parts.append([out[:n] for out in self.session.run(None, {self.input_name: chunk})])
        return {
            name: np.concatenate([part[k] for part in parts])
            for k, name in enumerate(self.output_names)
        }


class _TorchScriptRunner:
    """A TorchScript file: tensor batch in, a tensor, a tuple or a dict of tensors out."""

    def __init__(self, path: Path) -> None:
        try:
            with warnings.catch_warnings():  # torch deprecates TorchScript; its files remain
                warnings.simplefilter("ignore", FutureWarning)
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as exc:  # torch raises RuntimeError and others
            raise CheckpointError(f"{path}: not a usable TorchScript model ({exc})") from None

    def __call__(self, batch: np.ndarray) -> object:
        with torch.inference_mode():
            return self.module(torch.from_numpy(batch))


class OutsideModel:
    """A model fairaudit did not train, with the spec that says how to run it.

    Parameters
    ----------
    model : callable
        Called on a float32 numpy batch shaped as the spec's input (batch
        first); returns one array, a tuple/list of arrays (in output order) or a
        dict of named arrays (numpy or torch).
    spec : ModelSpec
        Its input and outputs.
    backend : str, default="callable"
        What runs it (``"onnxruntime"``, ``"torchscript"``, ``"callable"``).
    source : str, optional
        Where it comes from (file path), for messages and provenance.
    sha256 : str, optional
        The model file's sha256 (provenance).
    check : bool, default=True
        Call the model once on a batch of 2 black images and check its outputs
        against the spec (how many, how many values each), so a wrong spec fails
        at once with the mismatch named.

    Attributes
    ----------
    tasks : tuple of TaskSpec
        The table's tasks, in output order: the audited class order for a
        classification output (age groups for a vector over ages), a
        regression for an output in years.
    transform : SpecTransform
        The preprocessing of one image.
    provenance : dict
        ``file``, ``sha256``, ``format``, ``spec`` (as a mapping) and the
        fairaudit version: what the predictions table's ``attrs["provenance"]``
        records.

    Examples
    --------
    >>> model = OutsideModel.from_file("vendor.onnx", "vendor.toml")  # doctest: +SKIP
    >>> Predictor.from_model_file("vendor.onnx", "vendor.toml").predict("faces/")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Callable[[np.ndarray], Any],
        spec: ModelSpec,
        *,
        backend: str = "callable",
        source: str | None = None,
        sha256: str | None = None,
        check: bool = True,
    ) -> None:
        if not callable(model):
            raise ConfigurationError(f"model must be callable, got {type(model).__name__}")
        if not isinstance(spec, ModelSpec):
            raise ConfigurationError(f"spec must be a ModelSpec, got {type(spec).__name__}")
        self.model = model
        self.spec = spec
        self.backend = backend
        self.source = source or getattr(model, "__name__", type(model).__name__)
        self.tasks = tuple(_task(o) for o in spec.outputs)
        self.transform = SpecTransform(spec)
        self._group = {o.task: age_group_matrix(o.ages) for o in spec.outputs if o.ages is not None}
        self._order = {}
        for output, task in zip(spec.outputs, self.tasks, strict=True):
            if output.kind != "years":
                given = output.audited_classes
                self._order[output.task] = np.array([given.index(c) for c in task.classes])
        self.provenance: dict[str, Any] = {
            "file": self.source,
            "sha256": sha256,
            "format": backend,
            "spec": spec.to_dict(),
            "spec_file": spec.source,
            "fairaudit": __version__,
        }
        if check:
            self(torch.zeros((2, *spec.input.shape), dtype=torch.float32))

    def __repr__(self) -> str:
        tasks = list(self.spec.tasks)
        return f"OutsideModel({self.source!r}, backend={self.backend!r}, tasks={tasks})"

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        spec: ModelSpec | str | os.PathLike[str],
        *,
        threads: int | None = None,
        check: bool = True,
    ) -> OutsideModel:
        """An ONNX (``.onnx``) or TorchScript (``.pt``, ``.pth``, ``.ts``, ...) file.

        Parameters
        ----------
        path : path-like
            The model file.
        spec : ModelSpec or path-like
            The spec, or its TOML file.
        threads : int, optional
            CPU threads of the model (ONNX Runtime's session; torch's for the run).
        check : bool, default=True
            See :class:`OutsideModel`.

        Raises
        ------
        CheckpointError
            Missing or unusable file, or an unknown suffix.
        ConfigurationError
            A spec that does not fit the model, naming the mismatch.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            what = "a folder, not a model file" if path.is_dir() else "not found"
            raise CheckpointError(f"model file {what}: {path}")
        if not isinstance(spec, ModelSpec):
            spec = ModelSpec.from_toml(spec)
        kind = MODEL_FILE_FORMATS.get(path.suffix.lower())
        if kind is None:
            raise CheckpointError(
                f"{path}: unknown model file suffix {path.suffix!r}; use .onnx (ONNX) or one "
                f"of {sorted(k for k, v in MODEL_FILE_FORMATS.items() if v == 'torchscript')} "
                "(TorchScript), or wrap the model in a Python callable (OutsideModel)"
            )
        if kind == "onnx":
            runner: Callable[[np.ndarray], Any] = _OnnxRunner(path, spec, threads)
            backend = "onnxruntime"
        else:
            runner = _TorchScriptRunner(path)
            backend = "torchscript"
        return cls(
            runner, spec, backend=backend, source=str(path), sha256=sha256_file(path), check=check
        )

    # -- prediction --------------------------------------------------------------------
    def raw_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        """The model's outputs of a preprocessed batch, one array per spec output, checked.

        Raises
        ------
        ConfigurationError
            The model fails on the spec's input, or returns another number of
            outputs, or another number of values per image, than the spec declares.
        """
        n = len(batch)
        try:
            result = self.model(batch)
        except Exception as exc:  # any model's own error: say what it was given
            raise ConfigurationError(
                f"{self.source} failed on a batch of shape {list(batch.shape)} (the spec's "
                f"input: size {self.spec.input.size}, {self.spec.input.layout}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        outputs = self._match(result)
        arrays = []
        for k, (output, value) in enumerate(zip(self.spec.outputs, outputs, strict=True)):
            array = _as_numpy(value).astype(np.float64)
            label = (
                f"output {k + 1} ({output.task!r}{', ' + repr(output.name) if output.name else ''})"
            )
            if array.ndim == 1 and output.width == 1:
                array = array.reshape(n, 1)
            if array.ndim != 2 or array.shape[0] != n:
                raise ConfigurationError(
                    f"{self.source}: {label} has shape {list(array.shape)} for a batch of "
                    f"{n}; expected ({n}, {output.width})"
                )
            if array.shape[1] != output.width:
                raise ConfigurationError(
                    f"{self.source}: number of classes mismatch: {label} gives "
                    f"{array.shape[1]} values per image, the spec declares {output.width} "
                    f"({_declared(output)})"
                )
            arrays.append(array)
        return arrays

    def _match(self, result: object) -> list[object]:
        """The model's outputs in spec order."""
        declared = self.spec.outputs
        if isinstance(result, Mapping):
            names = list(result)
            if declared[0].name is not None:
                missing = [o.name for o in declared if o.name not in result]
                if missing:
                    raise ConfigurationError(
                        f"{self.source}: output name(s) {missing} of the spec are not outputs "
                        f"of the model (its outputs: {names})"
                    )
                return [result[o.name] for o in declared]
            values = list(result.values())
        elif isinstance(result, Sequence) and not isinstance(result, str | bytes):
            names = None
            values = list(result)
            if declared[0].name is not None:
                raise ConfigurationError(
                    f"{self.source} returns {len(values)} unnamed outputs; the spec names them "
                    f"{[o.name for o in declared]}: drop the names to take them in order"
                )
        else:
            names = None
            values = [result]
        if len(values) != len(declared):
            raise ConfigurationError(
                f"{self.source}: number of outputs mismatch: the model returns {len(values)}"
                f"{' ' + str(names) if names else ''}, the spec declares {len(declared)} "
                f"({', '.join(o.task for o in declared)})"
            )
        return values

    def __call__(self, images: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """The table's values per task of a preprocessed batch (see :attr:`tasks`).

        Returns
        -------
        dict of str to numpy.ndarray
            float32 ``(N, C)`` probabilities in :attr:`tasks`' class order, or
            float32 ``(N,)`` years.
        """
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        batch = np.ascontiguousarray(images, dtype=np.float32)
        expected = self.spec.input.shape
        if batch.ndim != 4 or tuple(batch.shape[1:]) != expected:
            raise DataValidationError(
                f"images must have shape (N, {', '.join(map(str, expected))}), got "
                f"{tuple(batch.shape)}"
            )
        out: dict[str, np.ndarray] = {}
        for output, array in zip(self.spec.outputs, self.raw_outputs(batch), strict=True):
            if output.kind == "years":
                out[output.task] = array.reshape(-1).astype(np.float32)
                continue
            if output.kind == "logits":
                probabilities = _softmax(array)
            else:
                probabilities = array
                _check_probabilities(probabilities, output, self.source)
            if output.ages is not None:
                probabilities = probabilities @ self._group[output.task]
            out[output.task] = probabilities[:, self._order[output.task]].astype(np.float32)
        return out


def _declared(output: OutputSpec) -> str:
    if output.ages is not None:
        return f"ages = {output.ages}: a vector over ages 0..{output.ages}"
    return f"classes {list(output.classes)}"


def _check_probabilities(array: np.ndarray, output: OutputSpec, source: str) -> None:
    """Refuse an output declared as probabilities that holds something else."""
    sums = array.sum(axis=1)
    bad = np.flatnonzero(
        ~np.isfinite(sums)
        | (np.abs(sums - 1) > _PROBABILITY_ATOL)
        | (array.min(axis=1, initial=0.0) < -_PROBABILITY_ATOL)
    )
    if bad.size:
        raise ConfigurationError(
            f"{source}: output {output.task!r} is declared as probabilities, but row "
            f"{int(bad[0]) + 1} of a batch sums to {sums[bad[0]]:.4g} (min "
            f"{array[bad[0]].min():.4g}); if the model returns scores before a softmax, "
            f'declare kind = "logits"'
        )
