"""What an outside model expects and returns: :class:`ModelSpec`, read from TOML.

A model somebody else trained (an ONNX file, a TorchScript file, any Python
callable) is run as it was meant to be run only when its conventions are
declared, never guessed. A spec declares

* the input (:class:`InputSpec`): size, layout (``NCHW`` / ``NHWC``), channel
  order (``RGB`` / ``BGR``), scale of the pixel values (``0-1`` or ``0-255``),
  an optional per-channel ``mean`` / ``std`` (in the units of the scale, in the
  model's channel order), the crop (the image as given, or fairaudit's face
  detector with its FairFace-style crops or aligned chips), the batch size;
* each output (:class:`OutputSpec`), in the model's output order: the audited
  task it answers, what it holds (``logits``, ``probabilities`` or ``years``) and
  the class order; for age, either the 9 age groups, a vector over ages
  ``0..N`` years (``ages = N``: its probabilities are summed into the age groups)
  or a value in years (a regression; audit it with ``--map age=years``).

A spec file (TOML, read with :mod:`tomllib`)::

    [input]
    size = 112
    layout = "NCHW"
    channels = "BGR"
    scale = "0-255"
    mean = [127.5, 127.5, 127.5]
    std = [128.0, 128.0, 128.0]
    crop = "none"
    batch_size = 32

    [[outputs]]
    task = "gender"
    kind = "logits"
    classes = ["Female", "Male"]

    [[outputs]]
    task = "age"
    kind = "probabilities"
    ages = 100
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fairaudit._io import atomic_write_text
from fairaudit.exceptions import ConfigurationError
from fairaudit.vocab import FAIRFACE_AGE

__all__ = [
    "CHANNEL_ORDERS",
    "CROPS",
    "LAYOUTS",
    "OUTPUT_KINDS",
    "SCALES",
    "InputSpec",
    "ModelSpec",
    "OutputSpec",
]

#: Input layouts: channels first (``NCHW``, torch's) or last (``NHWC``, TensorFlow's).
LAYOUTS: tuple[str, ...] = ("NCHW", "NHWC")
#: Channel orders of the input.
CHANNEL_ORDERS: tuple[str, ...] = ("RGB", "BGR")
#: Pixel value scales before ``mean`` / ``std``: ``[0, 1]`` or ``[0, 255]``.
SCALES: tuple[str, ...] = ("0-1", "0-255")
#: Crops: the image as given, or fairaudit's face detector (one row per face).
CROPS: tuple[str, ...] = ("none", "detect")
#: What an output holds: scores before softmax, probabilities, or a value in years.
OUTPUT_KINDS: tuple[str, ...] = ("logits", "probabilities", "years")
_DETECTORS = ("best", "haar", "dlib-hog", "dlib-cnn")
_PRESETS = ("photos", "crops")


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigurationError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _choice(value: object, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise ConfigurationError(f"{what} must be one of {list(choices)}, got {value!r}")
    return str(value)


def _three_floats(value: object, what: str) -> tuple[float, float, float]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ConfigurationError(f"{what} must hold 3 numbers (one per channel), got {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its images.

    Parameters
    ----------
    size : int or (int, int)
        Side of the square input, or ``(height, width)``, in pixels. Images are
        resized to it (bilinear, as fairaudit's own preprocessing does).
    layout : {"NCHW", "NHWC"}, default="NCHW"
        Channels first or last.
    channels : {"RGB", "BGR"}, default="RGB"
        Channel order (OpenCV-trained models often want BGR).
    scale : {"0-1", "0-255"}, default="0-1"
        Pixel values before ``mean`` / ``std``.
    mean, std : 3 floats, optional
        Subtracted, then divided by, per channel, in the units of ``scale`` and
        in the model's channel order (``(x - mean) / std``). Default: none.
    crop : {"none", "detect"}, default="none"
        ``"none"``: the image as given (face crops already, like FairFace's);
        ``"detect"``: fairaudit's face detector finds every face and crops it
        (FairFace's padded crops, or dlib's aligned chips), one row per face.
    detector : {"best", "haar", "dlib-hog", "dlib-cnn"}, default="best"
        With ``crop="detect"``: the detector (see :func:`fairaudit.detect.make_detector`).
    preset : {"photos", "crops"}, default="photos"
        With ``crop="detect"``: the detector's settings (ordinary photos, or
        tight face crops).
    batch_size : int, default=32
        Images per call of the model.
    name : str, optional
        The model's input name (ONNX); default its first input.
    """

    size: int | tuple[int, int]
    layout: str = "NCHW"
    channels: str = "RGB"
    scale: str = "0-1"
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    crop: str = "none"
    detector: str = "best"
    preset: str = "photos"
    batch_size: int = 32
    name: str | None = None

    def __post_init__(self) -> None:
        size = self.size
        if isinstance(size, Sequence) and not isinstance(size, str):
            if len(size) != 2:
                raise ConfigurationError(
                    f"input size must be one number or [height, width], got {size!r}"
                )
            pair = tuple(_positive_int(v, "input size") for v in size)
            object.__setattr__(self, "size", pair)
        else:
            object.__setattr__(self, "size", _positive_int(size, "input size"))
        _choice(self.layout, LAYOUTS, "input layout")
        _choice(self.channels, CHANNEL_ORDERS, "input channels")
        _choice(self.scale, SCALES, "input scale")
        _choice(self.crop, CROPS, "input crop")
        _choice(self.detector, _DETECTORS, "input detector")
        _choice(self.preset, _PRESETS, "input preset")
        _positive_int(self.batch_size, "input batch_size")
        for what in ("mean", "std"):
            value = getattr(self, what)
            if value is not None:
                object.__setattr__(self, what, _three_floats(value, f"input {what}"))
        if self.std is not None and min(self.std) <= 0:
            raise ConfigurationError(f"input std must be positive: {self.std}")
        if self.name is not None and not isinstance(self.name, str):
            raise ConfigurationError(f"input name must be a string, got {self.name!r}")

    @property
    def height_width(self) -> tuple[int, int]:
        """``(height, width)`` of the input."""
        size = self.size
        return (size, size) if isinstance(size, int) else size

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one image as the model takes it (without the batch axis)."""
        height, width = self.height_width
        return (3, height, width) if self.layout == "NCHW" else (height, width, 3)


@dataclass(frozen=True)
class OutputSpec:
    """One output of a model: which task it answers, what it holds, in which class order.

    Parameters
    ----------
    task : str
        The audited task (``"gender"``, ``"age"``, ``"race"``, or any other name).
    kind : {"logits", "probabilities", "years"}
        Scores before a softmax, probabilities (each row sums to 1), or one
        value per image in years (age regression).
    classes : sequence of str, optional
        Class labels in the model's output order. Required for a classification
        output, except an age output over years (``ages``).
    ages : int, optional
        Age only: the output is a vector over ages ``0..ages`` years
        (``ages + 1`` values); its probabilities are summed into the 9 FairFace
        age groups.
    name : str, optional
        The model's output name (ONNX output, key of a returned dict); default:
        the outputs are taken in the model's order.
    """

    task: str
    kind: str
    classes: tuple[str, ...] = ()
    ages: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or not self.task or "." in self.task:
            raise ConfigurationError(
                f"output task must be a non-empty name without '.', got {self.task!r}"
            )
        label = f"output {self.task!r}"
        _choice(self.kind, OUTPUT_KINDS, f"{label} kind")
        if isinstance(self.classes, str) or not isinstance(self.classes, Sequence):
            raise ConfigurationError(f"{label} classes must be a list of labels")
        classes = tuple(self.classes)
        object.__setattr__(self, "classes", classes)
        if not all(isinstance(c, str) for c in classes):
            raise ConfigurationError(f"{label} classes must be strings, got {classes}")
        if len(set(classes)) != len(classes):
            raise ConfigurationError(f"{label} has duplicate classes: {list(classes)}")
        if self.ages is not None:
            if self.task != "age":
                raise ConfigurationError(f"{label}: 'ages' goes with the age task only")
            _positive_int(self.ages, f"{label} ages")
            if classes:
                raise ConfigurationError(
                    f"{label}: give either ages (a vector over ages 0..N) or classes"
                )
        if self.kind == "years":
            if self.ages is not None or classes:
                raise ConfigurationError(
                    f"{label}: kind 'years' is one value per image; it takes no classes or ages"
                )
        elif self.ages is None and len(classes) < 2:
            raise ConfigurationError(
                f"{label}: kind {self.kind!r} needs the class order (classes = [...], "
                "at least 2)"
                + (", or ages = N for a vector over ages 0..N" if self.task == "age" else "")
            )
        if self.name is not None and not isinstance(self.name, str):
            raise ConfigurationError(f"{label} name must be a string, got {self.name!r}")

    @property
    def width(self) -> int:
        """Values per image the model returns for this output."""
        if self.kind == "years":
            return 1
        if self.ages is not None:
            return self.ages + 1
        return len(self.classes)

    @property
    def audited_classes(self) -> tuple[str, ...]:
        """The classes of the table's columns (age groups for an output over ages)."""
        if self.ages is not None:
            return FAIRFACE_AGE.classes
        return self.classes


