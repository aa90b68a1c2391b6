"""``fairaudit app``: the Streamlit command line, errors, and the forwarded exit status."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import fairaudit.app._launch as launch
from fairaudit.app._launch import APP_SCRIPT, streamlit_command
from fairaudit.app._models import DEFAULT_MODEL
from fairaudit.cli import main
from fairaudit.exceptions import ConfigurationError

from .conftest import TEST_MODEL


def test_the_app_script_and_its_pages_ship_in_the_package():
    assert APP_SCRIPT.name == "main.py" and APP_SCRIPT.parent.name == "app"
    for script in ("main.py", "photo_page.py", "audit_page.py"):
        assert (APP_SCRIPT.parent / script).is_file()


def test_streamlit_command():
    assert streamlit_command(model=TEST_MODEL, port=8765) == [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.headless",
        "true",
        "--server.port",
        "8765",
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--model",
        TEST_MODEL,
    ]
    command = streamlit_command(model=DEFAULT_MODEL, address="0.0.0.0")
    assert command[command.index("--server.port") + 1] == "8501"
    assert command[command.index("--server.address") + 1] == "0.0.0.0"


@pytest.mark.parametrize("port", [0, 65536, -1, "80", 80.0, True])
def test_streamlit_command_refuses_a_bad_port(port):
    with pytest.raises(ConfigurationError, match="port must be an integer in 1-65535"):
        streamlit_command(model=TEST_MODEL, port=port)


def test_cli_app_forwards_the_servers_exit_status(monkeypatch):
    pytest.importorskip("streamlit", reason='needs streamlit (pip install "fairaudit-faces[app]")')
    seen = {}

    def command(**kwargs):
        seen.update(kwargs)
        return [sys.executable, "-c", "import sys; sys.exit(3)"]  # a server that fails

    monkeypatch.setattr(launch, "streamlit_command", command)
    assert main(["app", "--port", "8766", "--model", TEST_MODEL]) == 3
    assert seen == {"model": TEST_MODEL, "port": 8766, "address": "127.0.0.1"}


def test_cli_app_refuses_a_model_it_cannot_use(capsys):
    pytest.importorskip("streamlit", reason='needs streamlit (pip install "fairaudit-faces[app]")')
    assert main(["app", "--model", "utkface-mobilenet_v2-112"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairaudit app: error: the app predicts with a shipped FairFace model")


def test_cli_app_without_streamlit_says_how_to_install_it(monkeypatch, capsys):
    real = launch.importlib.util.find_spec
    monkeypatch.setattr(
        launch.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "streamlit" else real(name, *a),
    )
    assert main(["app"]) == 2
    assert 'pip install "fairaudit-faces[app]"' in capsys.readouterr().err


def test_importing_the_app_functions_and_the_cli_stays_light():
    code = (
        "import sys, fairaudit.app, fairaudit.cli; fairaudit.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'streamlit', 'cv2', 'altair') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_app_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["app", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--port", "--address", "--model"):
        assert option in out


# --- stopping: SIGTERM to `fairaudit app` stops every process it started ------------------

#: How long the app may take to listen on its port, and to stop (seconds).
START_TIMEOUT = 90
STOP_WAIT = 30

#: A stand-in server: says it is ready, then sleeps; ``IGNORE`` makes it ignore SIGTERM.
_FAKE_SERVER = (
    "import signal, sys, time\n"
    "if sys.argv[1:] == ['IGNORE']: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)


def _serve_fake(*, ignore_sigterm: bool, stop_timeout: float) -> subprocess.Popen:
    """A Python process that runs ``serve`` on the stand-in server (in its main thread)."""
    server = [sys.executable, "-c", _FAKE_SERVER, *(["IGNORE"] if ignore_sigterm else [])]
    code = (
        "import sys, fairaudit.app._launch as launch\n"
        f"launch.STOP_TIMEOUT = {stop_timeout}\n"
        f"sys.exit(launch.serve({server!r}))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the test can clean up the whole group if it fails
    )


def _children_when_ready(psutil, process: subprocess.Popen) -> list:
    assert process.stdout.readline().strip() == "ready"
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) == 1
    return children


def _stopped(psutil, process: subprocess.Popen, children: list) -> tuple[int, list]:
    """Exit status of ``process`` and the children still alive, after bounded waits."""
    try:
        status = process.wait(timeout=STOP_WAIT)
    finally:
        _, alive = psutil.wait_procs(children, timeout=5)
        if process.poll() is None or alive:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_WAIT)
    return status, alive


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_sigterm_is_passed_on_to_the_server():
    psutil = pytest.importorskip("psutil", reason="needs psutil to list the child processes")
    process = _serve_fake(ignore_sigterm=False, stop_timeout=30)
    children = _children_when_ready(psutil, process)
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, alive = _stopped(psutil, process, children)
    assert not alive
    # the server died of the SIGTERM passed on (well before the kill), so no status of its own
    assert status == 128 + signal.SIGTERM
    assert time.monotonic() - start < 10


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_server_that_ignores_sigterm_is_killed_after_the_stop_timeout():
    psutil = pytest.importorskip("psutil", reason="needs psutil to list the child processes")
    process = _serve_fake(ignore_sigterm=True, stop_timeout=1.0)
    children = _children_when_ready(psutil, process)
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, alive = _stopped(psutil, process, children)
    assert not alive
    assert status == 128 + signal.SIGTERM
    assert 1.0 <= time.monotonic() - start < STOP_WAIT


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_sigterm_to_fairaudit_app_leaves_no_process_and_no_open_port(tmp_path):
    pytest.importorskip("streamlit", reason='needs streamlit (pip install "fairaudit-faces[app]")')
    psutil = pytest.importorskip("psutil", reason="needs psutil to list the child processes")
    port = _free_port()
    log = tmp_path / "app.log"
    command = [sys.executable, "-m", "fairaudit", "app", "--port", str(port), "--model", TEST_MODEL]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    children: list = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts(port):
            assert process.poll() is None, f"the app exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no server on {port}:\n{log.read_text()}"
            time.sleep(0.25)
        children = psutil.Process(process.pid).children(recursive=True)
        listening = [
            child
            for child in children
            if any(c.laddr.port == port for c in child.net_connections(kind="tcp"))
        ]
        assert len(listening) == 1  # the Streamlit server, a child of `fairaudit app`
        process.send_signal(signal.SIGTERM)  # to `fairaudit app` alone, not its group
        status, alive = _stopped(psutil, process, children)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_WAIT)
    assert not alive, alive
    assert not _accepts(port)
    assert status in (0, 128 + signal.SIGTERM), log.read_text()
