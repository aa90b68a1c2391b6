"""Outside models (ONNX, TorchScript, callables) run as their spec says.

Each test builds a tiny model with its own conventions (layout, channel order,
scaling, logits or probabilities, class order, an age head over years or over ages
0..100, no race head), runs ``fairaudit predict --model-file`` on real image files,
and compares the table with the model run by hand: every image decoded and resized
with PIL, preprocessed with numpy as the spec says, the model called directly, the
softmax and the age groups computed here (scipy, and the group bounds written out).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.special import softmax

from fairaudit.cli import main
from fairaudit.exceptions import CheckpointError, ConfigurationError

from .conftest import torch

nn = torch.nn
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fairaudit.inference import ModelSpec, OutsideModel, Predictor
from fairaudit.inference._outputs import write_predictions

GENDER = ["Male", "Female"]
AGE_GROUPS = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
RACE = [
    "White",
    "Black",
    "Latino_Hispanic",
    "East Asian",
    "Southeast Asian",
    "Indian",
    "Middle Eastern",
]
#: The FairFace age groups by their first year, written out (the oracle of the summing).
GROUP_STARTS = [0, 3, 10, 20, 30, 40, 50, 60, 70]


class TinyNet(nn.Module):
    """conv (stride 4) -> flatten -> one linear head per output, for SIZE x SIZE images.

    The flatten ties the model to its input size, as real models are.
    """

    def __init__(self, size: int, widths: list[int], *, nhwc: bool, softmax_of: set[int]) -> None:
        super().__init__()
        torch.manual_seed(sum(widths) + size)
        self.nhwc = nhwc
        self.softmax_of = sorted(softmax_of)
        self.conv = nn.Conv2d(3, 4, kernel_size=4, stride=4)
        features = 4 * (size // 4) ** 2
        self.heads = nn.ModuleList(nn.Linear(features, w) for w in widths)
        with torch.no_grad():  # sizeable weights, so that probabilities are far from uniform
            for head in self.heads:
                head.weight.mul_(30.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)
        features = torch.flatten(torch.relu(self.conv(x / 50.0)), 1)
        outs = []
        for k, head in enumerate(self.heads):
            out = head(features)
            if k in self.softmax_of:
                out = torch.softmax(out, dim=1)
            outs.append(out)
        return tuple(outs)


def _example(size: int, nhwc: bool) -> torch.Tensor:
    shape = (2, size, size, 3) if nhwc else (2, 3, size, size)
    return torch.rand(shape, generator=torch.Generator().manual_seed(1))


def save_torchscript(model: TinyNet, path: Path, size: int) -> Path:
    traced = torch.jit.trace(model.eval(), _example(size, model.nhwc))
    traced.save(str(path))
    return path


def save_onnx(
    model: TinyNet, path: Path, size: int, names: list[str], *, dynamic_batch: bool = True
) -> Path:
    axes = {"x": {0: "n"}, **{n: {0: "n"} for n in names}} if dynamic_batch else None
    torch.onnx.export(
        model.eval(),
        (_example(size, model.nhwc),),
        str(path),
        dynamo=False,
        input_names=["x"],
        output_names=names,
        dynamic_axes=axes,
        opset_version=17,
    )
    return path


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def by_hand_inputs(
    files: list[Path],
    size: int | tuple[int, int],
    *,
    layout: str,
    channels: str,
    scale: str,
    mean=None,
    std=None,
) -> np.ndarray:
    """The batch the spec describes, built with PIL and numpy only."""
    height, width = (size, size) if isinstance(size, int) else size
    images = []
    for path in files:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        x = np.asarray(rgb, dtype=np.float32)
        if scale == "0-1":
            x = x / np.float32(255)
        if channels == "BGR":
            x = x[:, :, [2, 1, 0]]
        if mean is not None:
            x = (x - np.float32(mean)) / np.float32(std)
        if layout == "NCHW":
            x = np.transpose(x, (2, 0, 1))
        images.append(x)
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


def ages_to_groups(p: np.ndarray) -> np.ndarray:
    """Sum a probability vector over ages 0..N into the 9 groups, by a loop."""
    out = np.zeros((len(p), 9))
    for age in range(p.shape[1]):
        group = max(g for g, start in enumerate(GROUP_STARTS) if age >= start)
        out[:, group] += p[:, age]
    return out


def predict_cli(model: Path, spec: Path, images: Path, out: Path, *extra: str) -> pd.DataFrame:
    code = main(
        [
            "predict",
            "--model-file",
            str(model),
            "--spec",
            str(spec),
            "--images",
            str(images),
            "--output",
            str(out),
            "--threads",
            "1",
            "--quiet",
            *extra,
        ]
    )
    assert code == 0
    return pd.read_csv(out).set_index("file")


def image_files(folder: Path, table: pd.DataFrame) -> list[Path]:
    return [folder / f for f in table.index]


def assert_close(table: pd.DataFrame, task: str, classes: list[str], expected: np.ndarray) -> None:
    got = table[[f"{task}_prob_{c}" for c in classes]].to_numpy(dtype=np.float64)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-6
    predicted = np.asarray(classes, dtype=object)[expected.argmax(axis=1)]
    assert table[f"{task}_pred"].tolist() == predicted.tolist()


def test_onnx_rgb_mean_std_logits_and_probabilities_in_another_class_order(
    image_folder: Path, tmp_path: Path
) -> None:
    size = 32
    net = TinyNet(size, [2, 9, 7], nhwc=False, softmax_of={1})
    model = save_onnx(net, tmp_path / "vendor.onnx", size, ["g", "a", "r"])
    gender_order = ["Female", "Male"]
    race_order = list(reversed(RACE))
    spec = write_spec(
        tmp_path / "vendor.toml",
        f"""
