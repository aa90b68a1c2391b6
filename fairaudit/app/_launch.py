"""Starting the app: the Streamlit command line and the server process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from fairaudit.exceptions import ConfigurationError, MissingDependencyError

__all__ = ["APP_SCRIPT", "DEFAULT_ADDRESS", "DEFAULT_PORT", "run_app", "streamlit_command"]

#: The app's entry script (``streamlit run`` it; its pages sit beside it).
APP_SCRIPT = Path(__file__).resolve().parent / "main.py"
#: Streamlit's usual port.
DEFAULT_PORT = 8501
#: Serve this machine only, unless asked otherwise.
DEFAULT_ADDRESS = "127.0.0.1"


def streamlit_command(
    *, model: str, port: int = DEFAULT_PORT, address: str = DEFAULT_ADDRESS
) -> list[str]:
    """The command that serves the app with Streamlit, headless.

    Parameters
    ----------
    model : str
        Model selected when a session starts (passed to the script as ``--model``).
    port : int, default=8501
        TCP port of the server (1-65535).
    address : str, default="127.0.0.1"
        Address the server listens on (``0.0.0.0`` serves every network interface).

    Returns
    -------
    list of str
        ``python -m streamlit run main.py --server.headless true --server.port PORT
        --server.address ADDRESS --server.fileWatcherType none --client.toolbarMode
        minimal --browser.gatherUsageStats false -- --model MODEL``: no browser is
        opened, nothing is reported to Streamlit, the installed code is not watched
        for edits, and the page shows no developer menu.

    Raises
    ------
    ConfigurationError
        If the port is not an integer in 1-65535.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigurationError(f"port must be an integer in 1-65535, got {port!r}")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--model",
        model,
    ]


def run_app(*, model: str, port: int = DEFAULT_PORT, address: str = DEFAULT_ADDRESS) -> int:
    """Serve the app until the server stops; returns the server's exit status.

    Parameters
    ----------
    model, port, address
        See :func:`streamlit_command`.

    Returns
    -------
    int
        Streamlit's exit status (130 when stopped with Ctrl-C and it gave none).

    Raises
    ------
    MissingDependencyError
        If Streamlit is not installed (``pip install "fairaudit-faces[app]"``).
    ConfigurationError
        For a model the app cannot use or a bad port.
    """
    from fairaudit.app._models import check_app_model

    if importlib.util.find_spec("streamlit") is None:
        raise MissingDependencyError(
            'the web app needs Streamlit: pip install "fairaudit-faces[app]"'
        )
    command = streamlit_command(model=check_app_model(model), port=port, address=address)
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Streamlit too: let it shut down
        try:
            status = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            status = process.wait()
        return status if status > 0 else 130
