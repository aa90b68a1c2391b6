"""``fairaudit app``: serve the Streamlit web app (a shell over :func:`fairaudit.app.run_app`)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]

_DEFAULT_MODEL = "fairface-mobilenet_v2-112"  # fairaudit.app.DEFAULT_MODEL, without importing it


def register(subparsers: Any) -> None:
    """Add the ``app`` subcommand."""
    parser = subparsers.add_parser(
        "app",
        help="serve the web app: faces of a photo with predicted labels; saved audit reports",
        description=(
            "Serve the Streamlit web app (needs the optional extra: pip install "
            "'fairaudit-faces[app]'): upload a photo to see each face boxed with its predicted "
            "gender, age group and ethnicity, or open a saved audit to read its report. "
            "Open the printed URL in a browser; stop with Ctrl-C."
        ),
    )
    parser.add_argument("--port", type=int, default=8501, help="TCP port (default: 8501)")
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "0.0.0.0 serves the network)",
    )
    parser.add_argument(
        "--model",
        default=_DEFAULT_MODEL,
        help=f"shipped FairFace model selected at start (default: {_DEFAULT_MODEL}; "
        "the other: fairface-lightweight-112, faster and less accurate)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the app until it stops; returns Streamlit's exit status."""
    from fairaudit.app import run_app

    return run_app(model=args.model, port=args.port, address=args.address)
