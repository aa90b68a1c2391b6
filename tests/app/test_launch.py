"""``fairaudit app``: the Streamlit command line, errors, and the forwarded exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fairaudit.app._launch as launch
from fairaudit.app import DEFAULT_MODEL, streamlit_command
from fairaudit.app._launch import APP_SCRIPT
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
