"""The demo's shipped detector comparison: aggregates of the 5,000 images; CI rebuilds a subset."""

from __future__ import annotations

import numpy as np
import pytest

from fairaudit.demo import (
    DEMO_DETECTOR_SUBSET,
    DEMO_DETECTORS,
    build_demo_detectors,
    detect_demo_comparison,
    load_demo_audits,
    load_demo_detectors,
    load_demo_labels,
)


def test_the_shipped_comparison_is_of_the_5000_val_images() -> None:
    shipped = load_demo_detectors()
    assert shipped.all.detectors == DEMO_DETECTORS == shipped.subset.detectors
    assert shipped.all.n_images == 5000
    assert shipped.subset.n_images == DEMO_DETECTOR_SUBSET
    assert (shipped.subset.joint <= shipped.all.joint).all()  # the subset's cells lie inside
    # Haar's counts are those of the demo's Haar audit (same preset, same images).
    haar = load_demo_audits().detection
    assert np.array_equal(shipped.all.detection_counts("haar"), haar.detection)
    shipped.all.check_audit("haar", haar)
    rates = shipped.all.rates().set_index("detector")["rate"]
    assert rates["dlib-cnn"] > rates["haar"] > rates["dlib-hog"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_shipped_subset_equals_a_rebuild_from_the_real_images(fairface_root) -> None:
    pytest.importorskip(
        "dlib", reason='the dlib detectors need dlib-bin: "fairaudit-faces[detect]"'
    )
    labels = load_demo_labels(fairface_root)
    detections = detect_demo_comparison(labels, limit=DEMO_DETECTOR_SUBSET, progress=False)
    rebuilt = build_demo_detectors(detections)
    assert rebuilt.subset == load_demo_detectors().subset
