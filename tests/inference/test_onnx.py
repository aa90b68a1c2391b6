"""ONNX export: verified against torch, self-describing, and usable as a Predictor backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from fairaudit.exceptions import CheckpointError, DataValidationError
from fairaudit.inference import OnnxSession, Predictor, export_onnx
from fairaudit.inference._onnx import DEFAULT_OPSET
from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS

from .conftest import INPUT_SIZE, make_model


def _torch_probabilities(model: torch.nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    with torch.no_grad():
        out = model.eval()(x)
    return {
        t.name: (
            torch.softmax(out[t.name], 1)
            if t.kind == "classification"
            else out[t.name] * t.max_value
        ).numpy()
        for t in model.tasks
    }


def test_export_from_checkpoint_matches_torch(checkpoint: Path, model, tmp_path: Path) -> None:
    result = export_onnx(checkpoint, tmp_path / "model.onnx")
    assert result.path == tmp_path / "model.onnx"
    assert result.input_size == INPUT_SIZE and result.opset == DEFAULT_OPSET
    assert result.output_names == ("gender", "age", "race")
    assert result.max_abs_diff <= 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.pt"]

    proto = onnx.load(str(result.path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["fairaudit.opset"] == str(DEFAULT_OPSET)
    assert meta["fairaudit.input_size"] == str(INPUT_SIZE)
    assert meta["fairaudit.arch"] == "lightweight"
    assert proto.opset_import[0].version == DEFAULT_OPSET
    assert [o.name for o in proto.graph.output] == ["gender", "age", "race"]

    session = OnnxSession(result.path, threads=1)
    assert session.tasks == FAIRFACE_TASKS
    assert session.input_size == INPUT_SIZE
    x = torch.randn(5, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(4))
    got = session.run(x)
    expected = _torch_probabilities(model, x)
    for name in expected:
        assert got[name].shape == expected[name].shape
        assert np.abs(got[name] - expected[name]).max() <= 1e-4


def test_onnx_backend_table_equals_torch_table(checkpoint: Path, image_folder: Path) -> None:
    torch_table = Predictor.from_checkpoint(checkpoint, batch_size=4).predict(
        image_folder, progress=False
    )
    onnx_predictor = Predictor.from_checkpoint(checkpoint, backend="onnx", batch_size=4, threads=1)
    assert onnx_predictor.backend == "onnx"
    onnx_table = onnx_predictor.predict(image_folder, progress=False)
    assert list(onnx_table.columns) == list(torch_table.columns)
    prob_columns = [c for c in torch_table.columns if "_prob_" in c]
    diff = np.abs(onnx_table[prob_columns].to_numpy() - torch_table[prob_columns].to_numpy())
    assert diff.max() <= 1e-4
    for task in ("gender", "age", "race"):
        # Equal labels unless two classes tie to within the tolerance.
        assert (onnx_table[f"{task}_pred"] == torch_table[f"{task}_pred"]).mean() >= 0.99


def test_onnx_file_as_checkpoint_and_regression_export(tmp_path: Path, image_folder: Path) -> None:
    model = make_model(tasks=UTKFACE_TASKS)
    result = export_onnx(model, tmp_path / "utk.onnx", input_size=INPUT_SIZE, dynamic_batch=False)
    predictor = Predictor.from_checkpoint(result.path, batch_size=1)
    assert predictor.backend == "onnx"
    table = predictor.predict(image_folder, progress=False)
    reference = Predictor(model, input_size=INPUT_SIZE).predict(image_folder, progress=False)
    np.testing.assert_allclose(table["age_pred"], reference["age_pred"], atol=1e-4)
    with pytest.raises(CheckpointError, match="tasks"):
        Predictor.from_checkpoint(result.path, expected_tasks=FAIRFACE_TASKS)
    with pytest.raises(CheckpointError, match="architecture"):
        Predictor.from_checkpoint(result.path, expected_arch="mobilenet_v2")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_errors(tmp_path: Path, model) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        OnnxSession(tmp_path / "none.onnx")
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bogus.onnx: not a usable ONNX model"):
        OnnxSession(bogus)
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(
        torch.nn.Conv2d(3, 2, 1), (torch.zeros(1, 3, 4, 4),), str(plain), dynamo=False
    )
    with pytest.raises(CheckpointError, match="no fairaudit metadata"):
        OnnxSession(plain)
    with pytest.raises(DataValidationError, match="input_size is required"):
        export_onnx(model, tmp_path / "x.onnx")
    with pytest.raises(CheckpointError, match="missing.pt"):
        export_onnx(tmp_path / "missing.pt", tmp_path / "x.onnx")
    from fairaudit.exceptions import ConfigurationError
    from fairaudit.models import build_model

    fused = build_model("mobilenet_v2_face_descriptor").eval()
    with pytest.raises(ConfigurationError, match="face descriptor inside its forward"):
        export_onnx(fused, tmp_path / "x.onnx", input_size=112)
    assert not (tmp_path / "x.onnx").exists()
