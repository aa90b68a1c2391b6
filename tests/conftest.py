"""Shared fixtures: the real data beside the project, skipped with a reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

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
