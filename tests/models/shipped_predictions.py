"""Committed predictions of the shipped models' card evaluation images (sha256-pinned).

Re-predicting a card's 5,000-odd evaluation images costs a minute to minutes of one
core per model (dlib's face descriptor of every image for the ``face_descriptor``
models). The card checks, and the demo rebuild (the FairFace demo models' tables are
their predictions of the demo images), instead recompute every card figure from a
committed predictions table, pinned by its sha256 here, and verify that the model
reproduces that table on a seeded sample of the images (:func:`sample_rows`): nothing
is taken on trust and nothing is predicted twice.

Regenerate a table (after retraining a model; then update its pin)::

    PYTHONPATH=. python -m tests.models.shipped_predictions NAME [NAME ...]

(``demo-detector`` for the demo detector's table.) Rewrite the shipped cards'
evaluation (JSON and Markdown) from the committed tables, after a change to how it is
computed::

    PYTHONPATH=. python -m tests.models.shipped_predictions --cards
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: Folder of the committed tables, one ``<model>.csv.gz`` each.
FOLDER = Path(__file__).resolve().parent.parent / "data" / "shipped_predictions"
#: sha256 of each committed table (the gzip file's bytes, written with mtime 0).
SHA256 = {
    "fairface-lightweight-112": (
        "c6489a20a89e880f12e51f96b2b229a44a17f84855d5afefb7c1de8a5bf65633"
    ),
    "fairface-mobilenet_v2-112": (
        "bbcf68278bb37a74feffca6170c50f9537bb18f4d8324c7d5e8b6360f0457ff4"
    ),
    "fairface-mobilenet_v2_face_descriptor-112": (
        "f4df5d0360df723f58d8cda303c79fb24e7db34601e9ef6d137388e860d0cd3b"
    ),
    "utkface-mobilenet_v2-112": (
        "5bf5b3c5924f2d9c7af48d78f67ffe3b669c15ecb2e5326a9494c8d081319cee"
    ),
    "utkface-mobilenet_v2_face_descriptor-112": (
        "637ee242d55c7afef47948b126545138ed5471146cea555d3938837045926e28"
    ),
}
#: The demo detector's (:func:`fairaudit.demo.demo_detector`) per-image table of the
#: 5,000 demo images (:func:`fairaudit.demo.detect_demo`), committed beside the models'
#: predictions: the demo rebuild reads it, and CI detects a seeded sample again.
DEMO_DETECTIONS = "demo-detector"
DEMO_DETECTIONS_SHA256 = "53bec1cf663825867b8e569f057227c12e97b5972dccd11570cde55adffe0e32"
#: Its columns (the labels a detection table carries come from the labels table).
DETECTION_COLUMNS = ("file", "n_faces", "x", "y", "width", "height", "score", "status")
#: Images of the evaluation table the model predicts again in CI. Probabilities must
#: agree to 1e-5: a model other than the one that wrote the table fails on its first
#: image, and a difference confined to 3% of the images is caught with probability 0.95
#: (the descriptor models take 0.12 s of one core per image).
SAMPLE_SIZE = 100
SAMPLE_SEED = 0
#: The committed probabilities are float32 written with 9 significant digits (they
#: round-trip exactly); a prediction on another CPU may differ in the last bits
#: of the float arithmetic, so probabilities and age regressions are compared to
#: this absolute tolerance, predicted classes exactly.
FLOAT_TOLERANCE = 1e-5
#: The same for an age regression, in years.
YEARS_TOLERANCE = 1e-3


@functools.lru_cache(maxsize=2)
def evaluation_table(name: str, shared_data: Path) -> pd.DataFrame:
    """The labelled images a shipped model's card was evaluated on (cached: do not modify)."""
    from fairaudit.models import shipped_model_card
    from fairaudit.training import load_training_tables

    card = shipped_model_card(name)
    dataset = card["recipe"]["dataset"]
    root = shared_data / ("fairface" if dataset == "fairface" else "utkface/UTKFace")
    tables = load_training_tables(dataset, root, seed=card["recipe"]["seed"])
    return tables.val if dataset == "fairface" else tables.test


def prediction_columns(predictions: pd.DataFrame) -> list[str]:
    """``file``, every ``*_pred`` and ``*_prob_*`` column and ``status``."""
    kept = [c for c in predictions.columns if c.endswith("_pred") or "_prob_" in c]
    return ["file", *kept, "status"]


def table_path(name: str) -> Path:
    return FOLDER / f"{name}.csv.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned_path(name: str, pin: str) -> Path:
    """The committed table of ``name``, after checking its bytes against ``pin``."""
    path = table_path(name)
    digest = sha256(path)
    if digest != pin:
        raise AssertionError(f"{path}: sha256 {digest} is not the pinned {pin}")
    return path