name = "vendor v3"
[input]
size = {size}
layout = "NCHW"
channels = "RGB"
scale = "0-1"
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
batch_size = 4

[[outputs]]
task = "gender"
name = "g"
kind = "logits"
classes = {json.dumps(gender_order)}

[[outputs]]
task = "age"
name = "a"
kind = "probabilities"
classes = {json.dumps(AGE_GROUPS)}

[[outputs]]
task = "race"
name = "r"
kind = "logits"
classes = {json.dumps(race_order)}
""",
    )
    out = tmp_path / "preds.csv"
    table = predict_cli(model, spec, image_folder, out)
    assert (table["status"] == "ok").all() and len(table) == 6
    x = by_hand_inputs(
        image_files(image_folder, table),
        size,
        layout="NCHW",
        channels="RGB",
        scale="0-1",
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
    )
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    g, a, r = (o.astype(np.float64) for o in session.run(["g", "a", "r"], {"x": x}))
    gender = pd.DataFrame(softmax(g, axis=1), columns=gender_order)[GENDER].to_numpy()
    race = pd.DataFrame(softmax(r, axis=1), columns=race_order)[RACE].to_numpy()
    assert_close(table, "gender", GENDER, gender)
    assert_close(table, "age", AGE_GROUPS, a)
    assert_close(table, "race", RACE, race)
    # provenance: the file's sha256 and the spec, beside the table
    provenance = json.loads((tmp_path / "preds.csv.provenance.json").read_text())
    assert provenance["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert provenance["format"] == "onnxruntime"
    assert provenance["spec"]["input"]["mean"] == [0.485, 0.456, 0.406]
    assert provenance["spec"]["outputs"][0]["classes"] == gender_order
    assert provenance["spec"]["name"] == "vendor v3"
    assert ModelSpec.from_dict(provenance["spec"]) == ModelSpec.from_toml(spec)


def test_torchscript_nhwc_bgr_0_255_age_over_years_without_race(
    image_folder: Path, tmp_path: Path
) -> None:
    size = 24
    net = TinyNet(size, [2, 101], nhwc=True, softmax_of={0})
    model = save_torchscript(net, tmp_path / "vendor.pt", size)
    spec = write_spec(
        tmp_path / "vendor.toml",
        f"""
