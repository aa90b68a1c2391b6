"""Starting the app: the Streamlit command line and the server process."""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from fairaudit.exceptions import ConfigurationError, MissingDependencyError

__all__ = [
    "APP_SCRIPT",
    "DEFAULT_ADDRESS",
    "DEFAULT_PORT",
    "STOP_SIGNALS",
    "STOP_TIMEOUT",
    "run_app",
    "serve",
    "streamlit_command",
]

#: The app's entry script (``streamlit run`` it; its pages sit beside it).
APP_SCRIPT = Path(__file__).resolve().parent / "main.py"
#: Streamlit's usual port.
DEFAULT_PORT = 8501
#: Serve this machine only, unless asked otherwise.
DEFAULT_ADDRESS = "127.0.0.1"
#: Seconds the server has to stop after a stop signal before it is killed.
STOP_TIMEOUT = 10.0
#: The signals that stop ``fairaudit app`` (Ctrl-C aside): passed on to the server.
STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _StopSignal(Exception):
    """Raised in the main thread when ``fairaudit app`` receives one of :data:`STOP_SIGNALS`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _StopSignal(signum)


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """Within the block, :data:`STOP_SIGNALS` raise :class:`_StopSignal` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(process: subprocess.Popen, signum: int | None) -> None:
    """Let the server stop (passing it ``signum``), kill it after :data:`STOP_TIMEOUT` s."""
    if signum is not None and process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve(command: list[str]) -> int:
    """Run the server command until it exits or ``fairaudit app`` is stopped.

    The server never outlives this call: SIGTERM or SIGHUP sent to this process
    is passed on to the server, Ctrl-C (SIGINT, which reaches the server through
    the terminal too) is awaited; a server still running :data:`STOP_TIMEOUT`
    seconds later, or when anything else ends the call, is killed.

    Parameters
    ----------
    command : list of str
        The server's command line (:func:`streamlit_command`).

    Returns
    -------
    int
        The server's exit status; when stopped by a signal and the server gave no
        error status, ``128 + signal number`` (130 for Ctrl-C, 143 for SIGTERM).
    """
    with _stop_signals_raise():
        process = subprocess.Popen(command)
        try:
            return process.wait()
        except (KeyboardInterrupt, _StopSignal) as exc:
            signum = exc.signum if isinstance(exc, _StopSignal) else None
            with contextlib.suppress(_StopSignal, KeyboardInterrupt):
                _stop(process, signum)
            if process.poll() is None:  # a second signal cut the wait short
                process.kill()
                process.wait()
            status = process.returncode
            return status if status > 0 else 128 + (signum or signal.SIGINT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


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
        Streamlit's exit status (130 when stopped with Ctrl-C, 143 with SIGTERM,
        and it gave none). Stopping ``fairaudit app`` stops the server: see
        :func:`serve`.

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
    return serve(streamlit_command(model=check_app_model(model), port=port, address=address))