def write_table(table: pd.DataFrame, name: str) -> Path:
    """Write ``table`` as the committed table of ``name`` (deterministic bytes)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = table_path(name)
    table.to_csv(path, index=False, float_format="%.9g", compression={"method": "gzip", "mtime": 0})
    return path


def load_predictions(name: str, tasks) -> pd.DataFrame:
    """The committed predictions of ``name``, checked against their sha256 pin.

    Class columns are read as categoricals over each task's classes (as
    :class:`~fairaudit.inference.Predictor` writes them), probabilities and age
    regressions as float32.
    """
    path = pinned_path(name, SHA256[name])
    table = pd.read_csv(path, dtype={"file": str, "status": str}, keep_default_na=False)
    for task in tasks:
        column = f"{task.name}_pred"
        if task.kind == "regression":
            table[column] = table[column].astype(np.float32)
        else:
            classes = list(task.classes)
            unknown = set(table[column]) - set(classes)
            assert not unknown, (path, column, unknown)
            table[column] = pd.Categorical(table[column], categories=classes)
    for column in table.columns:
        if "_prob_" in column:
            table[column] = table[column].astype(np.float32)
    return table


def load_demo_detections() -> pd.DataFrame:
    """The committed demo detections, checked against their pin, in the detector's dtypes.

    Face counts and boxes as nullable integers, the score as a nullable float (an
    image without a face has none), as :func:`fairaudit.detect.detect_dataset` writes.
    """
    table = pd.read_csv(
        pinned_path(DEMO_DETECTIONS, DEMO_DETECTIONS_SHA256),
        dtype={"file": str, "status": str},
        keep_default_na=False,
        na_values={c: [""] for c in DETECTION_COLUMNS[1:7]},
    )
    for column in ("n_faces", "x", "y", "width", "height"):
        table[column] = table[column].astype("Int64")
    table["score"] = table["score"].astype("Float64")
    return table


def sample_rows(n_rows: int) -> np.ndarray:
    """Sorted positions of the seeded sample the model predicts again."""
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(n_rows, size=min(SAMPLE_SIZE, n_rows), replace=False))


def write_predictions(name: str, predictions: pd.DataFrame) -> Path:
    """Write ``predictions`` as the committed table of ``name`` (deterministic bytes)."""
    return write_table(predictions[prediction_columns(predictions)], name)


def write_demo_detections(detections: pd.DataFrame) -> Path:
    """Write :func:`fairaudit.demo.detect_demo`'s table as the committed demo detections."""
    return write_table(detections[list(DETECTION_COLUMNS)], DEMO_DETECTIONS)


def card_evaluation(name: str, shared_data: Path) -> dict:
    """A shipped card's ``evaluation``, computed from the committed predictions of ``name``.

    :func:`fairaudit.evaluate.evaluate_predictions` with its defaults (1,000 replicates
    for a mean absolute error, seed 0), as the card was written.
    """
    from fairaudit.evaluate import evaluate_predictions
    from fairaudit.inference import Predictor
    from fairaudit.models import shipped_model_path

    tasks = Predictor.from_checkpoint(shipped_model_path(name)).tasks
    predictions = load_predictions(name, tasks)
    return evaluate_predictions(
        predictions, evaluation_table(name, shared_data), tasks=tasks
    ).to_dict()


def rewrite_card_evaluations(shared_data: Path) -> None:
    """Write each committed model's card evaluation (JSON and Markdown) anew."""
    from fairaudit.model_card import write_model_card
    from fairaudit.models import shipped_model_card, shipped_model_path

    for name, pin in SHA256.items():
        if not pin:
            continue
        card = shipped_model_card(name)
        card["evaluation"] = card_evaluation(name, shared_data)
        write_model_card(card, shipped_model_path(name).parent)
        print(f"{name}: card evaluation rewritten", flush=True)


def main(names: list[str]) -> None:
    """Predict each model's whole evaluation table (one thread) and write it.

    The name ``demo-detector`` runs the demo's detector over the demo images instead.
    """
    from fairaudit.inference import Predictor
    from fairaudit.models import shipped_model_path

    repo = Path(__file__).resolve().parents[2]
    shared_data = Path(os.environ.get("FAIRAUDIT_SHARED_DATA", repo.parent / "shared" / "data"))
    if names == ["--cards"]:
        rewrite_card_evaluations(shared_data)
        return
    for name in names:
        if name == DEMO_DETECTIONS:
            from fairaudit.demo import detect_demo, load_demo_labels

            labels = load_demo_labels(shared_data / "fairface")
            path = write_demo_detections(detect_demo(labels, progress=True))
            print(f"{name}: {len(labels)} rows -> {path} sha256 {sha256(path)}", flush=True)
            continue
        table = evaluation_table(name, shared_data)
        predictor = Predictor.from_checkpoint(shipped_model_path(name), threads=1)
        predictions = predictor.run(table, progress=True).table
        path = write_predictions(name, predictions)
        print(f"{name}: {len(predictions)} rows -> {path} sha256 {sha256(path)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
