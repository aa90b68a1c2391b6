"""The running app in real headless Chromium: upload a photo, read the labels, open a report."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from fairaudit.app._models import load_predictor
from fairaudit.app._photo import read_photo
from fairaudit.model_audit import audit_predictions

from .conftest import TEST_MODEL

pytestmark = pytest.mark.slow

#: How long the server may take to start, and the page to show a result (seconds).
START_TIMEOUT = 90
RESULT_TIMEOUT_MS = 90_000

#: Console errors Streamlit's own frontend may log that are not the app's: none so far.
#: Add (substring, reason) pairs here, never a blanket filter.
CONSOLE_ALLOWLIST: tuple[tuple[str, str], ...] = ()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the app did not answer {url} within {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path):
    """``fairaudit app --port PORT --model fairface-lightweight-112``, stopped afterwards."""
    pytest.importorskip("streamlit", reason="needs streamlit (pip install '.[test]')")
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "fairaudit", "app", "--port", str(port), "--model", TEST_MODEL]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        # the CLI and the Streamlit server it started share a new process group
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _app_errors(console_errors: list[str]) -> list[str]:
    return [e for e in console_errors if not any(s in e for s, _ in CONSOLE_ALLOWLIST)]


def test_the_running_app_labels_an_uploaded_photo_and_shows_a_report(
    server, browser_page, grace_hopper, tmp_path
):
    photo = tmp_path / "grace_hopper.jpg"
    photo.write_bytes(grace_hopper)
    expected = load_predictor(TEST_MODEL).predict_photo(read_photo(grace_hopper, name="g"))
    assert len(expected) == 1
    shown = []
    for task, title in (("gender", "Gender"), ("age", "Age group"), ("race", "Ethnicity (race)")):
        label = str(expected.loc[0, f"{task}_pred"])
        shown.append(f"{title}: {label} ({float(expected.loc[0, f'{task}_prob_{label}']):.0%})")

    page = browser_page.page
    page.set_viewport_size({"width": 1280, "height": 2000})  # the whole photo page
    page.goto(server + "/")
    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    upload.wait_for(state="attached", timeout=RESULT_TIMEOUT_MS)
    upload.set_input_files(str(photo))
    page.get_by_text("1 face found in grace_hopper.jpg").wait_for(timeout=RESULT_TIMEOUT_MS)
    page.get_by_text("Face 1", exact=True).first.wait_for(timeout=RESULT_TIMEOUT_MS)
    charts = page.locator(
        '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
    )
    charts.first.wait_for(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_timeout(500)  # let the charts finish drawing
    shots = os.environ.get("FAIRAUDIT_SCREENSHOTS")
    page.screenshot(path=str(Path(shots) / "app-photo-page.png" if shots else tmp_path / "p.png"))

    for text in shown:
        assert page.get_by_text(text, exact=True).count() == 1, text
    assert page.locator('[data-testid="stImage"] img').count() == 2  # the photo, the face

    # the second page: a saved audit and its report
    rng = np.random.default_rng(0)
    genders = rng.choice(["Male", "Female"], 300)
    audit = audit_predictions(
        y_true={"gender": genders},
        y_pred={"gender": np.where(rng.random(300) < 0.8, genders, "Female")},
        description="browser test audit",
    )
    saved = tmp_path / "audit.json"
    saved.write_text(json.dumps(audit.to_dict()))
    page.get_by_role("link", name="Audit report").click()
    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    page.get_by_text("No audit yet").wait_for(timeout=RESULT_TIMEOUT_MS)
    upload.set_input_files(str(saved))
    report = page.frame_locator("iframe").first
    report.get_by_role("heading", name="Verdict").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert report.get_by_text("browser test audit").count() >= 1
    page.get_by_role("button", name="Download the report (HTML)").wait_for()
    page.screenshot(path=str(tmp_path / "audit-page.png"))

    assert not _app_errors(browser_page.console_errors), browser_page.console_errors
    assert not browser_page.dialogs
    hosts = {urlsplit(url).hostname for url in browser_page.requests if urlsplit(url).hostname}
    schemes = {urlsplit(url).scheme for url in browser_page.requests}
    assert hosts == {"127.0.0.1"}, sorted(browser_page.requests)
    # data: and blob: URLs are the page's own content (inline images, uploads), not requests
    # to anywhere
    assert schemes <= {"http", "ws", "data", "blob"}, schemes


#: Layout of the embedded report, measured in its frame (same origin: a srcdoc frame).
FRAME_LAYOUT = """() => {
    const frame = document.querySelector('iframe');
    const header = document.querySelector('[data-testid="stHeader"]');
    const doc = frame.contentDocument;
    const width = doc.documentElement.clientWidth;
    const panels = Array.from(doc.querySelectorAll('#overview svg.chart text.panel-title'));
    return {
        frameHeight: frame.getBoundingClientRect().height,
        headerHeight: header ? header.getBoundingClientRect().height : 0,
        windowHeight: window.innerHeight,
        width: width,
        scrollWidth: doc.documentElement.scrollWidth,
        charts: Array.from(doc.querySelectorAll('.chart-scroll'))
            .filter(box => box.scrollWidth > box.clientWidth)
            .map(box => box.querySelector('svg').getAttribute('aria-label')),
        panels: panels.map(t => [t.textContent, t.getBoundingClientRect().right]),
    };
}"""


def test_the_embedded_report_fits_its_frame(server, browser_page, tmp_path):
    from importlib import resources

    audit = resources.files("fairaudit") / "data" / "demo" / "audit-fairface-mobilenet_v2-112.json"
    saved = tmp_path / "audit-fairface-mobilenet_v2-112.json"
    saved.write_bytes(audit.read_bytes())
    page = browser_page.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server + "/")
    page.get_by_role("link", name="Audit report").click()
    page.get_by_text("No audit yet").wait_for(timeout=RESULT_TIMEOUT_MS)
    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    upload.set_input_files(str(saved))
    report = page.frame_locator("iframe").first
    report.locator("#overview svg.chart").first.wait_for(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_timeout(500)
    shots = os.environ.get("FAIRAUDIT_SCREENSHOTS")
    page.screenshot(path=str(Path(shots) / "app-audit-page.png" if shots else tmp_path / "a.png"))
    layout = page.evaluate(FRAME_LAYOUT)
    # the frame, its scrollbar included, is seen whole in the window under Streamlit's header
    assert layout["frameHeight"] <= layout["windowHeight"] - layout["headerHeight"], layout
    # nothing of the report reaches past the frame's width: no sideways scrolling, every
    # chart whole, and each task's gender, age and race panels inside the frame
    assert layout["scrollWidth"] <= layout["width"], layout
    assert layout["charts"] == [], layout
    titles = [title for title, _ in layout["panels"]]
    assert titles.count("race") >= 3, titles  # one race panel per task at least
    assert all(right <= layout["width"] for _, right in layout["panels"]), layout
    assert not _app_errors(browser_page.console_errors), browser_page.console_errors