@dataclass(frozen=True)
class ModelSpec:
    """What a model expects (:class:`InputSpec`) and returns (:class:`OutputSpec` each).

    Parameters
    ----------
    input : InputSpec
        The input's size, layout, channels, scale, crop and batch size.
    outputs : sequence of OutputSpec
        One per model output, in the model's order. Tasks the model lacks (no
        race head) are simply absent: the audit covers the tasks it has.
    name : str, optional
        The model's name (recorded in the predictions' provenance).

    Examples
    --------
    >>> spec = ModelSpec.from_dict({
    ...     "input": {"size": 64, "channels": "BGR", "scale": "0-255"},
    ...     "outputs": [{"task": "gender", "kind": "logits", "classes": ["Female", "Male"]}],
    ... })
    >>> spec.input.shape, spec.tasks
    ((3, 64, 64), ('gender',))
    """

    input: InputSpec
    outputs: tuple[OutputSpec, ...]
    name: str = ""
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.input, InputSpec):
            raise ConfigurationError(f"input must be an InputSpec, got {self.input!r}")
        outputs = tuple(self.outputs)
        object.__setattr__(self, "outputs", outputs)
        if not outputs:
            raise ConfigurationError("the spec declares no output ([[outputs]])")
        if not all(isinstance(o, OutputSpec) for o in outputs):
            raise ConfigurationError("outputs must be OutputSpec objects")
        tasks = [o.task for o in outputs]
        twice = sorted({t for t in tasks if tasks.count(t) > 1})
        if twice:
            raise ConfigurationError(f"task(s) {twice} declared by more than one output")
        names = [o.name for o in outputs]
        if any(n is not None for n in names) and any(n is None for n in names):
            raise ConfigurationError(
                "name every output (its model output name) or none (taken in order)"
            )

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks the model answers, in output order."""
        return tuple(o.task for o in self.outputs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> ModelSpec:
        """A spec from a mapping shaped like the TOML file (``input``, ``outputs``, ``name``).

        Raises
        ------
        ConfigurationError
            Unknown keys or values, naming them (and ``source``).
        """
        try:
            return cls._from_dict(data, source=source)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{_where(source)}{exc}") from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], *, source: str | None) -> ModelSpec:
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"a model spec is a table, got {type(data).__name__}")
        _no_unknown(data, {"name", "input", "outputs"}, "the spec")
        raw_input = data.get("input")
        if not isinstance(raw_input, Mapping):
            raise ConfigurationError("the spec needs an [input] table (size at least)")
        input_keys = {f for f in InputSpec.__dataclass_fields__}
        _no_unknown(raw_input, input_keys, "[input]")
        if "size" not in raw_input:
            raise ConfigurationError("[input] needs size (pixels, or [height, width])")
        raw_outputs = data.get("outputs")
        if not isinstance(raw_outputs, Sequence) or isinstance(raw_outputs, str):
            raise ConfigurationError("the spec needs its outputs, one [[outputs]] table each")
        output_keys = {f for f in OutputSpec.__dataclass_fields__}
        outputs = []
        for k, raw in enumerate(raw_outputs):
            if not isinstance(raw, Mapping):
                raise ConfigurationError(f"output {k + 1} must be a table, got {raw!r}")
            _no_unknown(raw, output_keys, f"output {k + 1}")
            missing = [key for key in ("task", "kind") if key not in raw]
            if missing:
                raise ConfigurationError(f"output {k + 1} needs {' and '.join(missing)}")
            outputs.append(OutputSpec(**dict(raw)))
        name = data.get("name", "")
        if not isinstance(name, str):
            raise ConfigurationError(f"name must be a string, got {name!r}")
        return cls(
            input=InputSpec(**dict(raw_input)),
            outputs=tuple(outputs),
            name=name,
            source=source,
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ModelSpec:
        """Read a spec file (TOML).

        Raises
        ------
        ConfigurationError
            Missing or malformed file, or a bad value, naming the file.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"model spec file not found: {path}")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path}: not a readable TOML model spec ({exc})") from None
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The spec as the mapping :meth:`from_dict` reads (unset options left out)."""

        def clean(obj: object) -> dict[str, Any]:
            return {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(obj).items()
                if v is not None and v != ()
            }

        out: dict[str, Any] = {"input": clean(self.input)}
        out["outputs"] = [clean(o) for o in self.outputs]
        if self.name:
            out["name"] = self.name
        return out

    def to_toml(self) -> str:
        """The spec as the TOML file :meth:`from_toml` reads (unset options left out).

        Examples
        --------
        >>> spec = ModelSpec.from_dict({
        ...     "input": {"size": 64},
        ...     "outputs": [{"task": "gender", "kind": "logits", "classes": ["Female", "Male"]}],
        ... })
        >>> print(spec.to_toml())
        [input]
        size = 64
        layout = "NCHW"
        channels = "RGB"
        scale = "0-1"
        crop = "none"
        batch_size = 32
        <BLANKLINE>
        [[outputs]]
        task = "gender"
        kind = "logits"
        classes = ["Female", "Male"]
        <BLANKLINE>
        >>> ModelSpec.from_dict(tomllib.loads(spec.to_toml())) == spec
        True
        """
        data = self.to_dict()
        lines = [f"name = {_toml_value(data['name'])}", ""] if "name" in data else []
        lines.append("[input]")
        lines += [
            f"{key} = {_toml_value(value)}"
            for key, value in data["input"].items()
            if self.input.crop == "detect" or key not in ("detector", "preset")
        ]
        for output in data["outputs"]:
            lines += ["", "[[outputs]]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in output.items()]
        return "\n".join(lines) + "\n"

    def write_toml(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_toml` to ``path`` atomically; returns the path."""
        return atomic_write_text(Path(path).expanduser(), self.to_toml())


def _toml_value(value: object) -> str:
    """One value of a spec in TOML: a string (JSON quoting is valid TOML), number or list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _no_unknown(data: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigurationError(f"{what}: unknown key(s) {unknown}; known: {sorted(known)}")