[input]
size = {size}
layout = "NHWC"
channels = "BGR"
scale = "0-255"
mean = [127.5, 127.5, 127.5]
std = [128.0, 128.0, 128.0]

[[outputs]]
task = "gender"
kind = "probabilities"
classes = ["Male", "Female"]

[[outputs]]
task = "age"
kind = "logits"
ages = 100
""",
    )
    table = predict_cli(model, spec, image_folder, tmp_path / "preds.csv", "--batch-size", "4")
    assert not any(c.startswith("race") for c in table.columns)
    x = by_hand_inputs(
        image_files(image_folder, table),
        size,
        layout="NHWC",
        channels="BGR",
        scale="0-255",
        mean=[127.5] * 3,
        std=[128.0] * 3,
    )
    module = torch.jit.load(str(model))
    with torch.no_grad():
        g, a = (o.double().numpy() for o in module(torch.from_numpy(x)))
    assert_close(table, "gender", GENDER, g)
    ages = ages_to_groups(softmax(a, axis=1))
    assert ages[:, 0].min() > 0 and ages[:, -1].min() > 0  # groups 0-2 and 70-100 both fed
    assert_close(table, "age", AGE_GROUPS, ages)
    provenance = json.loads((tmp_path / "preds.csv.provenance.json").read_text())
    assert provenance["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert provenance["format"] == "torchscript"


def test_onnx_age_in_years_is_a_regression_audited_through_the_years_mapping(
    image_folder: Path, tmp_path: Path
) -> None:
    from fairaudit.model_audit import audit_table
    from fairaudit.vocab import age_years_to_group

    size = 16
    net = TinyNet(size, [2, 1], nhwc=False, softmax_of=set())
    with torch.no_grad():  # ages around 40 years
        net.heads[1].weight.div_(30.0)
        net.heads[1].bias.fill_(40.0)
    model = save_onnx(net, tmp_path / "years.onnx", size, ["gender", "age"])
    spec = write_spec(
        tmp_path / "years.toml",
        f"""
[input]
size = {size}
scale = "0-255"

[[outputs]]
task = "gender"
kind = "logits"
classes = ["Male", "Female"]

[[outputs]]
task = "age"
kind = "years"
""",
    )
    out = tmp_path / "preds.parquet"
    table = predict_cli(model, spec, image_folder, tmp_path / "preds.csv")
    x = by_hand_inputs(
        image_files(image_folder, table), size, layout="NCHW", channels="RGB", scale="0-255"
    )
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    g, years = session.run(None, {"x": x})
    assert_close(table, "gender", GENDER, softmax(g.astype(np.float64), axis=1))
    assert np.max(np.abs(table["age_pred"].to_numpy() - years.reshape(-1))) <= 1e-4
    # the Python API gives the same table, and Parquet keeps the provenance inside
    predictor = Predictor.from_model_file(model, spec, threads=1)
    run = predictor.run(image_folder, progress=False)
    assert run.table["file"].tolist() == table.index.tolist()
    assert np.array_equal(
        run.table["gender_prob_Male"], table["gender_prob_Male"].astype(np.float32)
    )
    write_predictions(run.table, out)
    assert pd.read_parquet(out).attrs["provenance"]["sha256"] == (
        hashlib.sha256(model.read_bytes()).hexdigest()
    )
    # audited as fairaudit's own regression models: --map age=years
    labels = pd.DataFrame(
        {
            "file": table.index,
            "gender": ["Male", "Female"] * 3,
            "age": list(age_years_to_group(table["age_pred"].to_numpy()))[::-1],
        }
    )
    result = audit_table(
        run.table, labels, mappings={"age": age_years_to_group}, attributes=["gender"]
    )
    assert set(result.tasks) == {"gender", "age"}
    assert result.n_rows == 6


def test_a_python_callable_with_named_outputs(image_folder: Path, tmp_path: Path) -> None:
    calls = []

    def vendor(batch: np.ndarray) -> dict[str, np.ndarray]:
        calls.append(batch.shape)
        mean = batch.mean(axis=(1, 2))  # NHWC: per channel
        logits = np.stack([mean[:, 0] - mean[:, 2], mean[:, 2] - mean[:, 0]], axis=1)
        return {"sex": logits, "unused_but_named": mean}

    spec = ModelSpec.from_dict(
        {
            "input": {"size": [20, 12], "layout": "NHWC", "scale": "0-255", "batch_size": 3},
            "outputs": [
                {"task": "gender", "kind": "logits", "classes": ["Female", "Male"], "name": "sex"}
            ],
        }
    )
    predictor = Predictor(OutsideModel(vendor, spec))
    assert predictor.batch_size == 3 and predictor.backend == "callable"
    table = predictor.predict(image_folder, progress=False).set_index("file")
    assert calls[0] == (2, 20, 12, 3)  # the check at construction
    assert calls[1:] == [(3, 20, 12, 3), (3, 20, 12, 3)]  # 6 images, 3 at a time
    x = by_hand_inputs(
        image_files(image_folder, table), (20, 12), layout="NHWC", channels="RGB", scale="0-255"
    )
    logits = vendor(x)["sex"].astype(np.float64)
    expected = pd.DataFrame(softmax(logits, axis=1), columns=["Female", "Male"])[GENDER]
    assert_close(table, "gender", GENDER, expected.to_numpy())


def test_the_run_records_its_provenance_in_the_table_attrs(image_folder: Path, tmp_path: Path):
    size = 16
    model = save_torchscript(
        TinyNet(size, [2], nhwc=False, softmax_of=set()), tmp_path / "m.ts", size
    )
    spec = ModelSpec.from_dict(
        {
            "input": {"size": size},
            "outputs": [{"task": "gender", "kind": "logits", "classes": GENDER}],
        }
    )
    run = Predictor.from_model_file(model, spec).run(image_folder, progress=False)
    provenance = run.table.attrs["provenance"]
    assert provenance["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert provenance["file"] == str(model)
    assert provenance["spec"] == spec.to_dict()


# -- a wrong spec fails at once, naming the mismatch -------------------------------------


@pytest.fixture
def three_heads(tmp_path: Path) -> tuple[Path, Path]:
    net = TinyNet(32, [2, 9, 7], nhwc=False, softmax_of=set())
    onnx_file = save_onnx(net, tmp_path / "m.onnx", 32, ["gender", "age", "race"])
    script_file = save_torchscript(net, tmp_path / "m.pt", 32)
    return onnx_file, script_file


def _spec(size: int = 32, race: list[str] = RACE, tasks=("gender", "age", "race")) -> ModelSpec:
    outputs = {
        "gender": {"task": "gender", "kind": "logits", "classes": GENDER},
        "age": {"task": "age", "kind": "logits", "classes": AGE_GROUPS},
        "race": {"task": "race", "kind": "logits", "classes": race},
        "extra": {"task": "smile", "kind": "logits", "classes": ["no", "yes"]},
    }
    return ModelSpec.from_dict({"input": {"size": size}, "outputs": [outputs[t] for t in tasks]})


def test_a_wrong_input_size_is_named(three_heads) -> None:
    onnx_file, script_file = three_heads
    with pytest.raises(ConfigurationError, match=r"input size mismatch.*\[3, 40, 40\].*32, 32"):
        OutsideModel.from_file(onnx_file, _spec(size=40))
    with pytest.raises(ConfigurationError, match=r"failed on a batch of shape \[2, 3, 40, 40\]"):
        OutsideModel.from_file(script_file, _spec(size=40))


@pytest.mark.parametrize("which", [0, 1])
def test_a_wrong_number_of_outputs_is_named(three_heads, which: int) -> None:
    path = three_heads[which]
    with pytest.raises(
        ConfigurationError, match=r"number of outputs mismatch: the model returns 3.*declares 2"
    ):
        OutsideModel.from_file(path, _spec(tasks=("gender", "age")))
    with pytest.raises(
        ConfigurationError, match=r"returns 3.*declares 4 \(gender, age, race, smile"
    ):
        OutsideModel.from_file(path, _spec(tasks=("gender", "age", "race", "extra")))


@pytest.mark.parametrize("which", [0, 1])
def test_a_wrong_number_of_classes_is_named(three_heads, which: int) -> None:
    path = three_heads[which]
    utk = ["White", "Black", "Asian", "Indian", "Others"]
    with pytest.raises(
        ConfigurationError,
        match=r"number of classes mismatch: output 3 \('race'\) gives 7 values per image, "
        r"the spec declares 5",
    ):
        OutsideModel.from_file(path, _spec(race=utk))


def test_the_cli_prints_the_mismatch(three_heads, tmp_path: Path, image_folder: Path, capsys):
    spec = write_spec(
        tmp_path / "bad.toml",
        '[input]\nsize = 32\n[[outputs]]\ntask = "gender"\nkind = "logits"\n'
        'classes = ["Male", "Female"]\n',
    )
    code = main(
        ["predict", "--model-file", str(three_heads[0]), "--spec", str(spec), str(image_folder)]
    )
    assert code != 0
    assert "number of outputs mismatch: the model returns 3" in capsys.readouterr().err
    code = main(["predict", "--model-file", str(three_heads[0]), str(image_folder)])
    assert code != 0
    assert "--model-file and --spec go together" in capsys.readouterr().err


def test_probabilities_that_are_logits_are_refused(three_heads) -> None:
    spec = ModelSpec.from_dict(
        {
            "input": {"size": 32},
            "outputs": [
                {"task": "gender", "kind": "probabilities", "classes": GENDER},
                {"task": "age", "kind": "logits", "classes": AGE_GROUPS},
                {"task": "race", "kind": "logits", "classes": RACE},
            ],
        }
    )
    with pytest.raises(ConfigurationError, match=r"declared as probabilities.*kind = \"logits\""):
        OutsideModel.from_file(three_heads[0], spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[outputs]]\ntask='gender'\nkind='logits'\nclasses=['Male','Female']\n", r"\[input\]"),
        ("[input]\nsize=32\n", "outputs"),
        ("[input]\nsize=32\nlayout='CHW'\n[[outputs]]\ntask='age'\nkind='years'\n", "layout"),
        ("[input]\nsize=32\nscale=255\n[[outputs]]\ntask='age'\nkind='years'\n", "scale"),
        ("[input]\nsize=32\nsizes=3\n[[outputs]]\ntask='age'\nkind='years'\n", "unknown key"),
        ("[input]\nsize=32\n[[outputs]]\ntask='gender'\nkind='logits'\n", "class order"),
        ("[input]\nsize=32\n[[outputs]]\ntask='race'\nkind='logits'\nages=90\n", "age task"),
        ("[input]\nsize=32\nmean=[1, 2]\n[[outputs]]\ntask='age'\nkind='years'\n", "3 numbers"),
        ("[input\nsize=32\n", "TOML"),
    ],
)
def test_a_malformed_spec_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_spec(tmp_path / "spec.toml", text)
    with pytest.raises(ConfigurationError, match=message) as info:
        ModelSpec.from_toml(path)
    assert str(path) in str(info.value)


def test_unknown_model_file_suffix_and_missing_file(tmp_path: Path) -> None:
    spec = _spec()
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="unknown model file suffix '.h5'"):
        OutsideModel.from_file(tmp_path / "m.h5", spec)
    with pytest.raises(CheckpointError, match="not found"):
        OutsideModel.from_file(tmp_path / "none.onnx", spec)
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="not a usable ONNX model"):
        OutsideModel.from_file(tmp_path / "bad.onnx", spec)


def test_a_spec_that_crops_with_the_detector_predicts_every_face(image_folder: Path) -> None:
    pytest.importorskip("cv2", reason="the Haar cascade needs opencv (extra 'detect')")
    spec = ModelSpec.from_dict(
        {
            "input": {"size": 16, "crop": "detect", "detector": "haar", "preset": "photos"},
            "outputs": [{"task": "gender", "kind": "logits", "classes": GENDER}],
        }
    )
    predictor = Predictor(OutsideModel(lambda batch: batch.mean(axis=(2, 3))[:, :2], spec))
    assert predictor.detect_default
    assert type(predictor.default_detector()).__name__ == "HaarCascadeDetector"
    detected = predictor.run(image_folder, progress=False)
    # random pixels hold no face: one 'no_face' row per image, with the face columns
    assert detected.summary.detector is not None
    assert (detected.table["status"] == "no_face").all() and "face" in detected.table
    assert detected.table.attrs["provenance"]["spec"]["input"]["crop"] == "detect"
    as_given = predictor.run(image_folder, progress=False, detect=False)
    assert (as_given.table["status"] == "ok").all() and "face" not in as_given.table


def test_an_onnx_graph_with_a_fixed_batch_size_runs_in_chunks_of_it(
    image_folder: Path, tmp_path: Path
) -> None:
    size = 16
    net = TinyNet(size, [2], nhwc=False, softmax_of=set())
    model = save_onnx(net, tmp_path / "fixed.onnx", size, ["g"], dynamic_batch=False)
    assert [d.dim_value for d in onnx.load(str(model)).graph.input[0].type.tensor_type.shape.dim][
        0
    ] == 2
    spec = ModelSpec.from_dict(
        {
            "input": {"size": size, "batch_size": 5},
            "outputs": [{"task": "gender", "kind": "logits", "classes": GENDER}],
        }
    )
    table = Predictor.from_model_file(model, spec).predict(image_folder, progress=False)
    table = table.set_index("file")
    x = by_hand_inputs(
        image_files(image_folder, table), size, layout="NCHW", channels="RGB", scale="0-1"
    )
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = np.concatenate([session.run(None, {"x": x[k : k + 2]})[0] for k in range(0, 6, 2)])
    assert_close(table, "gender", GENDER, softmax(logits.astype(np.float64), axis=1))


def test_an_exported_model_with_its_spec_predicts_as_the_checkpoint(
    image_folder: Path, tmp_path: Path
) -> None:
    """``export --spec`` writes the spec that runs the file as an outside model: the
    README's outside-model path gives what fairaudit's own ONNX backend gives."""
    onnx_path, spec_path = tmp_path / "vendor.onnx", tmp_path / "vendor.toml"
    code = main(
        [
            "export",
            "--model",
            "fairface-lightweight-112",
            "--onnx",
            str(onnx_path),
            "--spec",
            str(spec_path),
        ]
    )
    assert code == 0
    spec = ModelSpec.from_toml(spec_path)
    assert spec.name == "fairface-lightweight-112"
    assert (spec.input.size, spec.input.scale, spec.input.channels) == (112, "0-1", "RGB")
    assert [o.kind for o in spec.outputs] == ["probabilities"] * 3
    outside = predict_cli(onnx_path, spec_path, image_folder, tmp_path / "outside.csv")
    own = main(
        [
            "predict",
            "--checkpoint",
            str(onnx_path),
            "--images",
            str(image_folder),
            "--output",
            str(tmp_path / "own.csv"),
            "--threads",
            "1",
            "--quiet",
        ]
    )
    assert own == 0
    own_table = pd.read_csv(tmp_path / "own.csv").set_index("file")
    probs = [c for c in own_table.columns if "_prob_" in c]
    assert len(probs) == 2 + 9 + 7
    assert np.max(np.abs(outside[probs].to_numpy() - own_table[probs].to_numpy())) <= 1e-6
    preds = [f"{task}_pred" for task in ("gender", "age", "race")]
    assert outside[preds].equals(own_table[preds])
